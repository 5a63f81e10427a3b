"""Request option objects: tools, tool choice, response format and the other nested options."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from gpt_async._types import UNSET, StrEnum, Unset, WireModel, wire_model
from gpt_async.models._messages import ChatCompletionRequestMessageContentPartText

__all__ = [
    "AudioFormat",
    "ChatCompletionAllowedTools",
    "ChatCompletionAllowedToolsChoice",
    "ChatCompletionAllowedToolsChoiceType",
    "ChatCompletionAllowedToolsMode",
    "ChatCompletionAudioParam",
    "ChatCompletionFunctionCallOption",
    "ChatCompletionFunctions",
    "ChatCompletionNamedToolChoice",
    "ChatCompletionNamedToolChoiceCustom",
    "ChatCompletionNamedToolChoiceCustomType",
    "ChatCompletionNamedToolChoiceType",
    "ChatCompletionStreamOptions",
    "ChatCompletionTool",
    "ChatCompletionToolChoiceOption",
    "ChatCompletionToolType",
    "ChatCompletionToolUnion",
    "CustomToolChatCompletions",
    "CustomToolChatCompletionsType",
    "CustomToolFormat",
    "CustomToolGrammar",
    "CustomToolGrammarFormat",
    "CustomToolGrammarFormatType",
    "CustomToolGrammarSyntax",
    "CustomToolProperties",
    "CustomToolTextFormat",
    "CustomToolTextFormatType",
    "CustomVoice",
    "FunctionObject",
    "JSONSchema",
    "ModerationConfigParam",
    "ModerationMode",
    "ModerationParam",
    "ModerationPolicyParam",
    "PredictionContent",
    "PredictionContentType",
    "PromptCacheModeEnum",
    "PromptCacheOptionsParam",
    "PromptCacheTTLEnum",
    "ResponseFormat",
    "ResponseFormatJsonObject",
    "ResponseFormatJsonObjectType",
    "ResponseFormatJsonSchema",
    "ResponseFormatJsonSchemaType",
    "ResponseFormatText",
    "ResponseFormatTextType",
    "ToolChoiceCustom",
    "ToolChoiceFunction",
    "ToolChoiceMode",
    "Voice",
    "WebSearchContextSize",
    "WebSearchLocation",
    "WebSearchOptions",
    "WebSearchUserLocation",
    "WebSearchUserLocationType",
]


@wire_model
class FunctionObject(WireModel):
    """A function the model may call.

    Attributes:
        name: The name of the function (a-z, A-Z, 0-9, underscores and dashes, max 64).
        description: What the function does, used by the model to decide when to call it.
        parameters: The parameters the function accepts, as a JSON Schema object.
        strict: Whether to enable strict schema adherence when generating the call.
    """

    name: str
    description: str | Unset = UNSET
    parameters: dict[str, Any] | Unset = UNSET
    strict: bool | Unset | None = UNSET


class ChatCompletionToolType(StrEnum):
    """The type tag of a function tool."""

    FUNCTION = "function"


@wire_model
class ChatCompletionTool(WireModel):
    """A function tool that can be used to generate a response.

    Attributes:
        function: The function definition.
        type: Always ``function``.
    """

    function: FunctionObject
    type: ChatCompletionToolType = ChatCompletionToolType.FUNCTION


class CustomToolTextFormatType(StrEnum):
    """The type tag of the unconstrained text format."""

    TEXT = "text"


@wire_model
class CustomToolTextFormat(WireModel):
    """Unconstrained free-form text input for a custom tool.

    Attributes:
        type: Always ``text``.
    """

    type: CustomToolTextFormatType = CustomToolTextFormatType.TEXT


class CustomToolGrammarSyntax(StrEnum):
    """The syntax of a grammar definition."""

    LARK = "lark"
    REGEX = "regex"


@wire_model
class CustomToolGrammar(WireModel):
    """A grammar that constrains a custom tool's input.

    Attributes:
        definition: The grammar definition.
        syntax: The syntax of the grammar definition.
    """

    definition: str
    syntax: CustomToolGrammarSyntax


class CustomToolGrammarFormatType(StrEnum):
    """The type tag of the grammar format."""

    GRAMMAR = "grammar"


@wire_model
class CustomToolGrammarFormat(WireModel):
    """A grammar defined by the user for a custom tool's input.

    Attributes:
        grammar: The chosen grammar.
        type: Always ``grammar``.
    """

    grammar: CustomToolGrammar
    type: CustomToolGrammarFormatType = CustomToolGrammarFormatType.GRAMMAR


CustomToolFormat: TypeAlias = CustomToolTextFormat | CustomToolGrammarFormat


@wire_model
class CustomToolProperties(WireModel):
    """The properties of a custom tool.

    Attributes:
        name: The name of the custom tool, used to identify it in tool calls.
        description: Optional description of the custom tool.
        format: The input format for the custom tool; unconstrained text when unset.
    """

    name: str
    description: str | Unset = UNSET
    format: CustomToolFormat | Unset = UNSET


class CustomToolChatCompletionsType(StrEnum):
    """The type tag of a custom tool."""

    CUSTOM = "custom"


@wire_model
class CustomToolChatCompletions(WireModel):
    """A custom tool that processes input using a specified format.

    Attributes:
        custom: The properties of the custom tool.
        type: Always ``custom``.
    """

    custom: CustomToolProperties
    type: CustomToolChatCompletionsType = CustomToolChatCompletionsType.CUSTOM


ChatCompletionToolUnion: TypeAlias = ChatCompletionTool | CustomToolChatCompletions


@wire_model
class ChatCompletionFunctions(WireModel):
    """Deprecated: a function the model may call; replaced by ``ChatCompletionTool``.

    Attributes:
        description: What the function does.
        name: The name of the function to be called.
        parameters: The parameters the function accepts, as a JSON Schema object.
    """

    name: str
    description: str | Unset = UNSET
    parameters: dict[str, Any] | Unset = UNSET


@wire_model
class ChatCompletionFunctionCallOption(WireModel):
    """Deprecated: forces the model to call the named function.

    Attributes:
        name: The name of the function to call.
    """

    name: str


class ToolChoiceMode(StrEnum):
    """The string forms of ``tool_choice``."""

    NONE = "none"
    AUTO = "auto"
    REQUIRED = "required"


class ChatCompletionAllowedToolsMode(StrEnum):
    """Whether the model may pick among the allowed tools or must call one of them."""

    AUTO = "auto"
    REQUIRED = "required"


@wire_model
class ChatCompletionAllowedTools(WireModel):
    """Constrains the tools available to the model to a pre-defined set.

    Attributes:
        mode: ``auto`` lets the model pick or answer; ``required`` forces a tool call.
        tools: The tool definitions the model may call, as JSON objects.
    """

    mode: ChatCompletionAllowedToolsMode
    tools: list[dict[str, Any]]


class ChatCompletionAllowedToolsChoiceType(StrEnum):
    """The type tag of an allowed-tools choice."""

    ALLOWED_TOOLS = "allowed_tools"


@wire_model
class ChatCompletionAllowedToolsChoice(WireModel):
    """A ``tool_choice`` that constrains the model to a pre-defined set of tools.

    Attributes:
        allowed_tools: The allowed tools configuration.
        type: Always ``allowed_tools``.
    """

    allowed_tools: ChatCompletionAllowedTools
    type: ChatCompletionAllowedToolsChoiceType = ChatCompletionAllowedToolsChoiceType.ALLOWED_TOOLS


@wire_model
class ToolChoiceFunction(WireModel):
    """The function a named tool choice forces.

    Attributes:
        name: The name of the function to call.
    """

    name: str


class ChatCompletionNamedToolChoiceType(StrEnum):
    """The type tag of a named function tool choice."""

    FUNCTION = "function"


@wire_model
class ChatCompletionNamedToolChoice(WireModel):
    """A ``tool_choice`` that forces the model to call a specific function.

    Attributes:
        function: The function to call.
        type: Always ``function``.
    """

    function: ToolChoiceFunction
    type: ChatCompletionNamedToolChoiceType = ChatCompletionNamedToolChoiceType.FUNCTION


@wire_model
class ToolChoiceCustom(WireModel):
    """The custom tool a named custom tool choice forces.

    Attributes:
        name: The name of the custom tool to call.
    """

    name: str


class ChatCompletionNamedToolChoiceCustomType(StrEnum):
    """The type tag of a named custom tool choice."""

    CUSTOM = "custom"


@wire_model
class ChatCompletionNamedToolChoiceCustom(WireModel):
    """A ``tool_choice`` that forces the model to call a specific custom tool.

    Attributes:
        custom: The custom tool to call.
        type: Always ``custom``.
    """

    custom: ToolChoiceCustom
    type: ChatCompletionNamedToolChoiceCustomType = ChatCompletionNamedToolChoiceCustomType.CUSTOM


ChatCompletionToolChoiceOption: TypeAlias = (
    Literal["none", "auto", "required"]
    | ChatCompletionAllowedToolsChoice
    | ChatCompletionNamedToolChoice
    | ChatCompletionNamedToolChoiceCustom
)


class ResponseFormatTextType(StrEnum):
    """The type tag of the text response format."""

    TEXT = "text"


@wire_model
class ResponseFormatText(WireModel):
    """The default response format: plain text.

    Attributes:
        type: Always ``text``.
    """

    type: ResponseFormatTextType = ResponseFormatTextType.TEXT


@wire_model
class JSONSchema(WireModel):
    """Structured Outputs configuration options, including a JSON Schema.

    Attributes:
        name: The name of the response format (a-z, A-Z, 0-9, underscores and dashes, max 64).
        description: What the response format is for.
        schema: The schema for the response format, as a JSON Schema object.
        strict: Whether to enable strict schema adherence when generating the output.
    """

    name: str
    description: str | Unset = UNSET
    schema: dict[str, Any] | Unset = UNSET
    strict: bool | Unset | None = UNSET


class ResponseFormatJsonSchemaType(StrEnum):
    """The type tag of the JSON Schema response format."""

    JSON_SCHEMA = "json_schema"


@wire_model
class ResponseFormatJsonSchema(WireModel):
    """The JSON Schema response format (Structured Outputs).

    Attributes:
        json_schema: The Structured Outputs configuration.
        type: Always ``json_schema``.
    """

    json_schema: JSONSchema
    type: ResponseFormatJsonSchemaType = ResponseFormatJsonSchemaType.JSON_SCHEMA


class ResponseFormatJsonObjectType(StrEnum):
    """The type tag of the JSON object response format."""

    JSON_OBJECT = "json_object"


@wire_model
class ResponseFormatJsonObject(WireModel):
    """The older JSON mode: the model outputs a valid JSON object.

    Attributes:
        type: Always ``json_object``.
    """

    type: ResponseFormatJsonObjectType = ResponseFormatJsonObjectType.JSON_OBJECT


ResponseFormat: TypeAlias = ResponseFormatText | ResponseFormatJsonSchema | ResponseFormatJsonObject


@wire_model
class ChatCompletionStreamOptions(WireModel):
    """Options for a streaming response; set only with ``stream=True``.

    Attributes:
        include_usage: Stream a final chunk with the usage of the whole request.
        include_obfuscation: Add the ``obfuscation`` padding field to stream chunks.
    """

    include_usage: bool | Unset = UNSET
    include_obfuscation: bool | Unset = UNSET


class Voice(StrEnum):
    """The built-in voices for audio output."""

    ALLOY = "alloy"
    ASH = "ash"
    BALLAD = "ballad"
    CORAL = "coral"
    ECHO = "echo"
    SAGE = "sage"
    SHIMMER = "shimmer"
    VERSE = "verse"
    MARIN = "marin"
    CEDAR = "cedar"


class AudioFormat(StrEnum):
    """The output audio formats."""

    WAV = "wav"
    AAC = "aac"
    MP3 = "mp3"
    FLAC = "flac"
    OPUS = "opus"
    PCM16 = "pcm16"


@wire_model
class CustomVoice(WireModel):
    """A custom voice reference.

    Attributes:
        id: The custom voice ID, e.g. ``voice_1234``.
    """

    id: str


@wire_model
class ChatCompletionAudioParam(WireModel):
    """Parameters for audio output, required with ``modalities=["audio"]``.

    Attributes:
        voice: A built-in voice name or a custom voice reference.
        format: The output audio format.
    """

    voice: Voice | str | CustomVoice
    format: AudioFormat


class PredictionContentType(StrEnum):
    """The type tag of predicted content."""

    CONTENT = "content"


@wire_model
class PredictionContent(WireModel):
    """Static predicted output content, such as a file that is being regenerated.

    Attributes:
        content: The content that should be matched when generating a response.
        type: Always ``content``.
    """

    content: str | list[ChatCompletionRequestMessageContentPartText]
    type: PredictionContentType = PredictionContentType.CONTENT


class WebSearchContextSize(StrEnum):
    """How much context window space to use for the search."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@wire_model
