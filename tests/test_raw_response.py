"""with_raw_response, stream.response and typed rate limits, through both clients."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest

from gpt_async import (
    APIResponse,
    AsyncGpt,
    AsyncStream,
    ClientStateError,
    Gpt,
    RateLimitError,
    RateLimitInfo,
    RetryConfig,
    Stream,
)
from gpt_async.models.components import ChatCompletion
from gpt_async.testing import FakeOpenAIServer, Reply, StreamReply, ThreadedFakeOpenAIServer

USER = [{"role": "user", "content": "hello world"}]
NO_WAIT = RetryConfig(backoff_scale=0)
LIMITS = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-remaining-tokens": "29950",
    "x-ratelimit-reset-requests": "20ms",
    "x-ratelimit-reset-tokens": "6m0s",
}
EXPECTED = RateLimitInfo(
    limit_requests=500,
    limit_tokens=30000,
    remaining_requests=499,
    remaining_tokens=29950,
    reset_requests=0.02,
    reset_tokens=360.0,
)
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
}


def _stream_reply() -> StreamReply:
    return attrs.evolve(StreamReply.of_content(["a", " b"]), headers=LIMITS)


pytest_plugins = ["gpt_async.testing.pytest_plugin"]


@pytest.fixture
async def client(openai_server: FakeOpenAIServer) -> AsyncIterator[AsyncGpt]:
    """An AsyncGpt of ``server`` whose retries never sleep."""
    async with AsyncGpt(api_key="k", server_url=openai_server.url, retry_config=NO_WAIT) as c:
        yield c


@pytest.fixture
def sync_client(openai_server_thread: ThreadedFakeOpenAIServer) -> Iterator[Gpt]:
    """A Gpt of ``thread_server`` whose retries never sleep."""
    with Gpt(api_key="k", server_url=openai_server_thread.url, retry_config=NO_WAIT) as c:
        yield c


def _check_completion_response(raw: APIResponse[Any], retries: int) -> None:
    assert isinstance(raw, APIResponse)
    assert raw.status_code == 200
    assert raw.headers["X-RateLimit-Limit-Tokens"] == "30000"  # case-insensitive
    assert raw.request_id is not None
    assert raw.request_id == raw.headers["x-request-id"]
    assert isinstance(raw.elapsed, float)
    assert raw.elapsed > 0
    assert raw.retries_taken == retries
    assert raw.rate_limits == EXPECTED
    completion = raw.parse()
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == "hi"


# ---------------------------------------------------------------- async


@pytest.mark.anyio
async def test_async_raw_response_of_a_completion(
    client: AsyncGpt, openai_server: FakeOpenAIServer
) -> None:
    """AsyncGpt: status, headers, request id, elapsed, retries and parse() of one reply."""
    openai_server.enqueue(Reply(json=COMPLETION, headers=LIMITS))
    raw = await client.chat.completions.with_raw_response.create(model="m", messages=USER)
    _check_completion_response(raw, retries=0)


@pytest.mark.anyio
async def test_async_raw_response_after_a_429(
    client: AsyncGpt, openai_server: FakeOpenAIServer
) -> None:
    """AsyncGpt: after a retried 429, retries_taken is 1 and the headers are the reply's."""
    openai_server.enqueue(
        Reply.error(429, "Slow down", headers={"x-ratelimit-remaining-requests": "0"}),
        Reply(json=COMPLETION, headers=LIMITS),
    )
    raw = await client.chat.completions.with_raw_response.create(model="m", messages=USER)
    _check_completion_response(raw, retries=1)
    assert len(openai_server.requests) == 2


@pytest.mark.anyio
async def test_async_429_error_carries_rate_limits(openai_server: FakeOpenAIServer) -> None:
    """AsyncGpt: a 429 that is not retried raises RateLimitError with typed rate limits."""
    openai_server.enqueue(Reply.error(429, "Slow down", headers=LIMITS))
    async with AsyncGpt(api_key="k", server_url=openai_server.url, max_retries=0) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.chat.completions.with_raw_response.create(model="m", messages=USER)
    assert caught.value.rate_limits == EXPECTED
    assert caught.value.rate_limits.reset_tokens == 360.0


@pytest.mark.anyio
async def test_async_raw_response_of_a_stream(
    client: AsyncGpt, openai_server: FakeOpenAIServer
) -> None:
    """AsyncGpt: with stream=True, parse() is the stream, whose response is the same kind."""
    openai_server.enqueue(_stream_reply())
    raw = await client.chat.completions.with_raw_response.create(
        model="m", messages=USER, stream=True
    )
    assert raw.rate_limits == EXPECTED
    stream = raw.parse()
    assert isinstance(stream, AsyncStream)
    async with stream:
        pieces = [c.choices[0].delta.content async for c in stream if c.choices]
    assert "".join(p or "" for p in pieces) == "a b"
    assert stream.response is not None
    assert stream.response.parse() is stream
    assert stream.response.request_id == raw.request_id
    assert stream.response.rate_limits == EXPECTED


@pytest.mark.anyio
async def test_async_stream_method_response(
    client: AsyncGpt, openai_server: FakeOpenAIServer
) -> None:
    """AsyncGpt: stream()'s response has the headers, timing and retries, and parses to it."""
    openai_server.enqueue(Reply.error(503, "busy"), _stream_reply())
    async with client.chat.completions.stream(model="m", messages=USER) as stream:
        assert stream.response is not None
        assert stream.response.status_code == 200
        assert stream.response.retries_taken == 1
        assert stream.response.rate_limits == EXPECTED
        assert stream.response.parse() is stream
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == "a b"


