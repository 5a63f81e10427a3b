"""A loopback HTTP forward proxy for tests: CONNECT tunnels and plain forwarding.

Point a client at it (``proxy=proxy.url``, or ``HTTPS_PROXY``/``HTTP_PROXY``) and
read ``proxy.requests`` to prove what went through it::

    async with ForwardProxy(auth=("user", "secret")) as proxy, FakeOpenAIServer() as server:
        async with AsyncGpt(server_url=server.url, proxy=proxy.credentials_url) as client:
            await client.chat.completions.create(model="m", messages=[...])
        assert proxy.requests[0].authorized

``https://`` targets arrive as ``CONNECT host:port`` and are tunnelled byte for
byte (the proxy never sees inside TLS); ``http://`` targets arrive in absolute
form and are forwarded with ``Proxy-Authorization`` removed, one request per
connection (``Connection: close``). Only loopback targets are served unless
``allow_remote=True``: a test's proxy should never reach the network.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import ipaddress
from collections.abc import Callable
from typing import Final, TypeAlias
from urllib.parse import urlsplit

import attrs

from gpt_async._types import AsyncClosing, Closing
from gpt_async.testing._thread import PortalThread

__all__ = ["ForwardProxy", "ProxiedRequest", "ThreadedForwardProxy"]

_Record: TypeAlias = Callable[[int], None]
_HEAD_LIMIT: Final = 64 * 1024
_CHUNK: Final = 64 * 1024
_HOP_BY_HOP: Final = frozenset(
    {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}
)


@attrs.frozen(kw_only=True)
class ProxiedRequest:
    """One request the proxy received.

    Attributes:
        method: ``CONNECT`` for a tunnel, else the forwarded request's method.
        target: ``host:port`` of a tunnel, or the absolute URL of a forwarded request.
        tunnel: Whether it was a CONNECT tunnel.
        username: The user named in ``Proxy-Authorization``, if any (never the password).
        authorized: Whether the credentials matched (always true without ``auth``).
        status: What the proxy answered: 200 (tunnel opened or forwarded), 407 (missing
            or wrong credentials), 403 (a non-loopback target) or 502 (unreachable).
    """

    method: str
    target: str
    tunnel: bool
    username: str | None
    authorized: bool
    status: int


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _basic_user(value: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (value or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        user, sep, password = decoded.partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _split_target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    return host.strip("[]"), int(port)


@attrs.frozen
class _Head:
    """A parsed request or response head."""

    first_line: str
    headers: list[tuple[str, str]]

    @classmethod
    def parse(cls, raw: bytes) -> _Head:
        first, *lines = raw.decode("latin-1").split("\r\n")
        headers = [(n.strip(), v.strip()) for n, _, v in (x.partition(":") for x in lines if x)]
        return cls(first, headers)

    def get(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name), None)

    def render(self, first_line: str) -> bytes:
        kept = [f"{n}: {v}" for n, v in self.headers if n.lower() not in _HOP_BY_HOP]
        return "\r\n".join([first_line, *kept, "Connection: close", "", ""]).encode("latin-1")


class ForwardProxy(AsyncClosing):
    """A real HTTP proxy on 127.0.0.1 that records what passes through it.

    Args:
        host: The interface to bind.
        port: The port; 0 picks a free one.
        auth: ``(user, password)`` to require as ``Proxy-Authorization: Basic``;
            requests without them get ``407``.
        allow_remote: Also serve targets that are not loopback addresses.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: tuple[str, str] | None = None,
        allow_remote: bool = False,
    ) -> None:
        self.host = host
        self.requests: list[ProxiedRequest] = []
        self._requested_port = port
        self._auth = auth
        self._allow_remote = allow_remote
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"<ForwardProxy {where} requests={len(self.requests)}>"

    @classmethod
    def in_thread(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: tuple[str, str] | None = None,
        allow_remote: bool = False,
    ) -> ThreadedForwardProxy:
        """The same proxy on its own loop in a daemon thread: ``with ForwardProxy.in_thread()``."""
        return ThreadedForwardProxy(cls(host=host, port=port, auth=auth, allow_remote=allow_remote))

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: The proxy is not started.
        """
        if self._port is None:
            raise RuntimeError("ForwardProxy is not started; use `async with ForwardProxy()`")
        return self._port

    @property
    def url(self) -> str:
        """``http://host:port``, without credentials."""
        return f"http://{self.host}:{self.port}"

    @property
    def credentials_url(self) -> str:
        """``http://user:password@host:port`` with the ``auth`` it requires (or :attr:`url`)."""
        if self._auth is None:
            return self.url
        from urllib.parse import quote  # noqa: PLC0415 - only tests with credentials need it

        user, password = (quote(part, safe="") for part in self._auth)
        return f"http://{user}:{password}@{self.host}:{self.port}"

    async def start(self) -> None:
        """Binds the port and starts serving."""
        if self._server is not None:
            raise RuntimeError("ForwardProxy is already started")
        self._server = await asyncio.start_server(
            self._accept, self.host, self._requested_port, limit=_HEAD_LIMIT
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stops serving and cuts every open tunnel (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await server.wait_closed()

    aclose = close  # what AsyncClosing.__aexit__ awaits

    async def __aenter__(self) -> ForwardProxy:
        await self.start()
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away or sent garbage: nothing to answer
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = _Head.parse((await reader.readuntil(b"\r\n\r\n"))[:-4])
        method, target, version = [*head.first_line.split(" ", 2), "", ""][:3]
        credentials = _basic_user(head.get("proxy-authorization"))
        authorized = self._auth is None or (
            credentials is not None
            and hmac.compare_digest(credentials[0].encode(), self._auth[0].encode())
            and hmac.compare_digest(credentials[1].encode(), self._auth[1].encode())
        )
        tunnel = method.upper() == "CONNECT"

        def record(status: int) -> None:
            user = credentials[0] if credentials else None
            self.requests.append(
                ProxiedRequest(
                    method=method,
                    target=target,
                    tunnel=tunnel,
                    username=user,
                    authorized=authorized,
                    status=status,
                )
            )

        if not authorized:
            record(407)
            await _answer(writer, 407, 'Proxy-Authenticate: Basic realm="gpt_async"\r\n')
            return
        if tunnel:
            await self._tunnel(reader, writer, target, record)
        else:
            await self._forward(reader, writer, head, (method, target, version), record)

    def _allowed(self, host: str) -> bool:
        return self._allow_remote or _is_loopback(host)

    async def _tunnel(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        target: str,
        record: _Record,
    ) -> None:
        host, port = _split_target(target)
        upstream = await self._open(writer, host, port, record)
        if upstream is None:
            return
        record(200)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await _pipe_both(reader, writer, *upstream)

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: _Head,
        line: tuple[str, str, str],
        record: _Record,
    ) -> None:
        method, target, version = line
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            record(400)
            await _answer(writer, 400)
            return
        upstream = await self._open(writer, parts.hostname, parts.port or 80, record)
        if upstream is None:
            return
        record(200)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        up_reader, up_writer = upstream
        up_writer.write(head.render(f"{method} {path} {version}"))
        await _pipe_both(reader, writer, up_reader, up_writer, rewrite_response=True)

    async def _open(
        self, writer: asyncio.StreamWriter, host: str, port: int, record: _Record
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if not self._allowed(host):
            record(403)
            await _answer(writer, 403)
            return None
        try:
            upstream = await asyncio.open_connection(host, port, limit=_HEAD_LIMIT)
        except OSError:
            record(502)
            await _answer(writer, 502)
            return None
        self._writers.add(upstream[1])
        return upstream


_REASONS: Final = {400: "Bad Request", 403: "Forbidden", 407: "Proxy Authentication Required"}


async def _answer(writer: asyncio.StreamWriter, status: int, extra: str = "") -> None:
    reason = _REASONS.get(status, "Bad Gateway")
    body = f"{status} {reason} (gpt_async.testing.ForwardProxy)\n"
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\n{extra}Content-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode("latin-1")
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()


async def _copy_response(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # One request per upstream connection: say so to the client, so that it does not
    # send its next request down a connection the proxy is about to close.
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        head = _Head.parse((await reader.readuntil(b"\r\n\r\n"))[:-4])
        writer.write(head.render(head.first_line))
    await _copy(reader, writer)


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    *,
    rewrite_response: bool = False,
) -> None:
    """Copy bytes both ways until either side closes, then close both."""
    back = _copy_response(up_reader, writer) if rewrite_response else _copy(up_reader, writer)
    tasks = [asyncio.ensure_future(_copy(reader, up_writer)), asyncio.ensure_future(back)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        up_writer.close()


class ThreadedForwardProxy(Closing):
    """A :class:`ForwardProxy` on its own event loop in a daemon thread, for sync code."""

    def __init__(self, proxy: ForwardProxy) -> None:
        self.proxy = proxy
        self._thread = PortalThread(type(self).__name__, "gpt_async-forward-proxy")

    def __repr__(self) -> str:
        return repr(self.proxy).replace("<ForwardProxy", "<ThreadedForwardProxy", 1)

    @property
    def url(self) -> str:
        """``http://host:port``, without credentials."""
        return self.proxy.url

    @property
    def credentials_url(self) -> str:
        """The URL with the credentials the proxy requires."""
        return self.proxy.credentials_url

    @property
    def requests(self) -> list[ProxiedRequest]:
        """What passed through, oldest first."""
        return self.proxy.requests

    def start(self) -> None:
        """Starts the thread and waits until the port is bound."""
        self._thread.start(self.proxy.start)

    def close(self) -> None:
        """Stops the proxy and its thread (idempotent)."""
        self._thread.close(self.proxy.close)

    def __enter__(self) -> ThreadedForwardProxy:
        self.start()
        return self
