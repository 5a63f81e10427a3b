"""Rate limits: :class:`RateLimiter`, kept by the server's ``x-ratelimit-*`` headers.

The headers are read into :class:`~gpt_async.RateLimitInfo` (``_ratelimit_info``).
:class:`RateLimiter` keeps a client under those limits. Each budget (requests,
tokens) is a bucket that refills continuously at ``limit / period`` per second
and holds only ``burst`` of a window (one second of a minute by default), so a
minute's budget is spent over the minute, never at once. A reservation is
granted at once and told how long to wait: the bucket may go into debt, and
callers queue by the time their budget arrives, which makes waiting FIFO and
costs one Redis round trip however long the wait. After the reply the
reservation is settled to the reported ``usage``: the difference goes back.

Shared state lives in Redis (this is the only module that touches it): one hash
per key with each budget's level and the time it was measured (Redis's own
clock, so hosts need not agree on the time), the shared pause, and a sorted set
of concurrency leases that expire, so a process that dies leaks nothing.
"""

from __future__ import annotations

import functools
import importlib
import logging
import math
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import anyio
import attrs

from . import _codec
from ._exceptions import RateLimiterError, SDKError
from ._ratelimit_info import RateLimitInfo, parse_count
from ._retry import parse_retry_after

if TYPE_CHECKING:
    from ._transport import HTTPResponse

__all__ = ["RateLimiter", "estimate_tokens"]

logger = logging.getLogger("gpt_async")

CHARS_PER_TOKEN: Final = 4
_TOKENS_PER_MESSAGE: Final = 4  # role and separators, as OpenAI's cookbook counts them
_TOKENS_PER_REPLY: Final = 3  # the reply's priming
_TOKENS_PER_PART: Final = 85  # a non-text content part: an image at low detail, audio, a file


