"""The converter: request checks that name the field, lenient responses, identical JSON bytes."""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import math
import traceback
import types
import typing
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_async import _codec
from gpt_async._codec import _fast, _inbound, _json, _primitives
from gpt_async._exceptions import APIResponseValidationError, RequestValidationError
from gpt_async._types import UNSET
from gpt_async.models import components as c

Request = c.CreateChatCompletionRequest
USER = {"role": "user", "content": "hi"}


def _wire(body: Any) -> Any:
    return _codec.to_wire(body, Request)


def _error(body: Any) -> RequestValidationError:
    with pytest.raises(RequestValidationError) as info:
        _wire(body)
    return info.value


def _walk(value: Any) -> list[Any]:
    """Every value nested in JSON-ready data, containers included."""
    found = [value]
    if isinstance(value, dict):
        for v in value.values():
            found += _walk(v)
    elif isinstance(value, list):
        for v in value:
            found += _walk(v)
    return found


# ------------------------------------------------------------ errors name the field


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (
            {"model": "m", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].tool_call_id",
        ),
        ({"model": "m"}, "messages"),
        ({"messages": [USER]}, "model"),
        ({"model": "m", "messages": [USER, {"role": "robot", "content": "x"}]}, "messages[1].role"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role"),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "video"}]}
                ],
            },
            "messages[0].content[1].type",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages[0].content[0].text",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "m", "messages": [USER], "temperature": "hot"}, "temperature"),
        ({"model": "m", "messages": [USER], "n": True}, "n"),
        ({"model": "m", "messages": [USER], "temperature": math.nan}, "temperature"),
        ({"model": "m", "messages": [USER], "top_p": math.inf}, "top_p"),
        ({"model": "m", "messages": [USER], "stream": 1}, "stream"),
        ({"model": "m", "messages": [USER], "stop": ["a", 1]}, "stop[1]"),
        ({"model": "m", "messages": [USER], "metadata": {"k": 1}}, "metadata.k"),
        ({"model": "m", "messages": [USER], "logit_bias": {"50256": 1.5}}, "logit_bias.50256"),
        ({"model": "m", "messages": "hi"}, "messages"),
        ({"model": 3, "messages": [USER]}, "model"),
        (
            {"model": "m", "messages": [USER], "tools": [{"type": "function", "function": {}}]},
            "tools[0].function.name",
        ),
        ({"model": "m", "messages": [USER], "tool_choice": "sometimes"}, "tool_choice"),
        (
            {"model": "m", "messages": [USER], "response_format": {"type": "xml"}},
            "response_format.type",
        ),
    ],
)
def test_error_names_the_field(body: dict[str, Any], path: str) -> None:
    """Each malformed request fails with the path of the offending field."""
    assert _error(body).path == path


def test_error_reasons_are_readable() -> None:
    """The reason says what was expected and what came."""
    assert _error({"model": "m", "messages": [USER], "temperature": "hot"}).reason == (
        "expected float or None, got str 'hot'"
    )
    assert "unknown role 'robot'" in _error({"model": "m", "messages": [{"role": "robot"}]}).reason
    assert _error({"model": "m"}).reason == "is required"
    nan = _error({"model": "m", "messages": [USER], "temperature": math.nan})
    assert "finite" in nan.reason


def test_attrs_message_with_wrong_role_is_rejected() -> None:
    """A message object whose role field was overwritten with another role fails on ``role``."""
    message = c.ChatCompletionRequestUserMessage(content="x", role="assistant")  # type: ignore[arg-type]
    err = _error(Request(messages=[message], model="m"))
    assert err.path == "messages[0].role"
    assert "'user'" in err.reason


