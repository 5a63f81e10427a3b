"""Proxies: the environment as httpx reads it, ``proxy=``, ``NO_PROXY``, credentials kept secret.

Every request goes through a real :class:`~gpt_async.testing.ForwardProxy` on
127.0.0.1 to a real server: the testing server over plain HTTP (forwarded), or an
HTTPS server with a trustme certificate (tunnelled with CONNECT). Each behaviour
is checked through both clients.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
import pytest
import trustme
from aiohttp import web

from gpt_async import AsyncGpt, Gpt, GptAsyncError, RequestValidationError
from gpt_async._proxies import proxy_routes
from gpt_async.testing import FakeOpenAIServer, ForwardProxy, ProxiedRequest

pytestmark = pytest.mark.anyio

USER = [{"role": "user", "content": "hello world"}]
PASSWORD = "pr0xy-TOPSECRET-77aa"
AUTH = ("alice", PASSWORD)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable of the machine running the tests leaks into them."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(params=["AsyncGpt", "Gpt"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client a test drives."""
    return str(request.param)


async def ask(kind: str, **options: Any) -> str:
    """One chat completion through a new client of ``kind``; returns the reply's text."""
    options.setdefault("api_key", "sk-test")
    options.setdefault("max_retries", 0)
    if kind == "AsyncGpt":
        async with AsyncGpt(**options) as client:
            completion = await client.chat.completions.create(model="m", messages=USER)
    else:

        def call() -> Any:
            with Gpt(**options) as client:
                return client.chat.completions.create(model="m", messages=USER)

        completion = await anyio.to_thread.run_sync(call)
    return str(completion.choices[0].message.content)


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """The plain-HTTP testing server."""
    async with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    """A forward proxy without credentials."""
    async with ForwardProxy() as prx:
        yield prx


@pytest.fixture
async def locked_proxy() -> AsyncIterator[ForwardProxy]:
    """A forward proxy that requires ``AUTH``."""
    async with ForwardProxy(auth=AUTH) as prx:
        yield prx


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture
async def https(ca: trustme.CA) -> AsyncIterator[dict[str, Any]]:
    """An HTTPS server on 127.0.0.1 answering chat completions.

    Yields the client options that reach it: its ``server_url`` and an ``ssl_context``
    trusting its certificate.
    """

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        message = {"role": "assistant", "content": "over tls"}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        body = {"id": "c", "object": "chat.completion", "created": 0, "model": "m"}
        return web.json_response({**body, "choices": [choice]})

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    try:
        yield {
            "server_url": f"https://127.0.0.1:{runner.addresses[0][1]}/v1",
            "ssl_context": trusting,
        }
    finally:
        await runner.cleanup()


def origin_of(url: str) -> str:
    """``host:port`` of a base URL."""
    return url.split("://", 1)[1].split("/", 1)[0]


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return int(port)  # closed again before the test runs


# ---------------------------------------------------------------- from the environment


