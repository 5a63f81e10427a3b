"""``Gpt``: the synchronous facade. No logic lives here.

Each method hands its async twin's coroutine to the process-wide portal
(``_portal.run``) in one line, and every result crosses back through one
adapter, :func:`to_sync`, so nothing async reaches a sync caller. The
``AsyncGpt`` inside is created here but opens its aiohttp session lazily, on the
portal's loop, on the first call.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import attrs

from . import _portal
from ._client import (
    DEFAULT,
    AsyncCompletions,
    AsyncCompletionsWithRawResponse,
    AsyncGpt,
    AsyncModels,
)
from ._exceptions import RequestValidationError
from ._keywords import mirror
from ._params import CLIENT
from ._response import APIResponse
from ._streaming import AsyncStream
from ._types import Closing
from .models.operations import CreateChatCompletionResponse

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typing_extensions import Self, Unpack

    from ._config import Timeout
    from ._params import (
        CallOptions,
        ClientOptions,
        CompletionCreateParams,
        ParseParams,
        RunToolsParams,
    )
    from ._parse import AsyncParseStream, ParsedChatCompletion
    from ._retry import RetryConfig
    from ._tools import FunctionTool, ToolRunResult, ToolStep
    from .models._chunk import ChatCompletionChunk
    from .models._listing import ModelList, ModelObject
    from .models._request import CreateChatCompletionRequest
    from .models._response import ChatCompletion

__all__ = [
    "Chat",
    "Completions",
    "CompletionsWithRawResponse",
    "Gpt",
    "Models",
    "ParseStream",
    "Stream",
]

T = TypeVar("T")


class Stream(Closing, Generic[T]):
    """A plain iterator of stream chunks that is also a context manager.

    Leaving a ``for`` loop over it early in any way (``break``, ``return``, an
    exception, Ctrl-C) closes the connection, with or without ``with``: the loop
    runs through a generator whose ``finally`` closes the response when the loop
    drops it. Iterating it again then ends at once. ``next(stream)`` takes one
    chunk and keeps the stream open. It pulls a whole network read of chunks per
    trip to the portal.
    """

    def __init__(self, stream: AsyncStream[T]) -> None:
        self._async = stream
        self._batch: list[T] = []
        self._pos = 0

    @property
    def response(self) -> APIResponse[Stream[T]] | None:
        """The :class:`~gpt_async.APIResponse` once connected; its ``parse()`` gives this stream."""
        raw = self._async.response
        return None if raw is None else raw.with_parsed(self, weak=True)

    @property
    def chunks(self) -> list[T]:
        """Every chunk received so far."""
        return self._async.chunks

    @property
    def closed(self) -> bool:
        """Whether the stream was closed: read to its end, failed, left early or closed."""
        return self._async.closed

    def __iter__(self) -> Iterator[T]:
        return self._iterate()

    def _iterate(self) -> Iterator[T]:
        try:
            while batch := self._take():
                yield from batch
        finally:
            if not self._async.closed:
                _portal.cleanup(self._async.close_now)

    def __next__(self) -> T:
        if self._pos == len(self._batch) and not self._refill():
            raise StopIteration
        self._pos += 1
        return self._batch[self._pos - 1]

    def _take(self) -> list[T]:
        """The chunks not delivered yet: the rest of the batch ``next()`` began, else a read's."""
        if self._pos < len(self._batch):
            rest = self._batch[self._pos :]
            self._batch, self._pos = [], 0
            return rest
        return _portal.run(self._async._next_batch)

    def _refill(self) -> bool:
        self._batch, self._pos = _portal.run(self._async._next_batch), 0
        return bool(self._batch)

    def close(self) -> None:
        """Close the HTTP response; a stream not read to its end drops its connection."""
        _portal.run(self._async.aclose)

    def __enter__(self) -> Self:
        _portal.run(self._async.__aenter__)
        return self

    def get_final_completion(self) -> ChatCompletion:
        """Read what is left of the stream and fold every chunk into one completion."""
        return _portal.run(self._async.get_final_completion)


class ParseStream(Stream["ChatCompletionChunk"], Generic[T]):
    """A sync Structured Outputs stream: the chunks, then the parsed completion."""

    def __init__(self, stream: AsyncParseStream[T]) -> None:
        super().__init__(stream.stream)
        self._parse = stream

    def get_final_completion(self) -> ParsedChatCompletion[T]:
        """Read the rest, fold the chunks and parse the message (see the async twin)."""
        return _portal.run(self._parse.get_final_completion)


