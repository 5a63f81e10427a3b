"""FastAPI integration: the client in the app's lifespan, streaming passthrough, error mapping.

Install the extra (``pip install "gpt_async[fastapi]"``); ``import gpt_async``
never imports FastAPI, only ``import gpt_async.fastapi`` does::

    from fastapi import FastAPI
    from gpt_async.fastapi import GptClient, gpt_lifespan, install_error_handlers, stream_response

    app = FastAPI(lifespan=gpt_lifespan(timeout=30))
    install_error_handlers(app)

    @app.post("/chat")
    async def chat(prompt: str, gpt: GptClient):
        stream = await gpt.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True
        )
        return await stream_response(stream)

- `gpt_lifespan` opens one `AsyncGpt` (and, with ``sync=True``, one `Gpt`)
  when the app starts and closes it on shutdown; `GptClient` / `SyncGptClient`
  inject them into endpoints.
- `stream_response` turns an `AsyncStream` into a ``text/event-stream``
  response. When the browser goes away the upstream stream is closed at once,
  which drops its connection, so the model stops generating (and billing).
- `install_tracing` gives every request an OpenTelemetry SERVER span joined to
  the caller's ``traceparent``, so the chat calls of an endpoint continue the
  caller's trace (needs ``gpt_async[otel]``).
- `install_error_handlers` maps SDK errors to HTTP answers for the browser:
  upstream 429 stays 429 (with ``Retry-After``), upstream 5xx and connection
  failures become 502, timeouts 504, other upstream 4xx keep their status.
  The body is a generic ``{"error": {"message", "type"}}``: neither the
  upstream body nor anything about the API key reaches the browser; the full
  error is logged on the ``gpt_async.fastapi`` logger.
"""

from __future__ import annotations

import contextlib
import http
import inspect
import logging
import math
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Annotated, Final, Literal, TypeVar

import anyio
import anyio.to_thread
import fastapi.encoders
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.applications import Starlette

from . import _codec
from ._client import AsyncGpt
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    ClientStateError,
    FinishReasonError,
    GptAsyncError,
    RequestValidationError,
    SchemaError,
    SDKError,
)
from ._retry import parse_retry_after
from ._streaming import AsyncStream
from ._sync import Gpt
from ._types import WireModel

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send
    from typing_extensions import Unpack

    from ._params import ClientOptions
    from .models._chunk import ChatCompletionChunk

__all__ = [
    "ChatStreamResponse",
    "GptClient",
    "StreamFormat",
    "SyncGptClient",
    "error_response",
    "get_gpt",
    "get_sync_gpt",
    "gpt_lifespan",
    "install_error_handlers",
    "install_tracing",
    "stream_response",
]

logger = logging.getLogger("gpt_async.fastapi")

# A wire model returned from an endpoint without a response model is encoded by
# FastAPI's own table of encoders: there, as the JSON ``to_json`` writes.
fastapi.encoders.encoders_by_class_tuples[_codec.to_dict] += (WireModel,)

T = TypeVar("T")

#: The ``app.state`` attributes `gpt_lifespan` sets.
STATE_ASYNC: Final = "gpt"
STATE_SYNC: Final = "gpt_sync"

#: ``"openai"``: ``data: <chunk JSON>`` frames, then ``data: [DONE]``, as the API sends them.
#: ``"text"``: ``data: <content delta>`` frames, then ``event: done``.
StreamFormat = Literal["openai", "text"]

_DONE: Final = b"data: [DONE]\n\n"
_TEXT_DONE: Final = b"event: done\ndata: [DONE]\n\n"
_SSE_HEADERS: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


# ---------------------------------------------------------------------- lifespan


