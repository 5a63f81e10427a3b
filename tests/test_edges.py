"""Small public contracts the larger suites do not reach: sentinels, options, closed transports."""

from __future__ import annotations

import pytest

import gpt_async
from gpt_async import UNSET, AiohttpTransport, HTTPRequest, Timeout
from gpt_async.models import components as c


def test_unset_is_falsy_and_named() -> None:
    """UNSET reads as "UNSET" and is false, so ``if value:`` skips it."""
    assert (repr(UNSET), bool(UNSET)) == ("UNSET", False)


def test_models_compare_by_value_and_class() -> None:
    """Two equal models are ==, different ones !=, and a model never equals another class."""
    a = c.ChatCompletionRequestUserMessage(content="hi", role="user")
    b = c.ChatCompletionRequestUserMessage(content="hi", role="user")
    other = c.ChatCompletionRequestUserMessage(content="ho", role="user")
    assert a == b
    assert not a != b  # noqa: SIM202 - __ne__ is what is tested
    assert a != other
    assert a != {"content": "hi", "role": "user"}


def test_package_dir_lists_the_public_names() -> None:
    """dir(gpt_async) is its sorted __all__."""
    assert dir(gpt_async) == sorted(gpt_async.__all__)


def test_limits_reject_a_non_number() -> None:
    """A keep-alive expiry that is not a number is refused, naming the field."""
    with pytest.raises(TypeError, match=r"Limits\.keepalive_expiry must be a number"):
        gpt_async.Limits(keepalive_expiry="soon")  # type: ignore[arg-type]


def test_an_unparseable_server_url_is_not_echoed() -> None:
    """A URL urlsplit cannot parse is refused without repeating it (it may hold a password)."""
    with pytest.raises(ValueError, match="server_url is not a valid URL: '<unparseable URL>'"):
        gpt_async.AsyncGpt(api_key_auth="k", server_url="http://user:pw@[::1/v1")


def test_a_query_name_must_be_text() -> None:
    """default_query names must be strings, and the error says which."""
    with pytest.raises(gpt_async.RequestValidationError, match=r"default_query\[1\]"):
        gpt_async.AsyncGpt(api_key_auth="k", default_query={1: "x"})  # type: ignore[dict-item]


@pytest.mark.anyio
async def test_a_closed_transport_refuses_to_send() -> None:
    """The default transport closes idempotently and then refuses requests."""
    transport = AiohttpTransport()
    await transport.aclose()
    await transport.aclose()
    request = HTTPRequest(method="POST", url="http://127.0.0.1:9/v1", headers={})
    with pytest.raises(gpt_async.ClientStateError, match="closed"):
        await transport.send(request, timeout=Timeout())
