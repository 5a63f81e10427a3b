"""Chunk streams: ``AsyncStream`` over an HTTP response, and folding chunks into a completion.

A stream reads the response body as the network delivers it, feeds the bytes to
the sans-I/O SSE decoder and turns each event into a
:class:`~gpt_async.models.components.ChatCompletionChunk`. It decodes a whole
network read at a time (:meth:`AsyncStream._next_batch`), which is also what the
synchronous ``Stream`` pulls through the portal: one thread hop per read, not
per chunk.

Leaving early (``break``, the context manager, cancellation) closes the HTTP
response at once, which drops the connection so the server sees the client go.
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import anyio

from . import _converter
from ._accumulate import fold_chunks
from ._exceptions import (
    APIResponseValidationError,
    APITimeoutError,
    IncompleteStreamError,
    SDKError,
    StreamDecodeError,
    status_error,
)
from ._sse import DONE, ServerSentEvent, SSEDecoder
from .models._chunk import ChatCompletionChunk
from .models.operations import RawResponse

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from ._transport import HTTPResponse
    from .models._response import ChatCompletion

__all__ = ["AsyncStream"]

T = TypeVar("T")
_BODY_LIMIT = 64 * 1024


class AsyncStream(Generic[T]):
    """An async iterator of stream chunks that is also an async context manager.

    Iterate it with ``async for``; leave it (``async with``, ``break`` then
    :meth:`aclose`) to close the connection early. After the last chunk,
    :meth:`get_final_completion` returns the completion folded from every chunk.

    Attributes:
        response: The HTTP response (status and headers), once connected.
    """

    def __init__(
        self,
        cls: type[T],
        *,
        response: HTTPResponse | None = None,
        opener: Awaitable[tuple[HTTPResponse, Any]] | None = None,
    ) -> None:
        self._cls = cls
        self.response = response
        self._opener = opener
        self._decoder = SSEDecoder()
        self._batch: list[T] = []
        self._pos = 0
        self.chunks: list[T] = []
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
        return cls(ChatCompletionChunk, opener=opener)  # type: ignore[arg-type]

    def set_deadline(self, deadline: float | None) -> None:
        """Bound the whole stream by an absolute ``anyio.current_time()`` deadline."""
        self._deadline = deadline

    async def _connect(self) -> HTTPResponse:
        if self.response is None:
            if self._opener is None:
                raise RuntimeError("stream has neither a response nor an opener")
            opener, self._opener = self._opener, None
            _response, connected = await opener
            self.response = connected.response
            self._deadline = connected._deadline
            if connected._observer is not None:  # the call's span follows this stream now
                self._watch(connected._observer)
                connected._observer = None
        return self.response

    def _watch(self, observer: _Observer) -> None:
        """Report each batch of chunks and the stream's end to ``observer`` (its span)."""
        self._observer = observer
        observer.bind(self)

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> Self:
        return self

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
                if chunks or self._done:
                    return chunks
        except BaseException as exc:
            if self._observer is not None:
                self._observer.end(exc)
            await self.aclose()
            raise

    async def _read(self, response: HTTPResponse) -> bytes:
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
                parsed = _converter.loads(data)
            except ValueError:
                raise StreamDecodeError(
                    "a stream event's data is not valid JSON", body=data[:_BODY_LIMIT]
                ) from None
            if isinstance(parsed, dict) and "error" in parsed:
                raise _stream_error(data, self.response)
            try:
                chunk = _converter.structure(parsed, self._cls)
            except APIResponseValidationError as exc:
                raise StreamDecodeError(
                    exc.message, path=exc.path, body=data[:_BODY_LIMIT]
                ) from None
            chunks.append(chunk)
        self.chunks += chunks
        if self._observer is not None:
            self._observer.observe(chunks, done=self._done)
        return chunks

    def _finish(self) -> None:
        self._done = True
        if self.response is not None:
            self.response.close()  # releases for reuse when the body has ended

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        """Close the HTTP response; a stream not read to its end drops its connection."""
        if self._closed:
            return
        self._closed = True
        if self._observer is not None:
            self._observer.end()
        if self.response is not None:
            self.response.close()
        elif self._opener is not None:
            opener, self._opener = self._opener, None
            if hasattr(opener, "close"):
                opener.close()

    async def __aenter__(self) -> Self:
        try:
            await self._connect()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

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
        return fold_chunks(self.chunks)  # type: ignore[arg-type]


class _Observer(Protocol):
    """What watches a stream from the side: the tracer's record of the call."""

    def bind(self, stream: AsyncStream[Any]) -> None: ...

    def observe(self, chunks: list[Any], *, done: bool) -> None: ...

    def end(self, error: BaseException | None = None) -> None: ...


def _stream_error(data: str, response: HTTPResponse | None) -> SDKError:
    """The SDKError for an ``event: error`` or an ``{"error": ...}`` payload in a stream."""
    try:
        parsed = _converter.loads(data)
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