def test_attrs_field_with_wrong_type_is_rejected() -> None:
    """A wrong type set on a model (no runtime checks in attrs) is caught on the way out."""
    err = _error(Request(messages=[c.ChatCompletionRequestUserMessage(content=5)], model="m"))  # type: ignore[arg-type]
    assert err.path == "messages[0].content"
    err = _error(Request(messages=[USER], model="m", max_tokens=True))  # type: ignore[list-item]
    assert err.path == "max_tokens"


def test_path_prefix() -> None:
    """A caller-given prefix starts the path."""
    with pytest.raises(RequestValidationError) as info:
        _codec.to_wire(
            {"role": "tool", "content": "x"}, c.ChatCompletionRequestToolMessage, path="body"
        )
    assert info.value.path == "body.tool_call_id"


def test_not_a_request_at_all() -> None:
    """A value that is neither the model nor a dict fails at the root."""
    err = _error(["model", "m"])
    assert err.path == ""
    assert "CreateChatCompletionRequest" in err.reason


# ------------------------------------------------------------ what is sent


def test_dicts_are_dispatched_on_role_and_type() -> None:
    """Dict messages, content parts and tools are checked as the model their tag names."""
    body = {
        "model": "m",
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "be brief"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                    {"type": "file", "file": {"file_id": "file-1"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "custom", "custom": {"name": "g", "input": "x"}},
                ],
            },
            {"role": "tool", "content": "42", "tool_call_id": "c1"},
            {"role": "function", "content": None, "name": "f"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},
            {"type": "custom", "custom": {"name": "g", "format": {"type": "text"}}},
        ],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "strict": True}},
    }
    assert _wire(body) == body


def test_missing_tag_of_a_single_model_is_added() -> None:
    """Where only one model fits, a dict without its tag gets the tag."""
    out = _codec.to_wire({"content": "x", "tool_call_id": "1"}, c.ChatCompletionRequestToolMessage)
    assert out == {"content": "x", "tool_call_id": "1", "role": "tool"}


def test_extra_keys_pass_through() -> None:
    """Keys beyond the spec (vLLM's ``top_k``, a message's ``reasoning``) are sent as given."""
    body = {
        "model": "m",
        "messages": [{"role": "assistant", "content": "x", "reasoning_content": "hmm"}],
        "top_k": 40,
        "chat_template_kwargs": {"enable_thinking": False},
    }
    assert _wire(body) == body


def test_simple_message_dicts_are_not_copied() -> None:
    """A plain ``{"role", "content": str}`` message is sent as the very same dict."""
    messages = [{"role": r, "content": "x"} for r in ("system", "developer", "user", "assistant")]
    out = _wire({"model": "m", "messages": messages})
    assert all(o is m for o, m in zip(out["messages"], messages, strict=True))


def test_none_is_sent_unset_is_not() -> None:
    """An explicit None becomes null; UNSET (attrs default or dict value) is left out."""
    req = Request(messages=[USER], model="m", temperature=None, stop=None)  # type: ignore[list-item]
    assert _wire(req) == {"messages": [USER], "model": "m", "temperature": None, "stop": None}
    body = {"messages": [USER], "model": "m", "seed": UNSET, "n": None}
    assert _wire(body) == {"messages": [USER], "model": "m", "n": None}


def test_none_where_not_nullable_is_rejected() -> None:
    """None for a field the spec does not make nullable names the field."""
    assert _error({"model": "m", "messages": [USER], "user": None}).path == "user"


def test_enums_are_sent_as_plain_strings() -> None:
    """Enum members (in models and in dicts) are sent as their plain ``str`` values."""
    req = Request(
        messages=[
            c.ChatCompletionRequestSystemMessage(content="s"),
            {"role": c.ChatCompletionRequestUserMessageRole.USER, "content": "u"},  # type: ignore[list-item]
        ],
        model=c.Model.GPT_3_5_TURBO,
        reasoning_effort=c.ReasoningEffort.HIGH,
        modalities=[c.ResponseModality.TEXT],
        tool_choice="auto",
        service_tier=c.ServiceTier.FLEX,
        stop=c.Model.GPT_4O,  # any str subclass is fine for a str field
    )
    out = _wire(req)
    assert out["model"] == "gpt-3.5-turbo"
    assert type(out["model"]) is str
    assert out["messages"] == [{"content": "s", "role": "system"}, {"role": "user", "content": "u"}]
    assert out["reasoning_effort"] == "high"
    assert out["stop"] == "gpt-4o"
    for value in _walk(out):
        assert not isinstance(value, enum.Enum), value
        assert type(value) in (str, int, float, bool, type(None), list, dict)


