"""Secrets and TLS: the key stays out of reprs, logs and tracebacks; TLS is verified; no redirects.

Every check looks for the whole key and for its last characters, so that a
partly masked key (``sk-...Xy12``) would count as a leak too.
"""

from __future__ import annotations

import logging
import ssl
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import anyio
import pytest
import trustme
from aiohttp import web

from gpt_async import AsyncGpt, Gpt, Hooks, HTTPRequest, RawResponse, RetryConfig
from gpt_async.models import errors
from gpt_async.testing import FakeOpenAIServer, Reply, ThreadedFakeOpenAIServer

pytestmark = pytest.mark.anyio

KEY = "sk-proj-TOPSECRET-4f9a2c7e1b"
TAIL = KEY[-8:]
USER = [{"role": "user", "content": "hello"}]


def assert_no_key(text: str) -> None:
    """Neither the key nor its tail appears in ``text``."""
    assert KEY not in text
    assert TAIL not in text


def full_traceback(exc: BaseException) -> str:
    """The traceback Python prints for ``exc``, with its chained causes."""
    return "".join(traceback.format_exception(exc))


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server that requires ``KEY``."""
    async with FakeOpenAIServer(api_key=KEY) as srv:
        yield srv


# ---------------------------------------------------------------- reprs


async def test_no_repr_shows_the_key(server: FakeOpenAIServer) -> None:
    """Clients, requests a hook sees, responses, streams and errors never show the key."""
    seen: list[str] = []

    def spy(request: HTTPRequest) -> None:
        seen.extend([repr(request), str(request), repr(request.headers.keys())])

    async with AsyncGpt(api_key=KEY, server_url=server.url, hooks=Hooks(before_request=[spy])) as c:
        seen.append(repr(c))
        res = await c.chat.completions.create(model="m", messages=USER)
        seen.append(repr(res))
        stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
        async with stream:
            seen += [repr(stream), repr(stream.response)]
            seen += [repr(chunk) async for chunk in stream]
    with Gpt(api_key=KEY, server_url=server.url) as sync_client:
        seen.append(repr(sync_client))
    assert len(seen) > 6
    for text in seen:
        assert_no_key(text)


def test_request_repr_redacts_every_secret_header() -> None:
    """HTTPRequest's repr shows Authorization, api-key and cookies as <redacted>."""
    request = HTTPRequest(
        method="POST",
        url="https://api.example.com/v1/chat/completions",
        headers={
            "Authorization": f"Bearer {KEY}",
            "api-key": KEY,
            "Cookie": f"session={KEY}",
            "X-Trace": "visible",
        },
    )
    text = repr(request)
    assert_no_key(text)
    assert text.count("<redacted>") == 3
    assert "visible" in text
    assert request.headers["Authorization"] == f"Bearer {KEY}"  # only the repr is redacted


async def test_seed_wrapper_and_raw_response_reprs_hide_the_key(server: FakeOpenAIServer) -> None:
    """The seed call's wrapper and its RawResponse never show the key."""
    from gpt_async.models import components

    request = components.CreateChatCompletionRequest(
        messages=[components.ChatCompletionRequestUserMessage(content="hi")], model="m"
    )
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:
        res = await c.chat.create_chat_completion(request)
    assert isinstance(res.raw_response, RawResponse)
    assert_no_key(repr(res))
    assert_no_key(repr(res.raw_response))


# ---------------------------------------------------------------- logs


async def test_no_log_line_shows_the_key(
    server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG, on every logger (gpt_async, aiohttp, asyncio), no line shows the key."""
    server.enqueue(Reply.error(500, "once"), Reply.error(401, "bad key"))
    retry = RetryConfig(backoff_scale=0)
    with caplog.at_level(logging.DEBUG):
        async with AsyncGpt(api_key=KEY, server_url=server.url, retry_config=retry) as c:
            with pytest.raises(errors.AuthenticationError):
                await c.chat.completions.create(model="m", messages=USER)
            await c.chat.completions.create(model="m", messages=USER, stream=True)
        async with AsyncGpt.azure(
            endpoint=server.origin, deployment="d", api_version="2024-10-21", api_key=KEY
        ) as azure:
            await azure.chat.completions.create(model="m", messages=USER)
    gpt_lines = [r for r in caplog.records if r.name.startswith("gpt_async")]
    assert len(gpt_lines) >= 4  # DEBUG logging was really on
    for record in caplog.records:
        assert_no_key(record.getMessage())
    assert_no_key(caplog.text)


# ---------------------------------------------------------------- exceptions and tracebacks


async def test_authentication_error_traceback_hides_the_key(server: FakeOpenAIServer) -> None:
    """A 401's message, repr, body and full traceback never show the (wrong) key."""
    wrong = KEY + "-revoked"
    async with AsyncGpt(api_key=wrong, server_url=server.url) as c:
        with pytest.raises(errors.AuthenticationError) as info:
            await c.chat.completions.create(model="m", messages=USER)
    exc = info.value
    for text in (str(exc), repr(exc), exc.body, repr(exc.raw_response), full_traceback(exc)):
        assert_no_key(text)


async def test_connection_error_traceback_hides_the_key() -> None:
    """A refused connection's message and full traceback, causes included, never show the key."""
    with anyio.fail_after(10):
        async with AsyncGpt(api_key=KEY, server_url="http://127.0.0.1:9/v1", max_retries=0) as c:
            with pytest.raises(errors.APIConnectionError) as info:
                await c.chat.completions.create(model="m", messages=USER)
    assert info.value.__cause__ is not None
    assert_no_key(str(info.value))
    assert_no_key(full_traceback(info.value))


async def test_timeout_and_cut_body_tracebacks_hide_the_key(server: FakeOpenAIServer) -> None:
    """Read-timeout and cut-body errors, with their aiohttp causes, never show the key."""
    from gpt_async.testing import Fault

    server.enqueue(Fault.delay_headers(2.0), Fault.partial_body())
    async with AsyncGpt(api_key=KEY, server_url=server.url, timeout=0.2, max_retries=0) as c:
        for _ in range(2):
            with pytest.raises(errors.APIConnectionError) as info:
                await c.chat.completions.create(model="m", messages=USER)
            assert_no_key(full_traceback(info.value))


def test_bad_key_error_does_not_echo_the_key() -> None:
    """A key with a newline is refused without printing it, in the message or the traceback."""
    with pytest.raises(errors.RequestValidationError) as info:
        Gpt(api_key=KEY + "\n", server_url="http://127.0.0.1:9/v1")
    assert_no_key(full_traceback(info.value))


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@asynccontextmanager
async def https_server(cert: trustme.LeafCert) -> AsyncIterator[str]:
    """An HTTPS server on 127.0.0.1 answering every chat completion; yields its base URL."""

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(
            {
                "id": "chatcmpl-tls",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "over tls"},
                        "finish_reason": "stop",
                    }
                ],
            }
        )

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}/v1"
    finally:
        await runner.cleanup()