def _char_estimate(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


@functools.cache
def _text_tokens() -> Callable[[str], int]:
    """tiktoken's ``o200k_base`` count when it is installed and loads, else the estimate."""
    try:
        tiktoken = importlib.import_module("tiktoken")  # optional, loaded on first use
        encoding = tiktoken.get_encoding("o200k_base")
    except Exception:  # not installed, or its vocabulary cannot be fetched offline
        return _char_estimate
    return lambda text: len(encoding.encode_ordinary(text))


def _message_tokens(message: Any, count: Callable[[str], int]) -> int:
    if not isinstance(message, Mapping):
        return 0
    total = _TOKENS_PER_MESSAGE
    content = message.get("content")
    if isinstance(content, str):
        total += count(content)
    elif isinstance(content, list):
        for part in content:
            text = part.get("text") if isinstance(part, Mapping) else None
            total += count(text) if isinstance(text, str) else _TOKENS_PER_PART
    if message.get("tool_calls"):
        total += count(_codec.dumps(message["tool_calls"]).decode())
    return total


def estimate_tokens(body: Mapping[str, Any], default_completion_tokens: int = 1024) -> int:
    """The tokens a request is reserved for: its prompt plus the most it may generate.

    The prompt is counted with tiktoken (``o200k_base``) when it is installed,
    else as one token per :data:`CHARS_PER_TOKEN` characters, plus 4 tokens per
    message, 3 for the reply and 85 per non-text content part; ``tools`` and
    ``response_format`` count as their JSON text. The completion is
    ``max_completion_tokens`` (or ``max_tokens``, or ``default_completion_tokens``)
    times ``n``.

    Args:
        body: The request's JSON body.
        default_completion_tokens: The completion reserved when the request sets no cap.
    """
    count = _text_tokens()
    prompt = _TOKENS_PER_REPLY + sum(_message_tokens(m, count) for m in body.get("messages", ()))
    for extra in ("tools", "response_format"):
        if body.get(extra):
            prompt += count(_codec.dumps(body[extra]).decode())
    cap = body.get("max_completion_tokens") or body.get("max_tokens") or default_completion_tokens
    n = body.get("n") or 1
    return prompt + int(cap) * int(n)


# ---------------------------------------------------------------- one process's budgets


@attrs.define
class _Budget:
    """One budget as a bucket that refills continuously and may go into debt.

    ``level`` is what the bucket held at time ``at``; ``at`` lies in the future
    while a pause lasts. A ``rate`` of 0 means the limit is unknown: no limit.
    """

    rate: float = 0.0
    cap: float = 0.0
    level: float = 0.0
    at: float = 0.0

    def set_limit(self, limit: float, period: float, burst: float, now: float) -> None:
        fresh = not self.rate
        self.rate, self.cap = limit / period, max(1.0, limit * burst)
        if fresh:
            self.level, self.at = self.cap, now
        self.level = min(self.level, self.cap)

    def _refill(self, now: float, room: float = 0.0) -> None:
        # Conditionals, not min(): this runs on every request. A level over the cap
        # (tokens given back) is kept, not cut down.
        if now > self.at:
            cap = self.cap + room
            if self.level < cap:
                level = self.level + self.rate * (now - self.at)
                self.level = level if level < cap else cap
            self.at = now

    def shortfall(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` fits (a cost over the cap: until the bucket is full)."""
        if not self.rate:
            return 0.0
        cost = cost if cost < self.cap else self.cap
        # The cap holds after the charge: a waiter woken late loses none of the refill.
        self._refill(now, room=cost)
        missing = cost - self.level
        return self.at - now + (missing / self.rate if missing > 0 else 0.0)

    def charge(self, cost: float) -> None:
        """Take ``cost``, right after :meth:`shortfall` refilled the bucket."""
        self.level -= cost

    def settle(self, refund: float, seen: int | None, pause: float, now: float) -> None:
        """Give ``refund`` back, follow the server's ``seen`` remaining, start a pause."""
        if not self.rate:
            return
        self._refill(now)
        # Not capped: what was over-reserved was never spent at the server either.
        self.level += refund
        if seen is not None:
            self.level = min(self.level, seen)
        if pause > 0:  # nothing saved up during the pause: afterwards, callers go at the rate
            self.at = max(self.at, now + pause)
            self.level = min(self.level, 0.0)


@attrs.define
class _Local:
    """The budgets of one process (or, while Redis is away, one process's share)."""

    requests: _Budget = attrs.field(factory=_Budget)
    tokens: _Budget = attrs.field(factory=_Budget)
    paused_until: float = -math.inf

    def shortfall(self, tokens: int, now: float) -> float:
        """Seconds until one request and ``tokens`` fit, a pause included."""
        return max(
            self.paused_until - now,
            self.requests.shortfall(1, now),
            self.tokens.shortfall(tokens, now),
        )

    def charge(self, tokens: int) -> None:
        self.requests.charge(1)
        self.tokens.charge(tokens)

    def settle(self, refund: tuple[int, int], seen: RateLimitInfo | None, pause: float) -> None:
        now = time.monotonic()
        requests = seen.remaining_requests if seen is not None else None
        tokens = seen.remaining_tokens if seen is not None else None
        self.requests.settle(refund[0], requests, pause, now)
        self.tokens.settle(refund[1], tokens, pause, now)
        if pause > 0:
            self.paused_until = max(self.paused_until, now + pause)


# ---------------------------------------------------------------- Redis

_KEY_PREFIX: Final = "gpt_async:ratelimit:"

# Both scripts read Redis's clock, so every host agrees on the time.
_LUA_COMMON: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local s = redis.call('HMGET', KEYS[1], 'rl', 'ra', 'tl', 'ta', 'p')
local function refill(li, rate, cap)
  local level, at = tonumber(s[li]), tonumber(s[li + 1])
  if level == nil or at == nil then return cap, now end
  if now > at then
    if level < cap then level = math.min(cap, level + rate * (now - at)) end
    at = now
  end
  return level, at
end
"""

# ARGV: request rate, cap; token rate, cap; token cost; ttl ms; max concurrency,
# lease seconds, lease id. Returns {granted, wait, pause}; not granted means every
# concurrency lease is taken, and wait is then when the first one expires.
_RESERVE: Final = (
    _LUA_COMMON
    + """
local slots = tonumber(ARGV[7])
if slots > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= slots then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {0, tostring(tonumber(first[2]) - now), '0'}
  end
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[8]), ARGV[9])
  redis.call('PEXPIRE', KEYS[2], math.ceil(tonumber(ARGV[8]) * 1000) + 1000)
end
local pause = math.max(0, (tonumber(s[5]) or 0) - now)
local wait = pause
local function take(li, rate, cap, cost, lname, aname)
  if rate <= 0 then return end
  local level, at = refill(li, rate, cap)
  level = level - cost
  wait = math.max(wait, at - now + math.max(0, -level) / rate)
  redis.call('HSET', KEYS[1], lname, tostring(level), aname, tostring(at))
end
take(1, tonumber(ARGV[1]), tonumber(ARGV[2]), 1, 'rl', 'ra')
take(3, tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), 'tl', 'ta')
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {1, tostring(wait), tostring(pause)}
"""
)

# ARGV: request rate, cap; token rate, cap; request refund, token refund; the
# remaining requests, tokens the server reported (-1: none); pause seconds; ttl
# ms; lease id ('' for none).
_SETTLE: Final = (
    _LUA_COMMON
    + """
if ARGV[11] ~= '' then redis.call('ZREM', KEYS[2], ARGV[11]) end
local pause = tonumber(ARGV[9])
local function settle(li, rate, cap, refund, seen, lname, aname)
  if rate <= 0 then return end
  local level, at = refill(li, rate, cap)
  level = level + refund
  if seen >= 0 then level = math.min(level, seen) end
  if pause > 0 then at = math.max(at, now + pause); level = math.min(level, 0) end
  redis.call('HSET', KEYS[1], lname, tostring(level), aname, tostring(at))
end
settle(1, tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5]), tonumber(ARGV[7]), 'rl', 'ra')
settle(3, tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6]), tonumber(ARGV[8]), 'tl', 'ta')
if pause > 0 and now + pause > (tonumber(s[5]) or 0) then
  redis.call('HSET', KEYS[1], 'p', tostring(now + pause))
end
redis.call('PEXPIRE', KEYS[1], ARGV[10])
return 1
"""
)


def _redis_from_url(url: str) -> Any:
    try:
        import redis.asyncio  # noqa: PLC0415 - the [redis] extra, loaded only when used
        from redis.asyncio.retry import Retry  # noqa: PLC0415
        from redis.backoff import NoBackoff  # noqa: PLC0415
    except ImportError:
        msg = "RateLimiter(redis=...) needs the redis package: pip install 'gpt_async[redis]'"
        raise ImportError(msg) from None
    # Fail fast rather than retry: the limiter has its own fallback. Many callers at
    # once queue for a few connections instead of failing with "Too many connections".
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=16,
        timeout=None,  # the limiter's own redis_timeout bounds every call
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        retry=Retry(NoBackoff(), 0),
    )
    return redis.asyncio.Redis.from_pool(pool)


class _Shared:
    """The budgets in Redis: one script call to reserve, one to settle."""

    def __init__(self, client: Any, key: str, owned: bool) -> None:
        import redis.exceptions  # noqa: PLC0415 - present whenever a Redis client is

        self.client, self.owned = client, owned
        self.keys = [f"{_KEY_PREFIX}{key}", f"{_KEY_PREFIX}{key}:leases"]
        self.errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._loaded = False
        self._loading = anyio.Lock()

    async def _load(self) -> None:
        # Once, up front: otherwise every caller of a first burst meets NOSCRIPT and
        # loads the scripts itself (two more round trips each).
        async with self._loading:
            if not self._loaded:
                await self.client.script_load(_RESERVE)
                await self.client.script_load(_SETTLE)
                self._loaded = True

    async def reserve(self, args: Sequence[Any]) -> tuple[bool, float, float]:
        if not self._loaded:
            await self._load()
        granted, wait, pause = await self._reserve(keys=self.keys, args=args)
        return bool(int(granted)), float(wait), float(pause)

    async def settle(self, args: Sequence[Any]) -> None:
        await self._settle(keys=self.keys, args=args)


# ---------------------------------------------------------------- the limiter


def _check_limit(name: str, value: object, *, integer: bool = False) -> None:
    if value is None:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "an integer" if integer else "a number"
        raise TypeError(f"RateLimiter.{name} must be {kind} or None, got {value!r}")
    if not value > 0 or math.isinf(value):
        raise ValueError(f"RateLimiter.{name} must be a finite number > 0, got {value!r}")


def _check_options(*, numbers: dict[str, object], counts: dict[str, object]) -> None:
    for name, value in numbers.items():
        _check_limit(name, value)
    for name, count in counts.items():
        _check_limit(name, count, integer=True)


def _check_choices(burst: float, on_redis_error: str, key: object) -> None:
    if burst > 1:
        raise ValueError(f"RateLimiter.burst must be at most 1, got {burst!r}")
    if on_redis_error not in ("fallback", "raise"):
        msg = f"RateLimiter.on_redis_error must be 'fallback' or 'raise': {on_redis_error!r}"
        raise ValueError(msg)
    if not isinstance(key, str) or not key:
        raise TypeError(f"RateLimiter.key must be a non-empty string, got {key!r}")


def _pause_for(exc: SDKError, info: RateLimitInfo | None) -> float:
    """How long a 429 asks every caller to wait (0: not a rate limit, or no hint)."""
    if exc.status_code != 429 or exc.code == "insufficient_quota":
        return 0.0
    headers = exc.raw_response.headers if exc.raw_response else {}
    wait = parse_retry_after(headers)
    if wait is None and info is not None:
        resets = [r for r in (info.reset_requests, info.reset_tokens) if r is not None]
        wait = max(resets, default=None)
    return wait or 0.0


class RateLimiter:
    """Keeps every client that shares it under requests and tokens per minute.

    Pass it as ``AsyncGpt(rate_limiter=...)`` or ``Gpt(rate_limiter=...)``; any
    number of clients may share one. Before each attempt it reserves one
    request and :func:`estimate_tokens` tokens, waiting (cancellably, first come
    first served) until both fit; after the reply it settles to the ``usage``
    the server reported. With no limits configured it learns them from the
    ``x-ratelimit-*`` headers; with limits, headers reporting fewer remaining
    requests or tokens win. A 429 with ``Retry-After`` (or a reset header)
    pauses every caller until then, and the retries after it are spread with
    jitter. A 429 whose code is ``insufficient_quota`` is never retried.

    Args:
        requests_per_minute: Requests per ``period``; ``None`` to learn it from headers.
        tokens_per_minute: Tokens per ``period``; ``None`` to learn it from headers.
        max_concurrency: The most requests in flight at once (enough alone for
            servers without limit headers: vLLM, llama.cpp).
        period: The window the limits are given for, in seconds.
        burst: The share of a window's budget that may be spent at once. The
            default, 1/60, spends 600 requests per minute as 10 per second:
            OpenAI may enforce per-minute limits over shorter periods.
        default_completion_tokens: Reserved for a request without
            ``max_completion_tokens``/``max_tokens``.
        redis: A ``redis://`` URL or a ``redis.asyncio.Redis`` client: the budget
            is then shared by every process using the same ``key``.
        key: Names the shared budget in Redis.
        processes: How many processes share the budget; while Redis is
            unreachable each one keeps to ``1/processes`` of it.
        on_redis_error: ``"fallback"`` (per-process limits, one warning, rejoin
            when Redis is back) or ``"raise"`` (:class:`RateLimiterError`).
        lease: Seconds a concurrency slot in Redis outlives a process that died
            holding it (requests running longer lose their slot).
        redis_timeout: Seconds any Redis call may take before it counts as a failure.
    """

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_concurrency: int | None = None,
        period: float = 60.0,
        burst: float = 1 / 60,
        default_completion_tokens: int = 1024,
        redis: str | Any | None = None,
        key: str = "default",
        processes: int = 1,
        on_redis_error: Literal["fallback", "raise"] = "fallback",
        lease: float = 300.0,
        redis_timeout: float = 2.0,
    ) -> None:
        _check_options(
            numbers={
                "requests_per_minute": requests_per_minute,
                "tokens_per_minute": tokens_per_minute,
                "period": period,
                "burst": burst,
                "lease": lease,
                "redis_timeout": redis_timeout,
            },
            counts={
                "max_concurrency": max_concurrency,
                "default_completion_tokens": default_completion_tokens,
                "processes": processes,
            },
        )
        _check_choices(burst, on_redis_error, key)
        self._configured = (requests_per_minute, tokens_per_minute)
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.max_concurrency = max_concurrency
        self.period, self.burst, self.key = period, burst, key
        self.default_completion_tokens = default_completion_tokens
        self._share = processes if redis is not None else 1
        self._raise = on_redis_error == "raise"
        self._lease, self._timeout = lease, redis_timeout
        self._redis_option = redis
        self._start_state()

    def _start_state(self) -> None:
        self._shared: _Shared | None = None
        self._outage = False
        self._retry_at = 0.0
        self._local = _Local()
        self._slots = None
        if self.max_concurrency:  # while Redis is away, this process's share of the slots
            self._slots = anyio.Semaphore(max(1, self.max_concurrency // self._share))
        #: Reservations (and their estimated tokens) this process holds, not yet settled.
        self.in_flight = 0
        self.in_flight_tokens = 0
        self._turn = anyio.Lock()  # FIFO: its holder is the head of the local queue
        self._given_back: anyio.Event | None = None
        self._queue = anyio.Lock()  # FIFO among this process's callers polling for a Redis slot
        self._apply_limits()

    def __repr__(self) -> str:
        shared = f" shared={self.key!r}" if self._redis_option is not None else ""
        return (
            f"<RateLimiter requests_per_minute={self.requests_per_minute}"
            f" tokens_per_minute={self.tokens_per_minute}"
            f" max_concurrency={self.max_concurrency}{shared}>"
        )

    @property
    def shared(self) -> bool:
        """True when the budget is kept in Redis and Redis is reachable."""
        return self._redis_option is not None and not self._outage

    def estimate(self, body: Mapping[str, Any]) -> int:
        """The tokens reserved for a request body (see :func:`estimate_tokens`)."""
        return estimate_tokens(body, self.default_completion_tokens)

    async def aclose(self) -> None:
        """Close the Redis connection the limiter opened from a URL (yours stay open)."""
        shared, self._shared = self._shared, None
        if shared is not None and shared.owned:
            await shared.client.aclose()

    # ------------------------------------------------------------ limits

    def _apply_limits(self) -> None:
        now = time.monotonic()
        for budget, limit in (
            (self._local.requests, self.requests_per_minute),
            (self._local.tokens, self.tokens_per_minute),
        ):
            if limit is not None:
                budget.set_limit(limit / self._share, self.period, self.burst, now)
        self._args = self._budget_args()

    def _budget_args(self) -> list[float]:
        args: list[float] = []
        for limit in (self.requests_per_minute, self.tokens_per_minute):
            args += [limit / self.period, max(1.0, limit * self.burst)] if limit else [0, 0]
        return args

    def _observe(self, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """Read the remaining counts; learn the limits that were not configured."""
        requests = parse_count(headers.get("x-ratelimit-remaining-requests"))
        tokens = parse_count(headers.get("x-ratelimit-remaining-tokens"))
        if requests is None and tokens is None:
            return None
        if None in self._configured:  # something to learn: read every header
            self._learn(RateLimitInfo.from_headers(headers))
        return RateLimitInfo(remaining_requests=requests, remaining_tokens=tokens)

    def _learn(self, info: RateLimitInfo) -> None:
        learned = (
            self._configured[0] or info.limit_requests or self.requests_per_minute,
            self._configured[1] or info.limit_tokens or self.tokens_per_minute,
        )
        if learned != (self.requests_per_minute, self.tokens_per_minute):
            self.requests_per_minute, self.tokens_per_minute = learned
            self._apply_limits()

    # ------------------------------------------------------------ reserve

    async def _reserve(self, body: Mapping[str, Any]) -> _Reservation:
        """Wait until one request and the body's tokens fit, and hold them."""
        tokens = self.estimate(body) if self.tokens_per_minute else 0
        if self._redis_option is not None and (not self._outage or self._rejoin_due()):
            try:
                return await self._reserve_shared(tokens)
            except RateLimiterError:
                raise
            except Exception as exc:
                if not isinstance(exc, self._redis_errors()):
                    raise
                self._redis_failed(exc)
        return await self._reserve_local(tokens)

    async def _reserve_local(self, tokens: int) -> _Reservation:
        if self._slots is not None:
            try:
                self._slots.acquire_nowait()  # no trip through the event loop when free
            except anyio.WouldBlock:
                await self._slots.acquire()
        try:
            pause = await self._admit(tokens)
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise
        ticket = self._issue(_Reservation(self, tokens, slot=self._slots is not None))
        if pause > 0:
            await ticket.wait(0.0, pause)
        return ticket

    async def _admit(self, tokens: int) -> float:
        """Wait, first come first served, until the budget covers the request; charge it.

        Returns how long a pause held the caller, for the jitter after it. The
        head of the queue sleeps until its cost fits, or until a settlement gives
        tokens back: an over-estimate returned early lets the queue move early.
        """
        local, paused = self._local, 0.0
        now = time.monotonic()
        if not self._turn.locked() and local.shortfall(tokens, now) <= 0:
            local.charge(tokens)  # nobody queues and it fits: no trip through the loop
            return paused
        async with self._turn:
            while (wait := local.shortfall(tokens, time.monotonic())) > 0:
                paused = max(paused, local.paused_until - time.monotonic())
                self._given_back = given_back = anyio.Event()
                with anyio.move_on_after(wait):
                    await given_back.wait()
            local.charge(tokens)
        return paused

    async def _reserve_shared(self, tokens: int) -> _Reservation:
        shared = self._connect()
        lease = uuid.uuid4().hex if self.max_concurrency else ""
        args = [*self._args, tokens, self._ttl_ms(), self.max_concurrency or 0, self._lease, lease]
        if self.max_concurrency:
            async with self._queue:
                wait, pause = await self._poll_slot(shared, args)
        else:
            _granted, wait, pause = await self._call(shared.reserve(args))
        self._rejoined()
        ticket = self._issue(_Reservation(self, tokens, lease=lease, shared=True))
        await ticket.wait(wait, pause)
        return ticket

    async def _poll_slot(self, shared: _Shared, args: list[Any]) -> tuple[float, float]:
        # Only this process's first waiter polls; the others queue on the lock.
        while True:
            granted, wait, pause = await self._call(shared.reserve(args))
            if granted:
                return wait, pause
            await anyio.sleep(min(max(wait, 0.005), 0.05))

    async def _call(self, call: Any) -> Any:
        with anyio.fail_after(self._timeout):
            return await call

    def _connect(self) -> _Shared:
        if self._shared is None:
            option = self._redis_option
            if isinstance(option, str):
                self._shared = _Shared(_redis_from_url(option), self.key, owned=True)
            else:
                self._shared = _Shared(option, self.key, owned=False)
        return self._shared

    def _redis_errors(self) -> tuple[type[BaseException], ...]:
        return self._shared.errors if self._shared is not None else (OSError,)

    def _ttl_ms(self) -> int:
        return math.ceil(self.period * 2000)

    def _issue(self, ticket: _Reservation) -> _Reservation:
        self.in_flight += 1
        self.in_flight_tokens += ticket.tokens
        return ticket

    # ------------------------------------------------------------ Redis outages

    def _rejoin_due(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + 1.0  # one probe a second, not one per caller
        return True

    def _redis_failed(self, exc: BaseException) -> None:
        if self._raise:
            raise RateLimiterError(f"the rate limiter's Redis failed: {exc}") from exc
        self._retry_at = time.monotonic() + 1.0
        if not self._outage:
            self._outage = True
            logger.warning(
                "rate limiter %r: Redis unreachable (%s); each process keeps to 1/%d of the"
                " budget until it is back",
                self.key,
                exc,
                self._share,
            )

    def _rejoined(self) -> None:
        if self._outage:
            self._outage = False
            logger.info("rate limiter %r: Redis is back; the budget is shared again", self.key)

    # ------------------------------------------------------------ settle

    def _settle_local(self, ticket: _Reservation, refund: tuple[int, int], pause: float) -> None:
        self._local.settle(refund, ticket.info, pause)
        if self._given_back is not None:
            self._given_back.set()
        if ticket.slot and self._slots is not None:
            self._slots.release()

    async def _settle_shared(
        self, ticket: _Reservation, refund: tuple[int, int], pause: float
    ) -> None:
        info = ticket.info
        if self._outage or self._shared is None:
            self._local.settle(refund, info, pause)  # the lease, if any, expires in Redis
            return
        args = [*self._args, *refund, *_seen(info), pause, self._ttl_ms(), ticket.lease]
        try:
            with anyio.CancelScope(shield=True):
                await self._call(self._shared.settle(args))
        except Exception as exc:
            if not isinstance(exc, self._shared.errors) or self._raise:
                raise
            self._redis_failed(exc)
            self._local.settle(refund, info, pause)

    def _pauses_for(self, exc: BaseException) -> bool:
        """True when the limiter's shared pause replaces the retry's own wait."""
        if not isinstance(exc, SDKError) or exc.status_code != 429:
            return False
        headers = exc.raw_response.headers if exc.raw_response else {}
        return _pause_for(exc, RateLimitInfo.from_headers(headers)) > 0


def _seen(info: RateLimitInfo | None) -> tuple[int, int]:
    if info is None:
        return -1, -1
    requests, tokens = info.remaining_requests, info.remaining_tokens
    return (-1 if requests is None else requests), (-1 if tokens is None else tokens)


@attrs.define(eq=False)
class _Reservation:
    """One attempt's hold on the budget, settled exactly once."""

    limiter: RateLimiter
    tokens: int
    slot: bool = False
    lease: str = ""
    shared: bool = False
    info: RateLimitInfo | None = None
    settled: bool = False

    async def wait(self, wait: float, pause: float) -> None:
        """Sleep until the reservation's time; a cancelled wait gives everything back."""
        if pause > 0:  # spread the callers a shared pause released at once
            wait += random.random() * pause * 0.1
        if wait <= 0:
            return
        try:
            await anyio.sleep(wait)
        except BaseException:
            await self._finish(0, requests_back=1)
            raise

    async def completed(self, response: HTTPResponse, result: Any) -> None:
        """The server answered 2xx: settle to its usage (a stream, when it ends)."""
        from ._streaming import AsyncStream  # noqa: PLC0415 - _streaming imports this module

        self.info = self.limiter._observe(response.headers)
        if isinstance(result, AsyncStream):
            result._on_end = self._stream_ended
            return
        usage = getattr(result, "usage", None)
        await self._finish(usage.total_tokens if usage is not None else self.tokens)

    def _stream_ended(self, chunks: Sequence[Any]) -> Coroutine[Any, Any, None] | None:
        """Settle a stream that ended or closed: at once in-process; Redis needs an await.

        The books close at once either way. A caller that cannot await (a
        synchronous close, the stream's finalizer) closes what it gets back: the
        Redis lease then expires and the over-reservation is not given back.
        """
        usage = next((c.usage for c in reversed(chunks) if c.usage is not None), None)
        used = usage.total_tokens if usage is not None else self.tokens
        refund = self._close_books(used, 0)
        if refund is None:
            return None
        if self.shared:
            return self.limiter._settle_shared(self, refund, 0.0)
        self.limiter._settle_local(self, refund, 0.0)
        return None

    async def failed(self, exc: BaseException) -> None:
        """The attempt failed: an error answer bills no tokens; a 429 may pause everyone."""
        if not isinstance(exc, SDKError):
            await self._finish(self.tokens)  # the server may be generating: keep the estimate
            return
        headers = exc.raw_response.headers if exc.raw_response else {}
        self.info = self.limiter._observe(headers)
        await self._finish(0, pause=_pause_for(exc, RateLimitInfo.from_headers(headers)))

    def _close_books(self, used: int, requests_back: int) -> tuple[int, int] | None:
        """Mark the reservation settled; the refund, or None when it already was."""
        if self.settled:
            return None
        self.settled = True
        self.limiter.in_flight -= 1
        self.limiter.in_flight_tokens -= self.tokens
        return requests_back, self.tokens - used

    async def _finish(self, used: int, pause: float = 0.0, requests_back: int = 0) -> None:
        refund = self._close_books(used, requests_back)
        if refund is None:
            return
        if self.shared:
            await self.limiter._settle_shared(self, refund, pause)
        else:
            self.limiter._settle_local(self, refund, pause)
