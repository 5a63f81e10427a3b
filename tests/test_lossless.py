"""Responses and chunks come back out of ``to_dict`` / ``to_json`` exactly as they arrived."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from test_models_spec import _examples

import gpt_async
from gpt_async import AsyncGpt, RetryConfig, _codec
from gpt_async.models import components as c
from gpt_async.testing import FakeOpenAIServer, Reply, StreamReply

_SPEC_DIR = Path(__file__).resolve().parent / "spec"
_DOC = json.loads((_SPEC_DIR / "chat-completions.schema.json").read_text())
RESPONSE_SCHEMA = Draft202012Validator({**_DOC, "$ref": "#/$defs/CreateChatCompletionResponse"})
CHUNK_SCHEMA = Draft202012Validator({**_DOC, "$ref": "#/$defs/CreateChatCompletionStreamResponse"})
KEY = "sk-lossless"
USER = [{"role": "user", "content": "one two three"}]


def _chunk(delta: dict[str, Any], **choice: Any) -> dict[str, Any]:
    """A chunk as OpenAI sends it: nullable keys present as null."""
    return {
        "id": "chatcmpl-rec",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": "fp_44709d6fcb",
        "usage": None,
        "obfuscation": "x1",
        "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None, **choice}
        ],
    }


# A recorded-style stream: role chunk, content, two tool calls interleaved, usage chunk.
RECORDED: list[dict[str, Any]] = [
    _chunk({"role": "assistant", "content": None, "refusal": None}),
    _chunk({"content": "Hel"}),
    _chunk({"content": "lo", "reasoning_content": "hm"}),
    _chunk(
        {
            "tool_calls": [
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f"}},
                {"index": 1, "id": "call_b", "type": "function", "function": {"arguments": ""}},
            ]
        }
    ),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x": 1}'}}]}),
    _chunk({}, finish_reason="tool_calls"),
    {
        **_chunk({}),
        "choices": [],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 12,
            "total_tokens": 21,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "accepted_prediction_tokens": 0},
        },
        "timings": {"predicted_ms": 1.5},
    },
]


@pytest.mark.parametrize("body", _examples("response"))
def test_spec_response_comes_back_exactly(body: dict[str, Any]) -> None:
    """Every spec response example: ``to_dict`` and ``to_json`` equal the JSON received."""
    completion = _codec.structure(copy.deepcopy(body), c.ChatCompletion)
    assert gpt_async.to_dict(completion) == body
    assert json.loads(gpt_async.to_json(completion)) == body


@pytest.mark.parametrize("chunk", [*_examples("stream_chunks"), *RECORDED])
def test_chunk_comes_back_exactly(chunk: dict[str, Any]) -> None:
    """Every spec and recorded-style chunk: nulls stay null, unknown keys stay, nothing added."""
    parsed = _codec.structure(copy.deepcopy(chunk), c.ChatCompletionChunk)
    assert gpt_async.to_dict(parsed) == chunk
    assert json.loads(gpt_async.to_json(parsed)) == chunk


def test_nulls_and_absences_are_told_apart() -> None:
    """A key sent as null is written as null; a key not sent is not written."""
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": None}}]}
    out = gpt_async.to_dict(_codec.structure(copy.deepcopy(body), c.ChatCompletion))
    assert out == body
    assert "refusal" not in out["choices"][0]["message"]
    assert out["choices"][0]["message"]["content"] is None


def test_a_field_set_after_reading_is_written() -> None:
    """A field changed after reading shows in the dict, even one that arrived absent."""
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "a"}}]}
    completion = _codec.structure(body, c.ChatCompletion)
    completion.choices[0].message.refusal = "no"
    completion.id = "chatcmpl-new"
    out = gpt_async.to_dict(completion)
    assert out["choices"][0]["message"] == {"role": "assistant", "content": "a", "refusal": "no"}
    assert out["id"] == "chatcmpl-new"


def test_the_detailed_path_is_lossless_too() -> None:
    """A body off the fast path's shape (a number where text is expected) keeps its keys."""
    body = {"id": "x", "created": 1, "choices": [], "system_fingerprint": None, "usage": None}
    odd = {**body, "choices": [{"index": 0, "message": {"content": None, "role": "assistant"}}]}
    odd["choices"][0]["logprobs"] = None
    odd["choices"][0]["finish_reason"] = "stop"
    odd["model"] = 5  # lenient: read as the text "5"
    out = gpt_async.to_dict(_codec.structure(copy.deepcopy(odd), c.ChatCompletion))
    assert out == {**odd, "model": "5"}