def test_subclasses_of_primitives_are_sent_plain() -> None:
    """A str or int subclass is sent as the plain value, not the subclass."""

    class Name(str):
        pass

    class Count(int):
        pass

    out = _wire({"model": Name("m"), "messages": [USER], "n": Count(2), "stop": ("a", "b")})
    assert out == {"model": "m", "messages": [USER], "n": 2, "stop": ["a", "b"]}
    assert type(out["model"]) is str
    assert type(out["n"]) is int


def test_response_message_is_accepted_as_assistant_message() -> None:
    """A parsed response's message appended to the next request is sent as an assistant turn."""
    completion = _codec.structure(
        {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "refusal": None,
                        "annotations": [{"type": "url_citation", "url_citation": {"url": "u"}}],
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}"},
                                "index": 0,
                            }
                        ],
                        "audio": {
                            "id": "audio_1",
                            "data": "AAAA",
                            "expires_at": 1,
                            "transcript": "t",
                        },
                        "reasoning_content": "response-only",
                    },
                }
            ]
        },
        c.ChatCompletion,
    )
    message = completion.choices[0].message
    # The models' annotation does not name ChatCompletionMessage; the adapter accepts it.
    user = c.ChatCompletionRequestUserMessage(content="hi")
    req = Request(model="m", messages=[user, message])  # type: ignore[list-item]
    out = _wire(req)
    assert out["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "function": {"name": "f", "arguments": "{}"}, "type": "function"}
        ],
        "audio": {"id": "audio_1"},
    }
    as_dict = _wire({"model": "m", "messages": [USER, message]})
    assert as_dict["messages"][1] == out["messages"][1]


def test_plain_response_message_round_trips_to_request() -> None:
    """A text answer goes back as ``{"role": "assistant", "content": ...}``, refusal kept."""
    message = c.ChatCompletionMessage(content="hello", refusal="no")
    out = _wire({"model": "m", "messages": [USER, message]})
    assert out["messages"][1] == {"role": "assistant", "content": "hello", "refusal": "no"}


def test_register_adapter_accepts_a_new_type() -> None:
    """Any type can be taught to stand in for a message."""

    @attrs.define
    class Note:
        text: str

    _codec.register_adapter(Note, lambda n: {"role": "user", "content": n.text})
    assert _wire({"model": "m", "messages": [Note("hey")]})["messages"] == [
        {"role": "user", "content": "hey"}
    ]


def test_lone_surrogate_names_the_field() -> None:
    """Text UTF-8 cannot encode fails in ``dumps`` with the field's path."""
    body = _wire({"model": "m", "messages": [USER, {"role": "user", "content": "bad \ud800"}]})
    with pytest.raises(RequestValidationError) as info:
        _codec.dumps(body)
    assert info.value.path == "messages[1].content"
    assert "surrogate" in info.value.reason


def test_unencodable_values_name_the_field() -> None:
    """An arbitrary object or an oversized integer in an extra key fails with its path."""
    with pytest.raises(RequestValidationError) as info:
        _codec.dumps({"a": [1, {"b": object()}]})
    assert info.value.path == "a[1].b"
    if _json._orjson_dumps is not None:  # the stdlib writes any integer
        with pytest.raises(RequestValidationError) as info:
            _codec.dumps({"a": 2**64})
        assert info.value.path == "a"


