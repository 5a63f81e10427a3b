"""The request body of ``POST /chat/completions`` and its enums."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from gpt_async._types import UNSET, LazyModule, StrEnum, Unset, WireModel, wire_model
from gpt_async.models._base import ServiceTier
from gpt_async.models._messages import ChatCompletionRequestMessage

if TYPE_CHECKING:
    from gpt_async.models import _tools
else:  # the request options few calls pass: their classes load on first use
    _tools = LazyModule("gpt_async.models._tools")

__all__ = [
    "CreateChatCompletionRequest",
    "Model",
    "PromptCacheRetention",
    "ReasoningEffort",
    "ResponseModality",
    "Two",
    "Verbosity",
]


class Model(StrEnum):
    """The model ids the spec knows; ``model`` accepts any other string too."""

    GPT_5_6_SOL = "gpt-5.6-sol"
    GPT_5_6_TERRA = "gpt-5.6-terra"
    GPT_5_6_LUNA = "gpt-5.6-luna"
    GPT_5_5 = "gpt-5.5"
    GPT_5_5_2026_04_23 = "gpt-5.5-2026-04-23"
    GPT_5_4 = "gpt-5.4"
    GPT_5_4_MINI = "gpt-5.4-mini"
    GPT_5_4_NANO = "gpt-5.4-nano"
    GPT_5_4_MINI_2026_03_17 = "gpt-5.4-mini-2026-03-17"
    GPT_5_4_NANO_2026_03_17 = "gpt-5.4-nano-2026-03-17"
    GPT_5_3_CHAT_LATEST = "gpt-5.3-chat-latest"
    GPT_5_2 = "gpt-5.2"
    GPT_5_2_2025_12_11 = "gpt-5.2-2025-12-11"
    GPT_5_2_CHAT_LATEST = "gpt-5.2-chat-latest"
    GPT_5_2_PRO = "gpt-5.2-pro"
    GPT_5_2_PRO_2025_12_11 = "gpt-5.2-pro-2025-12-11"
    GPT_5_1 = "gpt-5.1"
    GPT_5_1_2025_11_13 = "gpt-5.1-2025-11-13"
    GPT_5_1_CODEX = "gpt-5.1-codex"
    GPT_5_1_MINI = "gpt-5.1-mini"
    GPT_5_1_CHAT_LATEST = "gpt-5.1-chat-latest"
    GPT_5 = "gpt-5"
    GPT_5_MINI = "gpt-5-mini"
    GPT_5_NANO = "gpt-5-nano"
    GPT_5_2025_08_07 = "gpt-5-2025-08-07"
    GPT_5_MINI_2025_08_07 = "gpt-5-mini-2025-08-07"
    GPT_5_NANO_2025_08_07 = "gpt-5-nano-2025-08-07"
    GPT_5_CHAT_LATEST = "gpt-5-chat-latest"
    GPT_4_1 = "gpt-4.1"
    GPT_4_1_MINI = "gpt-4.1-mini"
    GPT_4_1_NANO = "gpt-4.1-nano"
    GPT_4_1_2025_04_14 = "gpt-4.1-2025-04-14"
    GPT_4_1_MINI_2025_04_14 = "gpt-4.1-mini-2025-04-14"
    GPT_4_1_NANO_2025_04_14 = "gpt-4.1-nano-2025-04-14"
    O4_MINI = "o4-mini"
    O4_MINI_2025_04_16 = "o4-mini-2025-04-16"
    O3 = "o3"
    O3_2025_04_16 = "o3-2025-04-16"
    O3_MINI = "o3-mini"
    O3_MINI_2025_01_31 = "o3-mini-2025-01-31"
    O1 = "o1"
    O1_2024_12_17 = "o1-2024-12-17"
    O1_PREVIEW = "o1-preview"
    O1_PREVIEW_2024_09_12 = "o1-preview-2024-09-12"
    O1_MINI = "o1-mini"
    O1_MINI_2024_09_12 = "o1-mini-2024-09-12"
    GPT_4O = "gpt-4o"
    GPT_4O_2024_11_20 = "gpt-4o-2024-11-20"
    GPT_4O_2024_08_06 = "gpt-4o-2024-08-06"
    GPT_4O_2024_05_13 = "gpt-4o-2024-05-13"
    GPT_4O_AUDIO_PREVIEW = "gpt-4o-audio-preview"
    GPT_4O_AUDIO_PREVIEW_2024_10_01 = "gpt-4o-audio-preview-2024-10-01"
    GPT_4O_AUDIO_PREVIEW_2024_12_17 = "gpt-4o-audio-preview-2024-12-17"
    GPT_4O_AUDIO_PREVIEW_2025_06_03 = "gpt-4o-audio-preview-2025-06-03"
    GPT_4O_MINI_AUDIO_PREVIEW = "gpt-4o-mini-audio-preview"
    GPT_4O_MINI_AUDIO_PREVIEW_2024_12_17 = "gpt-4o-mini-audio-preview-2024-12-17"
    GPT_4O_SEARCH_PREVIEW = "gpt-4o-search-preview"
    GPT_4O_MINI_SEARCH_PREVIEW = "gpt-4o-mini-search-preview"
    GPT_4O_SEARCH_PREVIEW_2025_03_11 = "gpt-4o-search-preview-2025-03-11"
    GPT_4O_MINI_SEARCH_PREVIEW_2025_03_11 = "gpt-4o-mini-search-preview-2025-03-11"
    CHATGPT_4O_LATEST = "chatgpt-4o-latest"
    CODEX_MINI_LATEST = "codex-mini-latest"
    GPT_4O_MINI = "gpt-4o-mini"
    GPT_4O_MINI_2024_07_18 = "gpt-4o-mini-2024-07-18"
    GPT_4_TURBO = "gpt-4-turbo"
    GPT_4_TURBO_2024_04_09 = "gpt-4-turbo-2024-04-09"
    GPT_4_0125_PREVIEW = "gpt-4-0125-preview"
    GPT_4_TURBO_PREVIEW = "gpt-4-turbo-preview"
    GPT_4_1106_PREVIEW = "gpt-4-1106-preview"
    GPT_4_VISION_PREVIEW = "gpt-4-vision-preview"
    GPT_4 = "gpt-4"
    GPT_4_0314 = "gpt-4-0314"
    GPT_4_0613 = "gpt-4-0613"
    GPT_4_32K = "gpt-4-32k"
    GPT_4_32K_0314 = "gpt-4-32k-0314"
    GPT_4_32K_0613 = "gpt-4-32k-0613"
    GPT_3_5_TURBO = "gpt-3.5-turbo"
    GPT_3_5_TURBO_16K = "gpt-3.5-turbo-16k"
    GPT_3_5_TURBO_0301 = "gpt-3.5-turbo-0301"
    GPT_3_5_TURBO_0613 = "gpt-3.5-turbo-0613"
    GPT_3_5_TURBO_1106 = "gpt-3.5-turbo-1106"
    GPT_3_5_TURBO_0125 = "gpt-3.5-turbo-0125"
    GPT_3_5_TURBO_16K_0613 = "gpt-3.5-turbo-16k-0613"


Two = Model
"""The seed documents' name for :class:`Model`."""