def test_models_built_in_code_keep_required_nulls() -> None:
    """A completion built in code writes the spec's required nullable keys as null."""
    completion = c.ChatCompletion(
        id="x",
        created=1,
        model="m",
        choices=[c.Choice(message=c.ChatCompletionMessage(), finish_reason="stop")],
    )
    out = gpt_async.to_dict(completion)
    RESPONSE_SCHEMA.validate(out)
    assert out["choices"][0]["logprobs"] is None
    assert out["choices"][0]["message"] == {"role": "assistant", "content": None, "refusal": None}


def test_request_side_is_unchanged() -> None:
    """A request read from JSON: unset fields absent, None sent as null."""
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": None}
    request = _codec.structure(copy.deepcopy(body), c.CreateChatCompletionRequest)
    assert _codec.to_wire(request, c.CreateChatCompletionRequest) == body
    built = c.CreateChatCompletionRequest(model="m", messages=[], temperature=None)
    assert gpt_async.to_dict(built) == {"model": "m", "messages": [], "temperature": None}


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server."""
    async with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
async def client(server: FakeOpenAIServer) -> AsyncIterator[AsyncGpt]:
    """A client of ``server``."""
    retry = RetryConfig(backoff_scale=0)
    async with AsyncGpt(api_key_auth=KEY, server_url=server.url, retry_config=retry) as cl:
        yield cl


@pytest.mark.anyio
async def test_streamed_chunks_over_http_come_back_exactly(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """Chunks read from a real server are written back as the server sent them."""
    server.enqueue(StreamReply(events=copy.deepcopy(RECORDED)))
    async with client.chat.completions.stream(model="m", messages=USER) as stream:
        got = [gpt_async.to_dict(chunk) async for chunk in stream]
    assert got == RECORDED


@pytest.mark.anyio
@pytest.mark.parametrize("body", _examples("response")[:3])
async def test_responses_over_http_come_back_exactly(
    client: AsyncGpt, server: FakeOpenAIServer, body: dict[str, Any]
) -> None:
    """A completion read from a real server is written back as the server sent it."""
    server.enqueue(Reply(json=body))
    completion = await client.chat.completions.create(model="m", messages=USER)
    assert json.loads(gpt_async.to_json(completion)) == body


@pytest.mark.anyio
async def test_folded_completion_is_valid_against_the_spec(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """``get_final_completion()`` of a recorded stream validates, required nullables present."""
    server.enqueue(StreamReply(events=copy.deepcopy(RECORDED)))
    async with client.chat.completions.stream(model="m", messages=USER) as stream:
        folded = await stream.get_final_completion()
    out = gpt_async.to_dict(folded)
    RESPONSE_SCHEMA.validate(out)
    choice = out["choices"][0]
    assert choice["logprobs"] is None
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["refusal"] is None
    assert [t["id"] for t in choice["message"]["tool_calls"]] == ["call_a", "call_b"]


@pytest.mark.anyio
async def test_folded_echo_stream_is_valid_against_the_spec(client: AsyncGpt) -> None:
    """The testing server's echo stream, with logprobs and usage, folds into a valid completion."""
    async with client.chat.completions.stream(
        model="m", messages=USER, logprobs=True, stream_options={"include_usage": True}
    ) as stream:
        chunks = [gpt_async.to_dict(x) async for x in stream]
        folded = await stream.get_final_completion()
    for chunk in chunks:
        CHUNK_SCHEMA.validate(chunk)
    RESPONSE_SCHEMA.validate(gpt_async.to_dict(folded))
