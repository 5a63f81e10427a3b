"""The wire models match the OpenAI spec's chat completion schemas, field for field."""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from gpt_async._types import EXTRA_KEY, UNSET
from gpt_async.models import _chunk, _response, components
from gpt_async.models import components as c

# The spec 2.3.0, copied into the repository (tests/spec/README.md says from where).
_SPEC_DIR = Path(__file__).resolve().parent / "spec"
_SCHEMA_FILE = _SPEC_DIR / "chat-completions.schema.json"

DEFS: dict[str, Any] = json.loads(_SCHEMA_FILE.read_text())["$defs"]

# Every object schema of the spec that has properties, by its path in ``$defs``:
# ``Def.prop`` steps into a property, ``[]`` into array items, ``|i`` picks the i-th
# inline branch of a oneOf/anyOf with several inline branches.
REQUEST_SCHEMAS: dict[str, type[Any]] = {
    "ChatCompletionAllowedTools": c.ChatCompletionAllowedTools,
    "ChatCompletionAllowedToolsChoice": c.ChatCompletionAllowedToolsChoice,
    "ChatCompletionFunctionCallOption": c.ChatCompletionFunctionCallOption,
    "ChatCompletionFunctions": c.ChatCompletionFunctions,
    "ChatCompletionNamedToolChoice": c.ChatCompletionNamedToolChoice,
    "ChatCompletionNamedToolChoice.function": c.ToolChoiceFunction,
    "ChatCompletionNamedToolChoiceCustom": c.ChatCompletionNamedToolChoiceCustom,
    "ChatCompletionNamedToolChoiceCustom.custom": c.ToolChoiceCustom,
    "ChatCompletionRequestAssistantMessage": c.ChatCompletionRequestAssistantMessage,
    "ChatCompletionRequestAssistantMessage.audio": c.ChatCompletionRequestAssistantMessageAudio,
    "ChatCompletionRequestDeveloperMessage": c.ChatCompletionRequestDeveloperMessage,
    "ChatCompletionRequestFunctionMessage": c.ChatCompletionRequestFunctionMessage,
    "ChatCompletionRequestMessageContentPartAudio": c.ChatCompletionRequestMessageContentPartAudio,
    "ChatCompletionRequestMessageContentPartAudio.input_audio": c.InputAudio,
    "ChatCompletionRequestMessageContentPartFile": c.ChatCompletionRequestMessageContentPartFile,
    "ChatCompletionRequestMessageContentPartFile.file": c.FileInput,
    "ChatCompletionRequestMessageContentPartImage": c.ChatCompletionRequestMessageContentPartImage,
    "ChatCompletionRequestMessageContentPartImage.image_url": c.ImageURL,
    "ChatCompletionRequestMessageContentPartRefusal": (
        c.ChatCompletionRequestMessageContentPartRefusal
    ),
    "ChatCompletionRequestMessageContentPartText": c.ChatCompletionRequestMessageContentPartText,
    "ChatCompletionRequestSystemMessage": c.ChatCompletionRequestSystemMessage,
    "ChatCompletionRequestToolMessage": c.ChatCompletionRequestToolMessage,
    "ChatCompletionRequestUserMessage": c.ChatCompletionRequestUserMessage,
    "ChatCompletionStreamOptions": c.ChatCompletionStreamOptions,
    "ChatCompletionTool": c.ChatCompletionTool,
    "CreateChatCompletionRequest": c.CreateChatCompletionRequest,
    "CreateChatCompletionRequest.audio": c.ChatCompletionAudioParam,
    "CreateChatCompletionRequest.web_search_options": c.WebSearchOptions,
    "CreateChatCompletionRequest.web_search_options.user_location": c.WebSearchUserLocation,
    "CustomToolChatCompletions": c.CustomToolChatCompletions,
    "CustomToolChatCompletions.custom": c.CustomToolProperties,
    "CustomToolChatCompletions.custom.format|0": c.CustomToolTextFormat,
    "CustomToolChatCompletions.custom.format|1": c.CustomToolGrammarFormat,
    "CustomToolChatCompletions.custom.format|1.grammar": c.CustomToolGrammar,
    "FunctionObject": c.FunctionObject,
    "ModerationConfigParam": c.ModerationConfigParam,
    "ModerationParam": c.ModerationParam,
    "ModerationPolicyParam": c.ModerationPolicyParam,
    "PredictionContent": c.PredictionContent,
    "PromptCacheBreakpointParam": c.PromptCacheBreakpointParam,
    "PromptCacheOptionsParam": c.PromptCacheOptionsParam,
    "ResponseFormatJsonObject": c.ResponseFormatJsonObject,
    "ResponseFormatJsonSchema": c.ResponseFormatJsonSchema,
    "ResponseFormatJsonSchema.json_schema": c.JSONSchema,
    "ResponseFormatText": c.ResponseFormatText,
    "VoiceIdsOrCustomVoice": c.CustomVoice,
    "WebSearchLocation": c.WebSearchLocation,
}

