"""The Batch API mode: upload, create, poll with backoff, download into the output file.

The input is split into parts of at most ``max_lines`` lines and ``max_bytes``
bytes; each part is one uploaded file (``POST /files``, purpose ``batch``) and
one batch (``POST /batches``). The state file ``OUTPUT.batches.json`` records
each part's input line range, file id, batch id and whether its results were
downloaded; it is replaced atomically after every change, so a rerun picks up
the running batches instead of submitting them again, and submits only the
lines no part covers yet. Finished batches' output and error files are
streamed into the output, skipping ids it already has; the items a batch did
not run (``expired``, ``cancelled``, ``failed``) are left for the live pass.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anyio

from gpt_async import _codec
from gpt_async._client import _retry_delay, _status_error
from gpt_async._exceptions import (
    APIResponseValidationError,
    GptAsyncError,
    RequestValidationError,
)
from gpt_async._hooks import run_hooks
from gpt_async._retry import RetryBudget
from gpt_async._transport import HTTPRequest, HTTPResponse
from gpt_async.models.operations import RawResponse

from ._jsonl import CHAT_URL, OutputWriter, batch_line, encode_result, fsync_dir, line_failed
from ._runner import BulkResult

if TYPE_CHECKING:
    from gpt_async._client import AsyncGpt

    from ._options import JobOptions
    from ._totals import Tracker

__all__ = ["BatchAPI", "BatchJob"]

TERMINAL: Final = frozenset({"completed", "expired", "cancelled", "failed"})
_NOT_RUN: Final = frozenset({"batch_expired", "batch_cancelled", "batch_failed"})
_MAX_POLL_INTERVAL: Final = 300.0
_BACKOFF: Final = 1.5


class BatchAPI:
    """The few Files and Batches calls the mode needs, through the client's transport.

    They use the client's key (or Entra ID token), headers, timeout, retry policy
    and hooks; not its rate limiter (they spend no chat budget) or tracing (they
    are not model calls).
    """

    def __init__(self, client: AsyncGpt) -> None:
        self._client = client

    async def _send(self, method: str, path: str, content: bytes, content_type: str) -> Any:
        client = self._client
        headers = await client._headers_for_call({"Content-Type": content_type})
        url = f"{client.server_url}{path}"
        request = HTTPRequest(method=method, url=url, headers=headers, params=client._query)
        request.content = content
        budget = RetryBudget(client.retry_config)
        while True:
            try:
                return await self._attempt(request)
            except GptAsyncError as exc:
                if client.hooks.after_error:
                    await run_hooks(client.hooks.after_error, request, exc)
                delay = _retry_delay(budget, exc)
                if delay is None:
                    raise
                await anyio.sleep(delay)

    async def _attempt(self, request: HTTPRequest) -> HTTPResponse:
        client = self._client
        await client._before_attempt(request)
        response = await client._transport.send(request, timeout=client.timeout)
        if response.status_code >= 300:
            raise await _status_error(response)
        if client.hooks.after_success:
            await run_hooks(client.hooks.after_success, request, RawResponse.of(response))
        return response

    async def _json(
        self, method: str, path: str, content: bytes, content_type: str = "application/json"
    ) -> dict[str, Any]:
        response: HTTPResponse = await self._send(method, path, content, content_type)
        data = await response.read()
        try:
            parsed = _codec.loads(data)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("id"), str):
            raise APIResponseValidationError(
                f"{path}: expected a JSON object with an id",
                body=data[:500].decode("utf-8", "replace"),
            )
        return parsed

    async def upload(self, content: bytes, filename: str) -> str:
        """Upload a batch input file; returns its file id."""
        boundary = secrets.token_hex(16)
        body = _multipart(boundary, {"purpose": b"batch"}, ("file", filename, content))
        content_type = f"multipart/form-data; boundary={boundary}"
        uploaded = await self._json("POST", "/files", body, content_type)
        return str(uploaded["id"])

    async def create(self, file_id: str) -> dict[str, Any]:
        """Create a batch of chat completions over an uploaded file."""
        body = {"input_file_id": file_id, "endpoint": CHAT_URL, "completion_window": "24h"}
        return await self._json("POST", "/batches", _codec.dumps(body))

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The batch object now."""
        return await self._json("GET", f"/batches/{batch_id}", b"")

    async def lines(self, file_id: str) -> AsyncIterator[bytes]:
        """A file's content, line by line, streamed."""
        response: HTTPResponse = await self._send(
            "GET", f"/files/{file_id}/content", b"", "application/json"
        )
        rest = b""
        try:
            while chunk := await response.read_chunk():
                *whole, rest = (rest + chunk).split(b"\n")
                for line in whole:
                    yield line
        finally:
            response.close()
        if rest.strip():
            yield rest


