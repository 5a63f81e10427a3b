"""Typed keyword arguments: the request fields of ``create`` and the client options.

These are ``TypedDict`` s used with ``**kwargs: Unpack[...]``, so that the async and
sync methods share one precise signature without repeating it, and type checkers
and editors know every keyword. Objects may be models or plain dicts.

They are the one source of truth for the keywords: ``_keywords.py`` derives the
run-time ``__signature__`` of each method and constructor from them, and the set
of keywords each accepts (anything else is a ``TypeError``). A new client option
is one line in :class:`ClientOptions` (plus its default in :data:`CLIENT_DEFAULTS`
when that is not ``None``, and its name in :data:`POOL_OPTIONS` when it shapes the
connection pool); the constructor then reads it from its options.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import aiohttp

from ._config import Limits, Timeout
from ._keywords import Keywords
from ._retry import RetryConfig
from ._types import DEFAULT
from .models._messages import ChatCompletionRequestMessage
from .models._request import PromptCacheRetention, ReasoningEffort, ResponseModality, Verbosity
from .models._response import ChatCompletionMessage

if TYPE_CHECKING:  # annotations only: the signatures show them as written
    from typing_extensions import Required, TypedDict

    from ._config import ApiKey, TokenProvider
    from ._hooks import Hooks
    from ._ratelimit import RateLimiter
    from ._tools import FunctionTool  # the tool machinery loads on first use
    from ._transport import AsyncTransport
    from .models._tools import (
        ChatCompletionAudioParam,
        ChatCompletionFunctionCallOption,
        ChatCompletionFunctions,
        ChatCompletionStreamOptions,
        ChatCompletionToolChoiceOption,
        ChatCompletionToolUnion,
        ModerationParam,
        PredictionContent,
        PromptCacheOptionsParam,
        ResponseFormat,
        WebSearchOptions,
    )
else:  # each key and its annotation text are all that is read of them at run time
    from ._keywords import KeywordsDict as TypedDict

__all__ = [
    "CALL",
    "CALL_DEFAULTS",
    "CLIENT",
    "CLIENT_DEFAULTS",
    "CREATE",
    "PARSE",
    "POOL_OPTIONS",
    "RUN_TOOLS",
    "TRACING_OPTIONS",
    "CallOptions",
    "ClientOptions",
    "CompletionCreateParams",
    "ParseParams",
    "RunToolsParams",
]

_Obj = Mapping[str, Any]


class _RequestParams(TypedDict, total=False):
    """The request fields but ``response_format`` and ``tools``, then call options."""

    # A reply's message can be sent back as the assistant turn as it is.
    messages: Required[Sequence[ChatCompletionRequestMessage | ChatCompletionMessage | _Obj]]
    model: Required[str]
    metadata: dict[str, str] | None
    top_logprobs: int | None
    temperature: float | None
    top_p: float | None
    user: str
    safety_identifier: str | None
    prompt_cache_key: str | None
    prompt_cache_retention: PromptCacheRetention | str | None
    prompt_cache_options: PromptCacheOptionsParam | _Obj
    service_tier: str | None
    modalities: list[ResponseModality | str] | None
    verbosity: Verbosity | str | None
    reasoning_effort: ReasoningEffort | str | None
    max_completion_tokens: int | None
    frequency_penalty: float | None
    presence_penalty: float | None
    web_search_options: WebSearchOptions | _Obj
    audio: ChatCompletionAudioParam | _Obj | None
    store: bool | None
    moderation: ModerationParam | _Obj | None
    stop: str | list[str] | None
    logit_bias: dict[str, int] | None
    logprobs: bool | None
    max_tokens: int | None
    n: int | None
    prediction: PredictionContent | _Obj | None
    seed: int | None
    stream_options: ChatCompletionStreamOptions | _Obj | None
    tool_choice: ChatCompletionToolChoiceOption | _Obj
    parallel_tool_calls: bool
    function_call: Literal["none", "auto"] | ChatCompletionFunctionCallOption | _Obj
    functions: Sequence[ChatCompletionFunctions | _Obj]
    # call options, not sent as fields
    timeout: float | Timeout | None
    retries: RetryConfig | int | None
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, str]
    extra_body: Mapping[str, Any]


class CompletionCreateParams(_RequestParams, total=False):
    """The keywords of ``chat.completions.create``: the request fields, then call options.

    See :class:`~gpt_async.models.components.CreateChatCompletionRequest` for each field.
    """

    response_format: ResponseFormat | _Obj
    tools: Sequence[ChatCompletionToolUnion | _Obj]


class ParseParams(_RequestParams, total=False):
    """The keywords of ``chat.completions.parse`` beside ``response_format``."""

    tools: Sequence[ChatCompletionToolUnion | FunctionTool[Any] | _Obj]


class RunToolsParams(_RequestParams, total=False):
    """The keywords of ``chat.completions.run_tools`` beside its own."""

    response_format: ResponseFormat | _Obj


class CallOptions(TypedDict, total=False):
    """The per-call options of the calls that send no body (``models.list``, ``retrieve``)."""

    timeout: float | Timeout | None
    retries: RetryConfig | int | None
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, str]


class ClientOptions(TypedDict, total=False):
    """The keyword options of :class:`~gpt_async.AsyncGpt` and :class:`~gpt_async.Gpt`."""

    api_key_auth: ApiKey | None
    api_key: ApiKey | None
    server_url: str | None
    base_url: str | None
    organization: str | None
    project: str | None
    default_headers: Mapping[str, str] | None
    default_query: Mapping[str, str] | None
    timeout: float | Timeout | None
    retry_config: RetryConfig | None
    max_retries: int | None
    hooks: Hooks | None
    limits: Limits | None
    transport: AsyncTransport | None
    session: aiohttp.ClientSession | None
    ssl_context: ssl.SSLContext | None
    rate_limiter: RateLimiter | None
    api_key_header: Literal["authorization", "api-key"]
    proxy: str | None
    trust_env: bool
    azure_ad_token_provider: TokenProvider | None
    tracing: bool
    tracer_provider: Any
    meter_provider: Any
    capture_content: bool | None
    propagate_trace_context: bool


CLIENT_DEFAULTS: Final[Mapping[str, Any]] = {
    **dict.fromkeys(ClientOptions.__annotations__),
    "timeout": Timeout(),
    "api_key_header": "authorization",
    "trust_env": True,
    "tracing": True,
    "propagate_trace_context": True,
}
"""Every client option's default: ``None`` but where named here."""

