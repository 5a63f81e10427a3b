"""The spec's examples and generated requests go through the models and back unchanged."""

from __future__ import annotations

import copy
import enum
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from gpt_async import _codec
from gpt_async._codec import _fast, _inbound
from gpt_async._types import EXTRA_KEY, UNSET, _UnsetType
from gpt_async.models import components as c

# The spec 2.3.0, copied into the repository (tests/spec/README.md says from where).
_SPEC_DIR = Path(__file__).resolve().parent / "spec"
_SCHEMA_FILE = _SPEC_DIR / "chat-completions.schema.json"

_DOC = json.loads(_SCHEMA_FILE.read_text())
REQUEST_SCHEMA = Draft202012Validator({**_DOC, "$ref": "#/$defs/CreateChatCompletionRequest"})
CHUNK_SCHEMA = Draft202012Validator({**_DOC, "$ref": "#/$defs/CreateChatCompletionStreamResponse"})
_INDEX = json.loads((_SPEC_DIR / "examples" / "index.json").read_text())["examples"]


def _examples(kind: str) -> list[Any]:
    found = []
    for entry in _INDEX:
        if entry["kind"] == kind:
            data = json.loads((_SPEC_DIR / "examples" / entry["file"]).read_text())
            items = data if isinstance(data, list) else [data]
            found += [
                pytest.param(item, id=f"{entry['file']}[{i}]") for i, item in enumerate(items)
            ]
    return found


