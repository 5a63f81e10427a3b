"""The retry policy: Retry-After parsing, retryable statuses, the backoff schedule, the budget."""

from __future__ import annotations

import math
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpt_async._retry import (
    RetryBudget,
    RetryConfig,
    compute_delay,
    parse_retry_after,
    should_retry_status,
)

NOW = 1_445_412_470.0  # 2015-10-21 07:27:50 UTC
EXACT = RetryConfig(jitter=0.0)


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def constant(value: float) -> Callable[[], float]:
    return lambda: value


# parse_retry_after


def test_retry_after_ms_is_read_as_milliseconds() -> None:
    """Reads ``retry-after-ms`` as fractional milliseconds."""
    assert parse_retry_after({"retry-after-ms": "1500.5"}) == pytest.approx(1.5005)


def test_retry_after_ms_wins_over_retry_after() -> None:
    """Prefers ``retry-after-ms`` when both headers are present."""
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "30"}) == 0.25


def test_bad_retry_after_ms_falls_back_to_retry_after() -> None:
    """Falls back to ``retry-after`` when ``retry-after-ms`` is unusable."""
    assert parse_retry_after({"retry-after-ms": "soon", "retry-after": "3"}) == 3.0


def test_retry_after_integer_seconds() -> None:
    """Reads ``retry-after`` as whole seconds."""
    assert parse_retry_after({"retry-after": "7"}) == 7.0


def test_retry_after_float_seconds() -> None:
    """Reads ``retry-after`` as decimal seconds, surrounding spaces ignored."""
    assert parse_retry_after({"retry-after": " 1.25 "}) == 1.25


@pytest.mark.parametrize(
    "date",
    [
        "Wed, 21 Oct 2015 07:28:00 GMT",  # IMF-fixdate
        "Wednesday, 21-Oct-15 07:28:00 GMT",  # RFC 850
        "Wed Oct 21 07:28:00 2015",  # asctime
    ],
)
def test_retry_after_http_date(date: str) -> None:
    """Reads ``retry-after`` as an HTTP date in each RFC 7231 form, relative to ``now``."""
    assert parse_retry_after({"retry-after": date}, now=NOW) == pytest.approx(10.0)


def test_retry_after_date_in_the_past_means_now() -> None:
    """Turns a date in the past into a zero wait."""
    past = formatdate(NOW - 60, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=NOW) == 0.0


def test_retry_after_date_defaults_to_the_wall_clock() -> None:
    """Measures a date from the current time when ``now`` is not given."""
    delay = parse_retry_after({"retry-after": formatdate(4_000_000_000, usegmt=True)})
    assert delay is not None
    assert delay > 1_000_000


@pytest.mark.parametrize(
    "value", ["", "soon", "nan", "inf", "1e3", "1_000", "0x10", "Wed, 99 Foo 2015", "-5", "-0.5"]
)
def test_unparseable_or_negative_retry_after_is_none(value: str) -> None:
    """Returns ``None`` for garbage, special floats and negative numbers."""
    assert parse_retry_after({"retry-after": value}, now=NOW) is None


@pytest.mark.parametrize("value", ["-100", "nan", "", "fast"])
def test_negative_or_garbage_retry_after_ms_alone_is_none(value: str) -> None:
    """Returns ``None`` when only an unusable ``retry-after-ms`` is present."""
    assert parse_retry_after({"retry-after-ms": value}) is None


def test_absent_retry_after_is_none() -> None:
    """Returns ``None`` when neither header is present."""
    assert parse_retry_after({"content-type": "application/json"}) is None


def test_retry_after_lookup_ignores_case() -> None:
    """Finds the headers in a plain dict whatever the case of its keys."""
    assert parse_retry_after({"Retry-After-Ms": "100"}) == 0.1
    assert parse_retry_after({"RETRY-AFTER": "2"}) == 2.0


# should_retry_status


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 520, 599])
def test_retryable_statuses(status: int) -> None:
    """Retries 408, 409, 429 and every 5xx by default."""
    assert should_retry_status(RetryConfig(), status, {})


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 499])
def test_other_client_errors_are_not_retried(status: int) -> None:
    """Does not retry other 4xx statuses by default."""
    assert not should_retry_status(RetryConfig(), status, {})


def test_x_should_retry_true_retries_a_400() -> None:
    """Retries any status when the server says ``x-should-retry: true``."""
    assert should_retry_status(RetryConfig(), 400, {"X-Should-Retry": "true"})


def test_x_should_retry_false_stops_a_503() -> None:
    """Does not retry even a 503 when the server says ``x-should-retry: false``."""
    assert not should_retry_status(RetryConfig(), 503, {"x-should-retry": " FALSE "})