def test_non_finite_floats_in_extra_keys_are_null() -> None:
    """NaN and the infinities, only possible in pass-through keys, are written as null."""
    body = {"a": [math.nan, math.inf, -math.inf], "s": "NaN Infinity"}
    assert _codec.dumps(body) == b'{"a":[null,null,null],"s":"NaN Infinity"}'
    assert _json._std_dumps(body) == _codec.dumps(body)


# ------------------------------------------------------------ structure (responses)

RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hi", "tool_calls": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
}


def _response(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.dumps(RESPONSE))
    body.update(changes)
    return body


def test_structure_keeps_unknown_enum_values_as_str() -> None:
    """An unknown ``finish_reason`` or ``service_tier`` is the plain string."""
    body = _response(service_tier="turbo")
    body["choices"][0]["finish_reason"] = "brand_new"
    got = _codec.structure(body, c.ChatCompletion)
    assert got.choices[0].finish_reason == "brand_new"
    assert type(got.service_tier) is str
    assert _codec.structure(RESPONSE, c.ChatCompletion).choices[0].finish_reason is (
        c.FinishReason.STOP
    )


def test_structure_keeps_unknown_keys_in_extra() -> None:
    """Unknown keys at any level land in ``extra`` and are written back by ``to_dict``."""
    body = _response(timings={"predicted_ms": 1.5})
    body["choices"][0]["message"]["reasoning_content"] = "r"
    got = _codec.structure(body, c.ChatCompletion)
    assert got.extra == {"timings": {"predicted_ms": 1.5}}
    assert got.choices[0].message.extra == {"reasoning_content": "r"}
    assert got.choices[0].extra == {}
    out = _codec.to_dict(got)
    assert out["timings"] == {"predicted_ms": 1.5}
    assert out["choices"][0]["message"]["reasoning_content"] == "r"


def test_structure_defaults_and_nulls() -> None:
    """``tool_calls: null`` and a missing ``refusal`` both read as None."""
    got = _codec.structure(RESPONSE, c.ChatCompletion)
    message = got.choices[0].message
    assert message.tool_calls is None
    assert message.refusal is None
    assert message.content == "hi"
    assert got.usage is None


def test_structure_tool_calls_by_type() -> None:
    """Tool calls are dispatched on ``type``; an unknown kind stays a dict."""
    body = _response()
    body["choices"][0]["message"]["tool_calls"] = [
        {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "2", "type": "custom", "custom": {"name": "g", "input": "x"}},
        {"id": "3", "type": "mcp", "server": "s"},
    ]
    calls = _codec.structure(body, c.ChatCompletion).choices[0].message.tool_calls
    assert calls is not None
    assert isinstance(calls[0], c.ChatCompletionMessageToolCall)
    assert calls[0].function.name == "f"
    assert isinstance(calls[1], c.ChatCompletionMessageCustomToolCall)
    assert calls[2] == {"id": "3", "type": "mcp", "server": "s"}  # type: ignore[comparison-overlap]


def test_structure_error_body_with_integer_code() -> None:
    """Error bodies from servers that send a numeric ``code`` parse."""
    got = _codec.structure(
        {"error": {"message": "m", "type": "t", "param": None, "code": 429}}, c.ErrorResponse
    )
    assert got.error.code == 429
    assert _codec.structure({"error": {"code": "x"}}, c.ErrorResponse).error.code == "x"


