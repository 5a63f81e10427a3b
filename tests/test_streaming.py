"""Chunk streams against the testing server: iteration, usage, folding, faults and shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest

from gpt_async import AsyncGpt, AsyncStream, Gpt, RetryConfig, Timeout
from gpt_async.models import components, errors
from gpt_async.testing import FakeOpenAIServer, RawBytes, StreamReply, ThreadedFakeOpenAIServer

KEY = "sk-stream"
USER = [{"role": "user", "content": "one two three four"}]
NO_WAIT = RetryConfig(backoff_scale=0)


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server."""
    async with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
async def client(server: FakeOpenAIServer) -> AsyncIterator[AsyncGpt]:
    """A client of ``server`` whose retries never sleep."""
    async with AsyncGpt(api_key_auth=KEY, server_url=server.url, retry_config=NO_WAIT) as c:
        yield c


@pytest.fixture(scope="module")
def thread_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A testing server on its own thread, for the sync client."""
    with ThreadedFakeOpenAIServer() as srv:
        yield srv


def chunk(delta: dict[str, Any], *, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """One chat.completion.chunk with a single choice."""
    return {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **extra}],
    }


def text_of(chunks: list[components.ChatCompletionChunk]) -> str:
    """The joined content of choice 0 (skipping the usage chunk's empty choices)."""
    return "".join(c.delta.content or "" for ch in chunks for c in ch.choices if c.index == 0)


# ---------------------------------------------------------------- iteration and usage


@pytest.mark.anyio
async def test_async_stream_yields_chunks(client: AsyncGpt) -> None:
    """create(stream=True) returns an AsyncStream whose deltas join to the reply."""
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    assert isinstance(stream, AsyncStream)
    async with stream:
        chunks = [c async for c in stream]
    assert text_of(chunks) == "one two three four"
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.anyio
async def test_usage_chunk_has_empty_choices(client: AsyncGpt) -> None:
    """With include_usage the last chunk carries usage and no choices."""
    async with client.chat.completions.stream(
        model="m", messages=USER, stream_options={"include_usage": True}
    ) as stream:
        chunks = [c async for c in stream]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (4, 4)
    assert all(c.usage is None for c in chunks[:-1])


@pytest.mark.anyio
async def test_seed_style_stream_wrapper(client: AsyncGpt) -> None:
    """create_chat_completion with request.stream = True returns the wrapper carrying the stream."""
    request = components.CreateChatCompletionRequest(
        messages=[components.ChatCompletionRequestUserMessage(content="seed stream")], model="m"
    )
    request.stream = True
    res = await client.chat.create_chat_completion(request)
    assert res.create_chat_completion_response is None
    assert isinstance(res.stream, AsyncStream)
    assert res.content_type.startswith("text/event-stream")
    async with res.stream as stream:
        assert text_of([c async for c in stream]) == "seed stream"


@pytest.mark.anyio
async def test_final_completion_equals_unstreamed(client: AsyncGpt) -> None:
    """get_final_completion() folds the stream into what the unstreamed call returns."""
    kwargs: dict[str, Any] = {"model": "m", "messages": USER, "logprobs": True, "n": 2}
    plain = await client.chat.completions.create(**kwargs)
    async with client.chat.completions.stream(
        **kwargs, stream_options={"include_usage": True}
    ) as stream:
        first = await stream.__anext__()
        folded = await stream.get_final_completion()
    assert first.choices
    assert folded.choices == plain.choices
    assert folded.usage == plain.usage
    assert (folded.model, folded.system_fingerprint) == (plain.model, plain.system_fingerprint)


@pytest.mark.anyio
async def test_tool_calls_assemble_from_fragments(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """Interleaved fragments of two tool calls are assembled by index."""
    fn = "function"
    server.enqueue(
        StreamReply(
            events=[
                chunk({"role": "assistant", "content": None}),
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "a",
                                "type": fn,
                                "function": {"name": "f", "arguments": ""},
                            }
                        ]
                    }
                ),
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 1,
                                "id": "b",
                                "type": fn,
                                "function": {"name": "g", "arguments": ""},
                            }
                        ]
                    }
                ),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x"'}}]}),
                chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"y": 2}'}}]}),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
                chunk({}, finish="tool_calls"),
            ]
        )
    )
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    final = await stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
        ("a", "f", '{"x": 1}'),
        ("b", "g", '{"y": 2}'),
    ]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.choices[0].message.content is None