def gpt_lifespan(
    *, sync: bool = False, **options: Unpack[ClientOptions]
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan that opens the client at startup and closes it at shutdown.

    Pass it as ``FastAPI(lifespan=gpt_lifespan(...))``, or enter it inside your
    own lifespan: ``async with gpt_lifespan(...)(app): yield``.

    Args:
        sync: Also open a `Gpt` for plain ``def`` endpoints (`SyncGptClient`).
            It gets the same options, so pass no ``session`` or ``transport`` then.
        **options: The `AsyncGpt` options (``api_key_auth``, ``server_url``,
            ``timeout``, ``retry_config``...); unset ones fall back to the environment.

    Returns:
        The lifespan function; it stores the clients on ``app.state``.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(AsyncGpt(**options))
            setattr(app.state, STATE_ASYNC, client)
            stack.callback(delattr, app.state, STATE_ASYNC)
            if sync:
                sync_client = Gpt(**options)
                stack.push_async_callback(anyio.to_thread.run_sync, sync_client.close)
                setattr(app.state, STATE_SYNC, sync_client)
                stack.callback(delattr, app.state, STATE_SYNC)
            yield

    return lifespan


async def get_gpt(request: Request) -> AsyncGpt:
    """The dependency that returns the app's `AsyncGpt`.

    Raises:
        RuntimeError: The app runs without `gpt_lifespan`.
    """
    return _from_state(request, STATE_ASYNC, AsyncGpt, "gpt_lifespan(...)")


async def get_sync_gpt(request: Request) -> Gpt:
    """The dependency that returns the app's `Gpt`, for plain ``def`` endpoints.

    Used from an ``async def`` endpoint, it warns (once per endpoint) that each call
    blocks the event loop: every other request waits until it returns.

    Raises:
        RuntimeError: The app runs without ``gpt_lifespan(sync=True, ...)``.
    """
    _warn_if_async(request.scope.get("endpoint"))
    return _from_state(request, STATE_SYNC, Gpt, "gpt_lifespan(sync=True, ...)")


_WARNED: set[object] = set()


def _warn_if_async(endpoint: object) -> None:
    if endpoint in _WARNED or not inspect.iscoroutinefunction(endpoint):
        return
    _WARNED.add(endpoint)
    name = getattr(endpoint, "__qualname__", repr(endpoint))
    msg = (
        f"the async def endpoint {name} takes SyncGptClient: its calls block the event "
        "loop and every other request; take GptClient (await its calls) or make it a def"
    )
    warnings.warn(msg, RuntimeWarning, stacklevel=2)


def _from_state(request: Request, name: str, cls: type[T], needs: str) -> T:
    client = getattr(request.app.state, name, None)
    if not isinstance(client, cls):
        msg = f"no {cls.__name__} on app.state.{name}: create the app with lifespan={needs}"
        raise RuntimeError(msg)
    return client


#: An endpoint parameter annotated ``gpt: GptClient`` receives the app's `AsyncGpt`.
GptClient = Annotated[AsyncGpt, Depends(get_gpt)]
#: An endpoint parameter annotated ``gpt: SyncGptClient`` receives the app's `Gpt`.
SyncGptClient = Annotated[Gpt, Depends(get_sync_gpt)]


# ---------------------------------------------------------------------- streaming


async def stream_response(
    stream: AsyncStream[ChatCompletionChunk],
    *,
    format: StreamFormat = "openai",
    headers: Mapping[str, str] | None = None,
) -> ChatStreamResponse:
    """Waits for the stream's first chunks, then wraps it in a `ChatStreamResponse`.

    Reading up to the first chunks before answering means that an upstream error
    status (429, 5xx...), a body that is not an event stream, or an error event
    in place of the first chunk raises here, inside the endpoint, where
    `install_error_handlers` turns it into a proper HTTP answer instead of a
    ``200`` stream that breaks at once. (A client that leaves during that wait
    is noticed when the first chunk arrives.)

    Args:
        stream: From ``create(stream=True)`` or ``completions.stream(...)``.
        format: ``"openai"`` or ``"text"``; see `StreamFormat`.
        headers: Extra response headers.

    Returns:
        The response to return from the endpoint.

    Raises:
        GptAsyncError: The upstream failed before its first chunk (the stream is closed).
    """
    _check_format(format)
    await stream.__aenter__()
    head = await stream._next_batch()
    return ChatStreamResponse(stream, format=format, headers=headers, head=head)


class ChatStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response that relays an `AsyncStream` to the browser.

    Formats (`StreamFormat`):

    - ``"openai"``: every chunk as ``data: <chunk JSON>`` (`gpt_async.to_dict`),
      then ``data: [DONE]``, so OpenAI-style clients parse it unchanged;
    - ``"text"``: choice 0's content deltas as ``data: <text>`` (a delta with
      line breaks spans several ``data:`` lines, which ``EventSource`` joins
      with ``\\n``), then ``event: done``.

    An upstream failure after the first byte ends the body with
    ``event: error`` and ``data: {"error": {"message", "type"}}`` (no
    ``[DONE]``). When the client disconnects, the upstream stream is closed
    at once, whatever ASGI server runs the app.
    """

    def __init__(
        self,
        stream: AsyncStream[ChatCompletionChunk],
        *,
        format: StreamFormat = "openai",
        headers: Mapping[str, str] | None = None,
        status_code: int = 200,
        head: Sequence[ChatCompletionChunk] = (),
    ) -> None:
        """Wraps ``stream``.

        Args:
            stream: The chunk stream; the response closes it when done or abandoned.
            format: ``"openai"`` or ``"text"``; see the class docstring.
            headers: Extra response headers.
            status_code: The HTTP status.
            head: Chunks already taken from ``stream``, sent first.
        """
        _check_format(format)
        self.stream = stream
        self.format = format
        self._frames = _frames(stream, format, head)
        super().__init__(
            self._frames,
            status_code=status_code,
            headers={**_SSE_HEADERS, **(headers or {})},
            media_type="text/event-stream",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        failure: Exception | None = None
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._cancel_on_disconnect, receive, group.cancel_scope)
                try:
                    await self.stream_response(send)
                except OSError:
                    pass  # ASGI 2.4 servers report a vanished client this way
                except Exception as exc:  # re-raised below, outside the task group
                    failure = exc
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.stream.aclose()
                await self._frames.aclose()
        if failure is not None:
            raise failure
        if self.background is not None:
            await self.background()

    async def _cancel_on_disconnect(self, receive: Receive, scope: anyio.CancelScope) -> None:
        await self.listen_for_disconnect(receive)
        logger.debug("the client disconnected; closing the upstream stream")
        scope.cancel()


def _check_format(format: str) -> None:
    if format not in ("openai", "text"):
        msg = f"format must be 'openai' or 'text', not {format!r}"
        raise ValueError(msg)


async def _frames(
    stream: AsyncStream[ChatCompletionChunk],
    format: StreamFormat,
    head: Sequence[ChatCompletionChunk],
) -> AsyncGenerator[bytes, None]:
    encode = _chunk_frame if format == "openai" else _text_frame
    try:
        first = b"".join(encode(chunk) for chunk in head)
        if first:
            yield first
        async for chunk in stream:
            frame = encode(chunk)
            if frame:
                yield frame
    except APIError as exc:
        status, kind, message = _classify(exc)
        logger.warning(
            "upstream stream failed, sent as %s %s: %s: %s", status, kind, type(exc).__name__, exc
        )
        error = {"error": {"message": message, "type": kind}}
        yield b"event: error\ndata: " + _codec.dumps(error) + b"\n\n"
        return
    finally:
        await stream.aclose()
    yield _DONE if format == "openai" else _TEXT_DONE


def _chunk_frame(chunk: ChatCompletionChunk) -> bytes:
    return b"data: " + _codec.dumps(_codec.to_dict(chunk)) + b"\n\n"


def _text_frame(chunk: ChatCompletionChunk) -> bytes:
    text = "".join(c.delta.content or "" for c in chunk.choices if c.index == 0)
    if not text:
        return b""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "".join(f"data: {line}\n" for line in lines).encode() + b"\n"


# ---------------------------------------------------------------------- tracing


def install_tracing(app: FastAPI, *, tracer_provider: object = None) -> None:
    """Wraps ``app`` so that each request runs in a SERVER span continuing the caller's trace.

    The incoming ``traceparent`` becomes the span's parent, so an `AsyncGpt`
    call inside an endpoint is a child of the request's span and sends the
    trace on upstream. Use it when no other instrumentation
    (``opentelemetry-instrumentation-fastapi``) already makes server spans.

    Args:
        app: The application.
        tracer_provider: A tracer provider; ``None`` uses the global one.

    Raises:
        ImportError: ``opentelemetry-api`` is not installed (``pip install "gpt_async[otel]"``).
    """
    try:
        from ._tracing import ServerSpanMiddleware  # noqa: PLC0415 - OpenTelemetry is optional
    except ImportError as exc:
        msg = 'install_tracing needs opentelemetry-api: pip install "gpt_async[otel]"'
        raise ImportError(msg, name=exc.name) from exc
    app.add_middleware(ServerSpanMiddleware, tracer_provider=tracer_provider)


# ---------------------------------------------------------------------- errors


def install_error_handlers(app: FastAPI) -> None:
    """Answers every gpt_async error raised by an endpoint with `error_response`.

    Args:
        app: The application.
    """
    app.add_exception_handler(GptAsyncError, _handle)


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GptAsyncError)
    return error_response(exc)


def error_response(exc: GptAsyncError) -> JSONResponse:
    """The HTTP answer for the browser to an SDK error, logging the error itself.

    ============================================  =======================
    error                                         answer
    ============================================  =======================
    `RateLimitError` (upstream 429)               429 + ``Retry-After``
    upstream 5xx, 401, 403                        502
    `APITimeoutError`                             504
    `APIConnectionError` (refused, reset, cut)    502
    an unusable answer (not JSON, cut short)      502
    other upstream 4xx                            the same status
    `RequestValidationError` (bad input)          400
    `ClientStateError` (client closed)            503
    anything else (`SchemaError`, tool loops)     500
    ============================================  =======================

    Args:
        exc: The error.

    Returns:
        A JSON response ``{"error": {"message": ..., "type": ...}}`` with a generic
        message: no upstream body, no key.
    """
    status, kind, message = _classify(exc)
    log = logger.warning if status < 500 else logger.error
    log("answered %s %s for %s: %s", status, kind, type(exc).__name__, exc)
    headers = {}
    if status == 429 and isinstance(exc, SDKError) and exc.raw_response is not None:
        wait = parse_retry_after(exc.raw_response.headers)
        if wait is not None:
            headers["Retry-After"] = str(max(0, math.ceil(wait)))
    body = {"error": {"message": message, "type": kind}}
    return JSONResponse(body, status_code=status, headers=headers)


def _classify(exc: GptAsyncError) -> tuple[int, str, str]:
    """The status, error type and generic message the browser gets for ``exc``."""
    if isinstance(exc, SDKError):
        return _classify_status(exc.status_code)
    if isinstance(exc, APITimeoutError):
        return 504, "upstream_timeout", "The AI service did not answer in time."
    if isinstance(exc, APIConnectionError):
        return 502, "upstream_error", "The connection to the AI service failed."
    if isinstance(exc, (APIResponseValidationError, FinishReasonError)):
        return 502, "upstream_error", "The AI service sent an unusable answer."
    if isinstance(exc, RequestValidationError) and not isinstance(exc, SchemaError):
        return 400, "invalid_request", "The chat request is invalid."
    if isinstance(exc, ClientStateError):
        return 503, "unavailable", "The AI client is not available."
    return 500, "internal_error", "The AI request failed."


def _classify_status(status: int) -> tuple[int, str, str]:
    if status == 429:
        return 429, "rate_limited", "The AI service is busy; try again later."
    # 401/403 mean this server's key is wrong: the browser can do nothing about it.
    if status in (401, 403) or not 400 <= status < 500:
        return 502, "upstream_error", "The AI service failed to answer."
    phrase = _phrase(status)
    return status, "invalid_request", f"The AI service rejected the request ({phrase})."


def _phrase(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
