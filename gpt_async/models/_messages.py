"""Request messages, their content parts, and the tool calls an assistant message carries.

Tool calls and the function-call object are shared with the response: they follow the
response conventions (every field has a default, unknown keys land in ``extra``).
"""

# extra_field() returns an attrs field definition, not a shared mutable default.

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from gpt_async._types import UNSET, StrEnum, Unset, WireModel, extra_field, wire_model

__all__ = [
    "ChatCompletionMessageCustomToolCall",
    "ChatCompletionMessageCustomToolCallType",
    "ChatCompletionMessageToolCall",
    "ChatCompletionMessageToolCallType",
    "ChatCompletionMessageToolCallUnion",
    "ChatCompletionRequestAssistantMessage",
    "ChatCompletionRequestAssistantMessageAudio",
    "ChatCompletionRequestAssistantMessageContentPart",
    "ChatCompletionRequestAssistantMessageRole",
    "ChatCompletionRequestDeveloperMessage",
    "ChatCompletionRequestDeveloperMessageContentPart",
    "ChatCompletionRequestDeveloperMessageRole",
    "ChatCompletionRequestFunctionMessage",
    "ChatCompletionRequestFunctionMessageRole",
    "ChatCompletionRequestMessage",
    "ChatCompletionRequestMessageContentPartAudio",
    "ChatCompletionRequestMessageContentPartAudioType",
    "ChatCompletionRequestMessageContentPartFile",
    "ChatCompletionRequestMessageContentPartFileFile",
    "ChatCompletionRequestMessageContentPartFileType",
    "ChatCompletionRequestMessageContentPartImage",
    "ChatCompletionRequestMessageContentPartImageType",
    "ChatCompletionRequestMessageContentPartRefusal",
    "ChatCompletionRequestMessageContentPartRefusalType",
    "ChatCompletionRequestMessageContentPartText",
    "ChatCompletionRequestMessageContentPartTextType",
    "ChatCompletionRequestSystemMessage",
    "ChatCompletionRequestSystemMessageContentPart",
    "ChatCompletionRequestSystemMessageRole",
    "ChatCompletionRequestToolMessage",
    "ChatCompletionRequestToolMessageContentPart",
    "ChatCompletionRequestToolMessageRole",
    "ChatCompletionRequestUserMessage",
    "ChatCompletionRequestUserMessageContentPart",
    "ChatCompletionRequestUserMessageRole",
    "FileInput",
    "FunctionCall",
    "ImageDetail",
    "ImageURL",
    "InputAudio",
    "InputAudioFormat",
    "PromptCacheBreakpointParam",
    "PromptCacheBreakpointParamMode",
    "ToolCallCustom",
    "ToolCallFunction",
]


class PromptCacheBreakpointParamMode(StrEnum):
    """The prompt cache breakpoint mode."""

    EXPLICIT = "explicit"


@wire_model
class PromptCacheBreakpointParam(WireModel):
    """Marks the exact end of a reusable prompt prefix.

    Attributes:
        mode: The breakpoint mode, always ``explicit``.
    """

    mode: PromptCacheBreakpointParamMode = PromptCacheBreakpointParamMode.EXPLICIT


class ChatCompletionRequestMessageContentPartTextType(StrEnum):
    """The type tag of a text content part."""

    TEXT = "text"


@wire_model
class ChatCompletionRequestMessageContentPartText(WireModel):
    """A text content part.

    Attributes:
        text: The text content.
        prompt_cache_breakpoint: Marks the end of a reusable prompt prefix.
        type: Always ``text``.
    """

    text: str
    prompt_cache_breakpoint: PromptCacheBreakpointParam | Unset = UNSET
    type: ChatCompletionRequestMessageContentPartTextType = (
        ChatCompletionRequestMessageContentPartTextType.TEXT
    )


class ImageDetail(StrEnum):
    """The detail level of an image input."""

    AUTO = "auto"
    LOW = "low"
    HIGH = "high"


