"""RateLimitInfo: every form of OpenAI's x-ratelimit-* headers, read without ever failing."""

from __future__ import annotations

import attrs
import pytest
from multidict import CIMultiDict

from gpt_async import RateLimitInfo
from gpt_async._ratelimit_info import parse_duration

FULL = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-remaining-tokens": "29950",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-reset-tokens": "6m0s",
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("0.5s", 0.5),
        ("20ms", 0.02),
        ("6m0s", 360.0),
        ("1h2m3.5s", 3723.5),
        ("2d", 172800.0),
        ("250us", 0.00025),
        ("7µs", 7e-6),
        ("40ns", 4e-8),
        ("17", 17.0),
        ("1.25", 1.25),
        (" 3s ", 3.0),
        (".5s", 0.5),
    ],
)
def test_parse_duration_reads_every_form(text: str, seconds: float) -> None:
    """Go-style durations and bare seconds become a float number of seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "1x", "1s2", "m1s", "1s junk", "-1s", "1 s", "1e3"])
def test_parse_duration_rejects_malformed(text: str) -> None:
    """A malformed duration is None, never an exception."""
    assert parse_duration(text) is None


def test_from_headers_reads_all_six() -> None:
    """All six headers land in their typed fields."""
    info = RateLimitInfo.from_headers(CIMultiDict(FULL))
    assert info == RateLimitInfo(
        limit_requests=500,
        limit_tokens=30000,
        remaining_requests=499,
        remaining_tokens=29950,
        reset_requests=pytest.approx(0.12),
        reset_tokens=360.0,
    )
    assert info


def test_from_headers_is_case_insensitive_on_multidict() -> None:
    """Headers in any case are found on a case-insensitive mapping."""
    info = RateLimitInfo.from_headers(CIMultiDict({k.upper(): v for k, v in FULL.items()}))
    assert info.limit_tokens == 30000
    assert info.reset_tokens == 360.0


def test_absent_headers_give_none() -> None:
    """No headers at all: every field None, and the info is falsy."""
    info = RateLimitInfo.from_headers({})
    assert all(v is None for v in attrs.astuple(info))
    assert not info


def test_malformed_headers_give_none_per_field() -> None:
    """A malformed header spoils only its own field."""
    info = RateLimitInfo.from_headers(
        {**FULL, "x-ratelimit-limit-requests": "lots", "x-ratelimit-reset-tokens": "soon"}
    )
    assert info.limit_requests is None
    assert info.reset_tokens is None
    assert info.remaining_requests == 499
    assert info.reset_requests == pytest.approx(0.12)


def test_rate_limit_info_is_frozen() -> None:
    """RateLimitInfo is immutable."""
    info = RateLimitInfo()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        info.limit_requests = 1  # type: ignore[misc]
