"""The testing server's Files and Batches part, in memory and driven by polls.

Its state, a `BatchStore`, lives in the server core's ``part_state`` (so tests can
script it before the server starts, and it survives a restart); the server shows
it as ``server.batches``.

Routes (each also without the ``/v1`` prefix):

- ``POST /v1/files`` (multipart: ``purpose``, ``file``) → a file object ``file-<n>``;
- ``GET /v1/files/{id}`` and ``GET /v1/files/{id}/content``;
- ``POST /v1/batches`` (``input_file_id``, ``endpoint``, ``completion_window``)
  → a batch ``batch_<n>`` in status ``validating``;
- ``GET /v1/batches/{id}`` and ``POST /v1/batches/{id}/cancel``.

A batch moves one step per ``GET``: ``validating`` → ``in_progress`` (or
``failed`` when the input is invalid: bad JSON, another endpoint, a repeated
``custom_id``, more than `BatchStore.max_lines` lines or `BatchStore.max_bytes`
bytes), then after `BatchStore.polls_in_progress` more polls → ``completed``.
Each line is answered as the chat endpoint would answer it (scripted items
first, then the echo): 2xx answers go to the output file, others to the error
file. `BatchStore.script_next` makes the next batch end ``expired`` (or
``failed`` / ``cancelled``) after a given number of lines; the lines not run
are in the error file with code ``batch_expired`` (``batch_cancelled``).
"""

from __future__ import annotations

import collections
import itertools
import json
from typing import Any, Final, Literal

import attrs
from aiohttp import web

from gpt_async.testing._chat import default_reply
from gpt_async.testing._core import ServerCore
from gpt_async.testing._script import Reply, ScriptItem

__all__ = ["BatchStore", "add_batch_routes", "batch_store"]

_CHAT_URL: Final = "/v1/chat/completions"
_STATE_KEY: Final = "batches"
_EXPIRED_CODES: Final = {"expired": "batch_expired", "cancelled": "batch_cancelled"}
Ending = Literal["expired", "failed", "cancelled"]


@attrs.frozen
class _Fate:
    status: Ending
    after: int


def _not_found(kind: str, ident: str) -> web.Response:
    error = {"message": f"No {kind} found with id '{ident}'.", "type": "invalid_request_error"}
    return web.json_response({"error": error}, status=404)


def _bad_request(message: str, param: str | None = None) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": None}
    return web.json_response({"error": error}, status=400)


def _multipart(body: bytes, content_type: str) -> dict[str, bytes]:
    """The fields of a ``multipart/form-data`` body, by name."""
    boundary = content_type.partition("boundary=")[2].strip('"').encode()
    fields: dict[str, bytes] = {}
    for part in body.split(b"--" + boundary)[1:-1]:
        # Only the framing CRLFs: a file's own trailing newline is part of its content.
        head, _, value = part.removeprefix(b"\r\n").removesuffix(b"\r\n").partition(b"\r\n\r\n")
        name = head.partition(b'name="')[2].partition(b'"')[0].decode()
        fields[name] = value
    return fields