def to_sync(result: Any) -> Any:
    """The sync twin of what an ``AsyncGpt`` method returned: the one sync boundary.

    ``AsyncStream`` becomes ``Stream``, ``AsyncParseStream`` ``ParseStream``, and an
    envelope or :class:`~gpt_async.APIResponse` carrying an ``AsyncStream`` the same
    one carrying a ``Stream``; every other result is sync already and passes unchanged.
    """
    if isinstance(result, AsyncStream):
        return Stream(result)
    if isinstance(result, APIResponse) and isinstance(result.parse(), AsyncStream):
        return result.with_parsed(Stream(result.parse()))
    if isinstance(result, CreateChatCompletionResponse) and isinstance(result.stream, AsyncStream):
        return attrs.evolve(result, stream=Stream(result.stream))
    parse = sys.modules.get("gpt_async._parse")  # no parse stream exists before it loads
    if parse is not None and isinstance(result, parse.AsyncParseStream):
        return ParseStream(result)
    return result


def _run(fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    """Run an ``AsyncGpt`` method on the portal; its result crosses through :func:`to_sync`."""
    return to_sync(_portal.run(fn, *args, **kwargs))


def _refuse_session(options: Mapping[str, Any]) -> None:
    # A session belongs to the loop it was made on; Gpt runs on its own loop thread.
    if options.get("session") is not None:
        raise RequestValidationError(
            "session",
            "Gpt cannot use an aiohttp.ClientSession: it runs on its own event-loop thread"
            " and a session serves only the loop it was created on. Use the proxy=,"
            " ssl_context=, limits= or transport= options instead, or AsyncGpt(session=...)",
        )


class Gpt(Closing):
    """The synchronous client: the same options and methods as :class:`AsyncGpt`.

    Calls block the calling thread; they run on one process-wide event-loop
    thread, so ``Gpt`` works from scripts, notebooks, many threads at once and
    even from inside a running event loop (which it then blocks: prefer
    ``AsyncGpt`` there). Ctrl-C cancels the request in flight.
    """

    @mirror(AsyncGpt.__init__)
    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        CLIENT.check(options, "Gpt()")  # else the error would name AsyncGpt()
        _refuse_session(options)
        self._adopt(AsyncGpt(**options))

    def _adopt(self, client: AsyncGpt) -> Self:
        self._async = client
        self.chat = Chat(client)
        self.models = Models(client)
        _portal.track(client)
        return self

    @classmethod
    def azure(cls, **options: Any) -> Gpt:
        """A client for an Azure OpenAI deployment; see :meth:`AsyncGpt.azure`."""
        _refuse_session(options)
        return cls.__new__(cls)._adopt(AsyncGpt.azure(**options))

    def with_options(self, **options: Unpack[ClientOptions]) -> Gpt:
        """A new client with these options changed, sharing the pool (see the async twin)."""
        _refuse_session(options)
        return Gpt.__new__(Gpt)._adopt(self._async.with_options(**options))

    def __copy__(self) -> Gpt:
        """``copy.copy(client)``: :meth:`with_options` without changes (its own ``chat``)."""
        return self.with_options()

    @property
    def server_url(self) -> str:
        """The API's base URL."""
        return self._async.server_url

    def __repr__(self) -> str:
        return "Gpt" + repr(self._async).removeprefix("AsyncGpt")

    def close(self) -> None:
        """Close the pooled connections. Idempotent."""
        _run(self._async.aclose)

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._async.is_closed

    def pool_size(self) -> int:
        """Connections held by the pool now (in use plus idle)."""
        return to_sync(self._async.pool_size())  # type: ignore[no-any-return]


class Chat:
    """The ``chat`` resource of :class:`Gpt`."""

    def __init__(self, client: AsyncGpt) -> None:
        self._async = client.chat
        self.completions = Completions(client)

    def create_chat_completion(
        self,
        request: CreateChatCompletionRequest,
        *,
        timeout: float | Timeout | None = DEFAULT,
        retries: RetryConfig | int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> CreateChatCompletionResponse:
        """Create a model response for the given chat conversation (see the async twin)."""
        return _run(  # type: ignore[no-any-return]
            self._async.create_chat_completion,
            request,
            timeout=timeout,
            retries=retries,
            headers=headers,
        )


class Completions:
    """``chat.completions`` of :class:`Gpt`: the familiar keyword form."""

    def __init__(self, client: AsyncGpt) -> None:
        self._async = client.chat.completions

    @functools.cached_property
    def with_raw_response(self) -> CompletionsWithRawResponse:
        """The same calls, returning an :class:`~gpt_async.APIResponse` (see the async twin)."""
        return CompletionsWithRawResponse(self._async.with_raw_response)

    @overload
    def create(
        self, *, stream: Literal[False] | None = ..., **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion: ...

    @overload
    def create(
        self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> Stream[ChatCompletionChunk]: ...

    @overload
    def create(
        self, *, stream: bool | None, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...

    @mirror(AsyncCompletions.create)
    def create(
        self, *, stream: bool | None = DEFAULT, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Create a chat completion from keyword arguments (see the async twin)."""
        return _run(self._async.create, stream=stream, **params)  # type: ignore[no-any-return]

    @mirror(AsyncCompletions.stream)
    def stream(self, **params: Unpack[CompletionCreateParams]) -> Stream[ChatCompletionChunk]:
        """Like ``create(stream=True)``, used directly as ``with ... as stream``."""
        return to_sync(self._async.stream(**params))  # type: ignore[no-any-return]

    @overload
    def parse(
        self, *, response_format: type[T], **params: Unpack[ParseParams]
    ) -> ParsedChatCompletion[T]: ...
    @overload
    def parse(
        self, *, response_format: Mapping[str, Any], **params: Unpack[ParseParams]
    ) -> ParsedChatCompletion[Any]: ...
    @mirror(AsyncCompletions.parse)
    def parse(
        self, *, response_format: Any, **params: Unpack[ParseParams]
    ) -> ParsedChatCompletion[Any]:
        """Create a completion parsed as ``response_format`` (see the async twin)."""
        return _run(self._async.parse, response_format=response_format, **params)  # type: ignore[no-any-return]

    @overload
    def parse_stream(
        self, *, response_format: type[T], **params: Unpack[ParseParams]
    ) -> ParseStream[T]: ...
    @overload
    def parse_stream(
        self, *, response_format: Mapping[str, Any], **params: Unpack[ParseParams]
    ) -> ParseStream[Any]: ...
    @mirror(AsyncCompletions.parse_stream)
    def parse_stream(
        self, *, response_format: Any, **params: Unpack[ParseParams]
    ) -> ParseStream[Any]:
        """Like :meth:`parse`, streamed, used as ``with ... as stream`` (see the async twin)."""
        stream = self._async.parse_stream(response_format=response_format, **params)
        return to_sync(stream)  # type: ignore[no-any-return]

    @mirror(AsyncCompletions.run_tools)
    def run_tools(
        self,
        *,
        tools: Sequence[Callable[..., Any] | FunctionTool[Any]],
        max_steps: int = 10,
        on_step: Callable[[ToolStep], Any] | None = None,
        **params: Unpack[RunToolsParams],
    ) -> ToolRunResult:
        """Call the model and run its tool calls until it answers (see the async twin)."""
        return _run(  # type: ignore[no-any-return]
            self._async.run_tools, tools=tools, max_steps=max_steps, on_step=on_step, **params
        )


class CompletionsWithRawResponse:
    """``chat.completions.with_raw_response`` of :class:`Gpt`."""

    def __init__(self, raw: AsyncCompletionsWithRawResponse) -> None:
        self._async = raw

    @overload
    def create(
        self, *, stream: Literal[False] | None = ..., **params: Unpack[CompletionCreateParams]
    ) -> APIResponse[ChatCompletion]: ...

    @overload
    def create(
        self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> APIResponse[Stream[ChatCompletionChunk]]: ...

    @mirror(AsyncCompletionsWithRawResponse.create)
    def create(
        self, *, stream: bool | None = DEFAULT, **params: Unpack[CompletionCreateParams]
    ) -> APIResponse[Any]:
        """Like ``create``, returning the :class:`~gpt_async.APIResponse` (see the async twin)."""
        return _run(self._async.create, stream=stream, **params)  # type: ignore[no-any-return]


class Models:
    """The ``models`` resource of :class:`Gpt`."""

    def __init__(self, client: AsyncGpt) -> None:
        self._async = client.models

    @mirror(AsyncModels.list)
    def list(self, **options: Unpack[CallOptions]) -> ModelList:
        """List the models the server serves (see the async twin)."""
        return _run(self._async.list, **options)  # type: ignore[no-any-return]

    @mirror(AsyncModels.retrieve)
    def retrieve(self, model: str, **options: Unpack[CallOptions]) -> ModelObject:
        """Look up one model by id (see the async twin)."""
        return _run(self._async.retrieve, model, **options)  # type: ignore[no-any-return]
