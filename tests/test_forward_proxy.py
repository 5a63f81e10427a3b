"""The testing kit's ForwardProxy itself: what it answers, records and refuses, over raw sockets."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading

import pytest

from gpt_async import Gpt
from gpt_async.testing import ForwardProxy, ProxiedRequest, ThreadedFakeOpenAIServer

pytestmark = pytest.mark.anyio


async def exchange(proxy: ForwardProxy, head: str) -> bytes:
    """Send one request head to the proxy; return everything it answers until it closes."""
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    writer.write(head.encode())
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_remote_targets_are_refused() -> None:
    """A target that is not a loopback address gets 403 and no connection is made."""
    async with ForwardProxy() as proxy:
        answer = await exchange(proxy, "CONNECT example.com:443 HTTP/1.1\r\n\r\n")
        forwarded = await exchange(proxy, "GET http://10.1.2.3/v1 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert forwarded.startswith(b"HTTP/1.1 403 ")
    assert [(p.target, p.status) for p in proxy.requests] == [
        ("example.com:443", 403),
        ("http://10.1.2.3/v1", 403),
    ]


async def test_unreachable_upstream_is_502() -> None:
    """A loopback port where nothing listens gets 502 Bad Gateway."""
    port = free_port()
    async with ForwardProxy() as proxy:
        answer = await exchange(proxy, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 502 ")
    assert proxy.requests[0].status == 502


async def test_missing_or_wrong_credentials_get_407() -> None:
    """Without the right Basic credentials the proxy answers 407 with Proxy-Authenticate."""
    wrong = base64.b64encode(b"alice:nope").decode()
    async with ForwardProxy(auth=("alice", "right")) as proxy:
        bare = await exchange(proxy, "CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n")
        bad = await exchange(
            proxy, f"CONNECT 127.0.0.1:1 HTTP/1.1\r\nProxy-Authorization: Basic {wrong}\r\n\r\n"
        )
    for answer in (bare, bad):
        assert answer.startswith(b"HTTP/1.1 407 ")
        assert b'Proxy-Authenticate: Basic realm="gpt_async"' in answer
    assert [(p.username, p.authorized) for p in proxy.requests] == [
        (None, False),
        ("alice", False),
    ]


async def test_https_in_absolute_form_is_a_bad_request() -> None:
    """A plain request for an https:// URL (which needs CONNECT) gets 400."""
    async with ForwardProxy() as proxy:
        answer = await exchange(proxy, "GET https://127.0.0.1/v1 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert proxy.requests == [
        ProxiedRequest(
            method="GET",
            target="https://127.0.0.1/v1",
            tunnel=False,
            username=None,
            authorized=True,
            status=400,
        )
    ]


def test_unstarted_proxy_has_no_port() -> None:
    """Asking an unstarted proxy for its port or URL raises, naming the fix."""
    proxy = ForwardProxy()
    with pytest.raises(RuntimeError, match="not started"):
        _ = proxy.url
    assert "not started" in repr(proxy)


def test_threaded_proxy_serves_sync_code() -> None:
    """ForwardProxy.in_thread() carries a Gpt's requests, then stops (twice is fine)."""
    with ThreadedFakeOpenAIServer() as server, ForwardProxy.in_thread() as proxy:
        with Gpt(api_key="k", server_url=server.url, proxy=proxy.url) as client:
            models = client.models.list()
        assert len(models) > 0
        assert [p.target for p in proxy.requests] == [f"{server.url}/models"]
        assert repr(proxy).startswith("<ThreadedForwardProxy http://127.0.0.1:")
        with pytest.raises(RuntimeError, match="already started"):
            proxy.start()
    proxy.close()


def test_threaded_proxy_reports_a_port_in_use() -> None:
    """Starting on a port already bound re-raises the OSError in the caller's thread."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proxy = ForwardProxy.in_thread(port=taken.getsockname()[1])
        with pytest.raises(OSError, match="address already in use"):
            proxy.start()


def test_threaded_proxy_runs_on_a_daemon_thread_that_close_stops() -> None:
    """The threaded proxy serves from a daemon thread of its own, joined by close()."""
    with ForwardProxy.in_thread() as proxy:
        threads = [t for t in threading.enumerate() if t.name == "gpt_async-forward-proxy"]
        assert [t.daemon for t in threads] == [True]
        assert proxy.url.startswith("http://127.0.0.1:")
    assert not threads[0].is_alive()
