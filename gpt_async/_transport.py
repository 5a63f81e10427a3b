"""The only I/O seam: an ``AsyncTransport`` protocol and its aiohttp implementation.

This is the one module that imports aiohttp. Every aiohttp, OS and ssl error is
mapped to a gpt_async exception in :func:`map_error`, chained with ``from``; nothing
else is: any other exception (a bug, ours or a custom transport's) propagates
unchanged, so it is never mistaken for a network error and never retried.

Timeouts: ``connect`` and ``read`` ride aiohttp's per-socket timers (``sock_connect``
and ``sock_read``; the read timer restarts on every byte received, so it bounds the
idle gap between stream chunks without any per-chunk work). The optional ``total``
deadline is an anyio cancel scope in the client, around all attempts of a call.
"""

from __future__ import annotations

import asyncio
import io
import os
import ssl
from base64 import b64encode
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._config import Limits, Timeout, proxy_variables, redact_headers
from ._exceptions import APIConnectionError, APIError, APITimeoutError, ClientStateError
from ._types import ResponseFacts
from ._version import __version__

if TYPE_CHECKING:
    from ._proxies import ProxyRoutes, ProxyURL

__all__ = [
    "AiohttpTransport",
    "AsyncTransport",
    "HTTPRequest",
    "HTTPResponse",
    "USER_AGENT",
    "map_error",
]

_FORK_ORPHANS: list[object] = []
# What the network can raise: aiohttp's errors, OSError (ssl.SSLError and TimeoutError
# are OSErrors) and asyncio's timeout (the builtin TimeoutError since Python 3.11).
_NETWORK_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
_LARGE_BODY = 1 << 20

USER_AGENT = f"gpt_async/{__version__} aiohttp/{aiohttp.__version__}"


@attrs.define(kw_only=True)
class HTTPRequest:
    """One HTTP request as hooks see it; hooks may change ``headers``, ``url`` and ``params``.

    Attributes:
        method: The HTTP method.
        url: The full URL, without the query string.
        headers: Request headers (mutable).
        params: Query parameters (mutable).
        json: The request body before encoding (mutable until it is sent).
        content: The encoded body; set by the client right before sending.
    """

    method: str
    url: str
    headers: dict[str, str] = attrs.field(repr=lambda h: repr(redact_headers(h)))
    params: dict[str, str] = attrs.field(factory=dict)
    json: Any = attrs.field(default=None, repr=False)
    content: bytes = attrs.field(default=b"", repr=False)


class HTTPResponse(ResponseFacts, Protocol):
    """A response whose headers (``status_code``, ``headers``, ``url``) have arrived.

    The body is read once, whole or streamed.
    """

    async def read(self) -> bytes:
        """Read the whole body and release the connection."""
        ...

    async def read_chunk(self) -> bytes:
        """The next piece of the body as the network delivered it; ``b""`` at its end."""
        ...

    def close(self) -> None:
        """Drop the connection at once (the body was not read to the end)."""
        ...


class AsyncTransport(Protocol):
    """Sends requests; the client's only way to the network."""

    async def send(self, request: HTTPRequest, *, timeout: Timeout) -> HTTPResponse:
        """Send ``request`` and return once the status and headers have arrived.

        Raises:
            APIConnectionError: The connection failed (``APITimeoutError`` for timeouts).
        """
        ...

    async def aclose(self) -> None:
        """Close every pooled connection; idempotent."""
        ...


class _AiohttpResponse:
    """An aiohttp response behind the :class:`HTTPResponse` protocol."""

    __slots__ = ("_resp", "headers", "status_code")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status_code = resp.status
        self.headers: CIMultiDictProxy[str] = resp.headers

    @property
    def url(self) -> str:
        return str(self._resp.url)

    async def read(self) -> bytes:
        try:
            return await self._resp.read()
        except _NETWORK_ERRORS as exc:
            raise map_error(exc) from exc
        finally:
            self.close()

    async def read_chunk(self) -> bytes:
        try:
            return await self._resp.content.readany()
        except _NETWORK_ERRORS as exc:
            raise map_error(exc) from exc

    def close(self) -> None:
        # A body not read to its end cannot be reused: closing drops the connection
        # (releasing would wait for the rest of a possibly endless stream).
        if self._resp.content.at_eof():
            self._resp.release()
        else:
            self._resp.close()


def _body(content: bytes) -> bytes | io.BytesIO | None:
    # aiohttp warns (ResourceWarning) on raw bytes over 1 MiB, and writes a BytesIO in
    # pieces that yield to the loop; small bodies stay bytes, the fast path. No body
    # (a GET) is None: b"" would be sent as an application/octet-stream body.
    if len(content) <= _LARGE_BODY:
        return content or None
    return io.BytesIO(content)


@lru_cache(maxsize=64)
def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=None, connect=None, sock_connect=timeout.connect, sock_read=timeout.read
    )


@attrs.frozen(repr=False, eq=False)  # internal: no generated repr, eq or hash
class _ProxyArgs:
    """A proxy as aiohttp takes it: its URL, and the credentials as a header (never shown)."""

    url: URL
    headers: Mapping[str, str] | None = attrs.field(repr=False)

    @classmethod
    def of(cls, proxy: ProxyURL) -> _ProxyArgs:
        if proxy.username is None:
            return cls(URL(proxy.url), None)
        # Built by hand rather than with aiohttp.BasicAuth, deprecated in aiohttp 3.14.
        pair = f"{proxy.username}:{proxy.password}".encode()
        return cls(URL(proxy.url), {"Proxy-Authorization": f"Basic {b64encode(pair).decode()}"})