async def test_self_signed_certificate_is_refused(ca: trustme.CA) -> None:
    """By default an untrusted (self-signed CA) certificate is refused, naming the certificate."""
    async with https_server(ca.issue_cert("127.0.0.1")) as url:
        async with AsyncGpt(api_key=KEY, server_url=url, max_retries=0) as c:
            with pytest.raises(errors.APIConnectionError, match=r"(?i)certificate") as info:
                await c.chat.completions.create(model="m", messages=USER)
        assert_no_key(full_traceback(info.value))


async def test_trusted_ca_is_accepted_through_ssl_context(ca: trustme.CA) -> None:
    """With ssl_context trusting the CA, AsyncGpt and Gpt both talk to the server."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with https_server(ca.issue_cert("127.0.0.1")) as url:
        async with AsyncGpt(api_key=KEY, server_url=url, ssl_context=context) as c:
            completion = await c.chat.completions.create(model="m", messages=USER)
        assert completion.choices[0].message.content == "over tls"

        def sync_call() -> str | None:
            with Gpt(api_key=KEY, server_url=url, ssl_context=context) as client:
                return (
                    client.chat.completions.create(model="m", messages=USER)
                    .choices[0]
                    .message.content
                )

        assert await anyio.to_thread.run_sync(sync_call) == "over tls"


async def test_certificate_for_another_host_is_refused(ca: trustme.CA) -> None:
    """A trusted certificate issued for another name is refused (hostname checking is on)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with (
        https_server(ca.issue_cert("api.example.com")) as url,
        AsyncGpt(api_key=KEY, server_url=url, ssl_context=context, max_retries=0) as c,
    ):
        with pytest.raises(errors.APIConnectionError, match=r"(?i)certificate"):
            await c.chat.completions.create(model="m", messages=USER)


# ---------------------------------------------------------------- redirects


@pytest.fixture
async def other_host() -> AsyncIterator[FakeOpenAIServer]:
    """A second server on another loopback address: where a redirect would lead."""
    async with FakeOpenAIServer(host="127.0.0.2") as srv:
        yield srv


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_is_not_followed(
    server: FakeOpenAIServer, other_host: FakeOpenAIServer, status: int
) -> None:
    """A 3xx raises SDKError with its status and Location; the key never reaches the other host."""
    location = f"{other_host.url}/chat/completions"
    server.enqueue(Reply(status=status, body=b"", headers={"Location": location}))
    async with AsyncGpt(api_key=KEY, server_url=server.url) as c:
        with pytest.raises(errors.SDKError) as info:
            await c.chat.completions.create(model="m", messages=USER)
    assert info.value.status_code == status
    assert info.value.raw_response is not None
    assert info.value.raw_response.headers["Location"] == location
    assert len(server.requests) == 1
    assert other_host.requests == []


@pytest.fixture(scope="module")
def thread_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A threaded testing server for the Gpt redirect check."""
    with ThreadedFakeOpenAIServer(api_key=KEY) as srv:
        yield srv


def test_redirect_is_not_followed_through_gpt(thread_server: ThreadedFakeOpenAIServer) -> None:
    """Gpt does not follow a redirect either: the 307 is the error, and one request was made."""
    thread_server.reset()
    thread_server.enqueue(
        Reply(status=307, body=b"", headers={"Location": "http://127.0.0.2:9/v1/chat/completions"})
    )
    with (
        Gpt(api_key=KEY, server_url=thread_server.url) as client,
        pytest.raises(errors.SDKError) as info,
    ):
        client.chat.completions.create(model="m", messages=USER)
    assert info.value.status_code == 307
    assert len(thread_server.requests) == 1
