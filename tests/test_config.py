"""Client configuration: timeouts, limits, environment fallbacks and header checks."""

from __future__ import annotations

import math

import pytest

from gpt_async._config import (
    DEFAULT_BASE_URL,
    Limits,
    Timeout,
    check_header_value,
    is_secret_header,
    redact_headers,
    resolve_api_key,
    resolve_base_url,
)
from gpt_async._exceptions import RequestValidationError

SECRET = "sk-proj-abcdef123456"

# Timeout


def test_timeout_defaults() -> None:
    """Defaults to a 10 s connect limit, a 600 s idle read limit and no total deadline."""
    assert Timeout() == Timeout(connect=10.0, read=600.0, total=None)


def test_coerce_number_sets_connect_and_read() -> None:
    """Reads a plain number as httpx does: every per-phase limit, no total deadline."""
    assert Timeout.coerce(20) == Timeout(connect=20, read=20, total=None)
    assert Timeout.coerce(2.5) == Timeout(connect=2.5, read=2.5, total=None)


def test_coerce_none_disables_every_limit() -> None:
    """Reads ``None`` as no limits at all."""
    assert Timeout.coerce(None) == Timeout(connect=None, read=None, total=None)


def test_coerce_keeps_a_timeout() -> None:
    """Returns a :class:`Timeout` unchanged."""
    timeout = Timeout(total=30.0)
    assert Timeout.coerce(timeout) is timeout


@pytest.mark.parametrize("value", [-1, 0, math.nan])
def test_coerce_rejects_bad_numbers(value: float) -> None:
    """Rejects negative, zero and NaN numbers with a ValueError naming a field."""
    with pytest.raises(ValueError, match=r"Timeout\.connect"):
        Timeout.coerce(value)


@pytest.mark.parametrize("value", ["10", True])
def test_coerce_rejects_non_numbers(value: object) -> None:
    """Rejects strings and booleans with a TypeError."""
    with pytest.raises(TypeError, match="Timeout"):
        Timeout.coerce(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["connect", "read", "total"])
@pytest.mark.parametrize("value", [-0.5, 0.0, math.nan])
def test_timeout_fields_are_validated(field: str, value: float) -> None:
    """Rejects a negative, zero or NaN field with a ValueError naming it."""
    with pytest.raises(ValueError, match=rf"Timeout\.{field}"):
        Timeout(**{field: value})


# Limits


def test_limits_defaults() -> None:
    """Defaults to 100 connections, no per-host limit and a 30 s keep-alive."""
    limits = Limits()
    assert (limits.max_connections, limits.max_connections_per_host) == (100, 0)
    assert limits.keepalive_expiry == 30.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_connections", -1),
        ("max_connections_per_host", -5),
        ("keepalive_expiry", -1.0),
        ("keepalive_expiry", math.inf),
    ],
)
def test_limits_reject_bad_values(field: str, value: float) -> None:
    """Rejects negative and infinite limits with a ValueError naming the field."""
    with pytest.raises(ValueError, match=field):
        Limits(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value"), [("max_connections", 1.5), ("max_connections", True)])
def test_limits_reject_wrong_types(field: str, value: object) -> None:
    """Rejects non-integer connection counts with a TypeError naming the field."""
    with pytest.raises(TypeError, match=field):
        Limits(**{field: value})  # type: ignore[arg-type]


# API key and base URL


def test_explicit_api_key_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefers the explicit key over ``OPENAI_API_KEY``."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert resolve_api_key("sk-explicit") == "sk-explicit"


def test_explicit_empty_api_key_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps an explicit empty key rather than reading the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert resolve_api_key("") == ""


def test_api_key_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads ``OPENAI_API_KEY``, stripped, when no key is given."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env\r")
    assert resolve_api_key(None) == "sk-env"


@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_api_key_is_none(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    """Returns ``None`` when ``OPENAI_API_KEY`` is unset or blank."""
    if value is None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", value)
    assert resolve_api_key(None) is None


def test_base_url_defaults_to_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    """Uses the OpenAI URL when neither an argument nor ``OPENAI_BASE_URL`` is set."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert resolve_base_url(None) == DEFAULT_BASE_URL == "https://api.openai.com/v1"


def test_base_url_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads ``OPENAI_BASE_URL`` and strips its trailing slash."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1/")
    assert resolve_base_url(None) == "http://127.0.0.1:8000/v1"


def test_blank_base_url_env_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treats a blank ``OPENAI_BASE_URL`` as unset."""
    monkeypatch.setenv("OPENAI_BASE_URL", " ")
    assert resolve_base_url(None) == DEFAULT_BASE_URL


def test_explicit_base_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefers the explicit URL over ``OPENAI_BASE_URL``."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.example/v1")
    assert resolve_base_url("https://my.example/openai//") == "https://my.example/openai"