class ReasoningEffort(StrEnum):
    """How much effort reasoning models spend on reasoning."""

    NONE = "none"
    MINIMAL = "minimal"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    XHIGH = "xhigh"
    MAX = "max"


class Verbosity(StrEnum):
    """How verbose the model's response is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ResponseModality(StrEnum):
    """An output type the model should generate."""

    TEXT = "text"
    AUDIO = "audio"


class PromptCacheRetention(StrEnum):
    """Deprecated: the maximum retention policy of the prompt cache."""

    IN_MEMORY = "in_memory"
    TWENTY_FOUR_HOURS = "24h"


@wire_model
class CreateChatCompletionRequest(WireModel):
    """The request body of ``POST /chat/completions``.

    Attributes:
        messages: The messages comprising the conversation so far.
        model: The model ID, a :class:`Model` member or any string the server knows.
        metadata: Up to 16 string key-value pairs attached to the stored completion.
        top_logprobs: How many most likely tokens (0-20) to return at each position.
        temperature: Sampling temperature between 0 and 2.
        top_p: Nucleus sampling probability mass between 0 and 1.
        user: Deprecated: use ``safety_identifier`` and ``prompt_cache_key``.
        safety_identifier: A stable, hashed identifier of the end user (max 64 characters).
        prompt_cache_key: A key that groups similar requests for prompt caching.
        prompt_cache_retention: Deprecated: use ``prompt_cache_options.ttl``.
        prompt_cache_options: Options for prompt caching.
        service_tier: The processing type used for serving the request.
        modalities: The output types the model should generate.
        verbosity: How verbose the model's response is.
        reasoning_effort: How much effort reasoning models spend on reasoning.
        max_completion_tokens: Upper bound of generated tokens, reasoning tokens included.
        frequency_penalty: Penalty between -2.0 and 2.0 for token frequency so far.
        presence_penalty: Penalty between -2.0 and 2.0 for tokens present so far.
        web_search_options: Options for the web search tool.
        response_format: The format the model must output.
        audio: Parameters for audio output.
        store: Whether to store the output for model distillation or evals.
        moderation: Moderation to run on the request input and generated output.
        stream: Stream the response as server-sent events.
        stop: Up to 4 sequences where the API stops generating further tokens.
        logit_bias: Maps token IDs to a bias between -100 and 100.
        logprobs: Whether to return log probabilities of the output tokens.
        max_tokens: Deprecated: use ``max_completion_tokens``.
        n: How many choices to generate for each input message.
        prediction: Predicted output content, to speed up regenerating known content.
        seed: Deprecated: best-effort deterministic sampling (beta).
        stream_options: Options for a streaming response.
        tools: The tools the model may call.
        tool_choice: Which tool, if any, the model calls.
        parallel_tool_calls: Whether to enable parallel function calling during tool use.
        function_call: Deprecated: use ``tool_choice``.
        functions: Deprecated: use ``tools``.
    """

    messages: list[ChatCompletionRequestMessage]
    model: str
    metadata: dict[str, str] | Unset | None = UNSET
    top_logprobs: int | Unset | None = UNSET
    temperature: float | Unset | None = UNSET
    top_p: float | Unset | None = UNSET
    user: str | Unset = UNSET
    safety_identifier: str | Unset | None = UNSET
    prompt_cache_key: str | Unset | None = UNSET
    prompt_cache_retention: PromptCacheRetention | Unset | None = UNSET
    prompt_cache_options: _tools.PromptCacheOptionsParam | Unset = UNSET
    service_tier: ServiceTier | Unset | None = UNSET
    modalities: list[ResponseModality] | Unset | None = UNSET
    verbosity: Verbosity | Unset | None = UNSET
    reasoning_effort: ReasoningEffort | Unset | None = UNSET
    max_completion_tokens: int | Unset | None = UNSET
    frequency_penalty: float | Unset | None = UNSET
    presence_penalty: float | Unset | None = UNSET
    web_search_options: _tools.WebSearchOptions | Unset = UNSET
    response_format: _tools.ResponseFormat | Unset = UNSET
    audio: _tools.ChatCompletionAudioParam | Unset | None = UNSET
    store: bool | Unset | None = UNSET
    moderation: _tools.ModerationParam | Unset | None = UNSET
    stream: bool | Unset | None = UNSET
    stop: str | list[str] | Unset | None = UNSET
    logit_bias: dict[str, int] | Unset | None = UNSET
    logprobs: bool | Unset | None = UNSET
    max_tokens: int | Unset | None = UNSET
    n: int | Unset | None = UNSET
    prediction: _tools.PredictionContent | Unset | None = UNSET
    seed: int | Unset | None = UNSET
    stream_options: _tools.ChatCompletionStreamOptions | Unset | None = UNSET
    tools: list[_tools.ChatCompletionToolUnion] | Unset = UNSET
    tool_choice: _tools.ChatCompletionToolChoiceOption | Unset = UNSET
    parallel_tool_calls: bool | Unset = UNSET
    function_call: Literal["none", "auto"] | _tools.ChatCompletionFunctionCallOption | Unset = UNSET
    functions: list[_tools.ChatCompletionFunctions] | Unset = UNSET
