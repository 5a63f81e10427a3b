"""Client configuration: timeouts, connection limits, environment fallbacks, header checks.

Everything here is pure: no I/O beyond reading ``os.environ``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import attrs

from ._exceptions import RequestValidationError

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiKey",
    "Limits",
    "Timeout",
    "TokenProvider",
    "check_header_value",
    "check_option",
    "check_query",
    "is_secret_header",
    "proxy_variables",
    "redact_headers",
    "resolve_api_key",
    "resolve_base_url",
]

ApiKey: TypeAlias = "str | Callable[[], str | Awaitable[str]]"
"""An API key, or a callable (sync or async) returning it before every request."""

TokenProvider: TypeAlias = "Callable[[], str | Awaitable[str]]"
"""A callable (sync or async) returning a bearer token (Azure Entra ID) per attempt."""

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
"""Where requests go when neither ``server_url`` nor ``OPENAI_BASE_URL`` is set."""

REDACTED: Final = "<redacted>"

_SECRET_NAMES: Final = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"}
)
_SECRET_WORDS: Final = ("token", "key", "secret", "password", "auth", "cookie")
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Field values may hold visible characters, spaces and tabs; every other control
# character (CR and LF above all) could end the header and start a forged one.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_URL_FORBIDDEN: Final = re.compile(r"[\x00-\x20\x7f]")


def _timeout_value(instance: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Timeout.{attribute.name} must be a number or None, got {value!r}")
    if math.isnan(value) or value <= 0:
        raise ValueError(
            f"Timeout.{attribute.name} must be a positive number of seconds or None"
            f" (None disables it), got {value!r}"
        )


@attrs.frozen(kw_only=True)
class Timeout:
    """How long a request may take, phase by phase.

    Each value is in seconds; ``None`` disables that limit. Zero is rejected rather
    than read as "no limit" (aiohttp's convention) or "fail at once": say ``None``.

    Attributes:
        connect: The limit on opening the connection (DNS, TCP and TLS).
        read: The longest gap allowed between two reads of the response: before the
            status line, within the body, and between the chunks of a stream. It is an
            idle limit, so a stream that keeps sending never hits it.
        total: An overall deadline for one call, across every attempt and the waits
            between retries. ``None`` (the default) means no overall deadline.
    """

    connect: float | None = attrs.field(default=10.0, validator=_timeout_value)
    read: float | None = attrs.field(default=600.0, validator=_timeout_value)
    total: float | None = attrs.field(default=None, validator=_timeout_value)

    @classmethod
    def coerce(cls, value: float | Timeout | None) -> Timeout:
        """Turn the ``timeout=`` argument forms into a :class:`Timeout`.

        As in httpx (and so in openai-python), a plain number sets every per-phase
        limit: ``connect`` and ``read`` both become that number. It does not set
        ``total``, so a call can still take longer across retries; pass
        ``Timeout(total=...)`` for a hard deadline. ``None`` disables every limit,
        and a :class:`Timeout` is returned unchanged.

        Args:
            value: A number of seconds, a :class:`Timeout`, or ``None``.

        Returns:
            The equivalent :class:`Timeout`.

        Raises:
            ValueError: The number is negative, zero or NaN.
            TypeError: The value is not a number, a :class:`Timeout` or ``None``.
        """
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(connect=None, read=None, total=None)
        return cls(connect=value, read=value, total=None)


def _non_negative_int(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Limits.{attribute.name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"Limits.{attribute.name} must be an integer >= 0, got {value!r}")


def _seconds(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Limits.{attribute.name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"Limits.{attribute.name} must be a finite number >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class Limits:
    """The connection pool's limits.

    Attributes:
        max_connections: The most connections open at once, across all hosts;
            ``0`` means no limit (aiohttp's convention).
        max_connections_per_host: The most connections to one host; ``0`` means no
            per-host limit.
        keepalive_expiry: Seconds an idle connection is kept for reuse.
    """

    max_connections: int = attrs.field(default=100, validator=_non_negative_int)
    max_connections_per_host: int = attrs.field(default=0, validator=_non_negative_int)
    keepalive_expiry: float = attrs.field(default=30.0, validator=_seconds)


def _env(name: str) -> str | None:
    # A blank variable (``OPENAI_API_KEY=``) counts as unset; stray whitespace,
    # such as the CR of a CRLF .env file, is never part of a key or URL.
    value = os.environ.get(name, "").strip()
    return value or None


def resolve_api_key(explicit: str | None) -> str | None:
    """Choose the API key: the explicit one, else ``OPENAI_API_KEY``, else ``None``.

    Args:
        explicit: The ``api_key_auth`` the caller passed, if any. It is returned as
            given, even when empty (local servers often take any key).

    Returns:
        The key, or ``None`` when there is none (no ``Authorization`` header is sent).
    """
    return explicit if explicit is not None else _env("OPENAI_API_KEY")


def proxy_variables(environ: Mapping[str, str]) -> list[str]:
    """The names of the ``*_proxy`` variables (any case) in ``environ``, values unread.

    One pass over the names alone: ``os.environ`` decodes each value it is asked for.
    """
    return [name for name in environ if name[-6:].lower() == "_proxy"]


def resolve_base_url(explicit: str | None) -> str:
    """Choose and normalise the base URL.

    The explicit value wins, else ``OPENAI_BASE_URL``, else :data:`DEFAULT_BASE_URL`.
    Trailing slashes are removed so that paths can be appended with ``/``.

    Args:
        explicit: The ``server_url`` the caller passed, if any.

    Returns:
        The normalised URL, e.g. ``https://api.openai.com/v1``.

    Raises:
        ValueError: The URL is not ``http``/``https`` with a host, has a bad port, or
            carries a query or fragment (query parameters such as Azure's
            ``api-version`` are client options). The message names ``server_url``.
    """
    raw = explicit if explicit is not None else (_env("OPENAI_BASE_URL") or DEFAULT_BASE_URL)
    source = "server_url" if explicit is not None else "server_url (from OPENAI_BASE_URL)"
    url = raw.strip()
    if _URL_FORBIDDEN.search(url) or (not url.isascii() and _find_surrogate(url)):
        # urlsplit silently drops CR, LF and tab: reject them rather than send elsewhere.
        raise ValueError(f"{source} contains whitespace or control characters: {url!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what validates it
    except ValueError as exc:
        raise ValueError(f"{source} is not a valid URL: {_display_url(url)!r}") from exc
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValueError(
            f"{source} must be an http:// or https:// URL with a host, got {_display_url(url)!r}"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{source} must not carry a query or fragment, got {_display_url(url)!r}")
    return urlunsplit(parts._replace(scheme=parts.scheme.lower())).rstrip("/")


def _display_url(url: str) -> str:
    """Return the URL without any ``user:password@`` part, fit for an error message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{parts.netloc.rpartition('@')[2]}"))


def is_secret_header(name: str) -> bool:
    """Tell whether a header's value must never be shown (keys, tokens, cookies).

    Args:
        name: The header name, in any case.

    Returns:
        ``True`` for ``Authorization``, ``api-key``, cookies and any name that
        mentions a token, key, secret, password or auth.
    """
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS)


def check_header_value(name: str, value: str, *, path: str | None = None) -> str:
    """Validate one request header before it is sent.

    Rejects names that are not HTTP tokens, and values holding CR, LF, NUL or any
    other control character but tab (header injection), or characters outside
    latin-1. The error never shows the value of a secret header.

    Args:
        name: The header name.
        value: The header value.
        path: Where the error should say the header came from; defaults to
            ``headers.<name>``.

    Returns:
        ``value``, unchanged, so the call can be used inline.

    Raises:
        RequestValidationError: The name or value is not allowed.
    """
    where = path if path is not None else f"headers.{name}"
    if not _TOKEN.fullmatch(str(name)):
        raise RequestValidationError(where, f"{name!r} is not a valid header name")
    if not isinstance(value, str):
        raise RequestValidationError(where, f"must be a string, got {type(value).__name__}")
    shown = REDACTED if is_secret_header(name) else repr(value[:200])
    if _CONTROL.search(value):
        raise RequestValidationError(
            where,
            f"value {shown} contains a control character (CR, LF, NUL or similar);"
            " check for a trailing newline",
        )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise RequestValidationError(
            where, f"value {shown} contains characters outside latin-1"
        ) from None
    return value


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy headers for logging, with secret values replaced by ``"<redacted>"``.

    Args:
        headers: Request or response headers.

    Returns:
        A new dict with the same names; the values of ``Authorization``,
        ``Proxy-Authorization``, ``api-key``, ``x-api-key``, cookies and any other
        secret-looking header (see :func:`is_secret_header`) are redacted.
    """
    return {k: REDACTED if is_secret_header(k) else v for k, v in headers.items()}


def _find_surrogate(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def check_query(params: Mapping[Any, Any] | None, path: str) -> dict[str, Any]:
    """Validate query parameters before they are sent; return them as a dict.

    Names must be text and values text or numbers, all encodable as UTF-8: yarl
    would otherwise drop a lone surrogate from the URL silently.

    Raises:
        RequestValidationError: Naming ``<path>.<name>``.
    """
    checked = dict(params or {})
    for name, value in checked.items():
        if not isinstance(name, str) or _find_surrogate(name):
            raise RequestValidationError(f"{path}[{name!r}]", "the name must be valid Unicode text")
        where = f"{path}.{name}"
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise RequestValidationError(where, f"must be a string, got {type(value).__name__}")
        if isinstance(value, str) and _find_surrogate(value):
            raise RequestValidationError(where, "text is not valid Unicode (lone surrogate)")
    return checked


def check_option(value: object, types: type | tuple[type, ...], path: str) -> None:
    """Fail early, naming the option, when ``value`` is neither ``None`` nor one of ``types``.

    Raises:
        RequestValidationError: Naming ``path`` and the type that was passed.
    """
    if value is not None and not isinstance(value, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise RequestValidationError(path, f"expected {names}, got {type(value).__name__}")