class WebSearchLocation(WireModel):
    """Approximate location parameters for the search.

    Attributes:
        country: The two-letter ISO country code of the user, e.g. ``US``.
        region: Free text input for the region of the user, e.g. ``California``.
        city: Free text input for the city of the user, e.g. ``San Francisco``.
        timezone: The IANA timezone of the user, e.g. ``America/Los_Angeles``.
    """

    country: str | Unset = UNSET
    region: str | Unset = UNSET
    city: str | Unset = UNSET
    timezone: str | Unset = UNSET


class WebSearchUserLocationType(StrEnum):
    """The type tag of the user location for web search."""

    APPROXIMATE = "approximate"


@wire_model
class WebSearchUserLocation(WireModel):
    """The approximate location of the user for web search.

    Attributes:
        approximate: The approximate location parameters.
        type: Always ``approximate``.
    """

    approximate: WebSearchLocation
    type: WebSearchUserLocationType = WebSearchUserLocationType.APPROXIMATE


@wire_model
class WebSearchOptions(WireModel):
    """Options for the web search tool, which searches the web for results to use.

    Attributes:
        user_location: Approximate location parameters for the search.
        search_context_size: How much context window space to use for the search.
    """

    user_location: WebSearchUserLocation | Unset | None = UNSET
    search_context_size: WebSearchContextSize | Unset = UNSET


