"""``AsyncGpt``: the client's lifecycle, options and hooks, and the request loop.

One code path serves every call: a request model or the keyword form becomes a
JSON body (checked by the converter), :meth:`AsyncGpt._send` runs it through
hooks, retries and timeouts on the transport, and the answer comes back as a
parsed :class:`~gpt_async.models.components.ChatCompletion` or an
:class:`~gpt_async.AsyncStream`.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import anyio
import attrs

from . import _capture, _converter
from ._config import (
    Limits,
    Timeout,
    check_header_value,
    check_option,
    check_query,
    redact_headers,
    resolve_api_key,
    resolve_base_url,
)
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ClientStateError,
    GptAsyncError,
    RequestValidationError,
    SDKError,
    status_error,
)
from ._retry import RetryBudget, RetryConfig
from ._streaming import AsyncStream
from ._transport import USER_AGENT, AiohttpTransport, AsyncTransport, HTTPRequest, HTTPResponse
from .models._chunk import ChatCompletionChunk
from .models._request import CreateChatCompletionRequest
from .models._response import ChatCompletion
from .models.operations import CreateChatCompletionResponse, RawResponse

if TYPE_CHECKING:
    import ssl
    from collections.abc import Sequence
    from types import TracebackType

    import aiohttp
    from typing_extensions import Self, Unpack

    from ._params import CompletionCreateParams, ParseParams, RunToolsParams
    from ._parse import AsyncParseStream, ParsedChatCompletion
    from ._tools import FunctionTool, ToolRunResult, ToolStep

__all__ = ["AsyncChat", "AsyncCompletions", "AsyncGpt", "Hooks"]

logger = logging.getLogger("gpt_async")

ApiKey = str | Callable[[], "str | Awaitable[str]"]
_ERROR_BODY_LIMIT = 64 * 1024


@attrs.define(kw_only=True)
class Hooks:
    """Callables run around every HTTP attempt; each may be sync or async.

    Attributes:
        before_request: ``f(request)``, before each attempt; may change
            ``request.headers``, ``request.params`` or ``request.url``.
        after_success: ``f(request, response)`` after a 2xx response's headers arrived.
        after_error: ``f(request, error)`` after each failed attempt, with the
            gpt_async exception it raised (retried or not).
    """

    before_request: list[Callable[[HTTPRequest], Any]] = attrs.field(factory=list)
    after_success: list[Callable[[HTTPRequest, RawResponse], Any]] = attrs.field(factory=list)
    after_error: list[Callable[[HTTPRequest, GptAsyncError], Any]] = attrs.field(factory=list)

    def __bool__(self) -> bool:
        return bool(self.before_request or self.after_success or self.after_error)


async def _run_hooks(hooks: list[Callable[..., Any]], *args: Any) -> None:
    for hook in hooks:
        result = hook(*args)
        if inspect.isawaitable(result):
            await result


class _Default:
    """Marks an option the caller did not pass (``None`` is a meaningful value for some)."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()