POOL_OPTIONS: Final = frozenset(
    {"limits", "transport", "session", "ssl_context", "proxy", "trust_env"}
)
"""The options that shape the connection pool: ``with_options`` cannot share it then."""

TRACING_OPTIONS: Final = frozenset(
    {"tracing", "tracer_provider", "meter_provider", "capture_content", "propagate_trace_context"}
)
"""The options that shape the tracing: ``with_options`` makes a new tracer for them."""

CALL_DEFAULTS: Final[Mapping[str, Any]] = {
    "timeout": DEFAULT,
    "retries": None,
    "extra_headers": None,
    "extra_query": None,
    "extra_body": None,
}
"""The defaults of the per-call options; a request field's default is ``UNSET`` (not sent)."""

_HINT = "fields the API does not define go in extra_body={...}"
CREATE: Final = Keywords(CompletionCreateParams, CALL_DEFAULTS, _HINT)
"""The keywords of ``create`` and ``stream``."""
PARSE: Final = Keywords(ParseParams, CALL_DEFAULTS, _HINT)
"""The keywords of ``parse`` and ``parse_stream`` beside ``response_format``."""
RUN_TOOLS: Final = Keywords(RunToolsParams, CALL_DEFAULTS, _HINT)
"""The keywords of ``run_tools`` beside its own."""
CALL: Final = Keywords(CallOptions, CALL_DEFAULTS)
"""The keywords of ``models.list`` and ``models.retrieve``."""
CLIENT: Final = Keywords(ClientOptions, CLIENT_DEFAULTS)
"""The options of the client constructors."""