RESPONSE_SCHEMAS: dict[str, type[Any]] = {
    "ChatCompletionMessageCustomToolCall": c.ChatCompletionMessageCustomToolCall,
    "ChatCompletionMessageCustomToolCall.custom": c.ToolCallCustom,
    "ChatCompletionMessageToolCall": c.ChatCompletionMessageToolCall,
    "ChatCompletionMessageToolCall.function": c.ToolCallFunction,
    "ChatCompletionMessageToolCallChunk": c.ChoiceDeltaToolCall,
    "ChatCompletionMessageToolCallChunk.function": c.ChoiceDeltaToolCallFunction,
    "ChatCompletionModeration": c.ChatCompletionModeration,
    "ChatCompletionModerationError": c.ChatCompletionModerationError,
    "ChatCompletionModerationResults": c.ChatCompletionModerationResults,
    "ChatCompletionRequestAssistantMessage.function_call": c.FunctionCall,
    "ChatCompletionResponseMessage": c.ChatCompletionMessage,
    "ChatCompletionResponseMessage.annotations[]": c.Annotation,
    "ChatCompletionResponseMessage.annotations[].url_citation": c.URLCitation,
    "ChatCompletionResponseMessage.audio": c.ChatCompletionAudio,
    "ChatCompletionResponseMessage.function_call": c.FunctionCall,
    "ChatCompletionStreamResponseDelta": c.ChoiceDelta,
    "ChatCompletionStreamResponseDelta.function_call": c.ChoiceDeltaFunctionCall,
    "ChatCompletionTokenLogprob": c.ChatCompletionTokenLogprob,
    "ChatCompletionTokenLogprob.top_logprobs[]": c.TopLogprob,
    "CompletionUsage": c.CompletionUsage,
    "CompletionUsage.completion_tokens_details": c.CompletionTokensDetails,
    "CompletionUsage.prompt_tokens_details": c.PromptTokensDetails,
    "CreateChatCompletionResponse": c.ChatCompletion,
    "CreateChatCompletionResponse.choices[]": c.Choice,
    "CreateChatCompletionResponse.choices[].logprobs": c.ChoiceLogprobs,
    "CreateChatCompletionStreamResponse": c.ChatCompletionChunk,
    "CreateChatCompletionStreamResponse.choices[]": c.ChunkChoice,
    "CreateChatCompletionStreamResponse.choices[].logprobs": c.ChoiceLogprobs,
    "Error": c.ErrorObject,
    "ErrorResponse": c.ErrorResponse,
    "ModerationResultBody": c.ModerationResultBody,
}

ALL_SCHEMAS = {**REQUEST_SCHEMAS, **RESPONSE_SCHEMAS}