class AsyncGpt:
    """The asynchronous client for the Chat Completions API.

    Use it as an async context manager (or call :meth:`aclose`); it pools
    connections for its whole life, so make one per application, not per call.

    Args:
        api_key_auth: The API key, or a callable (sync or async) returning it before
            every request, for rotating keys. Falls back to ``OPENAI_API_KEY``.
        api_key: An alias of ``api_key_auth``.
        server_url: The API's base URL; falls back to ``OPENAI_BASE_URL``, then
            ``https://api.openai.com/v1``.
        organization: Sent as ``OpenAI-Organization``.
        project: Sent as ``OpenAI-Project``.
        default_headers: Headers sent with every request.
        default_query: Query parameters sent with every request.
        timeout: Seconds (connect and read), a :class:`Timeout`, or ``None`` for none.
        retry_config: The retry policy; default: 2 retries with backoff.
        max_retries: A shorthand for ``RetryConfig(max_retries=...)``.
        hooks: Callables run around every attempt.
        limits: Connection-pool limits.
        transport: A custom :class:`AsyncTransport` (tests, proxies).
        session: An ``aiohttp.ClientSession`` to use; you keep ownership of it.
        ssl_context: TLS settings; verification is on by default.
        api_key_header: ``"authorization"`` sends ``Authorization: Bearer <key>``;
            ``"api-key"`` sends ``api-key: <key>`` (Azure OpenAI).
    """

    def __init__(
        self,
        *,
        api_key_auth: ApiKey | None = None,
        api_key: ApiKey | None = None,
        server_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = DEFAULT,
        retry_config: RetryConfig | None = None,
        max_retries: int | None = None,
        hooks: Hooks | None = None,
        limits: Limits | None = None,
        transport: AsyncTransport | None = None,
        session: aiohttp.ClientSession | None = None,
        ssl_context: ssl.SSLContext | None = None,
        api_key_header: Literal["authorization", "api-key"] = "authorization",
    ) -> None:
        key = api_key_auth if api_key_auth is not None else api_key
        if not callable(key):
            check_option(key, str, "api_key_auth")
        for option, value, cls in (
            ("retry_config", retry_config, RetryConfig),
            ("hooks", hooks, Hooks),
            ("limits", limits, Limits),
            ("default_headers", default_headers, Mapping),
            ("default_query", default_query, Mapping),
        ):
            check_option(value, cls, option)
        self._api_key: ApiKey | None = key if callable(key) else resolve_api_key(key)
        if isinstance(self._api_key, str):
            check_header_value("authorization", self._api_key, path="api_key_auth")
        self.server_url = resolve_base_url(server_url)
        self._endpoint = f"{self.server_url}/chat/completions"
        self._api_key_header = api_key_header
        self.timeout = Timeout() if timeout is DEFAULT else Timeout.coerce(timeout)
        self.retry_config = _retry_config(retry_config, max_retries)
        self.hooks = hooks or Hooks()
        self._headers = self._static_headers(organization, project, default_headers)
        self._query = check_query(default_query, "default_query")
        if transport is None:
            transport = AiohttpTransport(limits=limits, session=session, ssl_context=ssl_context)
        self._transport = transport
        self._closed = False
        self.chat = AsyncChat(self)

    @classmethod
    def azure(
        cls,
        *,
        endpoint: str,
        deployment: str,
        api_version: str,
        api_key: ApiKey | None = None,
        **options: Any,
    ) -> Self:
        """A client for an Azure OpenAI deployment.

        Requests go to ``{endpoint}/openai/deployments/{deployment}/chat/completions``
        with the ``api-version`` query parameter and the key in the ``api-key`` header.

        Args:
            endpoint: The resource URL, e.g. ``https://my-resource.openai.azure.com``.
            deployment: The deployment name.
            api_version: The API version, e.g. ``2024-10-21``.
            api_key: The key; falls back to ``AZURE_OPENAI_API_KEY``.
            **options: Any other :class:`AsyncGpt` option.
        """
        query = {**options.pop("default_query", {}), "api-version": api_version}
        return cls(
            api_key_auth=api_key or os.environ.get("AZURE_OPENAI_API_KEY"),
            server_url=f"{endpoint.rstrip('/')}/openai/deployments/{deployment}",
            default_query=query,
            api_key_header="api-key",
            **options,
        )

    def _static_headers(
        self, organization: str | None, project: str | None, extra: Mapping[str, str] | None
    ) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if organization:
            headers["OpenAI-Organization"] = organization
        if project:
            headers["OpenAI-Project"] = project
        headers.update(extra or {})
        for name, value in headers.items():
            check_header_value(name, value)
        return headers

    def __repr__(self) -> str:
        return f"AsyncGpt(server_url={self.server_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections. Idempotent; the client cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            await self._transport.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    def pool_size(self) -> int:
        """Connections held by the default transport's pool now (in use plus idle)."""
        size = getattr(self._transport, "pool_size", None)
        return int(size()) if callable(size) else 0

    # ------------------------------------------------------------------ the request loop

    async def _current_key(self) -> str | None:
        """The key for this request: the configured string, or what the callable returns."""
        if not callable(self._api_key):
            return self._api_key
        key: object = self._api_key()
        if inspect.isawaitable(key):
            key = await key
        if not isinstance(key, str):
            raise RequestValidationError("api_key_auth", "the key callable must return a str")
        return check_header_value("authorization", key, path="api_key_auth")

    async def _headers_for_call(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(self._headers)
        key = await self._current_key()
        if key:
            if self._api_key_header == "api-key":
                headers["api-key"] = key
            else:
                headers["Authorization"] = f"Bearer {key}"
        for name, value in (extra or {}).items():
            headers[name] = check_header_value(name, value)
        return headers

    async def _send(
        self, body: dict[str, Any], options: _CallOptions
    ) -> tuple[HTTPResponse, ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        """Send one chat completion through retries; parse its answer."""
        if self._closed:
            raise ClientStateError("the client is closed; create a new one")
        if options.extra_body:
            body.update(options.extra_body)
        stream = body.get("stream") is True
        request = HTTPRequest(
            method="POST",
            url=self._endpoint,
            headers=await self._headers_for_call(options.headers),
            params={**self._query, **options.query} if options.query else self._query,
            json=body,
        )
        timeout = options.timeout or self.timeout
        if timeout.total is None:
            return await self._attempts(
                request, timeout, options.retry or self.retry_config, stream
            )
        with anyio.move_on_after(timeout.total) as scope:
            response, result = await self._attempts(
                request, timeout, options.retry or self.retry_config, stream
            )
            if isinstance(result, AsyncStream):
                result.set_deadline(scope.deadline)  # the deadline bounds the whole stream
            return response, result
        assert scope.cancelled_caught
        raise APITimeoutError(f"total timeout of {timeout.total} s expired")

    async def _attempts(
        self, request: HTTPRequest, timeout: Timeout, retry: RetryConfig, stream: bool
    ) -> tuple[HTTPResponse, ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        budget = RetryBudget(retry)
        content = _converter.dumps(request.json)
        record = _capture.CURRENT.get()
        while True:
            if record is not None:
                record.attempts += 1
            if self.hooks.before_request:
                await _run_hooks(self.hooks.before_request, request)
                for name, value in request.headers.items():  # a hook's headers, too
                    check_header_value(name, value)
                content = _converter.dumps(request.json)
            request.content = content
            try:
                return await self._attempt(request, timeout, stream)
            except GptAsyncError as exc:
                if self.hooks.after_error:
                    await _run_hooks(self.hooks.after_error, request, exc)
                delay = _retry_delay(budget, exc)
                if delay is None:
                    raise
                logger.debug("retrying in %.3f s after: %s", delay, exc)
                await anyio.sleep(delay)

    async def _attempt(
        self, request: HTTPRequest, timeout: Timeout, stream: bool
    ) -> tuple[HTTPResponse, ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        debug = logger.isEnabledFor(logging.DEBUG)
        if debug:
            started = time.perf_counter()
            logger.debug("POST %s headers=%s", request.url, redact_headers(request.headers))
        response = await self._transport.send(request, timeout=timeout)
        if debug:
            logger.debug(
                "HTTP %d from %s in %.1f ms (x-request-id %s)",
                response.status_code,
                request.url,
                (time.perf_counter() - started) * 1000,
                response.headers.get("x-request-id"),
            )
        if response.status_code >= 300:
            raise await _status_error(response)
        if self.hooks.after_success:
            await _run_hooks(self.hooks.after_success, request, RawResponse.of(response))
        if stream:
            return response, AsyncStream.from_response(response, ChatCompletionChunk)
        return response, await _parse_completion(response)


def _retry_delay(budget: RetryBudget, exc: GptAsyncError) -> float | None:
    if isinstance(exc, SDKError):
        headers = exc.raw_response.headers if exc.raw_response else {}
        return budget.next_delay(exc.status_code, headers)
    if not isinstance(exc, APIConnectionError):
        return None  # a bad body or bad input: the same request would fail the same way
    return budget.next_delay(None, None)


def _retry_config(config: RetryConfig | None, max_retries: int | None) -> RetryConfig:
    config = config or RetryConfig()
    if max_retries is not None:
        config = attrs.evolve(config, max_retries=max_retries)
    return config


async def _status_error(response: HTTPResponse) -> SDKError:
    """Read an error response and build the matching :class:`SDKError`."""
    status = response.status_code
    try:
        data = await response.read()
    except GptAsyncError:
        data = b""
    text = data[:_ERROR_BODY_LIMIT].decode("utf-8", "replace")
    error = _error_object(data)
    message = str(error.get("message") or "") if error else ""
    if not message:
        message = text.strip()[:500] or f"HTTP {status} with an empty body"
    return status_error(status)(
        message, status_code=status, body=text, raw_response=RawResponse.of(response), error=error
    )


def _error_object(data: bytes) -> dict[str, Any] | None:
    """The ``error`` object of an OpenAI-style error body, if the body is one."""
    try:
        parsed = _converter.loads(data)
    except ValueError:
        return None
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed)
        if isinstance(error, dict):
            return error
        if isinstance(error, str):
            return {"message": error}
    return None


async def _parse_completion(response: HTTPResponse) -> ChatCompletion:
    data = await response.read()
    record = _capture.CURRENT.get()
    if record is not None:  # a bulk run writes the server's own bytes
        record.body, record.request_id = data, response.headers.get("x-request-id")
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type:
        raise APIResponseValidationError(
            f"expected a JSON body, got Content-Type {content_type or 'none'!r}",
            body=data[:_ERROR_BODY_LIMIT].decode("utf-8", "replace"),
        )
    try:
        parsed = _converter.loads(data)
    except ValueError:
        raise APIResponseValidationError(
            "the response body is not valid JSON" if data else "the response body is empty",
            body=data[:_ERROR_BODY_LIMIT].decode("utf-8", "replace"),
        ) from None
    return _converter.structure(parsed, ChatCompletion)


@attrs.frozen
class _CallOptions:
    """Per-call options beside the request body."""

    timeout: Timeout | None = None
    retry: RetryConfig | None = None
    headers: Mapping[str, str] | None = None
    query: Mapping[str, str] | None = None
    extra_body: Mapping[str, Any] | None = None

    @classmethod
    def of(
        cls,
        *,
        timeout: float | Timeout | None = DEFAULT,
        retries: RetryConfig | int | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> _CallOptions:
        check_option(retries, (RetryConfig, int), "retries")
        for option, value in (
            ("headers", headers),
            ("extra_query", query),
            ("extra_body", extra_body),
        ):
            check_option(value, Mapping, option)
        retry = RetryConfig(max_retries=retries) if isinstance(retries, int) else retries
        return cls(
            timeout=None if timeout is DEFAULT else Timeout.coerce(timeout),
            retry=retry,
            headers=headers,
            query=check_query(query, "extra_query") if query else None,
            extra_body=extra_body,
        )


_NO_OPTIONS = _CallOptions()


class AsyncChat:
    """The ``chat`` resource: the seed's ``create_chat_completion`` and ``completions``."""

    def __init__(self, client: AsyncGpt) -> None:
        self._client = client
        self.completions = AsyncCompletions(client)

    async def create_chat_completion(
        self,
        request: CreateChatCompletionRequest,
        *,
        timeout: float | Timeout | None = DEFAULT,
        retries: RetryConfig | int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> CreateChatCompletionResponse:
        """Create a model response for the given chat conversation.

        Args:
            request: The request; with ``stream=True`` the result carries ``stream``.
            timeout: Overrides the client's timeout for this call.
            retries: A :class:`RetryConfig` (or a number of retries) for this call.
            headers: Extra headers for this call.

        Returns:
            The status, content type, raw response and parsed completion.

        Raises:
            RequestValidationError: The request is malformed (nothing was sent).
            SDKError: The server answered 4xx/5xx (a subclass per status).
            APIConnectionError: The connection failed or timed out.
            APIResponseValidationError: A 2xx body that is not a chat completion.
        """
        body = _converter.to_wire(request, CreateChatCompletionRequest)
        _check_messages(body)
        options = _CallOptions.of(timeout=timeout, retries=retries, headers=headers)
        response, result = await self._client._send(body, options)
        wrapper = CreateChatCompletionResponse(
            content_type=response.headers.get("Content-Type", ""),
            status_code=response.status_code,
            raw_response=RawResponse.of(response),
        )
        if isinstance(result, AsyncStream):
            wrapper.stream = result
        else:
            wrapper.create_chat_completion_response = result
        return wrapper


def _check_messages(body: dict[str, Any]) -> None:
    if not body.get("messages"):
        raise RequestValidationError("messages", "must hold at least one message")


class AsyncCompletions:
    """``chat.completions``: the familiar keyword form."""

    def __init__(self, client: AsyncGpt) -> None:
        self._client = client

    @overload
    async def create(
        self, *, stream: Literal[False] = False, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> AsyncStream[ChatCompletionChunk]: ...

    @overload
    async def create(
        self, *, stream: bool, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...

    async def create(
        self, *, stream: bool = False, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Create a chat completion from keyword arguments.

        Every field of :class:`~gpt_async.models.components.CreateChatCompletionRequest`
        is a keyword; messages and other objects may be models or plain dicts. Besides
        them: ``timeout``, ``retries``, ``extra_headers``, ``extra_query`` and
        ``extra_body`` (merged into the JSON body, for server-specific fields).

        Returns:
            The :class:`ChatCompletion`, or with ``stream=True`` an
            :class:`AsyncStream` of chunks (an async iterator and context manager).
        """
        body, options = _split_params(dict(params), stream)
        _response, result = await self._client._send(body, options)
        return result

    def stream(self, **params: Unpack[CompletionCreateParams]) -> AsyncStream[ChatCompletionChunk]:
        """Like ``create(stream=True)``, used directly as ``async with ... as stream``.

        The request is sent when the stream is entered or first iterated.
        """
        body, options = _split_params(dict(params), True)
        return AsyncStream.deferred(self._client._send(body, options))

    async def parse(
        self, *, response_format: type[T], **params: Unpack[ParseParams]
    ) -> ParsedChatCompletion[T]:
        """Create a completion whose reply is an instance of ``response_format``.

        The attrs class's strict JSON Schema is sent as the ``response_format``
        (Structured Outputs); ``choices[i].message.parsed`` holds the instance,
        or None when the model refused (``message.refusal``). Other keywords are
        those of :meth:`create`; ``tools`` may hold :func:`~gpt_async.function_tool` s.

        Raises:
            LengthFinishReasonError: The reply stopped at the token limit.
            ContentFilterFinishReasonError: The content filter stopped the reply.
            OutputValidationError: The content does not fit the class (``path`` says where).
        """
        from . import _parse  # noqa: PLC0415 - structured outputs load on first use

        return await _parse.parse(self, response_format, dict(params))

    def parse_stream(
        self, *, response_format: type[T], **params: Unpack[ParseParams]
    ) -> AsyncParseStream[T]:
        """Like :meth:`parse`, streamed: ``async with ... as stream``, then iterate the
        chunks; ``await stream.get_final_completion()`` returns the parsed completion.
        """
        from . import _parse  # noqa: PLC0415 - structured outputs load on first use

        return _parse.parse_stream(self, response_format, dict(params))

    async def run_tools(
        self,
        *,
        tools: Sequence[Callable[..., Any] | FunctionTool[Any]],
        max_steps: int = 10,
        on_step: Callable[[ToolStep], Any] | None = None,
        **params: Unpack[RunToolsParams],
    ) -> ToolRunResult:
        """Call the model, run the tools it asks for, send the results back; repeat.

        Args:
            tools: Typed functions (sync ones run in worker threads, async ones on
                the loop; the calls of one reply run concurrently) or
                :class:`~gpt_async.FunctionTool` s. A tool's exception is sent to the
                model as ``"Error: <type>: <message>"``.
            max_steps: The most requests to make.
            on_step: Called (sync or async) with each :class:`~gpt_async.ToolStep`.
            **params: The keywords of :meth:`create`; ``messages`` starts the conversation.

        Returns:
            The final completion, the whole conversation and every step.

        Raises:
            ToolLoopLimitError: The model still asked for tools after ``max_steps``
                requests (the error carries the conversation and steps).
        """
        from . import _tools  # noqa: PLC0415 - the tool loop loads on first use

        return await _tools.run_tools(
            self, tools=tools, max_steps=max_steps, on_step=on_step, params=dict(params)
        )


T = TypeVar("T")
_OPTION_KEYS = frozenset({"timeout", "retries", "extra_headers", "extra_query", "extra_body"})


def _split_params(params: dict[str, Any], stream: bool) -> tuple[dict[str, Any], _CallOptions]:
    check_option(stream, bool, "stream")
    options = _NO_OPTIONS
    if not _OPTION_KEYS.isdisjoint(params):
        options = _CallOptions.of(
            timeout=params.pop("timeout", DEFAULT),
            retries=params.pop("retries", None),
            headers=params.pop("extra_headers", None),
            query=params.pop("extra_query", None),
            extra_body=params.pop("extra_body", None),
        )
    if stream:
        params["stream"] = True
    body = _converter.to_wire(params, CreateChatCompletionRequest)
    _check_messages(body)
    return body, options