def _contains(whole: Any, part: Any) -> bool:
    """``part`` is ``whole`` up to defaults: keys a model adds, and nulls ``to_dict`` leaves out."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            _contains(whole[k], v) if k in whole else v is None for k, v in part.items()
        )
    if isinstance(part, list):
        return (
            isinstance(whole, list)
            and len(whole) == len(part)
            and all(_contains(w, p) for w, p in zip(whole, part, strict=True))
        )
    return type(whole) is type(part) and whole == part


def _assert_plain_json(value: Any, path: str = "$") -> None:
    """Every value is an exact JSON type: no enum members, no subclasses, no UNSET."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert type(k) is str, f"{path}: key {k!r}"
            _assert_plain_json(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _assert_plain_json(v, f"{path}[{i}]")
    else:
        assert type(value) in (str, int, float, bool, type(None)), f"{path}: {value!r}"


# ------------------------------------------------------------------ spec examples


def test_the_spec_copy_is_version_2_3_0_with_every_example() -> None:
    """The suite's spec is the repository's copy of 2.3.0, each indexed example present."""
    source = json.loads((_SPEC_DIR / "examples" / "index.json").read_text())["source"]
    assert source["info.version"] == "2.3.0"
    assert "2.3.0" in (_SPEC_DIR / "README.md").read_text()
    assert _DOC["x-entrypoints"]["request"] == "#/$defs/CreateChatCompletionRequest"
    assert len(_INDEX) == len(list((_SPEC_DIR / "examples").glob("*.json"))) - 1


@pytest.mark.parametrize("body", _examples("request"))
def test_spec_request_round_trips(body: dict[str, Any]) -> None:
    """A spec request example parses into the model and comes back out as the same JSON."""
    request = _codec.structure(body, c.CreateChatCompletionRequest)
    assert isinstance(request, c.CreateChatCompletionRequest)
    wire = _codec.to_wire(request, c.CreateChatCompletionRequest)
    REQUEST_SCHEMA.validate(wire)
    assert wire == body
    assert json.loads(_codec.dumps(wire)) == body
    _assert_plain_json(wire)


@pytest.mark.parametrize("body", _examples("request"))
def test_spec_request_as_dict_is_sent_as_is(body: dict[str, Any]) -> None:
    """The same example given as plain dicts is checked and sent unchanged."""
    assert _codec.to_wire(copy.deepcopy(body), c.CreateChatCompletionRequest) == body


@pytest.mark.parametrize("body", _examples("response"))
def test_spec_response_round_trips(body: dict[str, Any]) -> None:
    """A spec response parses; structure -> to_dict -> structure keeps every value."""
    completion = _codec.structure(body, c.ChatCompletion)
    assert isinstance(completion, c.ChatCompletion)
    out = _codec.to_dict(completion)
    assert _contains(out, body)
    _assert_plain_json(out)
    again = _codec.structure(out, c.ChatCompletion)
    assert again == completion
    assert _codec.to_dict(again) == out


@pytest.mark.parametrize("body", _examples("response"))
def test_spec_response_keeps_unknown_fields(body: dict[str, Any]) -> None:
    """Unknown keys (llama.cpp's ``timings``) and unknown enum values survive a round trip."""
    body = copy.deepcopy(body)
    body["timings"] = {"prompt_n": 19, "predicted_ms": 12.5}
    body["choices"][0]["finish_reason"] = "brand_new"
    body["choices"][0]["message"]["reasoning_content"] = "thinking..."
    body["choices"][0]["message"]["role"] = "assistant"
    completion = _codec.structure(body, c.ChatCompletion)
    assert completion.extra["timings"] == {"prompt_n": 19, "predicted_ms": 12.5}
    assert completion.choices[0].finish_reason == "brand_new"
    assert type(completion.choices[0].finish_reason) is str
    assert completion.choices[0].message.extra == {"reasoning_content": "thinking..."}
    out = _codec.to_dict(completion)
    assert _contains(out, body)
    assert _codec.to_dict(_codec.structure(out, c.ChatCompletion)) == out


@pytest.mark.parametrize("chunk", _examples("stream_chunks"))
def test_spec_stream_chunk_parses(chunk: dict[str, Any]) -> None:
    """Each spec stream chunk parses and round trips."""
    parsed = _codec.structure(chunk, c.ChatCompletionChunk)
    assert isinstance(parsed, c.ChatCompletionChunk)
    out = _codec.to_dict(parsed)
    assert _contains(out, chunk)
    assert _codec.structure(out, c.ChatCompletionChunk) == parsed


def test_usage_chunk_with_empty_choices_parses() -> None:
    """The final ``include_usage`` chunk (empty ``choices``) parses with its usage."""
    chunk = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 12,
            "total_tokens": 21,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    CHUNK_SCHEMA.validate(chunk)
    parsed = _codec.structure(chunk, c.ChatCompletionChunk)
    assert parsed.choices == []
    assert parsed.usage is not None
    assert parsed.usage.total_tokens == 21
    assert parsed.usage.prompt_tokens_details is not None
    assert parsed.usage.prompt_tokens_details.cached_tokens == 0
    assert _contains(_codec.to_dict(parsed), chunk)


def test_seed_example_serialises_exactly(
    seed_request: c.CreateChatCompletionRequest,
) -> None:
    """The seed document's request is sent as exactly its fields, nothing more."""
    body = json.loads(_codec.dumps(_codec.to_wire(seed_request, c.CreateChatCompletionRequest)))
    assert body == {
        "messages": [{"content": "string", "tool_call_id": "string", "role": "tool"}],
        "model": "gpt-3.5-turbo",
        "n": 1,
        "temperature": 1,
        "top_p": 1,
        "user": "user-1234",
    }
    REQUEST_SCHEMA.validate(body)


# ------------------------------------------------------------------ generated requests

_JSON_LEAF = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _finite(lo: float, hi: float) -> st.SearchStrategy[Any]:
    return st.integers(int(lo), int(hi)) | st.floats(lo, hi, allow_nan=False)


# Fields whose spec range is narrower than their Python type.
_OVERRIDES: dict[tuple[type[Any], str], st.SearchStrategy[Any]] = {
    (c.CreateChatCompletionRequest, "temperature"): _finite(0, 2),
    (c.CreateChatCompletionRequest, "top_p"): _finite(0, 1),
    (c.CreateChatCompletionRequest, "frequency_penalty"): _finite(-2, 2),
    (c.CreateChatCompletionRequest, "presence_penalty"): _finite(-2, 2),
    (c.CreateChatCompletionRequest, "top_logprobs"): st.integers(0, 20),
    (c.CreateChatCompletionRequest, "n"): st.integers(1, 128),
    (c.CreateChatCompletionRequest, "seed"): st.integers(-(2**63), 2**63 - 1),
    (c.CreateChatCompletionRequest, "safety_identifier"): st.text(max_size=64),
    (c.CreateChatCompletionRequest, "model"): st.sampled_from(c.Model) | st.text(max_size=12),
    (c.CreateChatCompletionRequest, "messages"): st.lists(
        st.deferred(lambda: _strategy(c.ChatCompletionRequestMessage)), min_size=1, max_size=4
    ),
}


def _is_tag(cls: type[Any], a: attrs.Attribute[Any]) -> bool:
    return a.name in ("role", "type") and isinstance(a.default, enum.Enum)


def _class_strategy(cls: type[Any]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for a in attrs.fields(cls):
        if a.metadata.get(EXTRA_KEY) or _is_tag(cls, a):
            continue  # the tag keeps its one right value; ``extra`` is response-only
        override = _OVERRIDES.get((cls, a.name))
        kwargs[a.name] = _strategy(hints[a.name]) if override is None else override
    return st.builds(cls, **kwargs)


def _strategy(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for any value of ``tp``, derived from the type hints alone."""
    if tp is str:
        return st.text(max_size=12)
    if tp is int:
        return st.integers(-1000, 100_000)
    if tp is float:
        return _finite(-1000, 1000)
    if tp is bool:
        return st.booleans()
    if tp in (Any, object):
        return _JSON
    if tp is type(None):
        return st.none()
    if attrs.has(tp):
        return st.deferred(lambda: _class_strategy(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return st.just(UNSET) if args == (_UnsetType.UNSET,) else st.sampled_from(args)
    if origin in (Union, types.UnionType):
        return st.one_of([_strategy(m) for m in args])
    if origin is list:  # the spec asks at least one item of most lists, at most 4 stops
        return st.lists(_strategy(args[0]), min_size=1, max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), _strategy(args[1]), max_size=3)
    raise TypeError(f"no strategy for {tp!r}")


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_strategy(c.CreateChatCompletionRequest))
def test_any_request_is_valid_wire_json(req: c.CreateChatCompletionRequest) -> None:
    """Any request the models can hold is sent as JSON the spec's request schema accepts."""
    wire = _codec.to_wire(req, c.CreateChatCompletionRequest)
    REQUEST_SCHEMA.validate(wire)
    _assert_plain_json(wire)
    assert json.loads(_codec.dumps(wire)) == wire


@_SETTINGS
@given(_strategy(c.CreateChatCompletionRequest))
def test_any_request_round_trips(req: c.CreateChatCompletionRequest) -> None:
    """The wire JSON, given back as dicts or parsed into the models, is sent unchanged."""
    wire = _codec.to_wire(req, c.CreateChatCompletionRequest)
    assert _codec.to_wire(copy.deepcopy(wire), c.CreateChatCompletionRequest) == wire
    parsed = _codec.structure(copy.deepcopy(wire), c.CreateChatCompletionRequest)
    assert _codec.to_wire(parsed, c.CreateChatCompletionRequest) == wire


@_SETTINGS
@given(_strategy(c.ChatCompletionRequestMessage))
def test_every_message_kind_is_covered(message: Any) -> None:
    """Each generated message is one of the six roles and is sent with that role."""
    wire = _codec.to_wire({"model": "m", "messages": [message]}, c.CreateChatCompletionRequest)
    REQUEST_SCHEMA.validate(wire)
    assert wire["messages"][0]["role"] in {
        "developer",
        "system",
        "user",
        "assistant",
        "tool",
        "function",
    }


# ------------------------------------------------------------ fast path == detailed path


# The reference: the same converter without the generated fast path, cattrs' hooks only.
DETAILED = _inbound.make_converter(fast=False)


def _same(cls: type[Any], data: Any) -> None:
    fast = _codec.structure(copy.deepcopy(data), cls)
    slow = DETAILED.structure(copy.deepcopy(data), cls)
    assert fast == slow
    assert _codec.to_dict(fast) == _codec.to_dict(slow)  # ``extra`` takes no part in ==


_ALL_EXAMPLES = [
    *[
        pytest.param(c.CreateChatCompletionRequest, p.values[0], id=p.id)
        for p in _examples("request")
    ],
    *[pytest.param(c.ChatCompletion, p.values[0], id=p.id) for p in _examples("response")],
    *[
        pytest.param(c.ChatCompletionChunk, p.values[0], id=p.id)
        for p in _examples("stream_chunks")
    ],
]


@pytest.mark.parametrize(("cls", "data"), _ALL_EXAMPLES)
def test_fast_path_takes_every_spec_example(cls: type[Any], data: Any) -> None:
    """The generated code handles each spec example itself, with the detailed hook's result."""
    fast = _fast.fast_structurer(cls, fallback=_inbound.converter().structure)
    fast(copy.deepcopy(data))  # no fallback: no exception
    _same(cls, data)


@_SETTINGS
@given(_strategy(c.ChatCompletion))
def test_fast_path_agrees_on_any_response(completion: c.ChatCompletion) -> None:
    """For any response the models can hold, fast and detailed structuring agree and round trip."""
    data = _codec.to_dict(completion)
    _assert_plain_json(data)
    _same(c.ChatCompletion, data)
    assert _codec.to_dict(_codec.structure(data, c.ChatCompletion)) == data


@_SETTINGS
@given(_strategy(c.ChatCompletionChunk))
def test_fast_path_agrees_on_any_chunk(chunk: c.ChatCompletionChunk) -> None:
    """For any stream chunk the models can hold, structuring its JSON gives it back."""
    data = _codec.to_dict(chunk)
    assert _codec.to_dict(_codec.structure(data, c.ChatCompletionChunk)) == data


@settings(max_examples=100, deadline=None)
@given(_strategy(c.CreateChatCompletionRequest))
def test_fast_path_agrees_on_any_request_json(req: c.CreateChatCompletionRequest) -> None:
    """Requests parsed from JSON (``from_dict``) come out the same by either path."""
    wire = _codec.to_wire(req, c.CreateChatCompletionRequest)
    _same(c.CreateChatCompletionRequest, wire)