def test_unknown_x_should_retry_value_is_ignored() -> None:
    """Falls back to the status rules for an ``x-should-retry`` that is neither true nor false."""
    assert should_retry_status(RetryConfig(), 503, {"x-should-retry": "maybe"})
    assert not should_retry_status(RetryConfig(), 400, {"x-should-retry": "maybe"})


def test_server_errors_can_be_turned_off() -> None:
    """Stops retrying 5xx outside ``retry_statuses`` when ``retry_server_errors`` is off."""
    config = RetryConfig(retry_server_errors=False, retry_statuses={429, 503})
    assert not should_retry_status(config, 500, {})
    assert should_retry_status(config, 503, {})


def test_retry_statuses_accept_http_status_members() -> None:
    """Accepts ``HTTPStatus`` members and any iterable as ``retry_statuses``."""
    config = RetryConfig(retry_statuses=[HTTPStatus.TOO_MANY_REQUESTS])
    assert config.retry_statuses == frozenset({429})
    assert should_retry_status(config, 429, {})


# compute_delay


def test_backoff_grows_exponentially() -> None:
    """Doubles the wait on each retry from ``initial_interval``."""
    delays = [compute_delay(EXACT, n, None) for n in range(1, 5)]
    assert delays == [0.5, 1.0, 2.0, 4.0]


def test_backoff_is_capped_at_max_interval() -> None:
    """Never computes a wait above ``max_interval``, even for huge attempt numbers."""
    assert compute_delay(EXACT, 6, None) == 8.0
    assert compute_delay(EXACT, 10_000, None) == 8.0


def test_zero_initial_interval_stays_zero() -> None:
    """Keeps a zero initial interval at zero instead of overflowing to NaN."""
    config = RetryConfig(initial_interval=0.0, jitter=0.0)
    assert compute_delay(config, 10_000, None) == 0.0


def test_jitter_takes_off_up_to_its_fraction() -> None:
    """Takes ``jitter * rand()`` of the wait off, like openai-python."""
    assert compute_delay(RetryConfig(), 1, None, rand=constant(0.0)) == 0.5
    assert compute_delay(RetryConfig(), 1, None, rand=constant(1.0)) == 0.375


