"""The OpenAI-compatible gateway example, driven by the official ``openai`` package."""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import openai
import pytest
from test_fastapi import serve

from gpt_async.testing import FakeOpenAIServer, Reply, StreamReply

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-upstream-gateway"
SPEC = ROOT / "tests" / "spec" / "examples"
USER = [{"role": "user", "content": "one two three"}]


@functools.cache
def gateway() -> ModuleType:
    """The gateway module, loaded from its file."""
    path = ROOT / "examples" / "openai_gateway" / "app.py"
    spec = importlib.util.spec_from_file_location("gpt_async_openai_gateway", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def upstream() -> AsyncIterator[FakeOpenAIServer]:
    """The upstream: a testing server."""
    async with FakeOpenAIServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
async def clients(upstream: FakeOpenAIServer) -> AsyncIterator[tuple[Any, Any]]:
    """An openai client of the gateway, and one of the upstream directly."""
    app = gateway().create_app(server_url=upstream.url, api_key_auth=KEY, max_retries=0)
    async with serve(app) as base:
        via = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="sk-caller", max_retries=0)
        direct = openai.AsyncOpenAI(base_url=upstream.url, api_key=KEY, max_retries=0)
        async with via, direct:
            yield via, direct


def _twice(upstream: FakeOpenAIServer, item: Any) -> None:
    upstream.enqueue(copy.deepcopy(item))
    upstream.enqueue(copy.deepcopy(item))


@pytest.mark.parametrize(
    "example", ["create.default.response.json", "create.logprobs.response.json"]
)
async def test_plain_completion_equals_upstream(
    clients: tuple[Any, Any], upstream: FakeOpenAIServer, example: str
) -> None:
    """A completion parsed by openai-python through the gateway equals the upstream's."""
    _twice(upstream, Reply(json=json.loads((SPEC / example).read_text())))
    via, direct = clients
    got = await via.chat.completions.create(model="m", messages=USER, temperature=None)
    want = await direct.chat.completions.create(model="m", messages=USER, temperature=None)
    assert got.model_dump() == want.model_dump()
    assert upstream.requests[0].json == upstream.requests[1].json  # forwarded as sent


async def test_stream_with_usage_equals_upstream(
    clients: tuple[Any, Any], upstream: FakeOpenAIServer
) -> None:
    """A stream with its usage chunk, parsed through the gateway, equals the upstream's."""
    via, direct = clients
    kwargs: dict[str, Any] = {
        "model": "m",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
        "logprobs": True,
    }
    got = [c.model_dump() async for c in await via.chat.completions.create(**kwargs)]
    want = [c.model_dump() async for c in await direct.chat.completions.create(**kwargs)]
    for chunk in got + want:
        del chunk["id"]  # the echo numbers its replies
    assert got == want
    assert got[-1]["usage"] is not None
    assert upstream.requests[0].json == upstream.requests[1].json


async def test_tool_calls_equal_upstream(
    clients: tuple[Any, Any], upstream: FakeOpenAIServer
) -> None:
    """Tool calls, plain and streamed, come through as the upstream sent them."""
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls", "logprobs": None}
    _twice(
        upstream,
        Reply(
            json={
                "id": "c",
                "object": "chat.completion",
                "created": 1,
                "model": "m",
                "choices": [choice],
            }
        ),
    )
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    via, direct = clients
    got = await via.chat.completions.create(model="m", messages=USER, tools=tools)
    want = await direct.chat.completions.create(model="m", messages=USER, tools=tools)
    assert got.model_dump() == want.model_dump()
    assert got.choices[0].message.tool_calls[0].function.arguments == '{"x": 1}'
    delta = {"tool_calls": [{"index": 0, **call}]}
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    events = [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}]
    _twice(upstream, StreamReply(events=events))
    stream_kwargs: dict[str, Any] = {"model": "m", "messages": USER, "tools": tools, "stream": True}
    got_chunks = [c.model_dump() async for c in await via.chat.completions.create(**stream_kwargs)]
    want_chunks = [
        c.model_dump() async for c in await direct.chat.completions.create(**stream_kwargs)
    ]
    assert got_chunks == want_chunks


@pytest.mark.parametrize("status", [400, 429])
async def test_upstream_error_is_relayed(
    clients: tuple[Any, Any], upstream: FakeOpenAIServer, status: int
) -> None:
    """An upstream error reaches openai-python as the same typed error, status and body."""
    _twice(upstream, Reply.error(status, "nope", code="bad_thing", param="messages"))
    via, direct = clients
    with pytest.raises(openai.APIStatusError) as got:
        await via.chat.completions.create(model="m", messages=USER)
    with pytest.raises(openai.APIStatusError) as want:
        await direct.chat.completions.create(model="m", messages=USER)
    assert type(got.value) is type(want.value)
    assert got.value.status_code == want.value.status_code == status
    assert got.value.body == want.value.body


async def test_bad_request_body_is_refused_before_upstream(
    clients: tuple[Any, Any], upstream: FakeOpenAIServer
) -> None:
    """A malformed body is a 422 naming the field; nothing reaches the upstream."""
    via, _ = clients
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        await via.chat.completions.create(model="m", messages=[{"role": "boss", "content": "x"}])
    assert "messages[0].role" in json.dumps(caught.value.body)
    assert upstream.requests == []


async def test_leaving_client_cancels_upstream(
    clients: tuple[Any, Any], upstream: FakeOpenAIServer
) -> None:
    """When the gateway's client leaves mid-stream, the upstream stream is closed."""
    upstream.enqueue(StreamReply.of_content(["a"] * 200, delay_between=0.05))
    via, _ = clients
    stream = await via.chat.completions.create(model="m", messages=USER, stream=True)
    async for _chunk in stream:
        break
    await stream.close()
    assert await upstream.wait_for_disconnects(1, timeout=10) == 1