def _multipart(boundary: str, fields: dict[str, bytes], file: tuple[str, str, bytes]) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    name, filename, content = file
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/jsonl\r\n\r\n"
    )
    parts.append(head.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


class _State:
    """The parts submitted so far, kept in ``OUTPUT.batches.json``."""

    def __init__(self, path: Path, input: Path) -> None:
        self.path = path
        self.input = str(input.resolve())
        self.next_line = 1
        self.parts: list[dict[str, Any]] = []
        if path.exists():
            data = json.loads(path.read_text())
            if data.get("input") != self.input:
                raise RequestValidationError(
                    "output", f"{path} records batches of another input: {data.get('input')}"
                )
            self.next_line, self.parts = data["next_line"], data["parts"]

    def save(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        data = {"input": self.input, "next_line": self.next_line, "parts": self.parts}
        with temporary.open("w") as out:
            json.dump(data, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.path)
        fsync_dir(self.path)

    def pending(self) -> list[dict[str, Any]]:
        return [part for part in self.parts if not part.get("downloaded")]


class BatchJob:
    """One file run through the Batch API (the live pass runs what it leaves)."""

    def __init__(
        self, client: AsyncGpt, options: JobOptions, tracker: Tracker, *, poll_interval: float
    ) -> None:
        self._api = BatchAPI(client)
        self._options = options
        self._tracker = tracker
        self._poll_interval = poll_interval
        self._state = _State(
            options.output.with_name(options.output.name + ".batches.json"), options.input
        )

    async def run(self, done: set[str], *, max_lines: int, max_bytes: int) -> None:
        """Submit what no part covers, wait for every part, download the results."""
        writer = OutputWriter(self._options.output)
        try:
            await self._submit(done, writer, max_lines, max_bytes)
            for part in self._state.parts:
                if part.get("batch_id") is None:
                    await self._create(part)
            self._tracker.summary.batches = [p["batch_id"] for p in self._state.parts]
            await self._wait(done, writer)
        finally:
            writer.close()
        self._state.path.unlink(missing_ok=True)

    async def _submit(
        self, done: set[str], writer: OutputWriter, max_lines: int, max_bytes: int
    ) -> None:
        lines: list[bytes] = []
        size, first, last = 0, self._state.next_line, self._state.next_line
        for lineno, item in self._options.numbered(done, self._state.next_line):
            if isinstance(item, BulkResult):  # a malformed line: its error line now
                writer.write(encode_result(item))
                done.add(item.custom_id)
                self._tracker.add(item)
                continue
            line = batch_line(item)
            if lines and (len(lines) == max_lines or size + len(line) > max_bytes):
                await self._upload(lines, first, lineno)
                lines, size, first = [], 0, lineno
                if self._tracker.over_budget():
                    return
            lines.append(line)
            size, last = size + len(line), lineno
        if lines:
            await self._upload(lines, first, last + 1)

    async def _upload(self, lines: list[bytes], first: int, end: int) -> None:
        name = f"{self._options.input.stem}-{first}.jsonl"
        file_id = await self._api.upload(b"".join(lines), name)
        part = {"first_line": first, "end_line": end, "lines": len(lines), "file_id": file_id}
        self._state.parts.append(part)
        self._state.next_line = end  # the lines before it are this part's, or an earlier one's
        self._state.save()  # the file is ours now: never uploaded again
        await self._create(part)

    async def _create(self, part: dict[str, Any]) -> None:
        batch = await self._api.create(part["file_id"])
        part["batch_id"], part["status"] = batch["id"], batch.get("status")
        self._state.save()

    async def _wait(self, done: set[str], writer: OutputWriter) -> None:
        interval = self._poll_interval
        while pending := self._state.pending():
            for part in pending:
                batch = await self._api.retrieve(part["batch_id"])
                part["status"] = batch.get("status")
                if part["status"] in TERMINAL:
                    await self._download(batch, done, writer)
                    part["downloaded"] = True
                    self._state.save()
            if self._state.pending():
                await anyio.sleep(interval)
                interval = min(interval * _BACKOFF, _MAX_POLL_INTERVAL)

    async def _download(self, batch: dict[str, Any], done: set[str], writer: OutputWriter) -> None:
        for key in ("output_file_id", "error_file_id"):
            if batch.get(key):
                async for line in self._api.lines(batch[key]):
                    self._take(line, done, writer)
        writer.sync()  # before the state file says this part is downloaded

    def _take(self, line: bytes, done: set[str], writer: OutputWriter) -> None:
        try:
            parsed = _codec.loads(line)
        except ValueError:
            return
        custom_id = parsed.get("custom_id") if isinstance(parsed, dict) else None
        if not isinstance(custom_id, str) or custom_id in done:
            return
        error = parsed.get("error")
        if isinstance(error, dict) and error.get("code") in _NOT_RUN:
            return  # not run: the live pass (or a later run) does it
        writer.write(line.rstrip(b"\r\n") + b"\n")
        done.add(custom_id)
        self._count(parsed)

    def _count(self, parsed: dict[str, Any]) -> None:
        summary = self._tracker.summary
        if line_failed(parsed):
            summary.failed += 1
            return
        summary.succeeded += 1
        body = parsed["response"].get("body")
        usage = body.get("usage") if isinstance(body, dict) else None
        if isinstance(usage, dict):
            model = str(body.get("model") or "")
            self._tracker.add_tokens(
                model,
                int(usage.get("prompt_tokens") or 0),
                int(usage.get("completion_tokens") or 0),
            )
