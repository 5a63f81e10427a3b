"""``AsyncGpt``: the client's lifecycle, options and hooks, and the request loop.

One code path serves every call: a request model or the keyword form becomes a
JSON body (checked by the converter), :meth:`AsyncGpt._send` runs it through
hooks, retries and timeouts on the transport, and the answer comes back as a
parsed :class:`~gpt_async.models.components.ChatCompletion` or an
:class:`~gpt_async.AsyncStream`.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload
from urllib.parse import quote

import anyio
import attrs

from . import _capture, _codec
from ._config import (
    ApiKey,
    Limits,
    Timeout,
    TokenProvider,
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
from ._hooks import Hooks, run_hooks
from ._log import logger
from ._params import (
    CALL,
    CLIENT,
    CLIENT_DEFAULTS,
    CREATE,
    PARSE,
    POOL_OPTIONS,
    RUN_TOOLS,
    TRACING_OPTIONS,
)
from ._response import APIResponse
from ._retry import RetryBudget, RetryConfig
from ._streaming import AsyncStream
from ._transport import USER_AGENT, AiohttpTransport, AsyncTransport, HTTPRequest, HTTPResponse
from ._types import DEFAULT, AsyncClosing
from .models._request import CreateChatCompletionRequest
from .models._response import ChatCompletion
from .models.operations import CreateChatCompletionResponse, RawResponse

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typing_extensions import Self, Unpack

    from ._params import (
        CallOptions,
        ClientOptions,
        CompletionCreateParams,
        ParseParams,
        RunToolsParams,
    )
    from ._parse import AsyncParseStream, ParsedChatCompletion
    from ._ratelimit import RateLimiter
    from ._tools import FunctionTool, ToolRunResult, ToolStep
    from ._tracing import Telemetry
    from .models._chunk import ChatCompletionChunk
    from .models._listing import ModelList, ModelObject

__all__ = ["DEFAULT", "AsyncChat", "AsyncCompletions", "AsyncGpt", "AsyncModels", "Hooks"]

_ERROR_BODY_LIMIT = 64 * 1024


class AsyncGpt(AsyncClosing):
    """The asynchronous client for the Chat Completions API.

    Use it as an async context manager (or call :meth:`aclose`); it pools
    connections for its whole life, so make one per application, not per call.

    Args:
        api_key_auth: The API key, or a callable (sync or async) returning it before
            every request, for rotating keys. Falls back to ``OPENAI_API_KEY``.
        api_key: An alias of ``api_key_auth``.
        server_url: The API's base URL; falls back to ``OPENAI_BASE_URL``, then
            ``https://api.openai.com/v1``.
        base_url: An alias of ``server_url``.
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
        proxy: A proxy URL for every request, e.g. ``http://user:pass@proxy:3128``
            (credentials are sent as ``Proxy-Authorization`` and never shown).
        trust_env: Without ``proxy``, honour ``HTTP_PROXY``, ``HTTPS_PROXY``,
            ``ALL_PROXY`` and ``NO_PROXY`` (and their lower-case forms) as httpx does;
            ``False`` ignores them.
        azure_ad_token_provider: A callable (sync or async) returning a Microsoft
            Entra ID token, asked before every attempt and sent as
            ``Authorization: Bearer <token>``; instead of an API key.
        rate_limiter: A :class:`RateLimiter` every attempt reserves from (shareable).
        tracing: OpenTelemetry GenAI spans and metrics per call, when
            ``opentelemetry-api`` is installed; ``False`` switches them off.
        tracer_provider: The tracer provider for the spans; default: the global one.
        meter_provider: The meter provider for the metrics; default: the global one.
        capture_content: Record messages and completions on the span; default:
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.
        propagate_trace_context: Send the current trace context as ``traceparent``.
    """

    @CLIENT.sign
    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        CLIENT.check(options, "AsyncGpt()")
        self._options = options
        merged = cast("ClientOptions", {**CLIENT_DEFAULTS, **options})
        for derive in dict.fromkeys(_DERIVED_BY.values()):
            derive(self, merged)
        self._closed = False
        self._sent = False  # a client that never sent holds no connection: no warning
        self.chat = AsyncChat(self)
        self.models = AsyncModels(self)

    def with_options(self, **options: Unpack[ClientOptions]) -> Self:
        """A new client with these options changed, sharing this one's connection pool.

        Cheap enough to call per request: only what the changed options shape is
        derived again, and no session or pool is made (unless an option that shapes
        the pool, such as ``limits`` or ``session``, changes). Closing the new client
        leaves a shared pool open; closing this one closes it.

        Args:
            **options: Any constructor option.
        """
        CLIENT.check(options, "with_options()")
        client = object.__new__(type(self))
        client.__dict__.update(self.__dict__)
        client._options = cast("ClientOptions", {**self._options, **options})
        client._owns_transport = False
        merged = cast("ClientOptions", {**CLIENT_DEFAULTS, **client._options})
        for derive in dict.fromkeys(_DERIVED_BY[name] for name in options):
            derive(client, merged)
        client._closed = client._sent = False
        client.chat = AsyncChat(client)
        client.models = AsyncModels(client)
        return client

    def __copy__(self) -> Self:
        """``copy.copy(client)``: :meth:`with_options` without changes (its own ``chat``)."""
        return self.with_options()

    # Each option shapes one part of the client; _DERIVED_BY (below the class) says which.

    def _derive_key(self, o: ClientOptions) -> None:
        key = o["api_key_auth"] if o["api_key_auth"] is not None else o["api_key"]
        provider = o["azure_ad_token_provider"]
        self._token_provider = _check_token_provider(provider, key)
        if not callable(key):
            check_option(key, str, "api_key_auth")
        self._api_key: ApiKey | None = key if callable(key) else resolve_api_key(key)
        if provider is not None:
            self._api_key = key  # OPENAI_API_KEY would clash with the Bearer token
        if isinstance(self._api_key, str):
            check_header_value("authorization", self._api_key, path="api_key_auth")

    def _derive_key_header(self, o: ClientOptions) -> None:
        self._api_key_header = o["api_key_header"]
        self._derive_tracing(o)  # the spans name the provider by it

    def _derive_url(self, o: ClientOptions) -> None:
        url = o["server_url"] if o["server_url"] is not None else o["base_url"]
        self.server_url = resolve_base_url(url)
        self._endpoint = f"{self.server_url}/chat/completions"
        self._derive_tracing(o)  # the spans name the server

    def _derive_tracing(self, o: ClientOptions) -> None:
        # Only the options: the tracer is made on the first call once OpenTelemetry is in
        # use (_start_tracing), from the URL and key header the client has by then. A
        # with_options() client that changes none of them shares its parent's tracer.
        check_option(o["tracing"], bool, "tracing")
        check_option(o["capture_content"], bool, "capture_content")
        check_option(o["propagate_trace_context"], bool, "propagate_trace_context")
        self._tracing: Telemetry | None = None
        self._tracing_options: dict[str, Any] | None = None
        if o["tracing"]:
            self._tracing_options = {
                "tracer_provider": o["tracer_provider"],
                "meter_provider": o["meter_provider"],
                "capture_content": o["capture_content"],
                "propagate": o["propagate_trace_context"],
            }

    def _derive_headers(self, o: ClientOptions) -> None:
        check_option(o["default_headers"], Mapping, "default_headers")
        self._headers = self._static_headers(o["organization"], o["project"], o["default_headers"])

    def _derive_query(self, o: ClientOptions) -> None:
        check_option(o["default_query"], Mapping, "default_query")
        self._query = check_query(o["default_query"], "default_query")

    def _derive_timeout(self, o: ClientOptions) -> None:
        self.timeout = Timeout.coerce(o["timeout"])

    def _derive_retry(self, o: ClientOptions) -> None:
        check_option(o["retry_config"], RetryConfig, "retry_config")
        self.retry_config = _retry_config(o["retry_config"], o["max_retries"])

    def _derive_hooks(self, o: ClientOptions) -> None:
        check_option(o["hooks"], Hooks, "hooks")
        self.hooks = o["hooks"] or Hooks()

    def _derive_pool(self, o: ClientOptions) -> None:
        check_option(o["limits"], Limits, "limits")
        check_option(o["trust_env"], bool, "trust_env")
        if o["transport"] is not None and o["proxy"] is not None:
            raise RequestValidationError("proxy", "configure the proxy on your own transport")
        self._transport: AsyncTransport = o["transport"] or AiohttpTransport(
            limits=o["limits"],
            session=o["session"],
            ssl_context=o["ssl_context"],
            proxy=o["proxy"],
            trust_env=o["trust_env"],
        )
        self._owns_transport = True

    def _derive_rate_limiter(self, o: ClientOptions) -> None:
        if o["rate_limiter"] is not None:  # a limiter's module loads only for its users
            from ._ratelimit import RateLimiter  # noqa: PLC0415

            check_option(o["rate_limiter"], RateLimiter, "rate_limiter")
        self.rate_limiter: RateLimiter | None = o["rate_limiter"]

    @classmethod
    def azure(
        cls,
        *,
        endpoint: str | None = None,
        deployment: str | None = None,
        api_version: str | None = None,
        api_key: ApiKey | None = None,
        azure_ad_token_provider: TokenProvider | None = None,
        **options: Any,
    ) -> Self:
        """A client for an Azure OpenAI deployment.

        Requests go to ``{endpoint}/openai/deployments/{deployment}/chat/completions``
        with the ``api-version`` query parameter, and the key in the ``api-key``
        header, or a Microsoft Entra ID token as ``Authorization: Bearer``.

        Args:
            endpoint: The resource URL, e.g. ``https://my-resource.openai.azure.com``;
                falls back to ``AZURE_OPENAI_ENDPOINT``.
            deployment: The deployment name.
            api_version: The API version, e.g. ``2024-10-21``; falls back to
                ``OPENAI_API_VERSION``.
            api_key: The key (``api_key_auth`` is an alias); falls back to
                ``AZURE_OPENAI_API_KEY`` unless a token provider is given.
            azure_ad_token_provider: A callable (sync or async) returning an Entra ID
                token; asked before every attempt, so expiring tokens are renewed.
            **options: Any other :class:`AsyncGpt` option. ``server_url`` replaces
                ``endpoint`` and ``deployment`` (the deployment's full base URL);
                ``default_query`` is merged with ``api-version``; ``api_key_header``
                overrides ``"api-key"``.

        Raises:
            RequestValidationError: The endpoint, deployment or API version is missing,
                or an option is given twice (``api_key`` and ``api_key_auth``).
        """
        from ._azure import azure_options  # noqa: PLC0415 - Azure setup loads on first use

        return cls(
            **azure_options(
                endpoint=endpoint,
                deployment=deployment,
                api_version=api_version,
                api_key=api_key,
                azure_ad_token_provider=azure_ad_token_provider,
                options=options,
            )
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
        proxies = getattr(self._transport, "proxies", None)
        shown = f", proxy={proxies.describe()!r}" if proxies is not None else ""
        return f"AsyncGpt(server_url={self.server_url!r}{shown})"

    async def aclose(self) -> None:
        """Close the pooled connections. Idempotent; the client cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            if self._owns_transport:
                await self._transport.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        # Warn only, as aiohttp's sessions do: a finalizer must not schedule work on a
        # loop. ``_warn`` is bound early, since the module may be gone at shutdown.
        # A client from with_options() that shares its parent's pool holds nothing itself.
        owns = getattr(self, "_owns_transport", False)
        if owns and getattr(self, "_sent", False) and not self._closed:
            _warn(
                f"unclosed {self!r}: close it with `async with` or `await client.aclose()`",
                ResourceWarning,
                source=self,
            )

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

    async def _bearer(self, provider: TokenProvider) -> str:
        """``Bearer <token>`` from the Entra ID token provider, asked anew per attempt."""
        token: object = provider()
        if inspect.isawaitable(token):
            token = await token
        if not isinstance(token, str) or not token:
            raise RequestValidationError(
                "azure_ad_token_provider", "the token provider must return a non-empty str"
            )
        check_header_value("authorization", token, path="azure_ad_token_provider")
        return f"Bearer {token}"

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
    ) -> tuple[APIResponse[Any], ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        """Send one chat completion through retries; parse its answer."""
        if options.extra_body:
            body.update(options.extra_body)
        parse = _open_stream if body.get("stream") is True else _parse_completion
        return await self._request("POST", self._endpoint, body, options, parse)

    async def _fetch(self, path: str, cls: type[R], options: _CallOptions) -> R:
        """``GET {server_url}/{path}`` through the same retries, timeouts and hooks as chat."""

        async def parse(response: HTTPResponse) -> R:
            return await _parse_json(response, cls)

        _response, result = await self._request(
            "GET", f"{self.server_url}/{path}", None, options, parse
        )
        return result

    async def _request(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None,
        options: _CallOptions,
        parse: Callable[[APIResponse[Any]], Awaitable[R]],
    ) -> tuple[APIResponse[R], R]:
        if self._closed:
            raise ClientStateError("the client is closed; create a new one")
        self._sent = True
        headers = await self._headers_for_call(options.headers)
        if body is None:
            headers.pop("Content-Type", None)  # there is no body to describe
        request = HTTPRequest(
            method=method,
            url=url,
            headers=headers,
            params={**self._query, **options.query} if options.query else self._query,
            json=body,
        )
        tracing = self._tracing or self._start_tracing()
        if tracing is not None and body is not None:  # a chat call: GET /models is no span
            return await tracing.call(self._timed, request, options, parse)
        return await self._timed(request, options, parse)

    def _start_tracing(self) -> Telemetry | None:
        """Load the tracing once OpenTelemetry is in use; until then a call costs nothing.

        Nothing can be traced into (or forwarded) before some code has imported the
        OpenTelemetry API, so a client waits for that rather than importing it itself.
        """
        options = self._tracing_options
        if options is None or not _otel_in_use(options):
            return None
        self._tracing_options = None
        provider = "azure.ai.openai" if self._api_key_header == "api-key" else "openai"
        self._tracing = _telemetry(server_url=self.server_url, provider_name=provider, **options)
        return self._tracing

    async def _timed(
        self,
        request: HTTPRequest,
        options: _CallOptions,
        parse: Callable[[APIResponse[Any]], Awaitable[R]],
    ) -> tuple[APIResponse[R], R]:
        """Run the attempts within the call's total deadline, if it has one."""
        timeout = options.timeout or self.timeout
        if timeout.total is None:
            return await self._attempts(request, timeout, options.retry or self.retry_config, parse)
        with anyio.move_on_after(timeout.total) as scope:
            response, result = await self._attempts(
                request, timeout, options.retry or self.retry_config, parse
            )
            if isinstance(result, AsyncStream):
                result.set_deadline(scope.deadline)  # the deadline bounds the whole stream
            return response, result
        assert scope.cancelled_caught
        raise APITimeoutError(f"total timeout of {timeout.total} s expired")

    async def _attempts(
        self,
        request: HTTPRequest,
        timeout: Timeout,
        retry: RetryConfig,
        parse: Callable[[APIResponse[Any]], Awaitable[R]],
    ) -> tuple[APIResponse[R], R]:
        budget = RetryBudget(retry)
        content = _encode(request.json)
        record = _capture.CURRENT.get()
        while True:
            if record is not None:
                record.attempts += 1
            if await self._before_attempt(request):
                content = _encode(request.json)
            request.content = content
            try:
                return await self._limited_attempt(request, timeout, parse, budget.retries)
            except GptAsyncError as exc:
                if self.hooks.after_error:
                    await run_hooks(self.hooks.after_error, request, exc)
                delay = _retry_delay(budget, exc)
                if delay is None:
                    raise
                if self.rate_limiter is not None and self.rate_limiter._pauses_for(exc):
                    delay = 0.0  # the limiter's shared, jittered pause waits instead
                if self._tracing is not None:
                    self._tracing.retried(exc, delay)
                logger.info(
                    "retrying in %.2f s (retry %d of %d) after %s",
                    delay,
                    budget.retries,
                    retry.max_retries,
                    _describe(exc),
                )
                await anyio.sleep(delay)

    async def _before_attempt(self, request: HTTPRequest) -> bool:
        """A fresh Entra ID token, then the ``before_request`` hooks; True when hooks ran."""
        if self._token_provider is not None:  # tokens expire: one per attempt
            request.headers["Authorization"] = await self._bearer(self._token_provider)
        if not self.hooks.before_request:
            return False
        await run_hooks(self.hooks.before_request, request)
        for name, value in request.headers.items():  # a hook's headers, too
            check_header_value(name, value)
        return True

    async def _limited_attempt(
        self,
        request: HTTPRequest,
        timeout: Timeout,
        parse: Callable[[APIResponse[Any]], Awaitable[R]],
        retries: int,
    ) -> tuple[APIResponse[R], R]:
        """One attempt; with a rate limiter, a request with a body reserves and settles."""
        limiter = self.rate_limiter
        if limiter is None or request.json is None:  # a GET (models) spends no chat budget
            return await self._attempt(request, timeout, parse, retries)
        reservation = await limiter._reserve(request.json)
        try:
            response, result = await self._attempt(request, timeout, parse, retries)
        except BaseException as exc:
            await reservation.failed(exc)
            raise
        await reservation.completed(response, result)
        return response, result

    async def _attempt(
        self,
        request: HTTPRequest,
        timeout: Timeout,
        parse: Callable[[APIResponse[Any]], Awaitable[R]],
        retries: int,
    ) -> tuple[APIResponse[R], R]:
        debug = logger.isEnabledFor(logging.DEBUG)
        if debug:
            logger.debug(
                "%s %s headers=%s", request.method, request.url, redact_headers(request.headers)
            )
        started = time.perf_counter()
        response = await self._transport.send(request, timeout=timeout)
        elapsed = time.perf_counter() - started
        if debug:
            logger.debug(
                "HTTP %d from %s in %.1f ms (x-request-id %s)",
                response.status_code,
                request.url,
                elapsed * 1000,
                response.headers.get("x-request-id"),
            )
        if response.status_code >= 300:
            raise await _status_error(response)
        if self.hooks.after_success:
            await run_hooks(self.hooks.after_success, request, RawResponse.of(response))
        raw: APIResponse[Any] = APIResponse(response, elapsed=elapsed, retries_taken=retries)
        result = await parse(raw)
        return raw.with_parsed(result), result


_DERIVED_BY: dict[str, Callable[[AsyncGpt, ClientOptions], None]] = {
    "api_key_auth": AsyncGpt._derive_key,
    "api_key": AsyncGpt._derive_key,
    "api_key_header": AsyncGpt._derive_key_header,
    "azure_ad_token_provider": AsyncGpt._derive_key,
    "server_url": AsyncGpt._derive_url,
    "base_url": AsyncGpt._derive_url,
    "organization": AsyncGpt._derive_headers,
    "project": AsyncGpt._derive_headers,
    "default_headers": AsyncGpt._derive_headers,
    "default_query": AsyncGpt._derive_query,
    "timeout": AsyncGpt._derive_timeout,
    "retry_config": AsyncGpt._derive_retry,
    "max_retries": AsyncGpt._derive_retry,
    "hooks": AsyncGpt._derive_hooks,
    "rate_limiter": AsyncGpt._derive_rate_limiter,
    **dict.fromkeys(POOL_OPTIONS, AsyncGpt._derive_pool),
    **dict.fromkeys(TRACING_OPTIONS, AsyncGpt._derive_tracing),
}
"""The part of the client each option shapes: the constructor derives every part,
``with_options`` only those of the options it changes."""


def _encode(body: Any) -> bytes:
    return b"" if body is None else _codec.dumps(body)


async def _open_stream(response: APIResponse[Any]) -> AsyncStream[ChatCompletionChunk]:
    from .models._chunk import ChatCompletionChunk  # noqa: PLC0415 - loads with the first stream

    return AsyncStream.from_response(response, ChatCompletionChunk)


def _check_token_provider(provider: object, key: object) -> TokenProvider | None:
    if provider is None:
        return None
    if not callable(provider):
        raise RequestValidationError(
            "azure_ad_token_provider", f"expected a callable, got {type(provider).__name__}"
        )
    if key is not None:
        raise RequestValidationError(
            "azure_ad_token_provider", "pass either an API key or a token provider, not both"
        )
    return provider


def _retry_delay(budget: RetryBudget, exc: GptAsyncError) -> float | None:
    if isinstance(exc, SDKError):
        if exc.code == "insufficient_quota":
            return None  # no wait refills a quota: raise at once (see the README)
        headers = exc.raw_response.headers if exc.raw_response else {}
        return budget.next_delay(exc.status_code, headers)
    if not isinstance(exc, APIConnectionError):
        return None  # a bad body or bad input: the same request would fail the same way
    return budget.next_delay(None, None)


@functools.cache
def _tracing_module() -> Any:
    """``gpt_async._tracing``, or ``None`` without opentelemetry-api (looked for once)."""
    try:
        from . import _tracing  # noqa: PLC0415 - OpenTelemetry loads only when used
    except ImportError as exc:
        if exc.name is None or not exc.name.startswith("opentelemetry"):
            raise
        return None
    return _tracing


def _telemetry(**options: Any) -> Telemetry | None:
    """The client's tracing, or ``None`` when opentelemetry-api is not installed."""
    module = _tracing_module()
    return None if module is None else module.Telemetry(**options)


def _otel_in_use(options: Mapping[str, Any]) -> bool:
    """Whether the app uses OpenTelemetry: providers given, or its API imported by anyone.

    (Auto-instrumentation and SDK set-up import ``opentelemetry.trace`` first.)
    """
    modules = sys.modules
    return (
        "opentelemetry.trace" in modules
        or "opentelemetry.metrics" in modules
        or options["tracer_provider"] is not None
        or options["meter_provider"] is not None
    )


def _describe(exc: GptAsyncError) -> str:
    """The failure in a retry log line: ``429 RateLimitError: Slow down (request id ...)``."""
    if isinstance(exc, SDKError):
        return f"{exc.status_code} {type(exc).__name__}: {str(exc).partition(': ')[2]}"
    return f"{type(exc).__name__}: {exc}"


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
        parsed = _codec.loads(data)
    except ValueError:
        return None
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed)
        if isinstance(error, dict):
            return error
        if isinstance(error, str):
            return {"message": error}
    return None


