"""AsyncGpt against the testing server on 127.0.0.1: calls, errors, retries, timeouts, hooks."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest

import gpt_async
from gpt_async import AsyncGpt, Hooks, RetryConfig, Timeout
from gpt_async.models import components, errors
from gpt_async.testing import FakeOpenAIServer, Fault, Reply

pytestmark = pytest.mark.anyio

KEY = "sk-test-SECRET-0123456789"
NO_WAIT = RetryConfig(backoff_scale=0)
USER = [{"role": "user", "content": "hello world"}]


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server that requires ``KEY``."""
    async with FakeOpenAIServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
async def client(server: FakeOpenAIServer) -> AsyncIterator[AsyncGpt]:
    """A client of ``server`` whose retries never sleep."""
    async with AsyncGpt(api_key_auth=KEY, server_url=server.url, retry_config=NO_WAIT) as c:
        yield c


# ---------------------------------------------------------------- calls


async def test_seed_call_through_async_client(
    client: AsyncGpt, server: FakeOpenAIServer, seed_request: components.CreateChatCompletionRequest
) -> None:
    """The seed's create_chat_completion returns the wrapper with a parsed completion."""
    res = await client.chat.create_chat_completion(seed_request)
    assert res.status_code == 200
    assert res.content_type.startswith("application/json")
    assert res.raw_response.headers["x-request-id"].startswith("req_")
    assert res.create_chat_completion_response is not None
    assert res.create_chat_completion_response.model == "gpt-3.5-turbo"
    assert server.requests[-1].json == {
        "messages": [{"content": "string", "tool_call_id": "string", "role": "tool"}],
        "model": "gpt-3.5-turbo",
        "n": 1,
        "temperature": 1,
        "top_p": 1,
        "user": "user-1234",
    }


async def test_keyword_create_returns_completion(client: AsyncGpt) -> None:
    """create() echoes the last user message with usage counted in words."""
    completion = await client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert completion.choices[0].message.content == "hello world"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (2, 2)