def _proxy_routes(proxy: str | None, *, trust_env: bool) -> ProxyRoutes | None:
    """The routes of ``_proxies``, which loads only when some proxy is configured.

    ``NO_PROXY`` alone configures none: with no proxy to bypass, every request goes direct.
    """
    if proxy is None and not (trust_env and _routes_some(proxy_variables(os.environ))):
        return None
    from ._proxies import proxy_routes  # noqa: PLC0415 - most clients go direct

    return proxy_routes(proxy, trust_env=trust_env)


def _routes_some(variables: list[str]) -> bool:
    return any(name.lower() != "no_proxy" for name in variables)


class AiohttpTransport:
    """The default transport: one pooled ``aiohttp.ClientSession``.

    The session is created on first use, inside the event loop that uses it, and
    belongs to that loop; using the transport from another loop raises
    :class:`~gpt_async.ClientStateError` instead of hanging.

    Args:
        limits: Connection-pool limits.
        session: An existing session to use instead; the caller keeps ownership
            and closes it.
        ssl_context: TLS settings (verification is on by default).
        proxy: A proxy URL for every request, e.g. ``http://user:pass@host:3128``.
        trust_env: Without ``proxy``, honour ``HTTP(S)_PROXY``, ``ALL_PROXY`` and
            ``NO_PROXY`` (see :mod:`gpt_async._proxies`).
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        session: aiohttp.ClientSession | None = None,
        ssl_context: ssl.SSLContext | bool | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
    ) -> None:
        self._limits = limits or Limits()
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ssl: ssl.SSLContext | bool = True if ssl_context is None else ssl_context
        self._closed = False
        self._pid = os.getpid()
        self.proxies = _proxy_routes(proxy, trust_env=trust_env)
        self._aiohttp_proxies: dict[ProxyURL, _ProxyArgs] = {}

    def _session_for_this_loop(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientStateError("the client is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._pid != os.getpid() and self._owns_session:
            # A forked child: the parent's sockets and loop are not ours to use or close.
            # The old session is kept referenced forever: collecting it would unregister
            # the sockets from the epoll instance the child shares with the parent.
            _FORK_ORPHANS.append(self._session)
            self._session, self._loop, self._pid = None, None, os.getpid()
        if self._session is None:
            self._session = self._new_session()
            self._loop = loop
        elif self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise ClientStateError(
                "this client belongs to another event loop; create one client per loop "
                "(or use the synchronous Gpt from plain code)"
            )
        return self._session

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections,
            limit_per_host=self._limits.max_connections_per_host,
            keepalive_timeout=self._limits.keepalive_expiry,
            ssl=self._ssl,
        )
        return aiohttp.ClientSession(
            connector=connector,
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
            # Proxies are chosen per request (``_proxy_for``); aiohttp's own env
            # handling would also read ~/.netrc and knows no ALL_PROXY.
            trust_env=False,
        )

    def _proxy_for(self, url: str) -> _ProxyArgs | None:
        proxy = self.proxies.for_url(url) if self.proxies is not None else None
        if proxy is None:
            return None
        found = self._aiohttp_proxies.get(proxy)
        if found is None:
            found = self._aiohttp_proxies[proxy] = _ProxyArgs.of(proxy)
        return found

    async def send(self, request: HTTPRequest, *, timeout: Timeout) -> HTTPResponse:
        session = self._session_for_this_loop()
        headers = request.headers
        proxy = self._proxy_for(request.url) if self.proxies is not None else None
        if proxy is not None and proxy.headers and request.url[:5].lower() == "http:":
            # A plain-HTTP request goes to the proxy itself, which reads (and strips)
            # the header; through a CONNECT tunnel it would reach the server instead.
            headers = {**headers, **proxy.headers}
        try:
            resp = await session.request(
                request.method,
                request.url,
                params=request.params or None,
                headers=headers,
                data=_body(request.content),
                timeout=_client_timeout(timeout),
                allow_redirects=False,  # never carry the key to another host
                proxy=proxy.url if proxy is not None else None,
                proxy_headers=proxy.headers if proxy is not None else None,
            )
        except _NETWORK_ERRORS as exc:
            raise map_error(exc) from exc
        return _AiohttpResponse(resp)

    def pool_size(self) -> int:
        """Connections the pool holds now (in use plus idle); 0 before first use."""
        connector = self._session.connector if self._session else None
        if connector is None or connector.closed:
            return 0
        idle = sum(len(conns) for conns in connector._conns.values())
        return idle + len(connector._acquired)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._session is not None and self._owns_session:
            await self._session.close()


def map_error(exc: aiohttp.ClientError | OSError | asyncio.TimeoutError) -> APIError:
    """Map an aiohttp, OS or ssl exception to ours (the one place this happens)."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        kind = "connect" if isinstance(exc, aiohttp.ConnectionTimeoutError) else "read"
        return APITimeoutError(f"{kind} timeout expired")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return APIConnectionError(f"TLS certificate verification failed: {exc.certificate_error}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(f"cannot connect to {exc.host}:{exc.port}: {exc.strerror}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return APIConnectionError("the server closed the connection before the response ended")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return APIConnectionError(f"the response body was cut off: {_first_line(exc)}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return APIConnectionError(f"malformed HTTP response: {exc.message}")
    if isinstance(exc, aiohttp.InvalidURL):
        return APIConnectionError(f"invalid URL: {exc.url}")
    return APIConnectionError(f"connection error: {_first_line(exc) or type(exc).__name__}")


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else ""
