"""The retry policy: which failures are retried, and how long to wait before each retry.

Pure and sans-I/O: nothing here sleeps or sends. The client asks a
:class:`RetryBudget` for the next delay after each failed attempt and sleeps that
long itself; ``None`` means "give up and raise the last error".

The rules:

* Connection errors (including connect and read timeouts) are retried unless
  ``retry_connection_errors`` is off. An expired ``Timeout.total`` is never retried.
* A response with ``x-should-retry: true`` or ``false`` is retried, or not, as it says.
* Otherwise 408, 409, 429 and every 5xx are retried (see ``retry_statuses`` and
  ``retry_server_errors``).
* The wait honours ``retry-after-ms``, then ``retry-after`` (seconds or an HTTP
  date). A server asking for more than ``max_retry_after`` is not retried: the error
  surfaces at once rather than stalling the caller for minutes.
* Without such a header the wait grows exponentially, capped at ``max_interval``,
  with jitter.
* A stream that has yielded anything is never retried (the client's rule).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Final

import attrs

__all__ = [
    "RetryBudget",
    "RetryConfig",
    "compute_delay",
    "parse_retry_after",
    "should_retry_status",
]

_NUMBER: Final = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def _check_number(
    attribute: attrs.Attribute[Any], value: object, *, lowest: float, allow_inf: bool = False
) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"RetryConfig.{attribute.name} must be a number, got {value!r}")
    if math.isnan(value) or value < lowest or (math.isinf(value) and not allow_inf):
        raise ValueError(
            f"RetryConfig.{attribute.name} must be a finite number >= {lowest}, got {value!r}"
        )


def _non_negative(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    _check_number(attribute, value, lowest=0)


def _non_negative_or_inf(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    _check_number(attribute, value, lowest=0, allow_inf=True)


def _optional_non_negative(
    instance: Any, attribute: attrs.Attribute[Any], value: float | None
) -> None:
    if value is not None:
        _check_number(attribute, value, lowest=0)


def _exponent(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    _check_number(attribute, value, lowest=1)


def _fraction(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    _check_number(attribute, value, lowest=0)
    if value > 1:
        raise ValueError(f"RetryConfig.{attribute.name} must be between 0 and 1, got {value!r}")


def _retry_count(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"RetryConfig.{attribute.name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"RetryConfig.{attribute.name} must be >= 0, got {value!r}")


def _statuses(value: Iterable[int]) -> frozenset[int]:
    statuses = frozenset(value)
    for status in statuses:
        item: object = status  # the annotation is a promise the caller may not keep
        if isinstance(item, bool) or not isinstance(item, int) or not 100 <= item <= 599:
            raise ValueError(
                f"RetryConfig.retry_statuses must hold HTTP statuses (100-599), got {status!r}"
            )
    return statuses


@attrs.frozen(kw_only=True)
class RetryConfig:
    """How failed requests are retried. Pass it per client or per call.

    Attributes:
        max_retries: Retries after the first attempt; ``0`` disables retrying.
        initial_interval: The wait before the first retry, in seconds, before jitter.
        max_interval: The cap on the computed wait, in seconds.
        exponent: How much the wait grows per retry (``initial * exponent**n``).
        jitter: The fraction of each computed wait that is randomly taken off
            (``wait * (1 - jitter * random())``), so that clients that failed together
            do not retry together. ``0`` gives the exact schedule.
        max_elapsed_time: Stop retrying when the next wait would end more than this
            many seconds after the first attempt started; ``None`` means no limit.
        retry_connection_errors: Retry when no response arrived (refused, reset,
            connect or read timeout).
        retry_statuses: Statuses that are retried.
        retry_server_errors: Also retry every status >= 500.
        max_retry_after: The longest ``retry-after-ms``/``retry-after`` wait honoured,
            in seconds. When a server asks for more, the request is not retried and
            its error is raised at once: waiting that long silently would look like a
            hang, and a shorter wait would only be refused again.
        backoff_scale: Every wait is multiplied by this. It is the testing switch:
            ``backoff_scale=0`` keeps the whole retry schedule and every decision but
            never sleeps.
    """

    max_retries: int = attrs.field(default=2, validator=_retry_count)
    initial_interval: float = attrs.field(default=0.5, validator=_non_negative)
    max_interval: float = attrs.field(default=8.0, validator=_non_negative)
    exponent: float = attrs.field(default=2.0, validator=_exponent)
    jitter: float = attrs.field(default=0.25, validator=_fraction)
    max_elapsed_time: float | None = attrs.field(default=None, validator=_optional_non_negative)
    retry_connection_errors: bool = True
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({408, 409, 429}), converter=_statuses
    )
    retry_server_errors: bool = True
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative_or_inf)
    backoff_scale: float = attrs.field(default=1.0, validator=_non_negative)

    @classmethod
    def none(cls) -> RetryConfig:
        """Return a configuration that never retries."""
        return cls(max_retries=0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Look a header up by its lowercase name in any mapping, whatever the keys' case."""
    value = headers.get(name)
    if value is not None:
        return value
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _parse_number(text: str | None) -> float | None:
    # float() alone would also take "nan", "inf", "-1", "1e9" and "1_000".
    if text is None or not _NUMBER.fullmatch(text.strip()):
        return None
    return float(text)