async def test_request_carries_standard_headers(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """Authorization, Content-Type and a User-Agent naming gpt_async are sent."""
    await client.chat.completions.create(model="m", messages=USER)
    headers = server.requests[-1].headers
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith(f"gpt_async/{gpt_async.__version__}")


async def test_unset_fields_are_not_sent(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """Only what the caller set is in the body; an explicit None is sent as null."""
    await client.chat.completions.create(model="m", messages=USER, temperature=None, seed=7)
    assert server.requests[-1].json == {
        "model": "m",
        "messages": USER,
        "temperature": None,
        "seed": 7,
    }


async def test_extra_headers_query_and_body(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """Per-call extra headers, query parameters and body fields reach the server."""
    await client.chat.completions.create(
        model="m",
        messages=USER,
        extra_headers={"X-Trace": "abc"},
        extra_query={"debug": "1"},
        extra_body={"cache_prompt": False},
    )
    recorded = server.requests[-1]
    assert recorded.headers["X-Trace"] == "abc"
    assert recorded.query["debug"] == "1"
    assert recorded.json["cache_prompt"] is False


async def test_client_options_become_headers_and_query(server: FakeOpenAIServer) -> None:
    """organization, project, default headers and default query are sent on every call."""
    async with AsyncGpt(
        api_key=KEY,
        server_url=server.url,
        organization="org-1",
        project="proj-1",
        default_headers={"X-App": "tests"},
        default_query={"tenant": "t1"},
    ) as c:
        await c.chat.completions.create(model="m", messages=USER)
    recorded = server.requests[-1]
    assert recorded.headers["OpenAI-Organization"] == "org-1"
    assert recorded.headers["OpenAI-Project"] == "proj-1"
    assert recorded.headers["X-App"] == "tests"
    assert recorded.query == {"tenant": "t1"}


async def test_key_and_url_fall_back_to_environment(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OPENAI_API_KEY and OPENAI_BASE_URL are used when no option is given."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    async with AsyncGpt() as c:
        completion = await c.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "hello world"


async def test_key_callable_is_called_per_request(server: FakeOpenAIServer) -> None:
    """A key callable (sync or async) is asked before every request, for rotation."""
    calls: list[str] = []

    async def rotating_key() -> str:
        calls.append("async")
        return KEY

    async with AsyncGpt(api_key_auth=rotating_key, server_url=server.url) as c:
        await c.chat.completions.create(model="m", messages=USER)
        await c.chat.completions.create(model="m", messages=USER)
    async with AsyncGpt(api_key_auth=lambda: KEY, server_url=server.url) as c:
        await c.chat.completions.create(model="m", messages=USER)
    assert calls == ["async", "async"]
    assert len(server.requests) == 3


async def test_azure_configuration(server: FakeOpenAIServer) -> None:
    """AsyncGpt.azure sends to the deployment path with api-version and the api-key header."""
    async with AsyncGpt.azure(
        endpoint=server.origin, deployment="my-gpt", api_version="2024-10-21", api_key=KEY
    ) as c:
        completion = await c.chat.completions.create(model="ignored", messages=USER)
    recorded = server.requests[-1]
    assert completion.choices[0].message.content == "hello world"
    assert recorded.path == "/openai/deployments/my-gpt/chat/completions"
    assert recorded.query == {"api-version": "2024-10-21"}
    assert recorded.headers["api-key"] == KEY
    assert "Authorization" not in recorded.headers


async def test_injected_session_is_used_and_left_open(server: FakeOpenAIServer) -> None:
    """A caller's aiohttp session carries the requests and is not closed by the client."""
    async with aiohttp.ClientSession() as session:
        async with AsyncGpt(api_key=KEY, server_url=server.url, session=session) as c:
            await c.chat.completions.create(model="m", messages=USER)
        assert not session.closed
        assert len(server.requests) == 1


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (422, errors.UnprocessableEntityError),
        (429, errors.RateLimitError),
        (500, errors.InternalServerError),
        (503, errors.InternalServerError),
        (418, errors.SDKError),
    ],
)
async def test_status_maps_to_error_class(
    server: FakeOpenAIServer, status: int, cls: type[errors.SDKError]
) -> None:
    """Each 4xx/5xx status raises its SDKError subclass with the parsed OpenAI error."""
    server.enqueue(Reply.error(status, "it broke", code="broken", param="messages"))
    async with AsyncGpt(api_key=KEY, server_url=server.url, max_retries=0) as c:
        with pytest.raises(cls) as info:
            await c.chat.completions.create(model="m", messages=USER)
    err = info.value
    assert type(err) is cls
    assert isinstance(err, errors.SDKError)
    assert (err.status_code, err.message, err.code, err.param) == (
        status,
        "it broke",
        "broken",
        "messages",
    )
    assert err.type == "invalid_request_error"
    assert err.request_id is not None
    assert err.request_id.startswith("req_")
    assert err.raw_response is not None
    assert "it broke" in err.body


async def test_integer_error_code_is_tolerated(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A llama.cpp-style error body with an integer code parses into the error."""
    server.enqueue(Reply(status=400, json={"error": {"code": 400, "message": "bad", "type": "x"}}))
    with pytest.raises(errors.BadRequestError) as info:
        await client.chat.completions.create(model="m", messages=USER)
    assert (info.value.code, info.value.message, info.value.param) == ("400", "bad", None)


async def test_wrong_key_is_authentication_error(server: FakeOpenAIServer) -> None:
    """The server's 401 for a wrong key surfaces as AuthenticationError, key not in its text."""
    async with AsyncGpt(api_key="sk-wrong-key-XYZ", server_url=server.url) as c:
        with pytest.raises(errors.AuthenticationError) as info:
            await c.chat.completions.create(model="m", messages=USER)
    assert "sk-wrong-key-XYZ" not in str(info.value)
    assert "sk-wrong-key-XYZ" not in repr(info.value.raw_response)


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (Reply(body="<html>502 Bad Gateway</html>", content_type="text/html"), "Content-Type"),
        (Reply(body=b'{"id": "x", "choi', content_type="application/json"), "not valid JSON"),
        (Reply(body=b"", content_type="application/json"), "empty"),
        (Reply(json={"object": "list"}), "choices"),
    ],
)
async def test_bad_success_body_is_validation_error(
    client: AsyncGpt, server: FakeOpenAIServer, reply: Reply, match: str
) -> None:
    """A 2xx body that is not a chat completion raises APIResponseValidationError, unretried."""
    server.enqueue(reply)
    with pytest.raises(errors.APIResponseValidationError, match=match):
        await client.chat.completions.create(model="m", messages=USER)
    assert len(server.requests) == 1


async def test_connection_refused_is_connection_error() -> None:
    """Nothing listening on the port raises APIConnectionError after the retries."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AsyncGpt(
        api_key=KEY, server_url=f"http://127.0.0.1:{port}/v1", retry_config=NO_WAIT
    ) as c:
        with pytest.raises(errors.APIConnectionError, match="cannot connect"):
            await c.chat.completions.create(model="m", messages=USER)


async def test_bad_input_fails_before_any_request(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """A malformed request raises RequestValidationError naming the field; nothing is sent."""
    with pytest.raises(errors.RequestValidationError) as info:
        await client.chat.completions.create(model="m", messages=[{"role": "tool", "content": "x"}])
    assert info.value.path == "messages[0].tool_call_id"
    with pytest.raises(errors.RequestValidationError, match="messages"):
        await client.chat.completions.create(model="m", messages=[])
    assert server.requests == []


# ---------------------------------------------------------------- retries


async def test_retry_after_ms_is_honoured(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A 429 with retry-after-ms is retried and the second answer returned."""
    server.enqueue(Reply.error(429, "slow down", headers={"retry-after-ms": "5"}))
    completion = await client.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "hello world"
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_retryable_status_then_success(
    client: AsyncGpt, server: FakeOpenAIServer, status: int
) -> None:
    """408, 409, 429 and 5xx are retried."""
    server.enqueue(Reply.error(status, "transient"))
    await client.chat.completions.create(model="m", messages=USER)
    assert len(server.requests) == 2


async def test_retry_after_seconds_and_http_date_are_waited(server: FakeOpenAIServer) -> None:
    """retry-after in seconds and as an HTTP date delay the retry by about that long."""
    past = email.utils.formatdate(time.time() - 5, usegmt=True)
    server.enqueue(
        Reply.error(503, "a", headers={"retry-after": "0.2"}),
        Reply.error(503, "b", headers={"retry-after": past}),
    )
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:
        started = time.monotonic()
        await c.chat.completions.create(model="m", messages=USER)
        waited = time.monotonic() - started
    assert len(server.requests) == 3
    assert waited >= 0.2  # the seconds form was honoured; the past date meant "now"


async def test_absurd_retry_after_is_not_retried(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """A retry-after beyond the cap surfaces the error at once instead of sleeping."""
    server.enqueue(Reply.error(429, "come back tomorrow", headers={"retry-after": "86400"}))
    with pytest.raises(errors.RateLimitError):
        await client.chat.completions.create(model="m", messages=USER)
    assert len(server.requests) == 1


async def test_x_should_retry_overrides_status(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """x-should-retry: true retries a 400; false stops a 503 from being retried."""
    server.enqueue(Reply.error(400, "retry me", headers={"x-should-retry": "true"}))
    await client.chat.completions.create(model="m", messages=USER)
    assert len(server.requests) == 2
    server.enqueue(Reply.error(503, "do not", headers={"x-should-retry": "false"}))
    with pytest.raises(errors.InternalServerError):
        await client.chat.completions.create(model="m", messages=USER)
    assert len(server.requests) == 3


async def test_retries_are_bounded(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """After max_retries the last error is raised; per-call retries override the client's."""
    server.enqueue(*[Reply.error(500, f"fail {i}") for i in range(3)])
    with pytest.raises(errors.InternalServerError, match="fail 2"):
        await client.chat.completions.create(model="m", messages=USER)
    assert len(server.requests) == 3
    server.enqueue(Reply.error(500, "once"))
    with pytest.raises(errors.InternalServerError):
        await client.chat.completions.create(model="m", messages=USER, retries=0)
    assert len(server.requests) == 4


async def test_dropped_connection_is_retried(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A connection dropped before the headers is a connection error, retried."""
    server.enqueue(Fault.drop())
    completion = await client.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "hello world"


async def test_connection_errors_not_retried_when_disabled(server: FakeOpenAIServer) -> None:
    """retry_connection_errors=False raises the first connection error."""
    server.enqueue(Fault.drop())
    config = RetryConfig(backoff_scale=0, retry_connection_errors=False)
    async with AsyncGpt(api_key=KEY, server_url=server.url, retry_config=config) as c:
        with pytest.raises(errors.APIConnectionError):
            await c.chat.completions.create(model="m", messages=USER)
    assert server.queued == 0


# ---------------------------------------------------------------- timeouts


async def test_read_timeout_on_slow_headers(server: FakeOpenAIServer) -> None:
    """Headers slower than the read timeout raise APITimeoutError."""
    server.enqueue(Fault.delay_headers(2.0))
    async with AsyncGpt(
        api_key=KEY, server_url=server.url, timeout=Timeout(read=0.2), max_retries=0
    ) as c:
        with pytest.raises(errors.APITimeoutError):
            await c.chat.completions.create(model="m", messages=USER)
        await server.wait_for_disconnects(1)


async def test_total_timeout_spans_retries(server: FakeOpenAIServer) -> None:
    """The total deadline stops a call whose attempts each stay within the read timeout."""
    server.enqueue(
        *[Reply(status=500, json={"error": {"message": "slow"}}, delay=0.15) for _ in range(10)]
    )
    config = RetryConfig(max_retries=10, initial_interval=0.05, jitter=0)
    async with AsyncGpt(api_key=KEY, server_url=server.url, retry_config=config) as c:
        with pytest.raises(errors.APITimeoutError, match="total"):
            await c.chat.completions.create(
                model="m", messages=USER, timeout=Timeout(read=1, total=0.5)
            )
    assert 2 <= len(server.requests) < 10


async def test_connect_timeout() -> None:
    """A server that never accepts (full backlog) raises APITimeoutError on connect."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):  # fill the accept backlog so further SYNs are dropped
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        await anyio.sleep(0.05)
        async with AsyncGpt(
            api_key=KEY,
            server_url=f"http://127.0.0.1:{port}/v1",
            timeout=Timeout(connect=0.3, read=5),
            max_retries=0,
        ) as c:
            with pytest.raises(errors.APITimeoutError, match="connect"):
                await c.chat.completions.create(model="m", messages=USER)
    finally:
        for s in fillers:
            s.close()
        listener.close()


async def test_timeout_frees_the_connection(server: FakeOpenAIServer) -> None:
    """After a read timeout the pool holds no connection in use and the client still works."""
    server.enqueue(Fault.delay_headers(2.0))
    async with AsyncGpt(api_key=KEY, server_url=server.url, timeout=0.2, max_retries=0) as c:
        with pytest.raises(errors.APITimeoutError):
            await c.chat.completions.create(model="m", messages=USER)
        assert c.pool_size() == 0
        await c.chat.completions.create(model="m", messages=USER)
        assert c.pool_size() == 1


# ---------------------------------------------------------------- hooks and logging


async def test_hooks_see_and_change_requests(server: FakeOpenAIServer) -> None:
    """before_request can add headers; after_success and after_error see each attempt."""
    seen: list[Any] = []

    def add_trace(request: gpt_async.HTTPRequest) -> None:
        request.headers["X-Trace-Id"] = "t-1"

    async def on_success(request: gpt_async.HTTPRequest, response: gpt_async.RawResponse) -> None:
        seen.append(("ok", response.status_code))

    def on_error(request: gpt_async.HTTPRequest, error: gpt_async.GptAsyncError) -> None:
        seen.append(("error", type(error).__name__))

    hooks = Hooks(before_request=[add_trace], after_success=[on_success], after_error=[on_error])
    server.enqueue(Reply.error(500, "once"))
    async with AsyncGpt(api_key=KEY, server_url=server.url, hooks=hooks, retry_config=NO_WAIT) as c:
        await c.chat.completions.create(model="m", messages=USER)
    assert seen == [("error", "InternalServerError"), ("ok", 200)]
    assert all(r.headers["X-Trace-Id"] == "t-1" for r in server.requests)


async def test_hook_can_rewrite_auth(server: FakeOpenAIServer) -> None:
    """A before_request hook can supply the Authorization header itself."""

    def auth(request: gpt_async.HTTPRequest) -> None:
        request.headers["Authorization"] = f"Bearer {KEY}"

    async with AsyncGpt(
        api_key="placeholder", server_url=server.url, hooks=Hooks(before_request=[auth])
    ) as c:
        completion = await c.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "hello world"


async def test_debug_log_redacts_key(
    client: AsyncGpt, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Each attempt is logged at DEBUG, and the key appears in no log line."""
    server.enqueue(Reply.error(500, "once"))
    with caplog.at_level(logging.DEBUG, logger="gpt_async"):
        await client.chat.completions.create(model="m", messages=USER)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert text.count("POST ") == 2
    assert "retrying" in text
    assert KEY not in text
    assert KEY[-6:] not in text


# ---------------------------------------------------------------- lifecycle


async def test_repr_hides_key(client: AsyncGpt) -> None:
    """The client's repr names the server, never the key."""
    assert KEY not in repr(client)
    assert "server_url" in repr(client)


async def test_closed_client_raises(server: FakeOpenAIServer) -> None:
    """A closed client raises ClientStateError; aclose is idempotent."""
    c = AsyncGpt(api_key=KEY, server_url=server.url)
    await c.chat.completions.create(model="m", messages=USER)
    await c.aclose()
    await c.aclose()
    assert c.is_closed
    with pytest.raises(errors.ClientStateError, match="closed"):
        await c.chat.completions.create(model="m", messages=USER)


async def test_client_bound_to_other_loop_raises(server: FakeOpenAIServer) -> None:
    """Using a client from a second event loop raises instead of hanging."""
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:
        await c.chat.completions.create(model="m", messages=USER)

        def other_loop() -> None:
            asyncio.run(c.chat.completions.create(model="m", messages=USER))

        with pytest.raises(errors.ClientStateError, match="another event loop"):
            await anyio.to_thread.run_sync(other_loop)


async def test_keep_alive_reuses_one_connection(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """Sequential calls reuse one pooled connection."""
    for _ in range(5):
        await client.chat.completions.create(model="m", messages=USER)
    assert client.pool_size() == 1
    assert server.active_connections == 1


async def test_header_injection_is_rejected(server: FakeOpenAIServer) -> None:
    """CR/LF in the key or a header value is rejected before sending, without echoing the key."""
    with pytest.raises(errors.RequestValidationError) as info:
        AsyncGpt(api_key="sk-abc\r\nX-Evil: 1", server_url=server.url)
    assert "sk-abc" not in str(info.value)
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:
        with pytest.raises(errors.RequestValidationError, match="X-Custom"):
            await c.chat.completions.create(
                model="m", messages=USER, extra_headers={"X-Custom": "a\nb"}
            )
    assert server.requests == []
