"""The fake OpenAI server (gpt_async.testing), exercised with plain HTTP clients."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_async.testing import (
    DEFAULT_CREATED,
    SYSTEM_FINGERPRINT,
    FakeOpenAIServer,
    Fault,
    RawBytes,
    Reply,
    StreamReply,
    ThreadedFakeOpenAIServer,
)

pytest_plugins = ["gpt_async.testing.pytest_plugin"]
pytestmark = pytest.mark.anyio

USER = {"role": "user", "content": "Hello   big\nworld"}
BODY: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Be brief."}, USER],
}


@pytest.fixture(autouse=True)
def _no_server_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails a test whose server logged a warning or an error (e.g. a handler crash)."""
    caplog.set_level(logging.WARNING)
    yield
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    messages = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    # asyncio debug mode (python -X dev) reports slow callbacks: timing, not a fault.
    assert [m for m in messages if not m.startswith("Executing <")] == []


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A fresh server on the test's loop."""
    async with FakeOpenAIServer() as started:
        yield started


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client."""
    async with aiohttp.ClientSession() as client:
        yield client


async def create(session: aiohttp.ClientSession, server: FakeOpenAIServer, **overrides: Any) -> Any:
    """POSTs BODY (with overrides) and returns the parsed JSON of a 200 reply."""
    async with session.post(f"{server.url}/chat/completions", json={**BODY, **overrides}) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def stream(
    session: aiohttp.ClientSession, server: FakeOpenAIServer, **overrides: Any
) -> list[str]:
    """POSTs a streaming request and returns the SSE frames, split on blank lines."""
    body = {**BODY, "stream": True, **overrides}
    async with session.post(f"{server.url}/chat/completions", json=body) as r:
        assert r.status == 200
        assert r.content_type == "text/event-stream"
        raw = (await r.read()).decode()
    assert raw.endswith("\n\n")
    return raw[:-2].split("\n\n")


def chunks_of(frames: list[str]) -> list[dict[str, Any]]:
    """Parses `data: <json>` frames, checking the stream ends with [DONE]."""
    assert frames[-1] == "data: [DONE]"
    assert all(frame.startswith("data: ") for frame in frames)
    return [json.loads(frame.removeprefix("data: ")) for frame in frames[:-1]]


async def test_echo_reply_and_usage(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """The reply echoes the last user message's words; usage counts words."""
    async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
        assert r.headers["x-request-id"] == "req_1"
        assert r.content_type == "application/json"
        reply = await r.json()
    assert reply["id"] == "chatcmpl-1"
    assert reply["object"] == "chat.completion"
    assert reply["created"] == DEFAULT_CREATED
    assert reply["model"] == "gpt-4o-mini"
    assert reply["system_fingerprint"] == SYSTEM_FINGERPRINT
    assert reply["service_tier"] == "default"
    assert reply["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello big world",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    usage = reply["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (5, 3, 8)


async def test_ids_count_requests(session: aiohttp.ClientSession, server: FakeOpenAIServer) -> None:
    """Completion ids and request ids follow the request count; a clock sets `created`."""
    first = await create(session, server)
    second = await create(session, server)
    assert (first["id"], second["id"]) == ("chatcmpl-1", "chatcmpl-2")
    async with FakeOpenAIServer(clock=lambda: 42) as clocked:
        assert (await create(session, clocked))["created"] == 42


async def test_content_parts_are_joined(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """Text parts of a list content are joined; image parts are ignored."""
    parts = [
        {"type": "text", "text": "look at"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this"},
    ]
    reply = await create(session, server, messages=[{"role": "user", "content": parts}])
    assert reply["choices"][0]["message"]["content"] == "look at this"
    assert reply["usage"]["prompt_tokens"] == 3


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
async def test_token_limit_truncates_with_length(
    session: aiohttp.ClientSession, server: FakeOpenAIServer, limit: str
) -> None:
    """A token limit keeps that many words and finishes with `length`."""
    reply = await create(session, server, **{limit: 2})
    assert reply["choices"][0]["message"]["content"] == "Hello big"
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 2


@pytest.mark.parametrize(
    ("stop", "content"), [("g w", "Hello bi"), (["zzz", " world", "big"], "Hello")]
)
async def test_stop_cuts_before_the_first_stop_sequence(
    session: aiohttp.ClientSession, server: FakeOpenAIServer, stop: object, content: str
) -> None:
    """`stop` cuts the reply before the earliest stop sequence, finishing with `stop`."""
    reply = await create(session, server, stop=stop)
    assert reply["choices"][0]["message"]["content"] == content
    assert reply["choices"][0]["finish_reason"] == "stop"


async def test_n_gives_identical_indexed_choices(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """`n` gives n identical choices indexed 0..n-1; completion tokens count them all."""
    reply = await create(session, server, n=3)
    assert [c["index"] for c in reply["choices"]] == [0, 1, 2]
    assert {c["message"]["content"] for c in reply["choices"]} == {"Hello big world"}
    assert reply["usage"]["completion_tokens"] == 9


async def test_logprobs_are_deterministic_per_token(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """`logprobs` fills one entry per token, with `top_logprobs` alternatives."""
    reply = await create(session, server, logprobs=True, top_logprobs=2)
    content = reply["choices"][0]["logprobs"]["content"]
    assert [entry["token"] for entry in content] == ["Hello", " big", " world"]
    assert content[1] == {
        "token": " big",
        "logprob": -0.25,
        "bytes": list(b" big"),
        "top_logprobs": [
            {"token": " big", "logprob": -0.25, "bytes": list(b" big")},
            {"token": "<alt1>", "logprob": -1.25, "bytes": list(b"<alt1>")},
        ],
    }
    assert reply["choices"][0]["logprobs"]["refusal"] is None


TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {}}},
    {"type": "function", "function": {"name": "get_time"}},
]


@pytest.mark.parametrize(
    ("tool_choice", "name"),
    [
        ("required", "get_weather"),
        ({"type": "function", "function": {"name": "get_time"}}, "get_time"),
    ],
)
async def test_forced_tool_choice_replies_with_a_tool_call(
    session: aiohttp.ClientSession, server: FakeOpenAIServer, tool_choice: object, name: str
) -> None:
    """A required or named tool choice gives a call with arguments `{}`."""
    reply = await create(session, server, tools=TOOLS, tool_choice=tool_choice)
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["refusal"] is None
    assert choice["message"]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": name, "arguments": "{}"}}
    ]


async def test_auto_tool_choice_replies_with_text(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """Tools without a forced choice still get the echo."""
    reply = await create(session, server, tools=TOOLS, tool_choice="auto")
    assert reply["choices"][0]["message"]["content"] == "Hello big world"


async def test_json_object_format_wraps_the_echo(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """`response_format: json_object` replies `{"echo": <text>}` as JSON text."""
    reply = await create(session, server, response_format={"type": "json_object"})
    assert json.loads(reply["choices"][0]["message"]["content"]) == {"echo": "Hello big world"}


async def test_api_key_is_required_when_configured(session: aiohttp.ClientSession) -> None:
    """With api_key set, a missing or wrong key gets an OpenAI 401; Bearer or api-key pass."""
    async with FakeOpenAIServer(api_key="sk-test") as server:
        url = f"{server.url}/chat/completions"
        for headers in ({}, {"Authorization": "Bearer sk-wrong"}):
            async with session.post(url, json=BODY, headers=headers) as r:
                assert r.status == 401
                assert r.headers["x-request-id"].startswith("req_")
                assert await r.json() == {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                }
        for headers in ({"Authorization": "Bearer sk-test"}, {"api-key": "sk-test"}):
            async with session.post(url, json=BODY, headers=headers) as r:
                assert r.status == 200


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": "hi"}, "messages"),
        ({"model": "m", "messages": [{"content": "hi"}]}, "messages[0].role"),
        ({"messages": [USER]}, "model"),
        ({**BODY, "n": "2"}, "n"),
        ({**BODY, "stop": 3}, "stop"),
    ],
)
async def test_invalid_requests_get_400_naming_the_param(
    session: aiohttp.ClientSession, server: FakeOpenAIServer, body: object, param: str
) -> None:
    """Missing or ill-typed fields get a 400 whose error names the param."""
    async with session.post(f"{server.url}/chat/completions", json=body) as r:
        assert r.status == 400
        error = (await r.json())["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert param in error["message"]


async def test_invalid_json_gets_400(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """A body that is not JSON gets a 400 and is recorded with json None."""
    async with session.post(f"{server.url}/chat/completions", data=b"{nope") as r:
        assert r.status == 400
        assert (await r.json())["error"]["param"] is None
    assert server.requests[0].body == b"{nope"
    assert server.requests[0].json is None


async def test_azure_deployment_route(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """Azure deployment URLs need api-version; the model defaults to the deployment."""
    url = f"{server.origin}/openai/deployments/my-gpt/chat/completions"
    body = {"messages": [USER]}
    async with session.post(url, json=body, params={"api-version": "2024-10-21"}) as r:
        assert (await r.json())["model"] == "my-gpt"
    async with session.post(url, json=body) as r:
        assert r.status == 404
    assert server.requests[0].query == {"api-version": "2024-10-21"}


async def test_unknown_routes_get_an_openai_404(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """Other paths and methods get a JSON 404 and do not consume the script."""
    server.enqueue(Reply(status=503))
    async with session.get(f"{server.url}/chat/completions") as r:
        assert r.status == 404
        assert (await r.json())["error"]["message"] == "Invalid URL (GET /v1/chat/completions)"
    assert server.queued == 1


async def test_stream_frames(session: aiohttp.ClientSession, server: FakeOpenAIServer) -> None:
    """A stream sends a role chunk, one chunk per word, a finish chunk, then [DONE]."""
    chunks = chunks_of(await stream(session, server))
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas == [
        {"role": "assistant", "content": "", "refusal": None},
        {"content": "Hello"},
        {"content": " big"},
        {"content": " world"},
        {},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 4 + ["stop"]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["id"] for c in chunks} == {"chatcmpl-1"}
    assert all("usage" not in c for c in chunks)


async def test_stream_include_usage_and_join(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """include_usage adds a final chunk with no choices; joined content equals the reply."""
    options = {"stream_options": {"include_usage": True}, "max_tokens": 2}
    chunks = chunks_of(await stream(session, server, **options))
    completion = await create(session, server, max_tokens=2)
    *content_chunks, usage_chunk = chunks
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == completion["usage"]
    assert all(c["usage"] is None for c in content_chunks)
    joined = "".join(c["choices"][0]["delta"].get("content") or "" for c in content_chunks)
    assert joined == completion["choices"][0]["message"]["content"] == "Hello big"
    assert content_chunks[-1]["choices"][0]["finish_reason"] == "length"


async def test_stream_interleaves_choices(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """With n=2 the two choices' chunks alternate and each joins to the reply."""
    chunks = chunks_of(await stream(session, server, n=2))
    assert [c["choices"][0]["index"] for c in chunks] == [0, 1] * 5
    for index in (0, 1):
        text = "".join(
            c["choices"][0]["delta"].get("content") or ""
            for c in chunks
            if c["choices"][0]["index"] == index
        )
        assert text == "Hello big world"


async def test_stream_tool_call_fragments(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """A streamed tool call names the function first, then sends arguments in pieces."""
    chunks = chunks_of(await stream(session, server, tools=TOOLS, tool_choice="required"))
    first, *pieces, last = (c["choices"][0] for c in chunks)
    assert first["delta"]["tool_calls"] == [
        {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }
    ]
    args = "".join(p["delta"]["tool_calls"][0]["function"]["arguments"] for p in pieces)
    assert args == "{}"
    assert len(pieces) == 2
    assert last["finish_reason"] == "tool_calls"


async def test_stream_logprobs_per_chunk(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """Each content chunk carries the logprob of its token."""
    chunks = chunks_of(await stream(session, server, logprobs=True))
    tokens = [
        c["choices"][0]["logprobs"]["content"][0]["token"]
        for c in chunks
        if c["choices"][0]["logprobs"] is not None
    ]
    assert tokens == ["Hello", " big", " world"]


@given(text=st.text(max_size=40))
@settings(max_examples=25, deadline=None)
def test_stream_joins_to_the_reply_for_any_text(text: str) -> None:
    """For any user text, the joined stream equals the reply, the words joined by spaces."""
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    with FakeOpenAIServer.in_thread() as server:
        completion = json.loads(post_sync(f"{server.url}/chat/completions", body))
        raw = post_sync(f"{server.url}/chat/completions", {**body, "stream": True}).decode()
    frames = [json.loads(f[6:]) for f in raw.split("\n\n") if f and f != "data: [DONE]"]
    joined = "".join(f["choices"][0]["delta"].get("content") or "" for f in frames)
    assert joined == completion["choices"][0]["message"]["content"] == " ".join(text.split())


async def test_reply_with_status_and_headers(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """A scripted 429 carries its headers and error body; the queue then falls back."""
    server.enqueue(
        Reply.error(429, "Slow down", code="rate_limit_exceeded", headers={"retry-after-ms": "20"})
    )
    async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
        assert r.status == 429
        assert r.headers["retry-after-ms"] == "20"
        assert r.headers["x-request-id"] == "req_1"
        assert (await r.json())["error"]["code"] == "rate_limit_exceeded"
    assert (await create(session, server))["id"] == "chatcmpl-2"
    assert server.queued == 0


async def test_replies_are_consumed_in_order(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """Scripted items answer requests FIFO, skipping validation."""
    server.enqueue(Reply(status=500, body="a"), Reply(status=502, body="b"))
    statuses = []
    for _ in range(3):
        async with session.post(f"{server.url}/chat/completions", data=b"not json") as r:
            statuses.append((r.status, await r.text()))
    assert statuses[:2] == [(500, "a"), (502, "b")]
    assert statuses[2][0] == 400


async def test_reply_raw_bodies(session: aiohttp.ClientSession, server: FakeOpenAIServer) -> None:
    """HTML pages, truncated JSON and gzip-encoded bodies are sent as given."""
    encoded = gzip.compress(b'{"ok": true}')
    server.enqueue(
        Reply(status=502, body="<html>Bad gateway</html>", content_type="text/html"),
        Reply(body=b'{"id": "chatcmpl-'),
        Reply(body=encoded, headers={"content-encoding": "gzip"}),
    )
    url = f"{server.url}/chat/completions"
    async with session.post(url, json=BODY) as r:
        assert (r.status, r.content_type, await r.text()) == (
            502,
            "text/html",
            "<html>Bad gateway</html>",
        )
    async with session.post(url, json=BODY) as r:
        assert (r.content_type, await r.read()) == ("application/json", b'{"id": "chatcmpl-')
    async with session.post(url, json=BODY) as r:
        assert r.headers["content-length"] == str(len(encoded))
        assert await r.json() == {"ok": True}


def test_reply_takes_json_or_body() -> None:
    """A Reply with both a JSON and a raw body is rejected."""
    with pytest.raises(ValueError, match="not both"):
        Reply(json={}, body=b"")


async def test_set_default_replaces_the_echo(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """A custom default handler answers unscripted requests until it is removed."""
    seen: list[Any] = []

    def handler(request: Any) -> Reply:
        seen.append(request)
        return Reply(json={"custom": request["model"]})

    server.set_default(handler)
    assert await create(session, server) == {"custom": "gpt-4o-mini"}
    assert seen == [BODY]
    server.set_default(None)
    assert (await create(session, server))["object"] == "chat.completion"


async def test_stream_reply_event_kinds(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """Dicts become data frames, strings data lines, raw bytes go verbatim; no [DONE] here."""
    big = b"data: " + b"x" * 1_000_000 + b"\n\n"
    server.enqueue(
        StreamReply(
            events=[
                {"a": 1},
                "not json",
                RawBytes(b": comment\n\n"),
                b"event: error\ndata: {}\n\n",
                RawBytes(big),
            ],
            done=False,
            headers={"x-extra": "1"},
        )
    )
    async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
        assert r.headers["x-extra"] == "1"
        body = await r.read()
    assert body == (
        b'data: {"a":1}\n\ndata: not json\n\n: comment\n\nevent: error\ndata: {}\n\n' + big
    )


async def test_stream_reply_of_content(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """StreamReply.of_content builds well-formed chunks ending in [DONE]."""
    server.enqueue(StreamReply.of_content(["Hel", "lo"], finish_reason="length"))
    chunks = chunks_of(await stream(session, server))
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Hello"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


async def test_stream_abort_after_breaks_the_body(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """abort_after delivers that many events, then the chunked body breaks."""
    server.enqueue(StreamReply(events=[{"n": 1}, {"n": 2}], abort_after=1))
    async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
        assert r.status == 200
        assert await r.content.readline() == b'data: {"n":1}\n'
        with pytest.raises(aiohttp.ClientPayloadError):
            await r.read()
    assert server.disconnects == 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.drop(), aiohttp.ServerDisconnectedError),
        (Fault.drop(reset=True), aiohttp.ClientConnectionError),
    ],
)
async def test_drop_fails_before_any_response(
    session: aiohttp.ClientSession,
    server: FakeOpenAIServer,
    fault: Fault,
    error: type[Exception],
) -> None:
    """drop() closes (or resets) the connection before the status line."""
    server.enqueue(fault)
    with pytest.raises(error):
        await session.post(f"{server.url}/chat/completions", json=BODY)
    assert server.disconnects == 0
    assert (await create(session, server))["id"] == "chatcmpl-2"


async def test_reset_after_headers_breaks_the_body(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """reset_after_headers delivers status and headers, then the body read fails."""
    server.enqueue(Fault.reset_after_headers(status=200, headers={"x-a": "b"}))
    async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
        assert (r.status, r.headers["x-a"], r.headers["x-request-id"]) == (200, "b", "req_1")
        with pytest.raises(aiohttp.ClientPayloadError):
            await r.read()


async def test_partial_body_breaks_the_body(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """partial_body sends fewer bytes than Content-Length declares."""
    server.enqueue(Fault.partial_body(body=b'{"id": "x", "choi', declared_length=100))
    async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
        assert r.headers["content-length"] == "100"
        with pytest.raises(aiohttp.ClientPayloadError, match="received 17 of 100"):
            await r.read()
    with pytest.raises(ValueError, match="must exceed"):
        Fault.partial_body(body=b"abc", declared_length=3)


async def test_delay_headers_trips_a_read_timeout(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """delay_headers outlasts a short read timeout; the server sees the client leave."""
    server.enqueue(Fault.delay_headers(5.0))
    timeout = aiohttp.ClientTimeout(sock_read=0.05)
    with pytest.raises(asyncio.TimeoutError):
        await session.post(f"{server.url}/chat/completions", json=BODY, timeout=timeout)
    assert await server.wait_for_disconnects(1, timeout=2.0) == 1


async def test_delay_headers_then_replies(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """After the delay comes `then`, or the default reply."""
    server.enqueue(Fault.delay_headers(0.01, then=Reply(status=418)), Fault.delay_headers(0.01))
    async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
        assert r.status == 418
    assert (await create(session, server))["choices"][0]["message"]["content"] == "Hello big world"


async def test_trickle_sends_the_whole_body_slowly(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """trickle delivers the full body; a shorter idle timeout fires mid-body."""
    server.enqueue(
        Fault.trickle(b'{"ok": 1}', chunk_size=3, interval=0.01),
        Fault.trickle(b"0123456789", interval=1.0),
    )
    async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
        assert await r.json() == {"ok": 1}
    timeout = aiohttp.ClientTimeout(sock_read=0.05)
    url = f"{server.url}/chat/completions"
    async with session.post(url, json=BODY, timeout=timeout) as r:
        with pytest.raises(asyncio.TimeoutError):
            await r.read()
    assert await server.wait_for_disconnects(1) == 1


def test_fault_reprs_name_the_factory() -> None:
    """Faults print as the factory call that made them."""
    assert repr(Fault.drop()) == "Fault.drop(reset=False)"
    assert repr(Fault.delay_headers(1.5)) == "Fault.delay_headers(seconds=1.5, then=None)"


async def test_requests_are_recorded(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """Each request is kept with method, path, query, headers, raw body and JSON."""
    async with session.post(
        f"{server.url}/chat/completions?x=1", json=BODY, headers={"X-Custom": "yes"}
    ) as r:
        await r.read()
    (recorded,) = server.requests
    assert (recorded.method, recorded.path, dict(recorded.query)) == (
        "POST",
        "/v1/chat/completions",
        {"x": "1"},
    )
    assert recorded.headers["x-custom"] == "yes"
    assert json.loads(recorded.body) == BODY
    assert recorded.json == BODY
    server.reset()
    assert server.requests == []


async def test_records_nothing_when_recording_is_off(session: aiohttp.ClientSession) -> None:
    """record=False keeps memory flat for load tests."""
    async with FakeOpenAIServer(record=False) as server:
        await create(session, server)
        assert server.requests == []


async def test_disconnect_counted_when_client_leaves_a_stream(
    session: aiohttp.ClientSession, server: FakeOpenAIServer
) -> None:
    """Leaving a slow stream early is counted; finished responses are not."""
    await create(session, server)
    await stream(session, server)
    server.enqueue(StreamReply(events=[{"n": i} for i in range(100)], delay_between=0.02))
    async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
        assert await r.content.readline() == b'data: {"n":0}\n'
    assert await server.wait_for_disconnects(1) == 1
    assert server.disconnects == 1


async def test_wait_for_disconnects_times_out(server: FakeOpenAIServer) -> None:
    """Waiting for a disconnect that never happens raises TimeoutError."""
    with pytest.raises(TimeoutError, match="expected 1 client disconnect"):
        await server.wait_for_disconnects(1, timeout=0.05)


async def test_active_connections_drop_to_zero(server: FakeOpenAIServer) -> None:
    """The server tracks open keep-alive connections until the client closes them."""
    async with aiohttp.ClientSession() as client:
        await create(client, server)
        assert server.active_connections == 1
    with anyio.fail_after(2):
        while server.active_connections:  # noqa: ASYNC110 - a count to poll, not an event
            await anyio.sleep(0.005)


async def test_close_does_not_wait_for_slow_handlers(session: aiohttp.ClientSession) -> None:
    """Shutdown cancels an in-flight delayed reply quickly and does not count it."""
    server = FakeOpenAIServer(shutdown_timeout=0.05)
    await server.start()
    arrived = anyio.Event()

    def slow(request: Any) -> Reply:
        arrived.set()
        return Reply(delay=30)

    server.set_default(slow)
    request = asyncio.ensure_future(session.post(f"{server.url}/chat/completions", json=BODY))
    with anyio.fail_after(2):
        await arrived.wait()
        await server.close()
    await server.close()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await request
    assert server.disconnects == 0
    assert "not started" not in repr(server)


def post_sync(url: str, body: object, headers: dict[str, str] | None = None) -> bytes:
    """POSTs JSON with urllib and returns the body (HTTPError for 4xx/5xx)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        data: bytes = response.read()
    return data


def test_threaded_server_from_sync_code() -> None:
    """The threaded server works from plain sync code and stops its thread on exit."""
    with FakeOpenAIServer.in_thread(api_key="sk-t") as server:
        url = f"{server.url}/chat/completions"
        auth = {"Authorization": "Bearer sk-t"}
        reply = json.loads(post_sync(url, BODY, auth))
        assert reply["choices"][0]["message"]["content"] == "Hello big world"
        server.enqueue(Reply(status=503, body="down"))
        with pytest.raises(urllib.error.HTTPError) as info:
            post_sync(url, BODY, auth)
        assert info.value.code == 503
        info.value.close()
        assert [r.path for r in server.requests] == ["/v1/chat/completions"] * 2
        assert server.queued == 0
        thread_names = {t.name for t in threading.enumerate()}
        assert "gpt_async-fake-openai" in thread_names
    assert "gpt_async-fake-openai" not in {t.name for t in threading.enumerate()}


def test_threaded_server_counts_disconnects() -> None:
    """The threaded server's blocking wait sees a sync client give up."""
    with ThreadedFakeOpenAIServer() as server:
        server.enqueue(Fault.delay_headers(5))
        with pytest.raises(TimeoutError):
            post_sync_with_timeout(f"{server.url}/chat/completions", 0.05)
        assert server.wait_for_disconnects(1, timeout=2) == 1
        server.reset()
        assert server.disconnects == 0


def post_sync_with_timeout(url: str, timeout: float) -> None:
    """POSTs BODY with a short socket timeout."""
    request = urllib.request.Request(
        url, data=json.dumps(BODY).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout):
        pass


async def test_async_fixture(
    session: aiohttp.ClientSession, openai_server: FakeOpenAIServer
) -> None:
    """The plugin's openai_server fixture is a started server."""
    assert (await create(session, openai_server))["object"] == "chat.completion"


def test_thread_fixture(openai_server_thread: ThreadedFakeOpenAIServer) -> None:
    """The plugin's openai_server_thread fixture is a started threaded server."""
    reply = json.loads(post_sync(f"{openai_server_thread.url}/chat/completions", BODY))
    assert reply["object"] == "chat.completion"