@wire_model
class ImageURL(WireModel):
    """The image of an image content part.

    Attributes:
        url: Either a URL of the image or the base64 encoded image data (a data URL).
        detail: The detail level of the image.
    """

    url: str
    detail: ImageDetail | Unset = UNSET


class ChatCompletionRequestMessageContentPartImageType(StrEnum):
    """The type tag of an image content part."""

    IMAGE_URL = "image_url"


@wire_model
class ChatCompletionRequestMessageContentPartImage(WireModel):
    """An image content part.

    Attributes:
        image_url: The image.
        prompt_cache_breakpoint: Marks the end of a reusable prompt prefix.
        type: Always ``image_url``.
    """

    image_url: ImageURL
    prompt_cache_breakpoint: PromptCacheBreakpointParam | Unset = UNSET
    type: ChatCompletionRequestMessageContentPartImageType = (
        ChatCompletionRequestMessageContentPartImageType.IMAGE_URL
    )


class InputAudioFormat(StrEnum):
    """The format of encoded input audio."""

    WAV = "wav"
    MP3 = "mp3"


@wire_model
class InputAudio(WireModel):
    """The audio of an audio content part.

    Attributes:
        data: Base64 encoded audio data.
        format: The format of the encoded audio data.
    """

    data: str
    format: InputAudioFormat


class ChatCompletionRequestMessageContentPartAudioType(StrEnum):
    """The type tag of an audio content part."""

    INPUT_AUDIO = "input_audio"


@wire_model
class ChatCompletionRequestMessageContentPartAudio(WireModel):
    """An audio content part.

    Attributes:
        input_audio: The audio.
        prompt_cache_breakpoint: Marks the end of a reusable prompt prefix.
        type: Always ``input_audio``.
    """

    input_audio: InputAudio
    prompt_cache_breakpoint: PromptCacheBreakpointParam | Unset = UNSET
    type: ChatCompletionRequestMessageContentPartAudioType = (
        ChatCompletionRequestMessageContentPartAudioType.INPUT_AUDIO
    )


@wire_model
class FileInput(WireModel):
    """The file of a file content part: inline data or the ID of an uploaded file.

    Attributes:
        filename: The name of the file, used when passing ``file_data``.
        file_data: The base64 encoded file data.
        file_id: The ID of an uploaded file to use as input.
    """

    filename: str | Unset = UNSET
    file_data: str | Unset = UNSET
    file_id: str | Unset = UNSET


ChatCompletionRequestMessageContentPartFileFile: TypeAlias = FileInput


class ChatCompletionRequestMessageContentPartFileType(StrEnum):
    """The type tag of a file content part."""

    FILE = "file"


@wire_model
class ChatCompletionRequestMessageContentPartFile(WireModel):
    """A file content part.

    Attributes:
        file: The file.
        prompt_cache_breakpoint: Marks the end of a reusable prompt prefix.
        type: Always ``file``.
    """

    file: FileInput
    prompt_cache_breakpoint: PromptCacheBreakpointParam | Unset = UNSET
    type: ChatCompletionRequestMessageContentPartFileType = (
        ChatCompletionRequestMessageContentPartFileType.FILE
    )


class ChatCompletionRequestMessageContentPartRefusalType(StrEnum):
    """The type tag of a refusal content part."""

    REFUSAL = "refusal"


@wire_model
class ChatCompletionRequestMessageContentPartRefusal(WireModel):
    """A refusal content part of an assistant message.

    Attributes:
        refusal: The refusal message generated by the model.
        type: Always ``refusal``.
    """

    refusal: str
    type: ChatCompletionRequestMessageContentPartRefusalType = (
        ChatCompletionRequestMessageContentPartRefusalType.REFUSAL
    )