# Each spec enum and the model enum that carries it, by the enum's path in ``$defs``.
ENUMS: dict[str, type[enum.Enum]] = {
    "ChatCompletionAllowedTools.mode": c.ChatCompletionAllowedToolsMode,
    "ChatCompletionRequestMessageContentPartAudio.input_audio.format": c.InputAudioFormat,
    "ChatCompletionRequestMessageContentPartImage.image_url.detail": c.ImageDetail,
    "ChatCompletionStreamResponseDelta.role": c.ChoiceDeltaRole,
    "ChatCompletionToolChoiceOption": c.ToolChoiceMode,
    "CreateChatCompletionRequest.audio.format": c.AudioFormat,
    "CreateChatCompletionRequest.prompt_cache_retention": c.PromptCacheRetention,
    "CreateChatCompletionResponse.choices[].finish_reason": c.FinishReason,
    "CustomToolChatCompletions.custom.format|1.grammar.syntax": c.CustomToolGrammarSyntax,
    "ModelIdsShared": c.Model,
    "ModerationInputType": c.ModerationInputType,
    "ModerationMode": c.ModerationMode,
    "PromptCacheModeEnum": c.PromptCacheModeEnum,
    "PromptCacheTTLEnum": c.PromptCacheTTLEnum,
    "ReasoningEffort": c.ReasoningEffort,
    "ResponseModalities[]": c.ResponseModality,
    "ServiceTier": c.ServiceTier,
    "Verbosity": c.Verbosity,
    "VoiceIdsShared": c.Voice,
    "WebSearchContextSize": c.WebSearchContextSize,
}

# Each spec union and the type alias that models it.
UNIONS: dict[str, Any] = {
    "ChatCompletionMessageToolCalls[]": c.ChatCompletionMessageToolCallUnion,
    "ChatCompletionModeration.input": c.ChatCompletionModerationUnion,
    "ChatCompletionRequestAssistantMessageContentPart": (
        c.ChatCompletionRequestAssistantMessageContentPart
    ),
    "ChatCompletionRequestMessage": c.ChatCompletionRequestMessage,
    "ChatCompletionRequestSystemMessageContentPart": (
        c.ChatCompletionRequestSystemMessageContentPart
    ),
    "ChatCompletionRequestToolMessageContentPart": c.ChatCompletionRequestToolMessageContentPart,
    "ChatCompletionRequestUserMessageContentPart": c.ChatCompletionRequestUserMessageContentPart,
    "ChatCompletionToolChoiceOption": c.ChatCompletionToolChoiceOption,
    "CreateChatCompletionRequest.response_format": c.ResponseFormat,
    "CreateChatCompletionRequest.tools[]": c.ChatCompletionToolUnion,
}

SEED_REQUEST_FIELDS = 37


def _inline_branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    return [b for b in branches if "$ref" not in b and b.get("type") != "null"]