def _parse_http_date(text: str, now: float | None) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" and asctime dates mean UTC
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    return max(0.0, (when - current).total_seconds())


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Read how long the server asks the client to wait before retrying.

    ``retry-after-ms`` (milliseconds, possibly fractional) wins; otherwise
    ``retry-after`` as seconds (integer or decimal) or as an HTTP date in any of the
    three RFC 7231 forms (IMF-fixdate, RFC 850, asctime). An unusable
    ``retry-after-ms`` falls back to ``retry-after``.

    Args:
        headers: The response headers; any mapping, case-insensitive or not.
        now: The current Unix time, for dates; defaults to :func:`time.time`.

    Returns:
        The wait in seconds (a date in the past gives ``0.0``), or ``None`` when the
        headers are absent, unparseable or negative.
    """
    millis = _parse_number(_header(headers, "retry-after-ms"))
    if millis is not None:
        return millis / 1000
    text = _header(headers, "retry-after")
    if text is None:
        return None
    seconds = _parse_number(text)
    return seconds if seconds is not None else _parse_http_date(text, now)


def should_retry_status(config: RetryConfig, status: int, headers: Mapping[str, str]) -> bool:
    """Tell whether a response with this status is worth retrying.

    An ``x-should-retry: true`` or ``false`` header decides on its own; otherwise the
    status must be in ``config.retry_statuses``, or >= 500 with
    ``config.retry_server_errors``. The retry budget is checked elsewhere.

    Args:
        config: The retry policy.
        status: The response's HTTP status.
        headers: The response headers.

    Returns:
        Whether to retry.
    """
    verdict = (_header(headers, "x-should-retry") or "").strip().lower()
    if verdict in {"true", "false"}:
        return verdict == "true"
    return status in config.retry_statuses or (config.retry_server_errors and status >= 500)


def compute_delay(
    config: RetryConfig,
    attempt: int,
    retry_after: float | None,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Compute the wait before a retry.

    Args:
        config: The retry policy.
        attempt: Which retry this is: 1 for the first.
        retry_after: The server's requested wait (see :func:`parse_retry_after`).
        rand: A source of floats in ``[0, 1)`` for the jitter.

    Returns:
        Seconds to wait, scaled by ``config.backoff_scale``; ``None`` when the server
        asked for more than ``config.max_retry_after`` (do not retry). A server's
        wait is taken as given; a computed one is
        ``min(initial_interval * exponent**(attempt - 1), max_interval)`` less up to
        ``jitter`` of itself.

    Raises:
        ValueError: ``attempt`` is less than 1.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt!r}")
    if retry_after is not None:
        if retry_after > config.max_retry_after:
            return None
        return retry_after * config.backoff_scale
    try:
        growth = config.exponent ** (attempt - 1)
    except OverflowError:
        growth = math.inf
    # A zero initial interval stays zero: 0 * inf would be NaN.
    if config.initial_interval:
        base = min(config.initial_interval * growth, config.max_interval)
    else:
        base = 0.0
    return base * (1 - config.jitter * rand()) * config.backoff_scale


@attrs.define(repr=False, eq=False)  # internal: no generated repr or eq
class RetryBudget:
    """The retry state of one call: how many retries are left and how long it has run.

    Create one per call, before the first attempt, and after each failed attempt ask
    :meth:`next_delay`::

        budget = RetryBudget(config)
        while True:
            try:
                return await send()
            except RetryableFailure as failure:
                delay = budget.next_delay(failure.status, failure.headers)
                if delay is None:
                    raise
                await anyio.sleep(delay)

    Attributes:
        config: The retry policy.
        clock: A monotonic clock in seconds; injectable for tests.
        rand: The jitter's source of floats in ``[0, 1)``; injectable for tests.
        retries: How many retries have been granted so far.
    """

    config: RetryConfig
    clock: Callable[[], float] = attrs.field(default=time.monotonic, kw_only=True, repr=False)
    rand: Callable[[], float] = attrs.field(default=random.random, kw_only=True, repr=False)
    retries: int = attrs.field(default=0, init=False)
    _started: float = attrs.field(init=False, repr=False)

    @_started.default
    def _start_clock(self) -> float:
        return self.clock()

    @property
    def elapsed(self) -> float:
        """Seconds since the budget was created, by :attr:`clock`."""
        return self.clock() - self._started

    def next_delay(
        self, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> float | None:
        """Decide whether to retry the attempt that just failed, and after how long.

        Args:
            status: The response's status, or ``None`` when no response arrived (a
                connection error or a connect/read timeout).
            headers: The response's headers, if any.

        Returns:
            Seconds to wait before the next attempt (the retry is then counted), or
            ``None`` when the failure must be raised: not retryable, out of retries,
            a ``Retry-After`` over the cap, or past ``max_elapsed_time``.
        """
        config, headers = self.config, headers or {}
        if self.retries >= config.max_retries:
            return None
        if status is None:
            retryable = config.retry_connection_errors
        else:
            retryable = should_retry_status(config, status, headers)
        retry_after = parse_retry_after(headers) if status is not None else None
        delay = compute_delay(config, self.retries + 1, retry_after, self.rand)
        if not retryable or delay is None or self._too_late(delay):
            return None
        self.retries += 1
        return delay

    def _too_late(self, delay: float) -> bool:
        limit = self.config.max_elapsed_time
        return limit is not None and self.elapsed + delay > limit
