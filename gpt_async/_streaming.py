"""Chunk streams: ``AsyncStream`` over an HTTP response, and folding chunks into a completion.

A stream reads the response body as the network delivers it, feeds the bytes to
the sans-I/O SSE decoder and turns each event into a
:class:`~gpt_async.models.components.ChatCompletionChunk`. It decodes a whole
network read at a time (:meth:`AsyncStream._next_batch`), which is also what the
synchronous ``Stream`` pulls through the portal: one thread hop per read, not
per chunk.

Leaving early closes the HTTP response at once, which drops the connection so the
server sees the client go. ``async for`` runs through an async generator
(:meth:`AsyncStream.__aiter__`): when a loop is left early (``break``, ``return``,
an exception, cancellation) the loop drops the generator, and asyncio's
async-generator finalizer runs its ``finally``, which closes the response, even
while the stream object itself is still referenced. ``anext(stream)`` pulls one
chunk and keeps the stream open. A stream dropped unread is released by a
``weakref.finalize`` that never touches a closed loop.

A stream may carry an end hook (the rate limiter's settlement), run once on
whichever close path comes first: its end, ``aclose()`` (which awaits what the
hook returns), or a synchronous close (``close_now()``, a loop left early, the
finalizer), which cannot await and closes what the hook returns instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import anyio

from . import _codec
from ._exceptions import (
    APIResponseValidationError,
    APITimeoutError,
    ClientStateError,
    IncompleteStreamError,
    SDKError,
    StreamDecodeError,
    status_error,
)
from ._response import stream_response
from ._sse import DONE, ServerSentEvent, SSEDecoder
from ._types import AsyncClosing
from .models.operations import RawResponse

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._response import APIResponse
    from ._transport import HTTPResponse
    from .models._response import ChatCompletion

__all__ = ["AsyncStream"]

T = TypeVar("T")
_BODY_LIMIT = 64 * 1024
#: Called once with every chunk when the stream ends or closes; what it returns is awaited.
EndHook = Callable[[list[Any]], Coroutine[Any, Any, None] | None]


class _Held:
    """What a stream must release if it is dropped unread: its opener or response, its end hook.

    The hook gets ``chunks``, the very list the stream appends to. Kept apart from
    the stream so that the stream's finalizer can hold it without keeping the
    stream alive.
    """

    __slots__ = ("chunks", "loop", "on_end", "opener", "response")

    def __init__(self, opener: Awaitable[Any] | None) -> None:
        self.opener = opener
        self.response: HTTPResponse | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.on_end: EndHook | None = None
        self.chunks: list[Any] = []

    def hold(self, response: HTTPResponse) -> None:
        self.response = response
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to come back to
            self.loop = asyncio.get_running_loop()

    def close(self) -> None:
        """Close at once; called on the loop's thread."""
        opener, self.opener = self.opener, None
        if opener is not None and hasattr(opener, "close"):
            opener.close()  # a coroutine never awaited: closing it sends nothing, warns nothing
        response, self.response = self.response, None
        if response is not None:
            response.close()

    def end(self) -> Coroutine[Any, Any, None] | None:
        """Run the end hook once; returns what is left to await, if anything."""
        on_end, self.on_end = self.on_end, None
        return on_end(self.chunks) if on_end is not None else None

    def abandon(self) -> None:
        """Close and run the end hook at once, where nothing can be awaited."""
        self.close()
        pending = self.end()
        if pending is not None:
            pending.close()  # e.g. a Redis settlement: its lease expires there instead

    def release(self) -> None:
        """The finalizer: any thread, any time, even at interpreter exit."""
        loop = self.loop
        idle = self.response is None and self.on_end is None
        if idle or loop is None or _running_loop() is loop:
            self.abandon()
            return
        with contextlib.suppress(RuntimeError):  # the loop closed, maybe just now
            if not loop.is_closed():
                # The response and the hook (a limiter's slot) belong to the loop's thread.
                loop.call_soon_threadsafe(self.abandon)
                return
        self.response = None  # a closed loop took its sockets with it; nothing runs there now
        self.abandon()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class AsyncStream(AsyncClosing, Generic[T]):
    """An async iterator of stream chunks that is also an async context manager.

    Iterate it with ``async for``: leaving the loop early in any way (``break``,
    ``return``, an exception, cancellation) closes the connection, with or
    without ``async with``; iterating it again then ends at once. ``anext(stream)``
    takes one chunk and keeps the stream open. After the last chunk,
    :meth:`get_final_completion` returns the completion folded from every chunk.

    Attributes:
        response: The :class:`~gpt_async.APIResponse` (status, headers, request id,
            rate limits), once connected; its ``parse()`` gives this stream.
    """

    def __init__(
        self,
        cls: type[T],
        *,
        response: HTTPResponse | None = None,
        opener: Awaitable[tuple[HTTPResponse, Any]] | None = None,
    ) -> None:
        self._cls = cls
        self.response = None if response is None else stream_response(response, self)
        self._held = _Held(opener)
        if self.response is not None:
            self._held.hold(self.response)
        # Also run at exit, before the portal stops: collection during teardown is too late.
        weakref.finalize(self, self._held.release)
        self._decoder = SSEDecoder()
        self._batch: list[T] = []
        self._pos = 0
        self.chunks: list[T] = self._held.chunks  # shared: the finalizer's hook reads it
        self._done = False
        self._closed = False
        self._deadline: float | None = None
        self._observer: _Observer | None = None

    @classmethod
    def from_response(cls, response: HTTPResponse, chunk_cls: type[T]) -> AsyncStream[T]:
        """A stream over a response whose headers have arrived."""
        return cls(chunk_cls, response=response)

    @classmethod
    def deferred(cls, opener: Awaitable[tuple[HTTPResponse, Any]]) -> AsyncStream[Any]:
        """A stream whose request is sent when it is entered or first iterated."""
        from .models._chunk import ChatCompletionChunk  # noqa: PLC0415 - loads with the first stream

        return cls(ChatCompletionChunk, opener=opener)  # type: ignore[arg-type]

    def set_deadline(self, deadline: float | None) -> None:
        """Bound the whole stream by an absolute ``anyio.current_time()`` deadline."""
        self._deadline = deadline

    async def _connect(self) -> APIResponse[Any]:
        if self.response is None:
            opener, self._held.opener = self._held.opener, None
            if opener is None:
                raise ClientStateError("the stream was closed before it was connected")
            _response, connected = await opener
            # The stream the request made hands its response over: dropping it must not close it.
            held, connected._held.response = connected._held.response, None
            assert held is not None
            self.response = stream_response(held, self)
            self._held.hold(self.response)
            self._deadline = connected._deadline
            self._held.on_end, connected._held.on_end = connected._held.on_end, None
            if connected._observer is not None:  # the call's span follows this stream now
                self._watch(connected._observer)
                connected._observer = None
        return self.response

    @property
    def _on_end(self) -> EndHook | None:
        """The end hook (the rate limiter's settlement), run once on the first close path."""
        return self._held.on_end

    @_on_end.setter
    def _on_end(self, hook: EndHook | None) -> None:
        self._held.on_end = hook

    def _watch(self, observer: _Observer) -> None:
        """Report each batch of chunks and the stream's end to ``observer`` (its span)."""
        self._observer = observer
        observer.bind(self)

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        """The chunks, for ``async for``; a loop left early drops this generator and closes."""
        try:
            while batch := await self._next_batch():
                for chunk in batch:
                    yield chunk
        finally:
            self.close_now()

    async def __anext__(self) -> T:
        if self._pos < len(self._batch):
            chunk = self._batch[self._pos]
            self._pos += 1
            return chunk
        batch = await self._next_batch()
        if not batch:
            raise StopAsyncIteration
        self._batch, self._pos = batch, 1
        return batch[0]

    async def _next_batch(self) -> list[T]:
        """The chunks of the next network read(s) not yet delivered; ``[]`` at the end."""
        if self._pos < len(self._batch):
            rest = self._batch[self._pos :]
            self._batch, self._pos = [], 0
            return rest
        if self._done or self._closed:
            return []
        response = await self._connect()
        try:
            while True:
                data = await self._read(response)
                if not data:
                    raise IncompleteStreamError("the stream ended without data: [DONE]")
                chunks = self._decode(self._decoder.feed(data))
                if self._held.on_end is not None:
                    await self._end_if_done()
                if chunks or self._done:
                    return chunks
        except BaseException as exc:
            if self._observer is not None:
                self._observer.end(exc)
            await self.aclose()
            raise

    async def _read(self, response: APIResponse[Any]) -> bytes:
        if self._deadline is None:
            return await response.read_chunk()
        with anyio.move_on_after(self._deadline - anyio.current_time()) as scope:
            return await response.read_chunk()
        assert scope.cancelled_caught
        raise APITimeoutError("total timeout expired during the stream")

    def _decode(self, events: list[ServerSentEvent]) -> list[T]:
        chunks: list[T] = []
        for event in events:
            data = event.data
            if data == DONE:
                self._finish()
                break
            if event.event == "error":
                raise _stream_error(data, self.response)
            try:
                parsed = _codec.loads(data)
            except ValueError:
                raise StreamDecodeError(
                    "a stream event's data is not valid JSON", body=data[:_BODY_LIMIT]
                ) from None
            if isinstance(parsed, dict) and "error" in parsed:
                raise _stream_error(data, self.response)
            try:
                chunk = _codec.structure(parsed, self._cls)
            except APIResponseValidationError as exc:
                raise StreamDecodeError(
                    exc.message, path=exc.path, body=data[:_BODY_LIMIT]
                ) from None
            chunks.append(chunk)
        self.chunks.extend(chunks)
        if self._observer is not None:
            self._observer.observe(chunks, done=self._done)
        return chunks

    def _finish(self) -> None:
        self._done = self._closed = True
        self._held.close()  # releases the connection for reuse: the body has ended

    # ------------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> bool:
        """Whether the stream was closed: read to its end, failed, left early or closed."""
        return self._closed

    def close_now(self) -> None:
        """Close the HTTP response at once, on the event loop's thread; idempotent.

        The end hook runs at once too: a rate limiter settles in-process, but a
        Redis settlement needs an await, so its lease expires instead (prefer
        :meth:`aclose` where you can await).
        """
        self._closed = True
        if self._observer is not None:  # the call's span ends with the stream
            self._observer.end()
        self._held.abandon()

    async def aclose(self) -> None:
        """Close the HTTP response; a stream not read to its end drops its connection."""
        self._closed = True
        if self._observer is not None:  # the call's span ends with the stream
            self._observer.end()
        self._held.close()
        await self._ended()

    async def _end_if_done(self) -> None:
        if self._done:  # read to its end: settle now, not when the stream is dropped
            await self._ended()

    async def _ended(self) -> None:
        pending = self._held.end()
        if pending is not None:
            await pending

    async def __aenter__(self) -> Self:
        try:
            await self._connect()
        except BaseException:
            await self.aclose()
            raise
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        """``await client.chat.completions.stream(...)`` connects and returns the stream."""
        return self.__aenter__().__await__()

    async def get_final_completion(self) -> ChatCompletion:
        """Read what is left of the stream and fold every chunk into one completion.

        Returns:
            The :class:`ChatCompletion` the same reply would have been without
            streaming: content, refusal, tool calls, logprobs, finish reasons, usage.
        """
        while await self._next_batch():
            pass
        if not self._done:
            raise ClientStateError(
                f"the stream was closed after {len(self.chunks)} chunk(s), before its end "
                "(a loop over it was left early, or it was closed): there is no final completion"
            )
        from ._accumulate import fold_chunks  # noqa: PLC0415 - only a final completion folds

        return fold_chunks(self.chunks)  # type: ignore[arg-type]


class _Observer(Protocol):
    """What watches a stream from the side: the tracer's record of the call."""

    def bind(self, stream: AsyncStream[Any]) -> None: ...

    def observe(self, chunks: list[Any], *, done: bool) -> None: ...

    def end(self, error: BaseException | None = None) -> None: ...


def _stream_error(data: str, response: APIResponse[Any] | None) -> SDKError:
    """The SDKError for an ``event: error`` or an ``{"error": ...}`` payload in a stream."""
    try:
        parsed = _codec.loads(data)
    except ValueError:
        parsed = None
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        error = {"message": data[:500]}
    code = error.get("code")
    status = code if isinstance(code, int) and 400 <= code <= 599 else 0
    if not status and response is not None:
        status = response.status_code
    return status_error(status)(
        str(error.get("message") or "error event in the stream"),
        status_code=status,
        body=data[:_BODY_LIMIT],
        raw_response=RawResponse.of(response) if response is not None else None,
        error=error,
    )