class BatchStore:
    """OpenAI's Files and Batches API for one fake server (``server.batches``).

    Attributes:
        files: Uploaded and generated files' bytes, by id.
        batches: The batch objects, by id.
        max_lines: The most lines an input file may have (OpenAI: 50,000).
        max_bytes: The most bytes an input file may have (OpenAI: 200 MB).
        polls_in_progress: Polls a batch stays ``in_progress`` before it ends.
    """

    def __init__(self, core: ServerCore) -> None:
        self._core = core
        self._clock = core.clock
        self._ids = itertools.count(1)
        self._fates: collections.deque[_Fate] = collections.deque()
        self._polls: dict[str, int] = {}
        self.files: dict[str, bytes] = {}
        self._file_objects: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.max_lines = 50_000
        self.max_bytes = 200 * 1024 * 1024
        self.polls_in_progress = 1

    def script_next(self, status: Ending, *, after: int = 0) -> None:
        """Makes the next batch created end in ``status`` after running ``after`` lines."""
        self._fates.append(_Fate(status, after))

    def reset(self) -> None:
        """Forgets every file, batch and scripted ending."""
        self._fates.clear()
        self._polls.clear()
        self.files.clear()
        self._file_objects.clear()
        self.batches.clear()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Registers the routes on the server's app (before its catch-all)."""
        for prefix in _PREFIXES:
            router.add_post(f"{prefix}/files", self._upload)
            router.add_get(f"{prefix}/files/{{file_id}}", self._file)
            router.add_get(f"{prefix}/files/{{file_id}}/content", self._content)
            router.add_post(f"{prefix}/batches", self._create)
            router.add_get(f"{prefix}/batches/{{batch_id}}", self._retrieve)
            router.add_post(f"{prefix}/batches/{{batch_id}}/cancel", self._cancel)

    # ------------------------------------------------------------------ handlers

    async def _admit(self, request: web.Request) -> Any:
        received = await self._core.receive(request)
        if not self._core.authorized(request):
            error = {"message": "Incorrect API key provided.", "code": "invalid_api_key"}
            raise web.HTTPUnauthorized(text=json.dumps({"error": error}), content_type=_JSON)
        return received.data

    async def _upload(self, request: web.Request) -> web.Response:
        await self._admit(request)
        fields = _multipart(await request.read(), request.headers.get("Content-Type", ""))
        if fields.get("purpose") != b"batch" or "file" not in fields:
            return _bad_request("Expected multipart fields 'purpose' (batch) and 'file'.", "file")
        return web.json_response(self._store_file(fields["file"], "batch"))

    def _store_file(self, content: bytes, purpose: str) -> dict[str, Any]:
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = content
        self._file_objects[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": self._clock(),
            "filename": f"{file_id}.jsonl",
            "purpose": purpose,
        }
        return self._file_objects[file_id]

    async def _file(self, request: web.Request) -> web.Response:
        await self._admit(request)
        file_id = request.match_info["file_id"]
        found = self._file_objects.get(file_id)
        return web.json_response(found) if found else _not_found("file", file_id)

    async def _content(self, request: web.Request) -> web.Response:
        await self._admit(request)
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return _not_found("file", file_id)
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

    async def _create(self, request: web.Request) -> web.Response:
        data = await self._admit(request)
        if not isinstance(data, dict) or data.get("input_file_id") not in self.files:
            return _bad_request("input_file_id: no such file.", "input_file_id")
        if data.get("endpoint") != _CHAT_URL:
            return _bad_request(f"endpoint: only {_CHAT_URL} is served here.", "endpoint")
        batch_id = f"batch_{next(self._ids)}"
        self.batches[batch_id] = self._new_batch(batch_id, data)
        if self._fates:
            self.batches[batch_id]["_fate"] = self._fates.popleft()
        return web.json_response(self._public(batch_id))

    def _new_batch(self, batch_id: str, data: dict[str, Any]) -> dict[str, Any]:
        now = self._clock()
        stamps = ("in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at",
                  "cancelling_at", "cancelled_at")  # fmt: skip
        return {
            "id": batch_id,
            "object": "batch",
            "endpoint": data["endpoint"],
            "errors": None,
            "input_file_id": data["input_file_id"],
            "completion_window": data.get("completion_window", "24h"),
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "expires_at": now + 86400,
            **dict.fromkeys(stamps),
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": data.get("metadata"),
        }

    def _public(self, batch_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[batch_id].items() if not k.startswith("_")}

    async def _retrieve(self, request: web.Request) -> web.Response:
        await self._admit(request)
        batch_id = request.match_info["batch_id"]
        if batch_id not in self.batches:
            return _not_found("batch", batch_id)
        self._advance(self.batches[batch_id])
        return web.json_response(self._public(batch_id))

    async def _cancel(self, request: web.Request) -> web.Response:
        await self._admit(request)
        batch_id = request.match_info["batch_id"]
        batch = self.batches.get(batch_id)
        if batch is None:
            return _not_found("batch", batch_id)
        if batch["status"] in ("validating", "in_progress"):
            batch["status"], batch["cancelling_at"] = "cancelling", self._clock()
            batch["_fate"] = _Fate("cancelled", 0)
        return web.json_response(self._public(batch_id))

    # ------------------------------------------------------------------ the life of a batch

    def _advance(self, batch: dict[str, Any]) -> None:
        status = batch["status"]
        if status == "validating":
            self._validate(batch)
        elif status in ("in_progress", "cancelling"):
            polls = self._polls.get(batch["id"], 0) + 1
            self._polls[batch["id"]] = polls
            if status == "cancelling" or polls >= self.polls_in_progress:
                self._finish(batch)

    def _validate(self, batch: dict[str, Any]) -> None:
        content = self.files[batch["input_file_id"]]
        lines = [line for line in content.splitlines() if line.strip()]
        problem = self._problem(content, lines)
        fate: _Fate | None = batch.get("_fate")
        if problem is None and fate is not None and fate.status == "failed" and not fate.after:
            problem = "The batch was scripted to fail."
        if problem is not None:
            batch["status"], batch["failed_at"] = "failed", self._clock()
            error = {"code": "invalid_request", "message": problem, "param": None, "line": None}
            batch["errors"] = {"object": "list", "data": [error]}
            return
        batch["status"], batch["in_progress_at"] = "in_progress", self._clock()
        batch["request_counts"]["total"] = len(lines)
        batch["_lines"] = [json.loads(line) for line in lines]

    def _problem(self, content: bytes, lines: list[bytes]) -> str | None:
        if len(content) > self.max_bytes:
            return f"The input file is larger than {self.max_bytes} bytes."
        if len(lines) > self.max_lines:
            return f"The input file has more than {self.max_lines} requests."
        seen: set[Any] = set()
        for number, line in enumerate(lines, 1):
            try:
                item = json.loads(line)
            except ValueError:
                return f"Line {number} is not valid JSON."
            if not isinstance(item, dict) or item.get("url") != _CHAT_URL:
                return f"Line {number}: url must be {_CHAT_URL}."
            if item.get("custom_id") in seen:
                return f"Line {number}: custom_id {item.get('custom_id')!r} is repeated."
            seen.add(item.get("custom_id"))
        return None

    def _finish(self, batch: dict[str, Any]) -> None:
        fate: _Fate | None = batch.get("_fate")
        lines: list[dict[str, Any]] = batch.pop("_lines", [])
        run = lines if fate is None else lines[: fate.after]
        outputs: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in run:
            line, ok = self._answer(item)
            (outputs if ok else errors).append(line)
        code = _EXPIRED_CODES.get(fate.status if fate else "", "batch_failed")
        errors += [_left_out(item, code) for item in lines[len(run) :]]
        counts = batch["request_counts"]
        counts["completed"], counts["failed"] = len(outputs), len(errors)
        status = "completed" if fate is None else fate.status
        batch["status"], batch[f"{status}_at"] = status, self._clock()
        if outputs:
            batch["output_file_id"] = self._store_file(_jsonl(outputs), "batch_output")["id"]
        if errors:
            batch["error_file_id"] = self._store_file(_jsonl(errors), "batch_output")["id"]

    def _answer(self, item: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        core = self._core
        seq = core.next_seq()
        reply: ScriptItem = (
            core.queue.popleft() if core.queue else default_reply(core, seq, item.get("body"), None)
        )
        if not isinstance(reply, Reply):
            reply = Reply.error(500, "The server could not answer this request.")
        body = reply.json if reply.json is not None else {"raw": reply.encode().decode()}
        response = {"status_code": reply.status, "request_id": f"req_{seq}", "body": body}
        line = {"id": f"batch_req_{seq}", "custom_id": item.get("custom_id"),
                "response": response, "error": None}  # fmt: skip
        return line, 200 <= reply.status < 300


def _left_out(item: dict[str, Any], code: str) -> dict[str, Any]:
    message = "This request was not run before the batch ended."
    return {
        "id": f"batch_req_{item.get('custom_id')}",
        "custom_id": item.get("custom_id"),
        "response": None,
        "error": {"code": code, "message": message},
    }


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


_JSON: Final = "application/json"
_PREFIXES: Final = ("/v1", "")


def batch_store(core: ServerCore) -> BatchStore:
    """The Files and Batches state of ``core``'s server, made on first use."""
    store = core.part_state.get(_STATE_KEY)
    if not isinstance(store, BatchStore):
        store = core.part_state[_STATE_KEY] = BatchStore(core)
    return store


def add_batch_routes(core: ServerCore, app: web.Application) -> None:
    """The part: adds ``/files`` and ``/batches``, answered from `batch_store`."""
    batch_store(core).add_routes(app.router)