@pytest.mark.anyio
async def test_refusal_and_unknown_fields_fold(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """Refusal deltas join; unknown chunk keys stay readable in extra."""
    server.enqueue(
        StreamReply(
            events=[
                chunk({"role": "assistant", "refusal": "I can"}, timings={"n": 1}),
                chunk({"refusal": "not."}),
                chunk({}, finish="stop"),
            ]
        )
    )
    async with client.chat.completions.stream(model="m", messages=USER) as stream:
        first = await stream.__anext__()
        final = await stream.get_final_completion()
    assert first.choices[0].extra == {"timings": {"n": 1}}
    assert final.choices[0].message.refusal == "I cannot."


# ---------------------------------------------------------------- faults


@pytest.mark.anyio
async def test_error_event_raises_sdk_error(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """An ``event: error`` mid-stream raises the SDKError family with the parsed body."""
    body = b'{"error": {"message": "overloaded", "type": "server_error", "code": 529}}'
    server.enqueue(
        StreamReply(
            events=[chunk({"content": "a"}), RawBytes(b"event: error\ndata: " + body + b"\n\n")]
        )
    )
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(errors.SDKError) as info:
        async for _ in stream:
            pass
    assert info.value.message == "overloaded"
    assert info.value.type == "server_error"
    assert len(server.requests) == 1  # never retried once a chunk was delivered


@pytest.mark.anyio
async def test_error_payload_raises_status_class(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """A ``{"error": ...}`` data payload with an HTTP-like code picks that status's class."""
    server.enqueue(StreamReply(events=[{"error": {"message": "slow down", "code": 429}}]))
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(errors.RateLimitError, match="slow down"):
        await stream.get_final_completion()


@pytest.mark.anyio
async def test_missing_done_is_incomplete(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A body that ends without [DONE] raises IncompleteStreamError after the chunks."""
    server.enqueue(StreamReply.of_content(["a", "b"], done=False))
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(errors.IncompleteStreamError):
        await stream.get_final_completion()
    assert text_of(stream.chunks) == "ab"


@pytest.mark.anyio
async def test_broken_body_is_connection_error(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A connection closed mid-stream raises APIConnectionError and is not retried."""
    server.enqueue(StreamReply.of_content(["a", "b", "c"], abort_after=2))
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(errors.APIConnectionError):
        await stream.get_final_completion()
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_bad_json_is_stream_decode_error(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A data line that is not JSON raises StreamDecodeError; comments are ignored."""
    server.enqueue(StreamReply(events=[RawBytes(b": keep-alive\n\n"), "{not json"]))
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(errors.StreamDecodeError, match="not valid JSON"):
        await stream.get_final_completion()


@pytest.mark.anyio
async def test_idle_gap_is_read_timeout(server: FakeOpenAIServer) -> None:
    """A gap between chunks longer than the read timeout raises APITimeoutError."""
    server.enqueue(StreamReply.of_content(["a", "b"], delay_between=1.0))
    async with AsyncGpt(api_key=KEY, server_url=server.url, timeout=Timeout(read=0.2)) as c:
        stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
        with pytest.raises(errors.APITimeoutError):
            await stream.get_final_completion()
        assert len(server.requests) == 1
        assert c.pool_size() == 0


@pytest.mark.anyio
async def test_total_deadline_bounds_stream(server: FakeOpenAIServer) -> None:
    """The total deadline also bounds reading a stream whose gaps stay under the read timeout."""
    server.enqueue(StreamReply.of_content(["x"] * 20, delay_between=0.1))
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:
        stream = await c.chat.completions.create(
            model="m", messages=USER, stream=True, timeout=Timeout(read=5, total=0.5)
        )
        with pytest.raises(errors.APITimeoutError, match="total"):
            await stream.get_final_completion()
        assert c.pool_size() == 0


@pytest.mark.anyio
async def test_status_error_before_stream_is_retried(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """A 503 before the stream starts is retried like any call."""
    from gpt_async.testing import Reply

    server.enqueue(Reply.error(503, "warming up"))
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    final = await stream.get_final_completion()
    assert final.choices[0].message.content == "one two three four"
    assert len(server.requests) == 2


# ---------------------------------------------------------------- shutdown


async def _long_stream(server: FakeOpenAIServer) -> None:
    server.enqueue(StreamReply.of_content([f"w{i} " for i in range(200)], delay_between=0.02))


@pytest.mark.anyio
async def test_break_in_context_manager_closes(server: FakeOpenAIServer) -> None:
    """Breaking out of the loop inside ``async with`` drops the connection at once."""
    await _long_stream(server)
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:
        async with c.chat.completions.stream(model="m", messages=USER) as stream:
            async for _ in stream:
                break
        assert await server.wait_for_disconnects(1) == 1
        assert c.pool_size() == 0
        completion = await c.chat.completions.create(model="m", messages=USER)
        assert completion.choices[0].message.content == "one two three four"


@pytest.mark.anyio
async def test_exception_in_context_manager_closes(server: FakeOpenAIServer) -> None:
    """An exception that leaves the context manager early closes the response."""
    await _long_stream(server)
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:

        async def fail_midway() -> None:
            async with await c.chat.completions.create(model="m", messages=USER, stream=True) as s:
                async for _ in s:
                    raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            await fail_midway()
        await server.wait_for_disconnects(1)
        assert c.pool_size() == 0


@pytest.mark.anyio
async def test_anyio_cancel_scope_closes(server: FakeOpenAIServer) -> None:
    """Cancelling the reading task with an anyio cancel scope closes the response."""
    await _long_stream(server)
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:
        stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
        with anyio.move_on_after(0.2):
            async for _ in stream:
                pass
        await server.wait_for_disconnects(1)
        assert c.pool_size() == 0


@pytest.mark.anyio
async def test_asyncio_task_cancel_closes(server: FakeOpenAIServer) -> None:
    """asyncio task cancellation during iteration closes the response."""
    await _long_stream(server)
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:

        async def consume() -> None:
            async with c.chat.completions.stream(model="m", messages=USER) as stream:
                async for _ in stream:
                    pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.wait_for_disconnects(1)
        assert c.pool_size() == 0


# ---------------------------------------------------------------- sync


def test_sync_stream_break_closes(thread_server: ThreadedFakeOpenAIServer) -> None:
    """Leaving a sync stream's ``with`` early closes the connection through the portal."""
    thread_server.reset()
    thread_server.enqueue(StreamReply.of_content(["w "] * 200, delay_between=0.02))
    with Gpt(api_key_auth=KEY, server_url=thread_server.url) as c:
        with c.chat.completions.stream(model="m", messages=USER) as stream:
            for _ in stream:
                break
        assert thread_server.wait_for_disconnects(1) == 1
        assert c.pool_size() == 0


def test_sync_stream_faults_are_typed(thread_server: ThreadedFakeOpenAIServer) -> None:
    """A sync stream raises the same typed errors as the async one."""
    thread_server.reset()
    thread_server.enqueue(StreamReply.of_content(["a"], done=False))
    with Gpt(api_key_auth=KEY, server_url=thread_server.url) as c:
        stream = c.chat.completions.create(model="m", messages=USER, stream=True)
        with pytest.raises(errors.IncompleteStreamError):
            list(stream)


def test_sync_final_completion(thread_server: ThreadedFakeOpenAIServer) -> None:
    """The sync stream's get_final_completion folds like the async one."""
    thread_server.reset()
    with Gpt(api_key_auth=KEY, server_url=thread_server.url) as c:
        stream = c.chat.completions.create(model="m", messages=USER, stream=True)
        final = stream.get_final_completion()
        plain = c.chat.completions.create(model="m", messages=USER)
    assert final.choices == plain.choices


def test_ctrl_c_during_sync_stream_closes(interrupt: Callable[..., str]) -> None:
    """SIGINT while iterating a sync stream in ``with`` raises KeyboardInterrupt and drops it."""
    code = """
    import gpt_async
    from gpt_async.testing import ThreadedFakeOpenAIServer, StreamReply
    with ThreadedFakeOpenAIServer() as srv:
        srv.enqueue(StreamReply.of_content(["w "] * 2000, delay_between=0.01))
        client = gpt_async.Gpt(api_key_auth="k", server_url=srv.url)
        try:
            with client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "x"}], stream=True) as s:
                for i, _ in enumerate(s):
                    if i == 1:
                        print("streaming", flush=True)
        except KeyboardInterrupt:
            print("interrupted", srv.wait_for_disconnects(1, timeout=5), client.pool_size(),
                  flush=True)
        client.close()
    """
    out = interrupt(code, "streaming")
    assert out.split() == ["interrupted", "1", "0"]
