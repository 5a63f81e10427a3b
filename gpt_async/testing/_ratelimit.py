"""Rate limits for the fake server: requests and tokens per window, OpenAI's headers and 429s.

Each budget is a bucket that holds a whole window's limit and refills
continuously (``limit / period`` per second), the way OpenAI describes its
limits. A request costs one request and its tokens: the words of every
message's content plus the words the echo replies with (the last user
message's, cut to ``max_completion_tokens``/``max_tokens``, times ``n``), which
is the ``usage.total_tokens`` the echo reports. A request that does not fit is
answered ``429`` with ``retry-after`` (seconds until it would fit) and charged
nothing. Every chat response carries the six ``x-ratelimit-*`` headers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Final

import attrs
from aiohttp import web

from gpt_async.testing._script import Reply

__all__ = ["RateLimitEnforcer", "RateLimits", "add_rate_limit_headers", "admit", "request_cost"]

#: The ``x-ratelimit-*`` headers a request was admitted (or refused) with.
_HEADERS_KEY: Final = web.RequestKey("rate_limit_headers", dict[str, str])


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
    ):
        raise ValueError(f"RateLimits.{attribute.name} must be a positive number, got {value!r}")


@attrs.frozen(kw_only=True)
class RateLimits:
    """The limits a `FakeOpenAIServer` enforces (``FakeOpenAIServer(rate_limits=...)``).

    Attributes:
        requests_per_minute: Requests per window; ``None`` for no limit.
        tokens_per_minute: Tokens per window; ``None`` for no limit.
        period: The window in seconds; a short one keeps tests fast.
    """

    requests_per_minute: float | None = attrs.field(default=None, validator=_positive)
    tokens_per_minute: float | None = attrs.field(default=None, validator=_positive)
    period: float = attrs.field(default=60.0, validator=_positive)


def _words(content: object) -> int:
    if isinstance(content, str):
        return len(content.split())
    if isinstance(content, list):
        return sum(len(str(p.get("text", "")).split()) for p in content if isinstance(p, dict))
    return 0


def request_cost(data: Any) -> int:
    """The tokens a request costs: the echo's ``usage.total_tokens`` (see the module)."""
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        return 0
    messages = [m for m in messages if isinstance(m, dict)]
    prompt = sum(_words(m.get("content")) for m in messages)
    users = [m for m in messages if m.get("role") == "user"]
    reply = _words(users[-1].get("content")) if users else 0
    limit = data.get("max_completion_tokens") or data.get("max_tokens")
    if isinstance(limit, int):
        reply = min(reply, limit)
    n = data.get("n")
    return prompt + reply * (n if isinstance(n, int) and n > 0 else 1)


@attrs.define
class _Bucket:
    limit: float
    rate: float
    level: float
    at: float

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + self.rate * (now - self.at))
        self.at = now

    def shortfall(self, cost: float) -> float:
        """Seconds until ``cost`` fits (0 when it does now)."""
        return max(0.0, cost - self.level) / self.rate

    def headers(self, name: str) -> dict[str, str]:
        reset = (self.limit - self.level) / self.rate
        return {
            f"x-ratelimit-limit-{name}": str(int(self.limit)),
            f"x-ratelimit-remaining-{name}": str(max(0, math.floor(self.level))),
            f"x-ratelimit-reset-{name}": f"{reset:.3f}s",
        }


class RateLimitEnforcer:
    """A server's live budgets: admits or refuses each request (one per server)."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        now = clock()
        self._buckets: dict[str, _Bucket] = {}
        for name, limit in (
            ("requests", limits.requests_per_minute),
            ("tokens", limits.tokens_per_minute),
        ):
            if limit is not None:
                self._buckets[name] = _Bucket(limit, limit / limits.period, limit, now)
        self.accepted = 0
        self.refused = 0

    def admit(self, data: Any) -> tuple[Reply | None, dict[str, str]]:
        """Charge the request, or refuse it; returns the 429 (or None) and the headers."""
        now = self._clock()
        costs = {"requests": 1, "tokens": request_cost(data) if "tokens" in self._buckets else 0}
        waits = {}
        for name, bucket in self._buckets.items():
            bucket.refill(now)
            waits[name] = bucket.shortfall(min(costs[name], bucket.limit))
        over = [name for name, wait in waits.items() if wait > 0]
        if not over:
            for name, bucket in self._buckets.items():
                bucket.level -= costs[name]
            self.accepted += 1
        headers: dict[str, str] = {}
        for name, bucket in self._buckets.items():
            headers.update(bucket.headers(name))
        if not over:
            return None, headers
        self.refused += 1
        return _too_many(over[0], max(waits.values()), headers), headers


def _too_many(name: str, wait: float, headers: dict[str, str]) -> Reply:
    message = f"Rate limit reached for {name} per min. Please try again in {wait:.3f}s."
    return Reply.error(
        429,
        message,
        type=name,
        code="rate_limit_exceeded",
        headers={**headers, "retry-after": f"{wait:.3f}", "retry-after-ms": f"{wait * 1000:.0f}"},
    )


def admit(enforcer: RateLimitEnforcer | None, request: web.Request, data: Any) -> Reply | None:
    """Charges ``request`` to ``enforcer`` (if any); the 429 to answer, or None.

    The chat part calls it after authentication; the headers it computed are
    stamped on whatever the request is answered with (`add_rate_limit_headers`).
    """
    if enforcer is None:
        return None
    refused, request[_HEADERS_KEY] = enforcer.admit(data)
    return refused


def add_rate_limit_headers(core: object, app: web.Application) -> None:
    """The rate-limit part: every admitted or refused response gets its ``x-ratelimit-*``.

    It needs nothing of the core: the chat part leaves the headers on the request.
    """
    app.on_response_prepare.append(_stamp_headers)


async def _stamp_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in request.get(_HEADERS_KEY, {}).items():
        response.headers.setdefault(name, value)