def test_base_url_scheme_is_lowercased() -> None:
    """Normalises the scheme's case and keeps the port."""
    assert resolve_base_url("HTTP://localhost:11434/v1/") == "http://localhost:11434/v1"


@pytest.mark.parametrize(
    "url",
    [
        "api.openai.com/v1",
        "ftp://example.com/v1",
        "https:///v1",
        "http://",
        "",
        "http://host:99999/v1",
        "http://host:port/v1",
        "https://example.com/v1?api-version=2024-06-01",
        "https://example.com/v1#frag",
    ],
)
def test_invalid_base_url_names_server_url(url: str) -> None:
    """Rejects a URL without an http(s) scheme and host, or with a query, naming ``server_url``."""
    with pytest.raises(ValueError, match="server_url"):
        resolve_base_url(url)


def test_invalid_env_base_url_says_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names ``OPENAI_BASE_URL`` when the bad URL came from the environment."""
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:8000")
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        resolve_base_url(None)


def test_base_url_error_hides_credentials() -> None:
    """Leaves a URL's ``user:password@`` out of the error message."""
    with pytest.raises(ValueError, match="server_url") as info:
        resolve_base_url("ftp://user:hunter2@example.com/v1")
    assert "hunter2" not in str(info.value)
    assert "example.com" in str(info.value)


# Header checks


@pytest.mark.parametrize("bad", ["\r", "\n", "\r\n", "\x00", "\x1b", "\x7f"])
def test_control_characters_in_values_are_rejected(bad: str) -> None:
    """Rejects CR, LF, NUL and other control characters, naming the header."""
    with pytest.raises(RequestValidationError) as info:
        check_header_value("X-Trace", f"abc{bad}Injected: yes")
    assert info.value.path == "headers.X-Trace"
    assert "abc" in str(info.value)


@pytest.mark.parametrize("name", ["Authorization", "api-key", "X-Auth-Token", "X-Secret-Key"])
def test_secret_values_never_appear_in_errors(name: str) -> None:
    """Shows ``<redacted>`` instead of a secret header's value."""
    with pytest.raises(RequestValidationError) as info:
        check_header_value(name, f"Bearer {SECRET}\n")
    assert SECRET not in str(info.value)
    assert SECRET not in info.value.reason
    assert "<redacted>" in str(info.value)


def test_non_latin1_values_are_rejected_without_leaking_secrets() -> None:
    """Rejects characters outside latin-1 and keeps the secret out of the message."""
    with pytest.raises(RequestValidationError, match="latin-1") as info:
        check_header_value("Authorization", f"Bearer {SECRET}\u2014")
    assert SECRET not in str(info.value)


def test_header_error_uses_the_given_path() -> None:
    """Reports the caller's path when one is given."""
    with pytest.raises(RequestValidationError) as info:
        check_header_value("Authorization", "x\n", path="api_key_auth")
    assert info.value.path == "api_key_auth"


@pytest.mark.parametrize("name", ["", "X Trace", "X-Trace:", "X-Trace\r\nEvil", "Ü"])
def test_invalid_header_names_are_rejected(name: str) -> None:
    """Rejects header names that are not HTTP tokens."""
    with pytest.raises(RequestValidationError, match="header name"):
        check_header_value(name, "value")


def test_non_string_values_are_rejected() -> None:
    """Rejects a header value that is not a string."""
    with pytest.raises(RequestValidationError, match="string"):
        check_header_value("X-Count", 3)  # type: ignore[arg-type]


def test_valid_values_pass_through() -> None:
    """Returns a valid value unchanged, tabs and latin-1 included."""
    assert check_header_value("X-Note", "caf\xe9\tok") == "caf\xe9\tok"
    assert check_header_value("Authorization", f"Bearer {SECRET}") == f"Bearer {SECRET}"


def test_redact_headers_hides_secrets_and_keeps_the_rest() -> None:
    """Replaces credential values with ``<redacted>`` and copies the others."""
    headers = {
        "Authorization": f"Bearer {SECRET}",
        "api-key": SECRET,
        "X-Api-Key": SECRET,
        "Proxy-Authorization": "Basic abc",
        "Cookie": "session=1",
        "Content-Type": "application/json",
        "OpenAI-Organization": "org-1",
    }
    redacted = redact_headers(headers)
    assert SECRET not in repr(redacted)
    assert redacted["Cookie"] == redacted["Proxy-Authorization"] == "<redacted>"
    assert redacted["Content-Type"] == "application/json"
    assert redacted["OpenAI-Organization"] == "org-1"
    assert headers["Authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(
    ("name", "secret"),
    [("AUTHORIZATION", True), ("x-goog-api-key", True), ("Keep-Alive", False), ("Accept", False)],
)
def test_is_secret_header(name: str, secret: bool) -> None:
    """Spots credential headers by name, whatever the case."""
    assert is_secret_header(name) is secret