ChatCompletionRequestUserMessageContentPart: TypeAlias = (
    ChatCompletionRequestMessageContentPartText
    | ChatCompletionRequestMessageContentPartImage
    | ChatCompletionRequestMessageContentPartAudio
    | ChatCompletionRequestMessageContentPartFile
)
ChatCompletionRequestAssistantMessageContentPart: TypeAlias = (
    ChatCompletionRequestMessageContentPartText | ChatCompletionRequestMessageContentPartRefusal
)
ChatCompletionRequestSystemMessageContentPart: TypeAlias = (
    ChatCompletionRequestMessageContentPartText
)
ChatCompletionRequestDeveloperMessageContentPart: TypeAlias = (
    ChatCompletionRequestMessageContentPartText
)
ChatCompletionRequestToolMessageContentPart: TypeAlias = ChatCompletionRequestMessageContentPartText


@wire_model
class ToolCallFunction(WireModel):
    """The function a function tool call invokes.

    Attributes:
        name: The name of the function to call.
        arguments: The arguments, as JSON generated by the model; validate before use.
        extra: JSON keys this model does not declare.
    """

    name: str = ""
    arguments: str = ""
    extra: dict[str, Any] = extra_field()


class ChatCompletionMessageToolCallType(StrEnum):
    """The type tag of a function tool call."""

    FUNCTION = "function"


@wire_model
class ChatCompletionMessageToolCall(WireModel):
    """A call to a function tool created by the model.

    Attributes:
        id: The ID of the tool call.
        function: The function that the model called.
        type: Always ``function``.
        extra: JSON keys this model does not declare.
    """

    id: str = ""
    function: ToolCallFunction = attrs.Factory(ToolCallFunction)
    type: ChatCompletionMessageToolCallType = ChatCompletionMessageToolCallType.FUNCTION
    extra: dict[str, Any] = extra_field()


@wire_model
class ToolCallCustom(WireModel):
    """The custom tool a custom tool call invokes.

    Attributes:
        name: The name of the custom tool to call.
        input: The input for the custom tool call generated by the model.
        extra: JSON keys this model does not declare.
    """

    name: str = ""
    input: str = ""
    extra: dict[str, Any] = extra_field()


class ChatCompletionMessageCustomToolCallType(StrEnum):
    """The type tag of a custom tool call."""

    CUSTOM = "custom"


@wire_model
class ChatCompletionMessageCustomToolCall(WireModel):
    """A call to a custom tool created by the model.

    Attributes:
        id: The ID of the tool call.
        custom: The custom tool that the model called.
        type: Always ``custom``.
        extra: JSON keys this model does not declare.
    """

    id: str = ""
    custom: ToolCallCustom = attrs.Factory(ToolCallCustom)
    type: ChatCompletionMessageCustomToolCallType = ChatCompletionMessageCustomToolCallType.CUSTOM
    extra: dict[str, Any] = extra_field()


ChatCompletionMessageToolCallUnion: TypeAlias = (
    ChatCompletionMessageToolCall | ChatCompletionMessageCustomToolCall
)


@wire_model
class FunctionCall(WireModel):
    """Deprecated: the function call of a message, replaced by ``tool_calls``.

    Attributes:
        arguments: The arguments, as JSON generated by the model; validate before use.
        name: The name of the function to call.
        extra: JSON keys this model does not declare.
    """

    arguments: str = ""
    name: str = ""
    extra: dict[str, Any] = extra_field()


class ChatCompletionRequestDeveloperMessageRole(StrEnum):
    """The role tag of a developer message."""

    DEVELOPER = "developer"


@wire_model
class ChatCompletionRequestDeveloperMessage(WireModel):
    """Developer-provided instructions the model should follow, regardless of user messages.

    Attributes:
        content: The contents of the developer message.
        name: An optional name for the participant.
        role: Always ``developer``.
    """

    content: str | list[ChatCompletionRequestDeveloperMessageContentPart]
    name: str | Unset = UNSET
    role: ChatCompletionRequestDeveloperMessageRole = (
        ChatCompletionRequestDeveloperMessageRole.DEVELOPER
    )


class ChatCompletionRequestSystemMessageRole(StrEnum):
    """The role tag of a system message."""

    SYSTEM = "system"