async def _parse_json(response: HTTPResponse, cls: type[R]) -> R:
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
        parsed = _codec.loads(data)
    except ValueError:
        raise APIResponseValidationError(
            "the response body is not valid JSON" if data else "the response body is empty",
            body=data[:_ERROR_BODY_LIMIT].decode("utf-8", "replace"),
        ) from None
    return _codec.structure(parsed, cls)


async def _parse_completion(response: HTTPResponse) -> ChatCompletion:
    return await _parse_json(response, ChatCompletion)


@attrs.frozen(repr=False, eq=False)  # internal: no generated repr, eq or hash
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
        body = _codec.to_wire(request, CreateChatCompletionRequest)
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


class AsyncCompletionsWithRawResponse:
    """``chat.completions.with_raw_response``: the same calls, returning :class:`APIResponse`."""

    def __init__(self, completions: AsyncCompletions) -> None:
        self._completions = completions

    @overload
    async def create(
        self, *, stream: Literal[False] | None = ..., **params: Unpack[CompletionCreateParams]
    ) -> APIResponse[ChatCompletion]: ...

    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> APIResponse[AsyncStream[ChatCompletionChunk]]: ...

    @CREATE.sign
    async def create(
        self, *, stream: bool | None = DEFAULT, **params: Unpack[CompletionCreateParams]
    ) -> APIResponse[Any]:
        """Like ``chat.completions.create``, returning the :class:`APIResponse`."""
        raw, _result = await self._completions._create(stream, dict(params))
        return raw


