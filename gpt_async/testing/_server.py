"""The fake OpenAI-compatible HTTP server: routing, auth, the echo reply, recording.

The default reply is deterministic. A *token* is a whitespace-separated word:

- the assistant content is the words of the last user message (string
  content, or the ``text`` of its content parts) joined by single spaces;
  ``response_format`` ``json_object``/``json_schema`` wraps it as
  ``{"echo": "<text>"}``;
- ``stop`` cuts the content before the first stop sequence (finish ``stop``);
  ``max_completion_tokens`` / ``max_tokens`` keep that many words (finish
  ``length``);
- ``usage.prompt_tokens`` counts the words of every message's content,
  ``completion_tokens`` the reply's words times ``n``;
- with ``tools`` and ``tool_choice`` ``"required"`` or a named function, the
  reply calls that function (or the first one) with arguments ``{}``
  (one token);
- ``logprobs: true`` gives every token logprob -0.25 and ``top_logprobs``
  entries: the token itself, then ``<alt1>``, ``<alt2>``... at -1.25, -2.25...;
- ``stream: true`` sends one chunk per token: a role chunk (``content: ""``),
  ``"word"`` then ``" word"`` chunks that join to the non-streamed content,
  a chunk with ``finish_reason``, the usage chunk (``choices: []``) when
  ``stream_options.include_usage`` is set, then ``data: [DONE]``; with
  ``n > 1`` the choices' chunks interleave.

``id`` is ``chatcmpl-<n>`` and the ``x-request-id`` header ``req_<n>``, where
``n`` numbers the requests the server received, from 1.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Final

import anyio
import attrs
from aiohttp import web
from multidict import CIMultiDictProxy

from gpt_async.testing._batches import BatchStore
from gpt_async.testing._script import (
    REQUEST_ID_KEY,
    RawBytes,
    Reply,
    ScriptItem,
    StreamReply,
    dump_json,
)

__all__ = [
    "DEFAULT_CREATED",
    "SYSTEM_FINGERPRINT",
    "DefaultHandler",
    "FakeOpenAIServer",
    "RecordedRequest",
    "ThreadedFakeOpenAIServer",
]

#: Replaces the echo: receives the parsed request JSON, returns the reply.
DefaultHandler = Callable[[Any], ScriptItem]

#: ``created`` of every completion unless a ``clock`` is given.
DEFAULT_CREATED: Final = 1_700_000_000
#: ``system_fingerprint`` of every completion and chunk.
SYSTEM_FINGERPRINT: Final = "fp_gpt_async_testing"

_CHAT_PATHS: Final = (
    "/v1/chat/completions",
    "/chat/completions",
    "/openai/deployments/{deployment}/chat/completions",
)
_MAX_BODY: Final = 64 * 1024 * 1024
_INVALID_JSON: Final = object()
_UNAUTHORIZED: Final = Reply.error(401, "Incorrect API key provided.", code="invalid_api_key")


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request as the server received it.

    Attributes:
        method: The HTTP method.
        path: The URL path, e.g. ``/v1/chat/completions``.
        query: The query parameters, e.g. ``{"api-version": "2024-10-21"}``.
        headers: The request headers; lookups are case-insensitive.
        body: The raw body bytes.
        json: The parsed body, or None when it is not JSON.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: CIMultiDictProxy[str]
    body: bytes
    json: Any


class FakeOpenAIServer:
    """A real ``aiohttp.web`` server speaking the Chat Completions API.

    Serves ``POST /v1/chat/completions``, ``/chat/completions`` and Azure's
    ``/openai/deployments/{deployment}/chat/completions?api-version=...``
    (where ``model`` may be omitted), and the Files and Batches API (see
    `batches`); any other route gets an OpenAI-style 404.
    Scripted items (`enqueue`) answer requests first, one each, in order;
    they skip validation but not authentication. With an empty queue the
    request is validated (400 with an OpenAI error naming ``param``) and
    answered by the default handler: the echo described in this module.

    Example::

        async with FakeOpenAIServer(api_key="sk-test") as server:
            server.enqueue(Reply.error(429, "Slow down"))
            ...  # point the client at server.url
            assert server.requests[-1].json["model"] == "gpt-4o-mini"
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        clock: Callable[[], int] | None = None,
        record: bool = True,
        shutdown_timeout: float = 0.5,
    ) -> None:
        """Configures the server; `start` (or ``async with``) binds it.

        Args:
            host: The interface to bind.
            port: The port; 0 picks a free ephemeral one.
            api_key: If set, requests need ``Authorization: Bearer <key>``
                or ``api-key: <key>``; others get 401.
            clock: Returns ``created`` for each completion (default: the
                constant `DEFAULT_CREATED`); pass ``lambda: int(time.time())``
                for real time.
            record: Keep every request in `requests`; turn off for load tests.
            shutdown_timeout: Seconds `close` lets in-flight handlers finish
                before cancelling them.
        """
        self.host = host
        self.requests: list[RecordedRequest] = []
        self._requested_port = port
        self._port: int | None = None
        self._api_key = api_key
        self._clock = clock or (lambda: DEFAULT_CREATED)
        self._record = record
        self._shutdown_timeout = shutdown_timeout
        self._queue: collections.deque[ScriptItem] = collections.deque()
        self._default: DefaultHandler | None = None
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._disconnects = 0
        self._disconnect_cond = threading.Condition()
        self._disconnect_event: anyio.Event | None = None
        #: The Files and Batches API (``/v1/files``, ``/v1/batches``); see `BatchStore`.
        self.batches = BatchStore(self, self._clock)

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"<FakeOpenAIServer {where} requests={len(self.requests)} queued={self.queued}>"

    @classmethod
    def in_thread(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        clock: Callable[[], int] | None = None,
        record: bool = True,
        shutdown_timeout: float = 0.5,
    ) -> ThreadedFakeOpenAIServer:
        """Returns the same server to run on its own loop in a daemon thread.

        Use it from synchronous code: ``with FakeOpenAIServer.in_thread() as server:``.
        The arguments are those of `FakeOpenAIServer`.
        """
        return ThreadedFakeOpenAIServer(
            host=host,
            port=port,
            api_key=api_key,
            clock=clock,
            record=record,
            shutdown_timeout=shutdown_timeout,
        )

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: The server is not started.
        """
        if self._port is None:
            msg = "FakeOpenAIServer is not started; use `async with FakeOpenAIServer()`"
            raise RuntimeError(msg)
        return self._port

    @property
    def origin(self) -> str:
        """``http://host:port``, e.g. the Azure endpoint."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL clients use: ``http://host:port/v1``."""
        return f"{self.origin}/v1"

    @property
    def queued(self) -> int:
        """How many scripted items are still waiting for a request."""
        return len(self._queue)

    @property
    def disconnects(self) -> int:
        """How many responses the client abandoned before they were complete.

        Counted when a client closes its connection while the server waits
        (a ``delay``, a gap between events) or writes; never for connections
        the server cuts itself (`Fault`) or closes at shutdown.
        """
        return self._disconnects

    @property
    def active_connections(self) -> int:
        """How many TCP connections are open now (idle keep-alive ones included)."""
        server = self._runner.server if self._runner is not None else None
        return len(server.connections) if server is not None else 0

    def enqueue(self, *items: ScriptItem) -> None:
        """Queues replies for the next requests, one item per request (thread-safe).

        Args:
            *items: `Reply`, `StreamReply` or `Fault` items, in answer order.
        """
        self._queue.extend(items)

    def set_default(self, handler: DefaultHandler | None) -> None:
        """Replaces the echo for unscripted requests (None restores it).

        Args:
            handler: Receives the validated request JSON, returns the item to send.
        """
        self._default = handler

    def reset(self) -> None:
        """Forgets queued items, recorded requests, disconnects and the default handler."""
        self._queue.clear()
        self.requests.clear()
        self._default = None
        self.batches.reset()
        with self._disconnect_cond:
            self._disconnects = 0

    async def wait_for_disconnects(self, n: int = 1, *, timeout: float = 5.0) -> int:
        """Waits until the server has seen ``n`` abandoned responses in total.

        Args:
            n: The count to reach.
            timeout: Seconds to wait.

        Returns:
            The current count (at least ``n``).

        Raises:
            TimeoutError: The count stays below ``n`` for ``timeout`` seconds.
        """
        try:
            with anyio.fail_after(timeout):
                while self._disconnects < n:
                    if self._disconnect_event is None:
                        self._disconnect_event = anyio.Event()
                    await self._disconnect_event.wait()
        except TimeoutError:
            msg = f"expected {n} client disconnect(s) within {timeout}s, saw {self._disconnects}"
            raise TimeoutError(msg) from None
        return self._disconnects

    async def start(self) -> None:
        """Binds the port and starts serving.

        Raises:
            RuntimeError: The server is already started.
        """
        if self._runner is not None:
            msg = "FakeOpenAIServer is already started"
            raise RuntimeError(msg)
        runner = web.AppRunner(
            self._make_app(),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self._requested_port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._closing = False
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def close(self) -> None:
        """Stops serving and closes every connection (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            self._closing = True
            await runner.cleanup()

    async def __aenter__(self) -> FakeOpenAIServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_BODY)
        for path in _CHAT_PATHS:
            app.router.add_post(path, self._chat)
        self.batches.add_routes(app.router)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        app.on_response_prepare.append(self._stamp_request_id)
        return app

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        seq, data = await self._receive(request)
        if not self._authorized(request):
            return await self._respond(request, _UNAUTHORIZED, _UNAUTHORIZED)
        deployment = request.match_info.get("deployment")
        if deployment is not None and "api-version" not in request.query:
            missing = Reply.error(404, "Resource not found: api-version is required.", code="404")
            return await self._respond(request, missing, missing)
        fallback = functools.partial(self._default_reply, seq, data, deployment)
        item = self._queue.popleft() if self._queue else fallback()
        return await self._respond(request, item, fallback)

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        await self._receive(request)
        reply = Reply.error(404, f"Invalid URL ({request.method} {request.path})")
        return await self._respond(request, reply, reply)

    async def _receive(self, request: web.Request) -> tuple[int, Any]:
        seq = next(self._seq)
        request[REQUEST_ID_KEY] = f"req_{seq}"
        body = await request.read()
        try:
            data = json.loads(body) if body else _INVALID_JSON
        except ValueError:
            data = _INVALID_JSON
        if self._record:
            recorded = RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.query,
                headers=request.headers,
                body=body,
                json=None if data is _INVALID_JSON else data,
            )
            self.requests.append(recorded)
        return seq, data

    def _authorized(self, request: web.Request) -> bool:
        if self._api_key is None:
            return True
        bearer = request.headers.get("Authorization", "")
        return (
            bearer == f"Bearer {self._api_key}" or request.headers.get("api-key") == self._api_key
        )

    def _default_reply(self, seq: int, data: Any, deployment: str | None) -> ScriptItem:
        invalid = _validate(data, require_model=deployment is None)
        if invalid is not None:
            return invalid
        if self._default is not None:
            return self._default(data)
        model = data.get("model") or deployment or ""
        echo = _plan_echo(data, seq=seq, created=self._clock(), model=model)
        if data.get("stream") is True:
            options = data.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            return StreamReply(events=echo.frames(include_usage=include_usage))
        return Reply(json=echo.completion())

    async def _respond(
        self,
        request: web.Request,
        item: ScriptItem,
        fallback: ScriptItem | Callable[[], ScriptItem],
    ) -> web.StreamResponse:
        build = fallback if callable(fallback) else (lambda: fallback)
        try:
            return await item._send(request, build)
        except asyncio.CancelledError:
            self._client_went_away()
            raise
        except ConnectionResetError:
            self._client_went_away()
            # aiohttp's attempt to send this fails too and is dropped silently.
            return web.Response()

    def _client_went_away(self) -> None:
        if self._closing:
            return
        with self._disconnect_cond:
            self._disconnects += 1
            self._disconnect_cond.notify_all()
        if self._disconnect_event is not None:
            self._disconnect_event.set()
            self._disconnect_event = None

    def _wait_for_disconnects_blocking(self, n: int, timeout: float) -> int:
        with self._disconnect_cond:
            if not self._disconnect_cond.wait_for(lambda: self._disconnects >= n, timeout):
                msg = (
                    f"expected {n} client disconnect(s) within {timeout}s, saw {self._disconnects}"
                )
                raise TimeoutError(msg)
            return self._disconnects

    async def _stamp_request_id(self, request: web.Request, response: web.StreamResponse) -> None:
        if REQUEST_ID_KEY not in request:
            request[REQUEST_ID_KEY] = f"req_{next(self._seq)}"
        response.headers.setdefault("x-request-id", request[REQUEST_ID_KEY])


class ThreadedFakeOpenAIServer:
    """A `FakeOpenAIServer` on its own event loop in a daemon thread, for sync code.

    `enqueue`, `set_default` and the recording attributes are safe to use from
    the caller's thread.

    Example::

        with FakeOpenAIServer.in_thread() as server:
            server.enqueue(Reply(status=500, body="oops"))
            urllib.request.urlopen(...)  # against server.url
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        clock: Callable[[], int] | None = None,
        record: bool = True,
        shutdown_timeout: float = 0.5,
    ) -> None:
        """Configures the server; `start` (or ``with``) runs it.

        Args:
            host: See `FakeOpenAIServer`.
            port: See `FakeOpenAIServer`.
            api_key: See `FakeOpenAIServer`.
            clock: See `FakeOpenAIServer`.
            record: See `FakeOpenAIServer`.
            shutdown_timeout: See `FakeOpenAIServer`.
        """
        self._server = FakeOpenAIServer(
            host=host,
            port=port,
            api_key=api_key,
            clock=clock,
            record=record,
            shutdown_timeout=shutdown_timeout,
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return repr(self._server).replace("<FakeOpenAIServer", "<ThreadedFakeOpenAIServer", 1)

    @property
    def port(self) -> int:
        """The bound port."""
        return self._server.port

    @property
    def origin(self) -> str:
        """``http://host:port``."""
        return self._server.origin

    @property
    def url(self) -> str:
        """The base URL clients use: ``http://host:port/v1``."""
        return self._server.url

    @property
    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first."""
        return self._server.requests

    @property
    def queued(self) -> int:
        """How many scripted items are still waiting for a request."""
        return self._server.queued

    @property
    def batches(self) -> BatchStore:
        """The Files and Batches API; see `FakeOpenAIServer.batches`."""
        return self._server.batches

    @property
    def disconnects(self) -> int:
        """How many responses the client abandoned; see `FakeOpenAIServer.disconnects`."""
        return self._server.disconnects

    @property
    def active_connections(self) -> int:
        """How many TCP connections are open now."""
        return self._server.active_connections

    def enqueue(self, *items: ScriptItem) -> None:
        """Queues replies for the next requests; see `FakeOpenAIServer.enqueue`."""
        self._server.enqueue(*items)

    def set_default(self, handler: DefaultHandler | None) -> None:
        """Replaces the echo; see `FakeOpenAIServer.set_default`."""
        self._server.set_default(handler)

    def reset(self) -> None:
        """Forgets queued items, recorded requests, disconnects and the default handler."""
        self._call_in_loop(self._server.reset)

    def wait_for_disconnects(self, n: int = 1, *, timeout: float = 5.0) -> int:
        """Blocks until the server has seen ``n`` abandoned responses in total.

        Args:
            n: The count to reach.
            timeout: Seconds to wait.

        Returns:
            The current count (at least ``n``).

        Raises:
            TimeoutError: The count stays below ``n`` for ``timeout`` seconds.
        """
        return self._server._wait_for_disconnects_blocking(n, timeout)

    def start(self) -> None:
        """Starts the thread and waits until the port is bound.

        Raises:
            RuntimeError: The server is already started.
            OSError: The port cannot be bound.
        """
        if self._thread is not None:
            msg = "ThreadedFakeOpenAIServer is already started"
            raise RuntimeError(msg)
        self._ready.clear()
        thread = threading.Thread(target=self._run, name="gpt_async-fake-openai", daemon=True)
        thread.start()
        self._ready.wait()
        if self._error is not None:
            thread.join()
            raise self._error
        self._thread = thread

    def close(self) -> None:
        """Stops the server, its loop and its thread (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        thread.join()

    def __enter__(self) -> ThreadedFakeOpenAIServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._error = None
        try:
            await self._server.start()
        except BaseException as exc:  # handed to the starting thread, which re-raises it
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._server.close()

    def _call_in_loop(self, function: Callable[[], None]) -> None:
        loop = self._loop
        if self._thread in (None, threading.current_thread()) or loop is None:
            function()
            return
        done = threading.Event()

        def call() -> None:
            try:
                function()
            finally:
                done.set()

        loop.call_soon_threadsafe(call)
        done.wait()


def _validate(data: Any, *, require_model: bool) -> Reply | None:
    if data is _INVALID_JSON or not isinstance(data, dict):
        return _bad_request(
            "We could not parse the JSON body of your request: the API expects a JSON object.",
            None,
        )
    invalid = _validate_messages(data)
    if invalid is not None:
        return invalid
    model = data.get("model")
    if model is None and require_model:
        return _missing("model")
    if model is not None and not isinstance(model, str):
        return _wrong_type("model", "a string")
    return _validate_options(data)


def _validate_messages(data: dict[str, Any]) -> Reply | None:
    messages = data.get("messages")
    if messages is None:
        return _missing("messages")
    if not isinstance(messages, list):
        return _wrong_type("messages", "an array")
    if not messages:
        return _bad_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            "messages",
            "empty_array",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return _missing(f"messages[{index}].role")
    return None


def _validate_options(data: dict[str, Any]) -> Reply | None:
    for name in ("n", "max_tokens", "max_completion_tokens"):
        value = data.get(name)
        if value is not None and (type(value) is not int or value < 1):
            return _wrong_type(name, "an integer >= 1")
    top = data.get("top_logprobs")
    if top is not None and (type(top) is not int or not 0 <= top <= 20):
        return _wrong_type("top_logprobs", "an integer from 0 to 20")
    stop = data.get("stop")
    if stop is not None and not _is_stop(stop):
        return _wrong_type("stop", "a string or an array of strings")
    stream = data.get("stream")
    if stream is not None and not isinstance(stream, bool):
        return _wrong_type("stream", "a boolean")
    return None


def _is_stop(stop: object) -> bool:
    if isinstance(stop, list):
        return all(isinstance(item, str) for item in stop)
    return isinstance(stop, str)


def _bad_request(message: str, param: str | None, code: str | None = None) -> Reply:
    return Reply.error(400, message, param=param, code=code)


def _missing(param: str) -> Reply:
    message = f"Missing required parameter: '{param}'."
    return _bad_request(message, param, "missing_required_parameter")


def _wrong_type(param: str, expected: str) -> Reply:
    return _bad_request(f"Invalid '{param}': expected {expected}.", param, "invalid_type")


@attrs.frozen(kw_only=True)
class _Echo:
    """What the fake model "generates" for one request, ready to render."""

    id: str
    created: int
    model: str
    n: int
    pieces: tuple[str, ...]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    tool: str | None = None
    top_logprobs: int | None = None

    def completion(self) -> dict[str, Any]:
        """Renders the non-streamed ``chat.completion`` object."""
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if self.tool else "".join(self.pieces),
            "refusal": None,
            "annotations": [],
        }
        if self.tool:
            message["tool_calls"] = [self._tool_call("".join(self.pieces))]
        logprobs = self._logprobs(self.pieces)
        choices = [
            {
                "index": i,
                "message": message,
                "logprobs": logprobs,
                "finish_reason": self.finish_reason,
            }
            for i in range(self.n)
        ]
        return {**self._envelope("chat.completion"), "choices": choices, "usage": self._usage()}

    def frames(self, *, include_usage: bool) -> list[RawBytes]:
        """Renders the stream's ``data: <chunk>`` frames (without ``[DONE]``)."""
        base = self._envelope("chat.completion.chunk")
        if include_usage:
            base["usage"] = None
        # The envelope is the same in every chunk: encode it once, splice choices in.
        head = b"data: " + dump_json(base)[:-1] + b',"choices":['

        def frame(index: int, delta: dict[str, Any], **extra: Any) -> RawBytes:
            choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}
            return RawBytes(head + dump_json({**choice, **extra}) + b"]}\n\n")

        frames = [frame(i, self._first_delta()) for i in range(self.n)]
        for piece in self.pieces:
            delta = self._piece_delta(piece)
            logprobs = self._logprobs((piece,))
            frames += [frame(i, delta, logprobs=logprobs) for i in range(self.n)]
        frames += [frame(i, {}, finish_reason=self.finish_reason) for i in range(self.n)]
        if include_usage:
            usage_chunk = {**base, "choices": [], "usage": self._usage()}
            frames.append(RawBytes(b"data: " + dump_json(usage_chunk) + b"\n\n"))
        return frames

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }

    def _first_delta(self) -> dict[str, Any]:
        if self.tool:
            call = {"index": 0, **self._tool_call("")}
            return {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
        return {"role": "assistant", "content": "", "refusal": None}

    def _piece_delta(self, piece: str) -> dict[str, Any]:
        if self.tool:
            return {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        return {"content": piece}

    def _tool_call(self, arguments: str) -> dict[str, Any]:
        call_id = "call_" + self.id.removeprefix("chatcmpl-")
        function = {"name": self.tool, "arguments": arguments}
        return {"id": call_id, "type": "function", "function": function}

    def _logprobs(self, tokens: Iterable[str]) -> dict[str, Any] | None:
        if self.top_logprobs is None or self.tool:
            return None
        return {"content": [_token_logprob(t, self.top_logprobs) for t in tokens], "refusal": None}

    def _usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }


def _token_logprob(token: str, top: int) -> dict[str, Any]:
    chosen = {"token": token, "logprob": -0.25, "bytes": list(token.encode())}
    alternatives = [
        {"token": f"<alt{k}>", "logprob": -0.25 - k, "bytes": list(f"<alt{k}>".encode())}
        for k in range(1, top)
    ]
    return {**chosen, "top_logprobs": [chosen, *alternatives][:top]}


def _plan_echo(data: dict[str, Any], *, seq: int, created: int, model: str) -> _Echo:
    n = data.get("n") or 1
    tool = _forced_tool(data)
    pieces: tuple[str, ...]
    if tool is not None:
        pieces, finish, tokens = ("{", "}"), "tool_calls", 1
    else:
        words, finish = _reply_words(data)
        pieces = tuple(words[:1] + [" " + word for word in words[1:]])
        tokens = len(words)
    top = (data.get("top_logprobs") or 0) if data.get("logprobs") is True else None
    return _Echo(
        id=f"chatcmpl-{seq}",
        created=created,
        model=model,
        n=n,
        pieces=pieces,
        finish_reason=finish,
        prompt_tokens=sum(len(_words(m.get("content"))) for m in data["messages"]),
        completion_tokens=tokens * n,
        tool=tool,
        top_logprobs=top,
    )


def _reply_words(data: dict[str, Any]) -> tuple[list[str], str]:
    user = [m for m in data["messages"] if m.get("role") == "user"]
    text = " ".join(_words(user[-1].get("content"))) if user else ""
    response_format = data.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in _JSON_FORMATS:
        text = json.dumps({"echo": text})
    stop = data.get("stop")
    for sequence in [stop] if isinstance(stop, str) else stop or []:
        cut = text.find(sequence) if sequence else -1
        if cut >= 0:
            text = text[:cut]
    words = text.split()
    limit = data.get("max_completion_tokens") or data.get("max_tokens")
    if limit is not None and len(words) > limit:
        return words[:limit], "length"
    return words, "stop"


_JSON_FORMATS: Final = frozenset({"json_object", "json_schema"})


def _words(content: object) -> list[str]:
    if isinstance(content, str):
        return content.split()
    if isinstance(content, list):
        return [
            word
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
            for word in part["text"].split()
        ]
    return []


def _forced_tool(data: dict[str, Any]) -> str | None:
    tools = data.get("tools")
    if not isinstance(tools, list):
        return None
    choice = data.get("tool_choice")
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        return name if isinstance(name, str) else None
    if choice != "required":
        return None
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    return None
