"""Which proxy a request goes through: ``proxy=``, or the environment as httpx reads it.

Pure: no I/O beyond reading ``os.environ`` once, when a client is built. The
transport asks :meth:`ProxyRoutes.for_url` per request (the answer is cached per
scheme and host) and hands the result to aiohttp, whose own ``trust_env`` stays off:
it would also read ``~/.netrc`` and knows neither ``ALL_PROXY`` nor every
``NO_PROXY`` form.

The environment, as in httpx and urllib:

* ``HTTP_PROXY`` serves ``http://`` URLs, ``HTTPS_PROXY`` ``https://`` ones and
  ``ALL_PROXY`` both when the specific one is unset. Lower-case names win over
  upper-case ones. Under CGI (``REQUEST_METHOD`` set) the upper-case
  ``HTTP_PROXY`` is ignored, since a client's ``Proxy:`` header lands there
  ("httpoxy").
* ``NO_PROXY`` is a comma-separated list: ``*`` (every host), a host name (it and
  its subdomains; a leading dot is allowed), an IP address, a CIDR network such as
  ``10.0.0.0/8``, each optionally with ``:port``.

An explicit ``proxy=`` applies to every request, and ``NO_PROXY`` does not apply to
it (as in httpx).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Final
from urllib.parse import unquote, urlsplit

import attrs

from ._config import REDACTED, proxy_variables

__all__ = ["ProxyRoutes", "ProxyURL", "display_proxy", "proxy_routes"]

_SCHEMES: Final = frozenset({"http", "https"})
_CACHE_LIMIT: Final = 256


@attrs.frozen(kw_only=True)
class ProxyURL:
    """A proxy's URL without credentials, and the credentials apart (never shown).

    Attributes:
        url: ``scheme://host:port``, safe to show.
        username: The user of ``Proxy-Authorization: Basic``, if any.
        password: Its password.
    """

    url: str
    username: str | None = attrs.field(default=None, repr=False)
    password: str = attrs.field(default="", repr=False)

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        """The URL as it may be shown: credentials replaced by ``<redacted>``."""
        if self.username is None:
            return self.url
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{REDACTED}@{rest}"


def display_proxy(raw: str) -> str:
    """A proxy URL as text fit for an error or a log line: no ``user:password@``."""
    scheme, sep, rest = raw.partition("://")
    if not sep:
        scheme, rest = "", raw
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    return f"{scheme}{sep}{netloc}{slash}{path}"


def parse_proxy(raw: object, source: str) -> ProxyURL:
    """Check and split a proxy URL; the error names ``source`` and never shows a password.

    Raises:
        ValueError: Not an ``http://`` or ``https://`` URL with a host and a valid port.
    """
    if not isinstance(raw, str):
        raise TypeError(f"{source} must be a URL string, got {type(raw).__name__}")
    text = raw.strip()
    if "://" not in text:
        text = f"http://{text}"  # as curl and httpx read "host:port"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"{source} is not a valid URL: {display_proxy(raw)!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        raise ValueError(
            f"{source} must be an http:// or https:// proxy URL with a host"
            f" (SOCKS is not supported), got {display_proxy(raw)!r}"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = port or (443 if scheme == "https" else 80)
    username = unquote(parts.username) if parts.username is not None else None
    return ProxyURL(
        url=f"{scheme}://{host}:{port}", username=username, password=unquote(parts.password or "")
    )


@attrs.frozen
class _Bypass:
    """One ``NO_PROXY`` entry."""

    host: str | None = None  # a name, matched with its subdomains
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None
    everything: bool = False

    def matches(self, host: str, port: int) -> bool:
        if self.everything:
            return True
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(host) in self.network
            except ValueError:
                return False
        return host == self.host or host.endswith(f".{self.host}")


def _bypass_entry(entry: str) -> _Bypass | None:
    entry = entry.strip().lower()
    if entry.startswith("[") and "]" in entry:  # [::1]:8080
        host, _, port_text = entry[1:].partition("]")
        port_text = port_text.removeprefix(":")
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
    else:
        host, port_text = entry, ""
    host = host.removeprefix("*").lstrip(".")
    if entry == "*":
        return _Bypass(everything=True)
    port = int(port_text) if port_text.isdigit() else None
    if not host:
        return None
    try:
        return _Bypass(network=ipaddress.ip_network(host, strict=False), port=port)
    except ValueError:
        return _Bypass(host=host, port=port)


@attrs.define
class ProxyRoutes:
    """The proxy for each URL: one per scheme, and hosts that bypass them.

    Attributes:
        by_scheme: ``"http"`` / ``"https"`` to the proxy for URLs of that scheme.
        bypass: The ``NO_PROXY`` entries.
    """

    by_scheme: Mapping[str, ProxyURL]
    bypass: tuple[_Bypass, ...] = ()
    _cache: dict[tuple[str, str, int], ProxyURL | None] = attrs.field(factory=dict, repr=False)

    def for_url(self, url: str) -> ProxyURL | None:
        """The proxy for ``url``, or ``None`` to connect directly."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port)
        try:
            return self._cache[key]
        except KeyError:
            pass
        proxy = self.by_scheme.get(scheme)
        if proxy is not None and any(entry.matches(host, port) for entry in self.bypass):
            proxy = None
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = proxy
        return proxy

    def describe(self) -> str:
        """The proxies as they may be shown (credentials redacted)."""
        shown = {scheme: proxy.display for scheme, proxy in self.by_scheme.items()}
        if len(set(shown.values())) == 1 and len(shown) == len(_SCHEMES):
            return next(iter(shown.values()))
        return ", ".join(f"{scheme}={url}" for scheme, url in sorted(shown.items()))


def environment_proxies(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``{"http": (value, variable), ...}`` from ``*_proxy`` variables; lower case wins."""
    found: dict[str, tuple[str, str]] = {}
    cgi = "REQUEST_METHOD" in environ
    names = proxy_variables(environ)
    for lower in (False, True):  # the lower-case pass overrides the upper-case one
        for name in names:
            if name.lower() != name if lower else name.upper() != name:
                continue
            if cgi and name == "HTTP_PROXY":
                continue
            kind = name.lower().removesuffix("_proxy")
            value = environ[name]
            if value.strip():
                found[kind] = (value.strip(), name)
            else:
                found.pop(kind, None)
    return found


def proxy_routes(
    proxy: str | None, *, trust_env: bool, environ: Mapping[str, str] | None = None
) -> ProxyRoutes | None:
    """Build the routes for a client, or ``None`` when every request goes direct.

    Args:
        proxy: The explicit ``proxy=`` URL; it serves every request.
        trust_env: Read the ``*_PROXY`` variables when ``proxy`` is not given.
        environ: The environment (default: ``os.environ``).

    Raises:
        ValueError: A proxy URL is malformed or not http(s); the message names the
            option or variable and never shows a password.
    """
    if proxy is not None:
        parsed = parse_proxy(proxy, "proxy")
        return ProxyRoutes(dict.fromkeys(_SCHEMES, parsed))
    if not trust_env:
        return None
    found = environment_proxies(os.environ if environ is None else environ)
    by_scheme: dict[str, ProxyURL] = {}
    for scheme in sorted(_SCHEMES):
        value, variable = found.get(scheme) or found.get("all") or ("", "")
        if value:
            by_scheme[scheme] = parse_proxy(value, variable)
    if not by_scheme:
        return None
    no_proxy = found.get("no", ("", ""))[0]
    entries = tuple(e for e in map(_bypass_entry, no_proxy.split(",")) if e is not None)
    if any(entry.everything for entry in entries):
        return None
    return ProxyRoutes(by_scheme, entries)