def test_structure_is_lenient_with_numbers_for_strings() -> None:
    """A number where the spec says string (the detailed path) reads as its text."""
    got = _codec.structure(_response(id=123, created=5.0), c.ChatCompletion)
    assert got.id == "123"
    assert got.created == 5
    assert got.choices[0].message.content == "hi"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda b: b["choices"][0].update(index="x"), "$.choices[0].index"),
        (lambda b: b.update(choices={}), "$.choices"),
        (lambda b: b.pop("choices"), "$.choices"),
        (
            lambda b: b["choices"][0]["message"].update(content=["x"]),
            "$.choices[0].message.content",
        ),
        (lambda b: b.update(usage={"total_tokens": "many"}), "$.usage.total_tokens"),
        (
            lambda b: b["choices"][0]["message"].update(
                tool_calls=[
                    {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "2", "type": "function", "function": 5},
                ]
            ),
            "$.choices[0].message.tool_calls[1].function",
        ),
    ],
)
def test_structure_error_has_the_path(mutate: Any, path: str) -> None:
    """A value that does not fit raises APIResponseValidationError with its JSON path."""
    body = _response()
    mutate(body)
    with pytest.raises(APIResponseValidationError) as info:
        _codec.structure(body, c.ChatCompletion)
    assert info.value.path == path
    assert path in str(info.value)


def test_structure_non_object_fails_at_root() -> None:
    """A body that is not an object fails at ``$``."""
    with pytest.raises(APIResponseValidationError) as info:
        _codec.structure([1, 2], c.ChatCompletion)
    assert info.value.path == "$"


def test_from_dict_and_to_dict_are_inverse() -> None:
    """``from_dict`` builds the model ``to_dict`` writes out; enums come out as values."""
    got = _codec.from_dict(c.ChatCompletion, RESPONSE)
    out = _codec.to_dict(got)
    assert type(out["choices"][0]["finish_reason"]) is str
    assert _codec.from_dict(c.ChatCompletion, out) == got


def test_to_dict_leaves_unset_out() -> None:
    """Unset request fields are not written by ``to_dict``."""
    assert _codec.to_dict(Request(messages=[], model="m")) == {"messages": [], "model": "m"}


# ------------------------------------------------------------ JSON bytes

BODIES: list[Any] = [
    {
        "model": "m",
        "messages": [{"role": "user", "content": 'héllo 😀 \u2028 "q" \\ \n\t\x00\x1f\x7f'}],
    },
    {"temperature": 0.7, "top_p": 1.0, "n": 1, "x": -0.0, "big": 2**63, "neg": -(2**63)},
    {"floats": [1e-7, 1.5e-05, 1e-05, 2.3e-06, 1e16, 1.2345678901234567e300, 5e-324, 0.1, 100.0]},
    {"nested": {"a": [None, True, False, [], {}], "": ""}, "unicode key é": 1},
    [1, "two", 3.0, None],
    "just a string with e-05 inside and 1e-07",
]


def test_std_dumps_is_compact_utf8() -> None:
    """The stdlib path writes compact UTF-8 with no ASCII escaping."""
    assert _json._std_dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()
    assert _json._std_dumps("1e-07 stays") == b'"1e-07 stays"'


@pytest.mark.parametrize("body", BODIES)
def test_orjson_and_stdlib_write_the_same_bytes(body: Any) -> None:
    """orjson and the stdlib fallback serialise a body to identical bytes."""
    orjson = pytest.importorskip("orjson")
    assert _json._std_dumps(body) == orjson.dumps(body)
    assert _codec.dumps(body) == orjson.dumps(body)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(_JSON)
def test_orjson_and_stdlib_agree_on_any_json(value: Any) -> None:
    """For any JSON value the two serialisers agree byte for byte, and both parse it back."""
    orjson = pytest.importorskip("orjson")
    data = _json._std_dumps(value)
    assert data == orjson.dumps(value)
    assert json.loads(data) == orjson.loads(data) == _codec.loads(data)
    assert _codec.dumps(json.loads(data)) == data


@pytest.mark.parametrize("body", BODIES)
def test_dumps_loads_round_trip(body: Any) -> None:
    """Whatever backend is installed, ``loads(dumps(x)) == x`` and ``loads`` takes str too."""
    data = _codec.dumps(body)
    assert _codec.loads(data) == body
    assert _codec.loads(data.decode()) == body
    assert _codec.loads(data) == json.loads(data)