async def test_https_proxy_from_environment_tunnels_with_connect(
    kind: str,
    proxy: ForwardProxy,
    https: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTPS_PROXY carries https:// requests through a CONNECT tunnel; TLS still verified."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    assert await ask(kind, **https) == "over tls"
    [passed] = proxy.requests
    assert passed == ProxiedRequest(
        method="CONNECT",
        target=origin_of(https["server_url"]),
        tunnel=True,
        username=None,
        authorized=True,
        status=200,
    )


async def test_http_proxy_from_environment_forwards(
    kind: str, proxy: ForwardProxy, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY carries http:// requests, forwarded in absolute form."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    assert await ask(kind, server_url=server.url) == "hello world"
    [passed] = proxy.requests
    assert (passed.method, passed.tunnel) == ("POST", False)
    assert passed.target == f"{server.url}/chat/completions"
    assert len(server.requests) == 1


async def test_https_proxy_does_not_serve_http_urls(
    kind: str, proxy: ForwardProxy, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY applies to https:// URLs only; an http:// URL goes direct."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    assert await ask(kind, server_url=server.url) == "hello world"
    assert proxy.requests == []
    assert len(server.requests) == 1


async def test_lower_case_variable_wins_over_upper_case(
    kind: str, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http_proxy is used when HTTP_PROXY names another proxy, as in httpx and urllib."""
    async with ForwardProxy() as lower, ForwardProxy() as upper:
        monkeypatch.setenv("HTTP_PROXY", upper.url)
        monkeypatch.setenv("http_proxy", lower.url)
        if os.environ.get("HTTP_PROXY") != upper.url:
            pytest.skip("this platform's environment is case-insensitive")
        await ask(kind, server_url=server.url)
        assert (len(lower.requests), len(upper.requests)) == (1, 0)


async def test_all_proxy_serves_both_schemes(
    kind: str,
    proxy: ForwardProxy,
    server: FakeOpenAIServer,
    https: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ALL_PROXY is used for http:// and https:// URLs when no specific variable is set."""
    monkeypatch.setenv("all_proxy", proxy.url)
    await ask(kind, server_url=server.url)
    await ask(kind, **https)
    assert [p.tunnel for p in proxy.requests] == [False, True]


async def test_cgi_ignores_upper_case_http_proxy(
    kind: str, proxy: ForwardProxy, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under CGI (REQUEST_METHOD set) HTTP_PROXY may come from a client header: ignored."""
    monkeypatch.setenv("REQUEST_METHOD", "GET")
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    await ask(kind, server_url=server.url)
    assert proxy.requests == []


# ---------------------------------------------------------------- NO_PROXY and trust_env


@pytest.mark.parametrize(
    "no_proxy",
    ["127.0.0.1", "localhost,127.0.0.1", "127.0.0.0/8", "*", " .example.com , 127.0.0.1 "],
)
async def test_no_proxy_bypasses_the_proxy(
    kind: str,
    no_proxy: str,
    proxy: ForwardProxy,
    server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host, network or ``*`` listed in NO_PROXY is reached directly."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert await ask(kind, server_url=server.url) == "hello world"
    assert proxy.requests == []
    assert len(server.requests) == 1


async def test_no_proxy_with_another_port_does_not_bypass(
    kind: str, proxy: ForwardProxy, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NO_PROXY entry with a port bypasses only that port."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("no_proxy", f"127.0.0.1:{server.port + 1 if server.port < 65535 else 1}")
    await ask(kind, server_url=server.url)
    assert len(proxy.requests) == 1


async def test_trust_env_false_ignores_the_environment(
    kind: str, proxy: ForwardProxy, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trust_env=False sends directly whatever the *_PROXY variables say."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    assert await ask(kind, server_url=server.url, trust_env=False) == "hello world"
    assert proxy.requests == []


# ---------------------------------------------------------------- proxy=


async def test_explicit_proxy_carries_requests(
    kind: str,
    proxy: ForwardProxy,
    server: FakeOpenAIServer,
    https: dict[str, Any],
) -> None:
    """proxy= serves http:// (forwarded) and https:// (tunnelled) URLs."""
    await ask(kind, server_url=server.url, proxy=proxy.url)
    await ask(kind, proxy=proxy.url, **https)
    assert [(p.tunnel, p.status) for p in proxy.requests] == [(False, 200), (True, 200)]


async def test_explicit_proxy_wins_over_the_environment_and_no_proxy(
    kind: str, proxy: ForwardProxy, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """proxy= ignores HTTP_PROXY and NO_PROXY, as in httpx."""
    async with ForwardProxy() as other:
        monkeypatch.setenv("HTTP_PROXY", other.url)
        monkeypatch.setenv("NO_PROXY", "*")
        await ask(kind, server_url=server.url, proxy=proxy.url)
        assert (len(proxy.requests), len(other.requests)) == (1, 0)


# ---------------------------------------------------------------- credentials


async def test_credentials_in_proxy_url_authenticate(
    kind: str,
    locked_proxy: ForwardProxy,
    server: FakeOpenAIServer,
    https: dict[str, Any],
) -> None:
    """user:password@ in the proxy URL is sent as Proxy-Authorization, never to the server."""
    url = locked_proxy.credentials_url
    assert await ask(kind, server_url=server.url, proxy=url) == "hello world"
    assert await ask(kind, proxy=url, **https) == "over tls"
    assert [(p.username, p.authorized, p.tunnel) for p in locked_proxy.requests] == [
        ("alice", True, False),
        ("alice", True, True),
    ]
    assert "Proxy-Authorization" not in server.requests[0].headers


async def test_credentials_from_the_environment_authenticate(
    kind: str, locked_proxy: ForwardProxy, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY with user:password@ authenticates like proxy= does."""
    monkeypatch.setenv("HTTP_PROXY", locked_proxy.credentials_url)
    await ask(kind, server_url=server.url)
    assert [p.authorized for p in locked_proxy.requests] == [True]


def assert_no_password(text: str) -> None:
    """Neither the proxy password nor its tail appears in ``text``."""
    assert PASSWORD not in text
    assert PASSWORD[-6:] not in text


async def test_wrong_credentials_fail_without_showing_them(
    kind: str,
    locked_proxy: ForwardProxy,
    server: FakeOpenAIServer,
    https: dict[str, Any],
) -> None:
    """A 407 from the proxy is a typed error; no password in its text or traceback."""
    wrong = locked_proxy.credentials_url.replace("alice", "mallory")
    for target in ({"server_url": server.url}, https):
        with pytest.raises(GptAsyncError) as caught:
            await ask(kind, proxy=wrong, **target)
        assert "407" in str(caught.value) or "Proxy Authentication" in str(caught.value)
        assert_no_password("".join(traceback.format_exception(caught.value)))
    assert [(p.status, p.username) for p in locked_proxy.requests] == [
        (407, "mallory"),
        (407, "mallory"),
    ]


async def test_unreachable_proxy_error_hides_credentials(
    kind: str, server: FakeOpenAIServer, closed_port: int
) -> None:
    """A proxy that refuses connections gives APIConnectionError without the password."""
    url = f"http://alice:{PASSWORD}@127.0.0.1:{closed_port}"
    with pytest.raises(GptAsyncError) as caught:
        await ask(kind, server_url=server.url, proxy=url)
    assert type(caught.value).__name__ == "APIConnectionError"
    assert_no_password("".join(traceback.format_exception(caught.value)))
    assert server.requests == []


async def test_repr_and_logs_redact_proxy_credentials(
    locked_proxy: ForwardProxy, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Client reprs and debug logs show the proxy's host but never its password."""
    url = locked_proxy.credentials_url
    caplog.set_level(logging.DEBUG)
    async with AsyncGpt(api_key="k", server_url=server.url, proxy=url) as client:
        await client.chat.completions.create(model="m", messages=USER)
        shown = repr(client)
    with Gpt(api_key="k", server_url=server.url, proxy=url) as sync_client:
        shown += repr(sync_client) + repr(sync_client._async)
    assert f"<redacted>@127.0.0.1:{locked_proxy.port}" in shown
    assert_no_password(shown)
    assert caplog.records
    assert_no_password("\n".join(r.getMessage() for r in caplog.records))


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        (f"socks5://alice:{PASSWORD}@127.0.0.1:1080", "SOCKS is not supported"),
        (f"http://alice:{PASSWORD}@127.0.0.1:99999", "not a valid URL"),
        ("ftp://127.0.0.1", "http:// or https://"),
    ],
)
def test_bad_proxy_url_is_refused_at_construction(proxy: str, message: str) -> None:
    """A malformed or unsupported proxy URL fails before any I/O, naming proxy, no password."""
    for client in (AsyncGpt, Gpt):
        with pytest.raises(ValueError, match="proxy") as caught:
            client(api_key="k", proxy=proxy)
        assert message in str(caught.value)
        assert_no_password(str(caught.value))


def test_bad_proxy_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SOCKS ALL_PROXY fails at construction naming ALL_PROXY; trust_env=False skips it."""
    monkeypatch.setenv("ALL_PROXY", f"socks5h://alice:{PASSWORD}@127.0.0.1:1080")
    with pytest.raises(ValueError, match="ALL_PROXY") as caught:
        AsyncGpt(api_key="k")
    assert_no_password(str(caught.value))
    assert AsyncGpt(api_key="k", trust_env=False).server_url


def test_proxy_with_a_custom_transport_is_refused() -> None:
    """proxy= configures the default transport; with transport= it is an error."""
    from gpt_async import AiohttpTransport

    with pytest.raises(RequestValidationError, match="proxy"):
        AsyncGpt(api_key="k", transport=AiohttpTransport(), proxy="http://127.0.0.1:3128")


def test_sync_client_refuses_a_session_naming_the_alternatives() -> None:
    """Gpt(session=...) fails at construction and says what to use instead."""
    for make in (Gpt, Gpt.azure):
        with pytest.raises(RequestValidationError, match="session") as caught:
            make(session=object(), api_key="k")  # type: ignore[arg-type]
        assert "proxy=" in str(caught.value)
        assert "AsyncGpt(session=...)" in str(caught.value)


# ---------------------------------------------------------------- selection, sans I/O


@pytest.mark.parametrize(
    ("environ", "url", "expected"),
    [
        ({"HTTP_PROXY": "p:1"}, "http://a.example/v1", "http://p:1"),
        ({"HTTP_PROXY": "p:1"}, "https://a.example/v1", None),
        ({"HTTPS_PROXY": "https://p:2"}, "https://a.example/v1", "https://p:2"),
        ({"ALL_PROXY": "p:3", "HTTPS_PROXY": "p:4"}, "https://a.example", "http://p:4"),
        ({"ALL_PROXY": "p:3", "http_proxy": ""}, "http://a.example", "http://p:3"),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "example"}, "http://a.example", None),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "example"}, "http://aexample", "http://p:3"),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "example"}, "http://example", None),
        ({"ALL_PROXY": "p:3", "NO_PROXY": ".Example"}, "http://a.EXAMPLE", None),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "*.example"}, "http://b.a.example", None),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "a.example"}, "http://ba.example", "http://p:3"),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "10.0.0.0/8"}, "http://10.1.2.3", None),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "::1"}, "http://[::1]:8/v1", None),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "[::1]:9"}, "http://[::1]:8/v1", "http://p:3"),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "a.example:443"}, "https://a.example", None),
        ({"ALL_PROXY": "p:3", "NO_PROXY": "a.example:443"}, "http://a.example", "http://p:3"),
        ({"FTP_PROXY": "p:5"}, "http://a.example", None),
    ],
)
def test_proxy_selection(environ: dict[str, str], url: str, expected: str | None) -> None:
    """Which proxy a URL gets from an environment, as httpx and curl choose it."""
    routes = proxy_routes(None, trust_env=True, environ=environ)
    chosen = routes.for_url(url) if routes is not None else None
    assert (chosen.url if chosen is not None else None) == expected


def test_proxy_url_credentials_are_split_and_decoded() -> None:
    """Percent-encoded credentials are decoded; the displayed URL hides them."""
    routes = proxy_routes("http://al%40ice:p%3Ass@proxy.example:3128", trust_env=False)
    assert routes is not None
    chosen = routes.for_url("https://api.openai.com/v1")
    assert chosen is not None
    assert (chosen.username, chosen.password) == ("al@ice", "p:ss")
    assert str(chosen) == "http://<redacted>@proxy.example:3128"
    assert "p:ss" not in repr(chosen)
    assert routes.describe() == "http://<redacted>@proxy.example:3128"


async def test_models_calls_go_through_the_proxy(
    kind: str, locked_proxy: ForwardProxy, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """models.list() and retrieve() take the same proxy route as chat."""
    monkeypatch.setenv("HTTP_PROXY", locked_proxy.credentials_url)

    def both(client: Gpt) -> list[str]:
        return [client.models.list().data[0].id, client.models.retrieve("gpt-4o").id]

    if kind == "AsyncGpt":
        async with AsyncGpt(api_key="k", server_url=server.url) as client:
            ids = [(await client.models.list()).data[0].id]
            ids.append((await client.models.retrieve("gpt-4o")).id)
    else:
        with Gpt(api_key="k", server_url=server.url) as sync_client:
            ids = await anyio.to_thread.run_sync(both, sync_client)
    assert ids == ["gpt-4o-mini", "gpt-4o"]
    assert [(p.method, p.target) for p in locked_proxy.requests] == [
        ("GET", f"{server.url}/models"),
        ("GET", f"{server.url}/models/gpt-4o"),
    ]


@pytest.mark.parametrize(
    ("variable", "loaded"), [(None, "False"), ("NO_PROXY", "False"), ("HTTPS_PROXY", "True")]
)
def test_the_proxy_support_loads_only_when_a_proxy_is_configured(
    variable: str | None, loaded: str
) -> None:
    """A client with no proxy variable set (``NO_PROXY`` alone names none) never imports
    ``_proxies``; one with a proxy variable does, and shows the proxy in its repr."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    if variable is not None:
        env[variable] = "http://127.0.0.1:9"
    code = (
        "import sys, gpt_async; c = gpt_async.AsyncGpt(api_key='k'); "
        "print('gpt_async._proxies' in sys.modules, 'proxy=' in repr(c))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [loaded, loaded]