class AsyncCompletions:
    """``chat.completions``: the familiar keyword form."""

    def __init__(self, client: AsyncGpt) -> None:
        self._client = client

    @functools.cached_property
    def with_raw_response(self) -> AsyncCompletionsWithRawResponse:
        """The same calls, returning an :class:`~gpt_async.APIResponse` (headers, timing)."""
        return AsyncCompletionsWithRawResponse(self)

    async def _create(
        self, stream: bool | None, params: dict[str, Any]
    ) -> tuple[APIResponse[Any], ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        body, options = _split_params(params, stream, "create()")
        return await self._client._send(body, options)

    @overload
    async def create(
        self, *, stream: Literal[False] | None = ..., **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> AsyncStream[ChatCompletionChunk]: ...

    @overload
    async def create(
        self, *, stream: bool | None, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...

    @CREATE.sign
    async def create(
        self, *, stream: bool | None = DEFAULT, **params: Unpack[CompletionCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Create a chat completion from keyword arguments.

        Every field of :class:`~gpt_async.models.components.CreateChatCompletionRequest`
        is a keyword; messages and other objects may be models or plain dicts. Besides
        them: ``timeout``, ``retries``, ``extra_headers``, ``extra_query`` and
        ``extra_body`` (merged into the JSON body, for server-specific fields). Any
        other keyword is a ``TypeError``, before anything is sent.

        Returns:
            The :class:`ChatCompletion`, or with ``stream=True`` an
            :class:`AsyncStream` of chunks (an async iterator and context manager).
        """
        _response, result = await self._create(stream, dict(params))
        return result

    @CREATE.sign
    def stream(self, **params: Unpack[CompletionCreateParams]) -> AsyncStream[ChatCompletionChunk]:
        """Like ``create(stream=True)``, used directly as ``async with ... as stream``.

        The request is sent when the stream is entered or first iterated.
        """
        body, options = _split_params(dict(params), True, "stream()")
        return AsyncStream.deferred(self._client._send(body, options))

    @overload
    async def parse(
        self, *, response_format: type[T], **params: Unpack[ParseParams]
    ) -> ParsedChatCompletion[T]: ...
    @overload
    async def parse(
        self, *, response_format: Mapping[str, Any], **params: Unpack[ParseParams]
    ) -> ParsedChatCompletion[Any]: ...
    @PARSE.sign
    async def parse(
        self, *, response_format: Any, **params: Unpack[ParseParams]
    ) -> ParsedChatCompletion[Any]:
        """Create a completion whose reply is an instance of ``response_format``.

        The class's strict JSON Schema is sent as the ``response_format``
        (Structured Outputs): an attrs class, a dataclass, a ``TypedDict`` or a
        pydantic model; ``choices[i].message.parsed`` holds the instance, or None
        when the model refused (``message.refusal``). A dict ``response_format``
        is sent as it is and ``parsed`` is the decoded JSON. Other keywords are
        those of :meth:`create`; ``tools`` may hold :func:`~gpt_async.function_tool` s.

        Raises:
            LengthFinishReasonError: The reply stopped at the token limit.
            ContentFilterFinishReasonError: The content filter stopped the reply.
            OutputValidationError: The content does not fit the class (``path`` says where).
        """
        PARSE.check(params, "parse()")
        from . import _parse  # noqa: PLC0415 - structured outputs load on first use

        return await _parse.parse(self, response_format, dict(params))

    @overload
    def parse_stream(
        self, *, response_format: type[T], **params: Unpack[ParseParams]
    ) -> AsyncParseStream[T]: ...
    @overload
    def parse_stream(
        self, *, response_format: Mapping[str, Any], **params: Unpack[ParseParams]
    ) -> AsyncParseStream[Any]: ...
    @PARSE.sign
    def parse_stream(
        self, *, response_format: Any, **params: Unpack[ParseParams]
    ) -> AsyncParseStream[Any]:
        """Like :meth:`parse`, streamed: ``async with ... as stream``, then iterate the
        chunks; ``await stream.get_final_completion()`` returns the parsed completion.
        """
        PARSE.check(params, "parse_stream()")
        from . import _parse  # noqa: PLC0415 - structured outputs load on first use

        return _parse.parse_stream(self, response_format, dict(params))

    @RUN_TOOLS.sign
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
        RUN_TOOLS.check(params, "run_tools()")
        from . import _tools  # noqa: PLC0415 - the tool loop loads on first use

        return await _tools.run_tools(
            self, tools=tools, max_steps=max_steps, on_step=on_step, params=dict(params)
        )


T = TypeVar("T")
R = TypeVar("R")
_OPTION_KEYS = frozenset({"timeout", "retries", "extra_headers", "extra_query", "extra_body"})


def _pop_call_options(params: dict[str, Any]) -> _CallOptions:
    """Take the per-call options (``timeout``, ``retries``, ``extra_*``) out of ``params``."""
    if _OPTION_KEYS.isdisjoint(params):
        return _NO_OPTIONS
    return _CallOptions.of(
        timeout=params.pop("timeout", DEFAULT),
        retries=params.pop("retries", None),
        headers=params.pop("extra_headers", None),
        query=params.pop("extra_query", None),
        extra_body=params.pop("extra_body", None),
    )


def _call_options(options: dict[str, Any], where: str) -> _CallOptions:
    """The checked per-call options of a call that sends no body."""
    CALL.check(options, where)
    return _pop_call_options(options)


def _split_params(
    params: dict[str, Any], stream: bool | None, where: str
) -> tuple[dict[str, Any], _CallOptions]:
    CREATE.check(params, where)
    if stream is not DEFAULT:
        check_option(stream, bool, "stream")
    options = _pop_call_options(params)
    if stream is not DEFAULT:
        params["stream"] = stream  # sent as set: False as false, None as null
    body = _codec.to_wire(params, CreateChatCompletionRequest)
    _check_messages(body)
    return body, options


class AsyncModels:
    """``client.models``: list the served models, or look one up."""

    def __init__(self, client: AsyncGpt) -> None:
        self._client = client

    @CALL.sign
    async def list(self, **options: Unpack[CallOptions]) -> ModelList:
        """List the models the server serves (``GET /models``).

        Args:
            **options: The per-call options: ``timeout``, ``retries`` (a
                :class:`~gpt_async.RetryConfig` or a number), ``extra_headers`` and
                ``extra_query``.

        Returns:
            A :class:`~gpt_async.models.components.ModelList`; iterate it for its
            :class:`~gpt_async.models.components.ModelObject` s.

        Raises:
            TypeError: An unknown keyword (nothing was sent).
            SDKError: The server answered 4xx/5xx (a subclass per status).
            APIConnectionError: The connection failed or timed out.
            APIResponseValidationError: A 2xx body that is not a model list.
        """
        from .models._listing import ModelList  # noqa: PLC0415 - loads on first use

        call = _call_options(dict(options), "models.list()")
        return await self._client._fetch("models", ModelList, call)

    @CALL.sign
    async def retrieve(self, model: str, **options: Unpack[CallOptions]) -> ModelObject:
        """Look up one model by id (``GET /models/{model}``).

        Args:
            model: The model id; it is percent-encoded into the path (ids such as
                ``meta-llama/Llama-3.1-8B`` hold slashes).
            **options: The per-call options, as for :meth:`list`.

        Raises:
            TypeError: An unknown keyword (nothing was sent).
            RequestValidationError: ``model`` is not a non-empty string (nothing was sent).
            NotFoundError: The server does not serve that model.
        """
        from .models._listing import ModelObject  # noqa: PLC0415 - loads on first use

        call = _call_options(dict(options), "models.retrieve()")
        _check_model_id(model)
        path = f"models/{quote(model, safe='')}"
        return await self._client._fetch(path, ModelObject, call)


def _check_model_id(model: object) -> None:
    if not isinstance(model, str) or not model:
        raise RequestValidationError("model", "must be a non-empty model id string")
