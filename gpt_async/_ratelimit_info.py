"""Rate-limit headers: the server's ``x-ratelimit-*`` headers, read into :class:`RateLimitInfo`.

OpenAI (and Azure, LiteLLM, Groq...) report the caller's budget on every reply::

    x-ratelimit-limit-requests: 500        x-ratelimit-limit-tokens: 30000
    x-ratelimit-remaining-requests: 499    x-ratelimit-remaining-tokens: 29950
    x-ratelimit-reset-requests: 120ms      x-ratelimit-reset-tokens: 6m0s

The resets are Go-style durations (``1h2m3.5s``, ``20ms``, ``0.5s``); a bare
number is taken as seconds. Headers are advisory, so reading them never fails:
a header that is absent or malformed gives ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

__all__ = ["RateLimitInfo", "parse_count", "parse_duration"]

_UNIT_SECONDS = {
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|d|h|m|s)")
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def parse_duration(text: str | None) -> float | None:
    """Seconds in a reset header (``6m0s``, ``1s``, ``20ms``, ``0.5s``, ``2``), else ``None``."""
    if text is None:
        return None
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    total, end = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != end:
            return None
        total += float(match[1]) * _UNIT_SECONDS[match[2]]
        end = match.end()
    return total if end and end == len(text) else None


def parse_count(text: str | None) -> int | None:
    """A non-negative integer header (``499``), else ``None``."""
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


@attrs.frozen(kw_only=True)
class RateLimitInfo:
    """The budget a server reported in its ``x-ratelimit-*`` headers.

    Every field is ``None`` where its header was absent or malformed.

    Attributes:
        limit_requests: Requests allowed per window (``x-ratelimit-limit-requests``).
        limit_tokens: Tokens allowed per window (``x-ratelimit-limit-tokens``).
        remaining_requests: Requests left in the window.
        remaining_tokens: Tokens left in the window.
        reset_requests: Seconds until the request budget is whole again.
        reset_tokens: Seconds until the token budget is whole again.
    """

    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests: float | None = None
    reset_tokens: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo:
        """Read the six headers from a case-insensitive mapping (or lower-case keys)."""
        get = headers.get
        return cls(
            limit_requests=parse_count(get("x-ratelimit-limit-requests")),
            limit_tokens=parse_count(get("x-ratelimit-limit-tokens")),
            remaining_requests=parse_count(get("x-ratelimit-remaining-requests")),
            remaining_tokens=parse_count(get("x-ratelimit-remaining-tokens")),
            reset_requests=parse_duration(get("x-ratelimit-reset-requests")),
            reset_tokens=parse_duration(get("x-ratelimit-reset-tokens")),
        )

    def __bool__(self) -> bool:
        """True when the server reported any of the six headers."""
        return any(value is not None for value in attrs.astuple(self))


# ---------------------------------------------------------------- token estimate

#: Without tiktoken, a token is taken as this many characters of text (OpenAI's
#: rule of thumb for English; code and other languages run denser, hence the
#: per-message overheads and the completion cap, which dominate in practice).