def _walk(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(path, schema)`` for ``schema`` and every inline schema nested in it."""
    yield path, schema
    for name, prop in schema.get("properties", {}).items():
        yield from _walk(prop, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _walk(schema["items"], f"{path}[]")
    branches = _inline_branches(schema)
    if len(branches) == 1:
        yield from _walk(branches[0], path)
    else:
        for i, branch in enumerate(branches):
            yield from _walk(branch, f"{path}|{i}")


SPEC: dict[str, dict[str, Any]] = {}
for _name, _schema in DEFS.items():
    for _path, _sub in _walk(_schema, _name):
        SPEC.setdefault(_path, {}).update(_sub)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DEFS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _nullable(schema: dict[str, Any]) -> bool:
    schema = _resolve(schema)
    types_ = schema.get("type")
    if types_ == "null" or (isinstance(types_, list) and "null" in types_):
        return True
    return any(_nullable(b) for b in [*schema.get("anyOf", ()), *schema.get("oneOf", ())])


def _enum_values(schema: dict[str, Any]) -> list[Any]:
    schema = _resolve(schema)
    if "enum" in schema:
        return [v for v in schema["enum"] if v is not None]
    return [v for b in _inline_branches(schema) for v in _enum_values(b)]


def _wire_fields(cls: type[Any]) -> list[attrs.Attribute[Any]]:
    return [a for a in attrs.fields(cls) if not a.metadata.get(EXTRA_KEY)]


def _union_members(alias: Any) -> set[Any]:
    if typing.get_origin(alias) in (typing.Union, types.UnionType):
        return set(typing.get_args(alias))
    return {alias}


def _public_attrs_classes() -> list[type[Any]]:
    found = (getattr(components, name) for name in components.__all__)
    return [o for o in found if isinstance(o, type) and attrs.has(o)]


def _module_classes(*modules: types.ModuleType) -> list[type[Any]]:
    found = (getattr(m, n) for m in modules for n in m.__all__)
    return [o for o in found if isinstance(o, type) and attrs.has(o)]


def test_all_is_sorted_and_complete() -> None:
    """``components.__all__`` is sorted, unique, and every name in it exists."""
    assert components.__all__ == sorted(set(components.__all__))
    for name in components.__all__:
        assert getattr(components, name) is not None


@pytest.mark.parametrize("cls", _public_attrs_classes(), ids=lambda k: k.__name__)
def test_types_resolve(cls: type[Any]) -> None:
    """Every public model's annotations resolve at runtime."""
    attrs.resolve_types(cls)
    assert set(typing.get_type_hints(cls)) == {a.name for a in attrs.fields(cls)}


def test_every_spec_object_is_modelled() -> None:
    """Every object schema with properties in ``$defs`` maps to a model class."""
    with_properties = {path for path, schema in SPEC.items() if schema.get("properties")}
    assert with_properties == set(ALL_SCHEMAS)


@pytest.mark.parametrize(("path", "cls"), ALL_SCHEMAS.items(), ids=list(ALL_SCHEMAS))
def test_fields_match_spec_properties(path: str, cls: type[Any]) -> None:
    """A model declares exactly the properties of its spec schema."""
    assert {a.name for a in _wire_fields(cls)} == set(SPEC[path]["properties"])


def test_request_has_every_spec_field() -> None:
    """``CreateChatCompletionRequest`` models all 37 request fields of the spec."""
    fields = {a.name for a in _wire_fields(c.CreateChatCompletionRequest)}
    assert len(fields) == SEED_REQUEST_FIELDS
    assert fields == set(DEFS["CreateChatCompletionRequest"]["properties"])


def test_request_deprecated_fields_are_modelled() -> None:
    """The request's deprecated fields are modelled, not dropped."""
    props = DEFS["CreateChatCompletionRequest"]["properties"]
    deprecated = {name for name, prop in props.items() if prop.get("deprecated")}
    assert deprecated >= {"max_tokens", "functions", "function_call", "user", "seed"}
    assert deprecated <= set(attrs.fields_dict(c.CreateChatCompletionRequest))


@pytest.mark.parametrize(("path", "cls"), ALL_SCHEMAS.items(), ids=list(ALL_SCHEMAS))
def test_deprecations_are_documented(path: str, cls: type[Any]) -> None:
    """A field or schema the spec deprecates says "Deprecated:" in the model's docstring."""
    doc = cls.__doc__ or ""
    schema = SPEC[path]
    if schema.get("deprecated") and path in DEFS:
        assert doc.startswith("Deprecated:")
    for name, prop in schema["properties"].items():
        if prop.get("deprecated"):
            assert re.search(rf"^ +{name}: Deprecated:", doc, re.MULTILINE), name


def _is_tag(prop: dict[str, Any]) -> bool:
    return len(prop.get("enum", ())) == 1


@pytest.mark.parametrize(("path", "cls"), REQUEST_SCHEMAS.items(), ids=list(REQUEST_SCHEMAS))
def test_request_defaults(path: str, cls: type[Any]) -> None:
    """Request fields: required ones have no default, tags default to their value, others UNSET."""
    schema = SPEC[path]
    required = set(schema.get("required", ()))
    for a in _wire_fields(cls):
        prop = schema["properties"][a.name]
        if _is_tag(prop):
            assert a.default == prop["enum"][0], a.name
        elif a.name in required:
            assert a.default is attrs.NOTHING, a.name
        else:
            assert a.default is UNSET, a.name


@pytest.mark.parametrize(("path", "cls"), REQUEST_SCHEMAS.items(), ids=list(REQUEST_SCHEMAS))
def test_request_nullability(path: str, cls: type[Any]) -> None:
    """A request field accepts None exactly when the spec makes it nullable."""
    hints = typing.get_type_hints(cls)
    for a in _wire_fields(cls):
        accepts_none = type(None) in typing.get_args(hints[a.name])
        assert accepts_none == _nullable(SPEC[path]["properties"][a.name]), a.name


@pytest.mark.parametrize(("path", "cls"), RESPONSE_SCHEMAS.items(), ids=list(RESPONSE_SCHEMAS))
def test_response_defaults(path: str, cls: type[Any]) -> None:
    """Response fields: only ``choices`` is required; optional or nullable ones default to None."""
    schema = SPEC[path]
    required = set(schema.get("required", ()))
    for a in _wire_fields(cls):
        prop = schema["properties"][a.name]
        if a.name == "choices":
            assert a.default is attrs.NOTHING
        elif a.name not in required or _nullable(prop):
            assert a.default is None, a.name
        else:
            assert a.default is not attrs.NOTHING, a.name


@pytest.mark.parametrize("cls", _module_classes(_response, _chunk), ids=lambda k: k.__name__)
def test_response_classes_end_with_extra(cls: type[Any]) -> None:
    """Every response model keeps unknown JSON keys in a last ``extra`` field."""
    last = attrs.fields(cls)[-1]
    assert last.name == "extra"
    assert last.metadata.get(EXTRA_KEY) is True


@pytest.mark.parametrize(
    "cls",
    [
        c.ChatCompletionMessageToolCall,
        c.ChatCompletionMessageCustomToolCall,
        c.ToolCallFunction,
        c.ToolCallCustom,
        c.FunctionCall,
    ],
    ids=lambda k: k.__name__,
)
def test_shared_classes_are_response_style(cls: type[Any]) -> None:
    """Classes used in requests and responses construct with no arguments and keep extras."""
    assert attrs.fields(cls)[-1].name == "extra"
    assert cls().extra == {}


@pytest.mark.parametrize("cls", _public_attrs_classes(), ids=lambda k: k.__name__)
def test_tag_field_is_last(cls: type[Any]) -> None:
    """A model's ``role``/``type`` tag (an enum-valued default) is its last wire field."""
    fields = _wire_fields(cls)
    tags = [a for a in fields if a.name in ("role", "type") and isinstance(a.default, enum.Enum)]
    assert tags in ([], [fields[-1]])


def test_seed_example_constructs(seed_request: components.CreateChatCompletionRequest) -> None:
    """The seed documents' request example runs as written."""
    req = seed_request
    assert req.model == "gpt-3.5-turbo"
    assert req.messages[0].role == "tool"
    assert req.stream is UNSET


def test_two_is_model() -> None:
    """``Two`` is the seed's alias of ``Model`` and model ids look up their members."""
    assert components.Two is components.Model
    assert components.Model("gpt-3.5-turbo") is components.Model.GPT_3_5_TURBO
    assert components.Model.O1.value == "o1"
    assert components.Model.GPT_4O_2024_08_06.value == "gpt-4o-2024-08-06"


def test_model_member_names_follow_values() -> None:
    """Each ``Model`` member is named after its id in upper snake case."""
    for member in c.Model:
        assert member.name == member.value.replace("-", "_").replace(".", "_").upper()


@pytest.mark.parametrize(("path", "enum_cls"), ENUMS.items(), ids=list(ENUMS))
def test_enums_match_spec(path: str, enum_cls: type[enum.Enum]) -> None:
    """Each model enum has exactly the values of its spec enum, in order."""
    assert [m.value for m in enum_cls] == _enum_values(SPEC[path])


@pytest.mark.parametrize(("path", "alias"), UNIONS.items(), ids=list(UNIONS))
def test_unions_match_spec(path: str, alias: Any) -> None:
    """Each union alias has the members of its spec oneOf/anyOf."""
    schema = SPEC[path]
    branches = [*schema.get("oneOf", ()), *schema.get("anyOf", ())]
    refs = {b["$ref"].rsplit("/", 1)[-1] for b in branches if "$ref" in b}
    members = _union_members(alias)
    assert {m.__name__ for m in members if isinstance(m, type)} == refs
    literals = [m for m in members if typing.get_origin(m) is typing.Literal]
    assert [v for lit in literals for v in typing.get_args(lit)] == _enum_values(schema)