@wire_model
class ChatCompletionRequestSystemMessage(WireModel):
    """Instructions the model should follow; ``developer`` replaces it for o1 and newer models.

    Attributes:
        content: The contents of the system message.
        name: An optional name for the participant.
        role: Always ``system``.
    """

    content: str | list[ChatCompletionRequestSystemMessageContentPart]
    name: str | Unset = UNSET
    role: ChatCompletionRequestSystemMessageRole = ChatCompletionRequestSystemMessageRole.SYSTEM


class ChatCompletionRequestUserMessageRole(StrEnum):
    """The role tag of a user message."""

    USER = "user"


@wire_model
class ChatCompletionRequestUserMessage(WireModel):
    """A message sent by an end user, containing prompts or additional context.

    Attributes:
        content: The contents of the user message: text or a list of content parts.
        name: An optional name for the participant.
        role: Always ``user``.
    """

    content: str | list[ChatCompletionRequestUserMessageContentPart]
    name: str | Unset = UNSET
    role: ChatCompletionRequestUserMessageRole = ChatCompletionRequestUserMessageRole.USER


@wire_model
class ChatCompletionRequestAssistantMessageAudio(WireModel):
    """A reference to a previous audio response from the model.

    Attributes:
        id: Unique identifier for a previous audio response from the model.
    """

    id: str


class ChatCompletionRequestAssistantMessageRole(StrEnum):
    """The role tag of an assistant message."""

    ASSISTANT = "assistant"


@wire_model
class ChatCompletionRequestAssistantMessage(WireModel):
    """A message sent by the model in response to user messages.

    Attributes:
        content: The contents of the message; required unless ``tool_calls`` is given.
        refusal: The refusal message by the assistant.
        name: An optional name for the participant.
        audio: A previous audio response from the model.
        tool_calls: The tool calls generated by the model.
        function_call: Deprecated: replaced by ``tool_calls``.
        role: Always ``assistant``.
    """

    content: str | list[ChatCompletionRequestAssistantMessageContentPart] | Unset | None = UNSET
    refusal: str | Unset | None = UNSET
    name: str | Unset = UNSET
    audio: ChatCompletionRequestAssistantMessageAudio | Unset | None = UNSET
    tool_calls: list[ChatCompletionMessageToolCallUnion] | Unset = UNSET
    function_call: FunctionCall | Unset | None = UNSET
    role: ChatCompletionRequestAssistantMessageRole = (
        ChatCompletionRequestAssistantMessageRole.ASSISTANT
    )


class ChatCompletionRequestToolMessageRole(StrEnum):
    """The role tag of a tool message."""

    TOOL = "tool"


@wire_model
class ChatCompletionRequestToolMessage(WireModel):
    """The result of a tool call, sent back to the model.

    Attributes:
        content: The contents of the tool message.
        tool_call_id: The tool call that this message is responding to.
        role: Always ``tool``.
    """

    content: str | list[ChatCompletionRequestToolMessageContentPart]
    tool_call_id: str
    role: ChatCompletionRequestToolMessageRole = ChatCompletionRequestToolMessageRole.TOOL


class ChatCompletionRequestFunctionMessageRole(StrEnum):
    """The role tag of a function message."""

    FUNCTION = "function"


@wire_model
class ChatCompletionRequestFunctionMessage(WireModel):
    """Deprecated: the result of a function call; replaced by the tool message.

    Attributes:
        content: The contents of the function message.
        name: The name of the function that was called.
        role: Always ``function``.
    """

    content: str | None
    name: str
    role: ChatCompletionRequestFunctionMessageRole = (
        ChatCompletionRequestFunctionMessageRole.FUNCTION
    )


ChatCompletionRequestMessage: TypeAlias = (
    ChatCompletionRequestDeveloperMessage
    | ChatCompletionRequestSystemMessage
    | ChatCompletionRequestUserMessage
    | ChatCompletionRequestAssistantMessage
    | ChatCompletionRequestToolMessage
    | ChatCompletionRequestFunctionMessage
)