@pytest.mark.anyio
async def test_async_create_stream_response(
    client: AsyncGpt, openai_server: FakeOpenAIServer
) -> None:
    """AsyncGpt: create(stream=True)'s stream carries the same response object."""
    openai_server.enqueue(_stream_reply())
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    async with stream:
        assert stream.response is not None
        assert stream.response.rate_limits.remaining_tokens == 29950
        assert stream.response.parse() is stream


@pytest.mark.anyio
async def test_absent_rate_limit_headers_give_none(client: AsyncGpt) -> None:
    """A reply without x-ratelimit-* headers gives a falsy RateLimitInfo of Nones."""
    raw = await client.chat.completions.with_raw_response.create(model="m", messages=USER)
    assert raw.rate_limits == RateLimitInfo()
    assert not raw.rate_limits


@pytest.mark.anyio
async def test_malformed_rate_limit_headers_give_none(
    client: AsyncGpt, openai_server: FakeOpenAIServer
) -> None:
    """Malformed headers read as None, well-formed ones beside them still parse."""
    headers = {
        "x-ratelimit-limit-requests": "lots",
        "x-ratelimit-remaining-tokens": "-3",
        "x-ratelimit-reset-requests": "0.5s",
        "x-ratelimit-reset-tokens": "soon",
    }
    openai_server.enqueue(Reply(json=COMPLETION, headers=headers))
    raw = await client.chat.completions.with_raw_response.create(model="m", messages=USER)
    assert raw.rate_limits == RateLimitInfo(reset_requests=0.5)


@pytest.mark.anyio
async def test_stream_response_does_not_keep_its_stream_alive(
    client: AsyncGpt, openai_server: FakeOpenAIServer
) -> None:
    """A stream's response holds it weakly: parse() after the stream is gone says so."""
    openai_server.enqueue(_stream_reply())
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    response = stream.response
    assert response is not None
    await stream.aclose()
    del stream
    gc.collect()
    with pytest.raises(ClientStateError, match="garbage-collected"):
        response.parse()


@pytest.mark.anyio
async def test_raw_response_repr_shows_no_key(openai_server: FakeOpenAIServer) -> None:
    """The raw response's repr shows status and request id, never the API key."""
    async with AsyncGpt(api_key="sk-SECRET-123", server_url=openai_server.url) as client:
        raw = await client.chat.completions.with_raw_response.create(model="m", messages=USER)
    assert repr(raw).startswith("<APIResponse [200] request_id='req_")
    assert "SECRET" not in repr(raw)


# ---------------------------------------------------------------- sync


def test_sync_raw_response_of_a_completion(
    sync_client: Gpt, openai_server_thread: ThreadedFakeOpenAIServer
) -> None:
    """Gpt: the same raw response, parse() gives the ChatCompletion."""
    openai_server_thread.enqueue(Reply(json=COMPLETION, headers=LIMITS))
    raw = sync_client.chat.completions.with_raw_response.create(model="m", messages=USER)
    _check_completion_response(raw, retries=0)


def test_sync_raw_response_after_a_429(
    sync_client: Gpt, openai_server_thread: ThreadedFakeOpenAIServer
) -> None:
    """Gpt: a retried 429 counts in retries_taken."""
    openai_server_thread.enqueue(
        Reply.error(429, "Slow down"), Reply(json=COMPLETION, headers=LIMITS)
    )
    raw = sync_client.chat.completions.with_raw_response.create(model="m", messages=USER)
    _check_completion_response(raw, retries=1)


def test_sync_429_error_carries_rate_limits(openai_server_thread: ThreadedFakeOpenAIServer) -> None:
    """Gpt: RateLimitError.rate_limits reads the 429's headers."""
    openai_server_thread.enqueue(Reply.error(429, "Slow down", headers=LIMITS))
    client = Gpt(api_key="k", server_url=openai_server_thread.url, max_retries=0)
    with client, pytest.raises(RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=USER)
    assert caught.value.rate_limits == EXPECTED


def test_sync_raw_response_of_a_stream(
    sync_client: Gpt, openai_server_thread: ThreadedFakeOpenAIServer
) -> None:
    """Gpt: with stream=True, parse() is a sync Stream whose response parses to it."""
    openai_server_thread.enqueue(_stream_reply())
    raw = sync_client.chat.completions.with_raw_response.create(
        model="m", messages=USER, stream=True
    )
    stream = raw.parse()
    assert isinstance(stream, Stream)
    assert raw.rate_limits == EXPECTED
    with stream:
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "a b"
    assert stream.response is not None
    assert stream.response.parse() is stream
    assert stream.response.rate_limits == EXPECTED


def test_sync_stream_method_response(
    sync_client: Gpt, openai_server_thread: ThreadedFakeOpenAIServer
) -> None:
    """Gpt: stream()'s response is there once entered, with headers and retries."""
    openai_server_thread.enqueue(_stream_reply())
    with sync_client.chat.completions.stream(model="m", messages=USER) as stream:
        assert stream.response is not None
        assert stream.response.retries_taken == 0
        assert stream.response.rate_limits.limit_requests == 500
        assert stream.response.parse() is stream