@given(
    attempt=st.integers(min_value=1, max_value=200),
    jitter=st.floats(min_value=0.0, max_value=1.0),
    rand=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_jittered_delay_stays_within_bounds(attempt: int, jitter: float, rand: float) -> None:
    """Keeps every jittered wait within ``[base * (1 - jitter), base]``."""
    config = RetryConfig(jitter=jitter)
    base = min(0.5 * 2.0 ** min(attempt - 1, 64), 8.0)
    delay = compute_delay(config, attempt, None, rand=constant(rand))
    assert delay is not None
    assert base * (1 - jitter) - 1e-12 <= delay <= base


def test_retry_after_is_honoured_exactly() -> None:
    """Uses the server's wait as given, without jitter."""
    assert compute_delay(RetryConfig(), 1, 3.5, rand=constant(0.9)) == 3.5


def test_retry_after_at_the_cap_is_honoured() -> None:
    """Honours a server wait equal to ``max_retry_after``."""
    assert compute_delay(RetryConfig(max_retry_after=60.0), 1, 60.0) == 60.0


def test_retry_after_over_the_cap_means_no_retry() -> None:
    """Gives up when the server asks for more than ``max_retry_after``."""
    assert compute_delay(RetryConfig(), 1, 3600.0) is None


def test_backoff_scale_zero_removes_every_wait() -> None:
    """Turns every wait into zero with ``backoff_scale=0``, the testing switch."""
    config = RetryConfig(backoff_scale=0.0)
    assert compute_delay(config, 3, None) == 0.0
    assert compute_delay(config, 1, 30.0) == 0.0
    assert compute_delay(config, 1, 3600.0) is None


def test_attempt_numbers_start_at_one() -> None:
    """Rejects an attempt number below 1."""
    with pytest.raises(ValueError, match="attempt"):
        compute_delay(RetryConfig(), 0, None)


# RetryBudget


def test_budget_grants_max_retries_then_stops() -> None:
    """Grants exactly ``max_retries`` retries with the exponential schedule."""
    budget = RetryBudget(RetryConfig(max_retries=3, jitter=0.0))
    assert [budget.next_delay(500) for _ in range(4)] == [0.5, 1.0, 2.0, None]
    assert budget.retries == 3


def test_no_retries_config_never_retries() -> None:
    """Never retries with ``RetryConfig.none()``."""
    assert RetryBudget(RetryConfig.none()).next_delay(503) is None
    assert RetryBudget(RetryConfig.none()).next_delay(None) is None


def test_budget_retries_connection_errors() -> None:
    """Retries a failure without a response by default."""
    assert RetryBudget(EXACT).next_delay(None) == 0.5


def test_budget_can_refuse_connection_errors() -> None:
    """Does not retry a failure without a response when ``retry_connection_errors`` is off."""
    budget = RetryBudget(RetryConfig(retry_connection_errors=False))
    assert budget.next_delay(None) is None
    assert budget.next_delay(503) is not None


def test_budget_refuses_non_retryable_status_without_spending() -> None:
    """Refuses a 400 and leaves the retry count untouched."""
    budget = RetryBudget(EXACT)
    assert budget.next_delay(400) is None
    assert budget.retries == 0


def test_budget_honours_retry_after_headers() -> None:
    """Waits as long as the 429's ``retry-after-ms`` asks."""
    assert RetryBudget(EXACT).next_delay(429, {"retry-after-ms": "1200"}) == 1.2


def test_budget_refuses_absurd_retry_after() -> None:
    """Surfaces the error at once when ``retry-after`` exceeds the cap."""
    budget = RetryBudget(RetryConfig())
    assert budget.next_delay(429, {"retry-after": "86400"}) is None
    assert budget.retries == 0


def test_budget_follows_x_should_retry() -> None:
    """Retries a 400 marked ``x-should-retry: true`` and not a 503 marked false."""
    assert RetryBudget(EXACT).next_delay(400, {"x-should-retry": "true"}) == 0.5
    assert RetryBudget(EXACT).next_delay(503, {"x-should-retry": "false"}) is None


def test_budget_stops_when_the_next_wait_would_pass_max_elapsed_time() -> None:
    """Gives up when sleeping would end after ``max_elapsed_time``."""
    clock = FakeClock()
    budget = RetryBudget(RetryConfig(max_retries=10, jitter=0.0, max_elapsed_time=5.0), clock=clock)
    clock.now += 3.0
    assert budget.next_delay(503) == 0.5
    clock.now += 1.0
    assert budget.next_delay(503) == 1.0  # ends exactly at the limit
    clock.now += 1.0
    assert budget.next_delay(503) is None
    assert (budget.elapsed, budget.retries) == (5.0, 2)


def test_budget_measures_elapsed_time_with_a_zero_backoff_scale() -> None:
    """Applies ``max_elapsed_time`` by the clock even when waits are scaled to zero."""
    clock = FakeClock()
    config = RetryConfig(max_retries=10, backoff_scale=0.0, max_elapsed_time=1.0)
    budget = RetryBudget(config, clock=clock)
    assert budget.next_delay(None) == 0.0
    clock.now += 1.5
    assert budget.next_delay(None) is None


def test_budget_uses_the_injected_jitter_source() -> None:
    """Draws its jitter from the injected ``rand``."""
    assert RetryBudget(RetryConfig(), rand=constant(1.0)).next_delay(500) == 0.375


# RetryConfig validation


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_retries", -1),
        ("initial_interval", -0.1),
        ("initial_interval", math.nan),
        ("max_interval", math.inf),
        ("exponent", 0.5),
        ("jitter", 1.5),
        ("jitter", -0.1),
        ("max_elapsed_time", -1.0),
        ("max_retry_after", -1.0),
        ("max_retry_after", math.nan),
        ("backoff_scale", -1.0),
        ("retry_statuses", {99}),
        ("retry_statuses", {600}),
    ],
)
def test_invalid_values_name_the_field(field: str, value: object) -> None:
    """Rejects an out-of-range value with a ValueError that names the field."""
    with pytest.raises(ValueError, match=field):
        RetryConfig(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"), [("max_retries", 1.5), ("max_retries", True), ("jitter", "0.1")]
)
def test_wrong_types_name_the_field(field: str, value: object) -> None:
    """Rejects a value of the wrong type with a TypeError that names the field."""
    with pytest.raises(TypeError, match=field):
        RetryConfig(**{field: value})  # type: ignore[arg-type]


def test_max_retry_after_may_be_unbounded() -> None:
    """Accepts an infinite ``max_retry_after``, honouring any server wait."""
    assert compute_delay(RetryConfig(max_retry_after=math.inf), 1, 1e9) == 1e9


def test_configs_are_frozen_and_evolvable() -> None:
    """Keeps configs immutable, with per-call variants made by ``attrs.evolve``."""
    config = RetryConfig()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.max_retries = 5  # type: ignore[misc]
    assert attrs.evolve(config, max_retries=5).max_retries == 5
