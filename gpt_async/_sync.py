"""``Gpt``: the synchronous facade. No logic lives here.

Each method hands its async twin's coroutine to the process-wide portal
(``_portal.run``) in one line. The ``AsyncGpt`` inside is created here but opens
its aiohttp session lazily, on the portal's loop, on the first call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from . import _portal
from ._client import DEFAULT, AsyncGpt
from ._exceptions import RequestValidationError
from ._streaming import AsyncStream

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from typing_extensions import Self, Unpack

    from ._config import Timeout
    from ._params import ClientOptions, CompletionCreateParams, ParseParams, RunToolsParams
    from ._parse import AsyncParseStream, ParsedChatCompletion
    from ._retry import RetryConfig
    from ._tools import FunctionTool, ToolRunResult, ToolStep
    from .models._chunk import ChatCompletionChunk
    from .models._listing import ModelList, ModelObject
    from .models._request import CreateChatCompletionRequest
    from .models._response import ChatCompletion
    from .models.operations import CreateChatCompletionResponse

__all__ = ["Chat", "Completions", "Gpt", "Models", "ParseStream", "Stream"]

T = TypeVar("T")


class Stream(Generic[T]):
    """A plain iterator of stream chunks that is also a context manager.

    Leaving it early (``with``, or :meth:`close` after a ``break``) closes the
    connection. It pulls a whole network read of chunks per trip to the portal.
    """

    def __init__(self, stream: AsyncStream[T]) -> None:
        self._async = stream
        self._batch: list[T] = []
        self._pos = 0

    @property
    def chunks(self) -> list[T]:
        """Every chunk received so far."""
        return self._async.chunks

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> T:
        if self._pos == len(self._batch):
            self._batch, self._pos = _portal.run(self._async._next_batch), 0
            if not self._batch:
                raise StopIteration
        self._pos += 1
        return self._batch[self._pos - 1]

    def close(self) -> None:
        """Close the HTTP response; a stream not read to its end drops its connection."""
        _portal.run(self._async.aclose)

    def __enter__(self) -> Self:
        _portal.run(self._async.__aenter__)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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


def _refuse_session(options: Mapping[str, Any]) -> None:
    # A session belongs to the loop it was made on; Gpt runs on its own loop thread.
    if options.get("session") is not None:
        raise RequestValidationError(
            "session",
            "Gpt cannot use an aiohttp.ClientSession: it runs on its own event-loop thread"
            " and a session serves only the loop it was created on. Use the proxy=,"
            " ssl_context=, limits= or transport= options instead, or AsyncGpt(session=...)",
        )


def _sync_result(result: Any) -> Any:
    return Stream(result) if isinstance(result, AsyncStream) else result


class Gpt:
    """The synchronous client: the same options and methods as :class:`AsyncGpt`.

    Calls block the calling thread; they run on one process-wide event-loop
    thread, so ``Gpt`` works from scripts, notebooks, many threads at once and
    even from inside a running event loop (which it then blocks: prefer
    ``AsyncGpt`` there). Ctrl-C cancels the request in flight.
    """

    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        _refuse_session(options)
        self._async = AsyncGpt(**options)
        self.chat = Chat(self._async)
        self.models = Models(self._async)
        _portal.track(self._async)

    @classmethod
    def azure(cls, **options: Any) -> Gpt:
        """A client for an Azure OpenAI deployment; see :meth:`AsyncGpt.azure`."""
        _refuse_session(options)
        client = cls.__new__(cls)
        client._async = AsyncGpt.azure(**options)
        client.chat = Chat(client._async)
        client.models = Models(client._async)
        _portal.track(client._async)
        return client

    @property
    def server_url(self) -> str:
        """The API's base URL."""
        return self._async.server_url

    def __repr__(self) -> str:
        return "Gpt" + repr(self._async).removeprefix("AsyncGpt")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections. Idempotent."""
        _portal.run(self._async.aclose)

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._async.is_closed

    def pool_size(self) -> int:
        """Connections held by the pool now (in use plus idle)."""
        return self._async.pool_size()


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
        return _portal.run(
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

    @overload
    def create(
        self, *, stream: Literal[False] = False, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion: ...

    @overload
    def create(
        self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> Stream[ChatCompletionChunk]: ...

    @overload
    def create(
        self, *, stream: bool, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...

    def create(
        self, *, stream: bool = False, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Create a chat completion from keyword arguments (see the async twin)."""
        return _sync_result(_portal.run(self._async.create, stream=stream, **params))  # type: ignore[no-any-return]

    def stream(self, **params: Unpack[CompletionCreateParams]) -> Stream[ChatCompletionChunk]:
        """Like ``create(stream=True)``, used directly as ``with ... as stream``."""
        return Stream(self._async.stream(**params))

    def parse(
        self, *, response_format: type[T], **params: Unpack[ParseParams]
    ) -> ParsedChatCompletion[T]:
        """Create a completion parsed as ``response_format`` (see the async twin)."""
        return _portal.run(self._async.parse, response_format=response_format, **params)

    def parse_stream(
        self, *, response_format: type[T], **params: Unpack[ParseParams]
    ) -> ParseStream[T]:
        """Like :meth:`parse`, streamed, used as ``with ... as stream`` (see the async twin)."""
        return ParseStream(self._async.parse_stream(response_format=response_format, **params))

    def run_tools(
        self,
        *,
        tools: Sequence[Callable[..., Any] | FunctionTool[Any]],
        max_steps: int = 10,
        on_step: Callable[[ToolStep], Any] | None = None,
        **params: Unpack[RunToolsParams],
    ) -> ToolRunResult:
        """Call the model and run its tool calls until it answers (see the async twin)."""
        return _portal.run(
            self._async.run_tools, tools=tools, max_steps=max_steps, on_step=on_step, **params
        )


class Models:
    """The ``models`` resource of :class:`Gpt`."""

    def __init__(self, client: AsyncGpt) -> None:
        self._async = client.models

    def list(
        self,
        *,
        timeout: float | Timeout | None = DEFAULT,
        retries: RetryConfig | int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> ModelList:
        """List the models the server serves (see the async twin)."""
        return _portal.run(
            self._async.list,
            timeout=timeout,
            retries=retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )

    def retrieve(
        self,
        model: str,
        *,
        timeout: float | Timeout | None = DEFAULT,
        retries: RetryConfig | int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> ModelObject:
        """Look up one model by id (see the async twin)."""
        return _portal.run(
            self._async.retrieve,
            model,
            timeout=timeout,
            retries=retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
