"""Only network errors become ours: any other exception propagates unchanged, unretried."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest

import gpt_async
from gpt_async import AsyncTransport, HTTPRequest, HTTPResponse, Timeout
from gpt_async.testing import FakeOpenAIServer

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hi"}]
RETRIES = gpt_async.RetryConfig(max_retries=3, backoff_scale=0)


class _Body:
    """A response whose body fails with ``error`` after the headers arrived."""

    status_code = 200
    headers: Mapping[str, str] = {"content-type": "application/json"}
    url = "http://127.0.0.1/v1/chat/completions"

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.closed = False

    async def read(self) -> bytes:
        raise self.error

    async def read_chunk(self) -> bytes:
        raise self.error

    def close(self) -> None:
        self.closed = True


class DividingTransport:
    """A custom transport with a bug: it divides by zero when sending, or when reading."""

    def __init__(self, *, in_body: bool = False) -> None:
        self.in_body = in_body
        self.sends = 0
        self.responses: list[_Body] = []

    async def send(self, request: HTTPRequest, *, timeout: Timeout) -> HTTPResponse:
        self.sends += 1
        error = ZeroDivisionError(f"division by zero in attempt {self.sends}")
        if not self.in_body:
            raise error
        self.responses.append(_Body(error))
        return self.responses[-1]

    async def aclose(self) -> None:
        pass


async def _drain(stream: gpt_async.AsyncStream[Any]) -> None:
    async with stream:
        async for _ in stream:
            pass


def _client(transport: AsyncTransport) -> gpt_async.AsyncGpt:
    return gpt_async.AsyncGpt(
        api_key_auth="sk-test",
        server_url="http://127.0.0.1:9/v1",
        transport=transport,
        retry_config=RETRIES,
    )


async def test_a_custom_transports_bug_propagates_unretried() -> None:
    """A ZeroDivisionError from send() reaches the caller as itself, after one attempt."""
    transport = DividingTransport()
    async with _client(transport) as client:
        with pytest.raises(ZeroDivisionError, match="in attempt 1") as info:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert transport.sends == 1
    assert info.value.__cause__ is None


async def test_a_bug_while_reading_the_body_propagates_unretried() -> None:
    """A ZeroDivisionError from read() is not mistaken for a broken connection."""
    transport = DividingTransport(in_body=True)
    async with _client(transport) as client:
        with pytest.raises(ZeroDivisionError):
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert transport.sends == 1


async def test_a_bug_while_streaming_propagates_and_closes_the_response() -> None:
    """A ZeroDivisionError from read_chunk() propagates and the response is closed."""
    transport = DividingTransport(in_body=True)
    async with _client(transport) as client:
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        with pytest.raises(ZeroDivisionError):
            await _drain(stream)
    assert transport.sends == 1
    assert transport.responses[0].closed


def _buggy_trace(calls: list[object]) -> aiohttp.TraceConfig:
    """A trace config whose request-start hook raises ZeroDivisionError."""

    async def divide(session: aiohttp.ClientSession, context: object, params: object) -> None:
        calls.append(params)
        raise ZeroDivisionError("a trace hook's bug")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(divide)
    return trace


async def test_the_aiohttp_transport_maps_only_network_errors() -> None:
    """Inside aiohttp, a foreign exception (a trace hook's) propagates unretried."""
    calls: list[object] = []
    async with (
        FakeOpenAIServer() as server,
        aiohttp.ClientSession(trace_configs=[_buggy_trace(calls)]) as session,
        gpt_async.AsyncGpt(
            api_key_auth="sk-test", server_url=server.url, session=session, retry_config=RETRIES
        ) as client,
    ):
        with pytest.raises(ZeroDivisionError, match="trace hook"):
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert len(calls) == 1
    assert server.requests == []


async def test_network_errors_are_still_ours_and_retried() -> None:
    """A refused connection is still an APIConnectionError, retried to the budget."""
    async with FakeOpenAIServer() as server:
        url = server.url
    failures: list[gpt_async.GptAsyncError] = []

    def count(request: HTTPRequest, error: gpt_async.GptAsyncError) -> None:
        failures.append(error)

    hooks = gpt_async.Hooks(after_error=[count])
    async with gpt_async.AsyncGpt(
        api_key_auth="sk-test", server_url=url, retry_config=RETRIES, hooks=hooks
    ) as client:
        with pytest.raises(gpt_async.APIConnectionError, match="cannot connect") as info:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert isinstance(info.value.__cause__, OSError)
    assert len(failures) == 1 + RETRIES.max_retries