def test_loads_rejects_bad_json_with_value_error() -> None:
    """Malformed JSON raises ValueError from either backend."""
    with pytest.raises(ValueError, match=r".+"):
        _codec.loads(b"{not json")


# ------------------------------------------------------------ generated code


@attrs.define
class _Point:
    x: int
    y: int = 0


def test_a_traceback_through_generated_code_shows_its_source() -> None:
    """Generated functions have a descriptive file name and their source in linecache."""
    fast = _fast.fast_structurer(_Point, fallback=_inbound.converter().structure)
    with pytest.raises(_primitives.Mismatch) as info:
        fast({"x": "not an int"})
    text = "".join(traceback.format_exception(info.value))
    assert 'File "<gpt_async structure _Point>"' in text
    assert "o.x = _mm() if v is _M else" in text  # the generated line itself, from linecache
    assert "d.get('x', _M)" in inspect.getsource(fast)


def test_each_generated_function_has_its_own_namespace() -> None:
    """No two generated functions share globals, so none can clobber another's names."""
    point = _fast.fast_structurer(_Point, fallback=_inbound.converter().structure)
    completion = _fast.fast_structurer(c.ChatCompletion, fallback=_inbound.converter().structure)
    assert point.__globals__ is not completion.__globals__
    assert point({"x": 1}) == _Point(x=1)
    assert _codec.to_wire(_Point(x=2), _Point) == {"x": 2, "y": 0}


def test_the_prebuilt_structure_functions_are_what_the_generator_writes() -> None:
    """``_prebuilt.py`` is up to date: regenerating it gives the committed file, byte for byte."""
    from gpt_async._codec import _generate

    assert _generate.TARGET.read_text(encoding="utf-8") == _generate.render()
    assert _generate.CHUNK_TARGET.read_text(encoding="utf-8") == _generate.render_chunk()
    assert _generate.HINTS_TARGET.read_text(encoding="utf-8") == _generate.render_hints()


def test_prebuilt_annotations_equal_the_evaluated_strings() -> None:
    """Each prebuilt field annotation is what evaluating the field's annotation string gives."""
    from gpt_async._codec._prebuilt_hints import HINTS

    assert sum(map(len, HINTS.values())) > 250
    for module, table in HINTS.items():
        for (qualname, name), hint in table.items():
            cls = getattr(importlib.import_module(module), qualname)
            expected = typing.get_type_hints(cls)[name]
            assert _plain_unset(hint()) == _plain_unset(expected), (cls, name)


def _plain_unset(hint: Any) -> Any:
    """A union's members as a set, ``Literal[UNSET]`` read as the sentinel's class."""
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return hint
    unset = typing.Literal[UNSET]
    return {type(UNSET) if m == unset else m for m in typing.get_args(hint)}


def test_the_response_models_come_prebuilt() -> None:
    """A completion and a chunk, and the models inside them, need no code generated at run time."""
    from gpt_async._codec import _prebuilt_chunk
    from gpt_async._codec._prebuilt import PREBUILT

    assert {c.ChatCompletion, c.ChatCompletionMessage, c.CompletionUsage} <= set(PREBUILT)
    fallback = _inbound.converter().structure
    fast = _fast.fast_structurer(c.ChatCompletion, fallback=fallback)
    assert fast is PREBUILT[c.ChatCompletion]
    assert fast.__code__.co_filename.endswith("_prebuilt.py")
    # The chunk's own functions live apart (they load with the first stream) and call
    # the completion's for the models both share.
    chunk = _fast.fast_structurer(c.ChatCompletionChunk, fallback=fallback)
    assert chunk is _prebuilt_chunk.PREBUILT[c.ChatCompletionChunk]
    assert chunk.__code__.co_filename.endswith("_prebuilt_chunk.py")
    assert _prebuilt_chunk.structure_CompletionUsage is PREBUILT[c.CompletionUsage]