class ModerationMode(StrEnum):
    """The moderation mode of one side of the policy: ``score`` or ``block``."""

    SCORE = "score"
    BLOCK = "block"


@wire_model
class ModerationConfigParam(WireModel):
    """The moderation policy for one side (input or output).

    Attributes:
        mode: The moderation mode.
    """

    mode: ModerationMode


@wire_model
class ModerationPolicyParam(WireModel):
    """The policy to apply to moderated input and output.

    Attributes:
        input: The moderation policy for the request input.
        output: The moderation policy for the generated output.
    """

    input: ModerationConfigParam | Unset | None = UNSET
    output: ModerationConfigParam | Unset | None = UNSET


@wire_model
class ModerationParam(WireModel):
    """Configuration for running moderation on the request input and generated output.

    Attributes:
        model: The moderation model to use, e.g. ``omni-moderation-latest``.
        policy: The policy to apply to moderated input and output.
    """

    model: str
    policy: ModerationPolicyParam | Unset | None = UNSET


class PromptCacheTTLEnum(StrEnum):
    """The minimum lifetime of prompt cache breakpoints."""

    THIRTY_MINUTES = "30m"


class PromptCacheModeEnum(StrEnum):
    """Whether an implicit prompt cache breakpoint is created automatically."""

    IMPLICIT = "implicit"
    EXPLICIT = "explicit"


@wire_model
class PromptCacheOptionsParam(WireModel):
    """Options for prompt caching.

    Attributes:
        ttl: The minimum lifetime of every cache breakpoint the request writes.
        mode: Whether OpenAI automatically creates an implicit cache breakpoint.
    """

    ttl: PromptCacheTTLEnum | Unset = UNSET
    mode: PromptCacheModeEnum | Unset = UNSET
