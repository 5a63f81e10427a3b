"""The keyword API: typos are TypeErrors before any I/O, and signatures list every keyword."""

from __future__ import annotations

import inspect
import pydoc
from collections.abc import Callable
from typing import Any

import attrs
import pytest

import gpt_async
from gpt_async import UNSET, AsyncGpt, Gpt, Timeout
from gpt_async._params import (
    ClientOptions,
    CompletionCreateParams,
    ParseParams,
    RunToolsParams,
)
from gpt_async._types import DEFAULT
from gpt_async.testing import FakeOpenAIServer, ThreadedFakeOpenAIServer

pytest_plugins = ["gpt_async.testing.pytest_plugin"]

USER = [{"role": "user", "content": "hello"}]


@attrs.frozen
class City:
    """A structured answer."""

    name: str


def lookup(city: str) -> str:
    """Look a city up.

    Args:
        city: The city's name.
    """
    return city


# (method, keywords beside model and messages, expected message)
TYPOS: list[tuple[str, dict[str, Any], str]] = [
    (
        "create",
        {"temprature": 0.2},
        "create() got an unexpected keyword argument 'temprature'; did you mean 'temperature'?",
    ),
    (
        "create",
        {"strem": True},
        "create() got an unexpected keyword argument 'strem'; did you mean 'stream'?",
    ),
    (
        "create",
        {"time_out": 1},
        "create() got an unexpected keyword argument 'time_out'; did you mean 'timeout'?",
    ),
    (
        "create",
        {"extra_header": {"X": "1"}},
        "create() got an unexpected keyword argument 'extra_header'; did you mean 'extra_headers'?",
    ),
    (
        "create",
        {"cache_prompt": True},
        "create() got an unexpected keyword argument 'cache_prompt';"
        " fields the API does not define go in extra_body={...}",
    ),
    (
        "stream",
        {"max_token": 3},
        "stream() got an unexpected keyword argument 'max_token'; did you mean 'max_tokens'?",
    ),
    (
        "parse",
        {"response_format": City, "temprature": 0},
        "parse() got an unexpected keyword argument 'temprature'; did you mean 'temperature'?",
    ),
    (
        "parse_stream",
        {"response_format": City, "seeds": 1},
        "parse_stream() got an unexpected keyword argument 'seeds'; did you mean 'seed'?",
    ),
    (
        "run_tools",
        {"tools": [lookup], "max_step": 2},
        "run_tools() got an unexpected keyword argument 'max_step'; did you mean 'max_steps'?",
    ),
]
ISSUE_CALL = {"temprature": 0.2, "strem": True, "time_out": 1, "extra_header": {"X": "1"}}
ISSUE_MESSAGE = (
    "create() got unexpected keyword arguments 'extra_header' (did you mean 'extra_headers'?),"
    " 'strem' (did you mean 'stream'?), 'temprature' (did you mean 'temperature'?),"
    " 'time_out' (did you mean 'timeout'?)"
)
CONSTRUCTOR_TYPOS = [
    ({"time_out": 1}, "got an unexpected keyword argument 'time_out'; did you mean 'timeout'?"),
    ({"base_ur": "x"}, "got an unexpected keyword argument 'base_ur'; did you mean 'base_url'?"),
    (
        {"max_retry": 1},
        "got an unexpected keyword argument 'max_retry'; did you mean 'max_retries'?",
    ),
]
IDS = [
    f"{method}-{next(iter(kw.keys() - {'response_format', 'tools'}))}" for method, kw, _ in TYPOS
]


async def _call_async(completions: Any, method: str, keywords: dict[str, Any]) -> None:
    result = getattr(completions, method)(model="m", messages=USER, **keywords)
    if inspect.isawaitable(result):
        await result


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "keywords", "message"), TYPOS, ids=IDS)
async def test_async_typo_raises_before_io(
    openai_server: FakeOpenAIServer, method: str, keywords: dict[str, Any], message: str
) -> None:
    """AsyncGpt: an unknown keyword is a TypeError naming the closest one; nothing is sent."""
    async with AsyncGpt(api_key="k", server_url=openai_server.url) as client:
        with pytest.raises(TypeError) as caught:
            await _call_async(client.chat.completions, method, keywords)
    assert str(caught.value) == message
    assert openai_server.requests == []


@pytest.mark.parametrize(("method", "keywords", "message"), TYPOS, ids=IDS)
def test_sync_typo_raises_before_io(
    openai_server_thread: ThreadedFakeOpenAIServer,
    method: str,
    keywords: dict[str, Any],
    message: str,
) -> None:
    """Gpt: the same TypeError with the same message; the server sees nothing."""
    before = len(openai_server_thread.requests)
    with (
        Gpt(api_key="k", server_url=openai_server_thread.url) as client,
        pytest.raises(TypeError) as caught,
    ):
        getattr(client.chat.completions, method)(model="m", messages=USER, **keywords)
    assert str(caught.value) == message
    assert len(openai_server_thread.requests) == before


@pytest.mark.anyio
async def test_issue_call_names_every_typo(openai_server: FakeOpenAIServer) -> None:
    """The four typos of the issue's call are named at once, each with its suggestion."""
    async with AsyncGpt(api_key="k", server_url=openai_server.url) as client:
        with pytest.raises(TypeError) as caught:
            await client.chat.completions.create(model="m", messages=USER, **ISSUE_CALL)
        with pytest.raises(TypeError) as raw:
            await client.chat.completions.with_raw_response.create(
                model="m", messages=USER, **ISSUE_CALL
            )
    assert str(caught.value) == str(raw.value) == ISSUE_MESSAGE
    assert openai_server.requests == []


def test_sync_issue_call_names_every_typo(openai_server_thread: ThreadedFakeOpenAIServer) -> None:
    """Gpt: the issue's call fails the same way, the raw-response form too."""
    before = len(openai_server_thread.requests)
    with Gpt(api_key="k", server_url=openai_server_thread.url) as client:
        for create in (
            client.chat.completions.create,
            client.chat.completions.with_raw_response.create,
        ):
            with pytest.raises(TypeError) as caught:
                create(model="m", messages=USER, **ISSUE_CALL)
            assert str(caught.value) == ISSUE_MESSAGE
    assert len(openai_server_thread.requests) == before


@pytest.mark.parametrize(("options", "message"), CONSTRUCTOR_TYPOS)
@pytest.mark.parametrize("cls", [AsyncGpt, Gpt], ids=["AsyncGpt", "Gpt"])
def test_constructor_typo_raises(cls: type[Any], options: dict[str, Any], message: str) -> None:
    """Both constructors reject an unknown option, naming the closest valid one."""
    with pytest.raises(TypeError) as caught:
        cls(api_key="k", **options)
    assert str(caught.value) == f"{cls.__name__}() {message}"


@pytest.mark.parametrize("factory", [AsyncGpt, Gpt], ids=["AsyncGpt", "Gpt"])
def test_with_options_typo_raises(factory: Callable[..., Any]) -> None:
    """with_options() rejects an unknown option the same way."""
    client = factory(api_key="k", server_url="http://127.0.0.1:9")
    with pytest.raises(TypeError, match=r"^with_options\(\) got .* did you mean 'timeout'\?$"):
        client.with_options(timeuot=3)


@pytest.mark.anyio
async def test_extra_body_still_carries_unknown_fields(openai_server: FakeOpenAIServer) -> None:
    """A field the spec lacks goes through extra_body= to the openai_server, as before."""
    async with AsyncGpt(api_key="k", server_url=openai_server.url) as client:
        await client.chat.completions.create(
            model="m", messages=USER, extra_body={"cache_prompt": True}
        )
    assert openai_server.requests[-1].json["cache_prompt"] is True


# ---------------------------------------------------------------- signatures

METHODS = [
    ("create", CompletionCreateParams, {"stream"}),
    ("stream", CompletionCreateParams, set()),
    ("parse", ParseParams, {"response_format"}),
    ("parse_stream", ParseParams, {"response_format"}),
    ("run_tools", RunToolsParams, {"tools", "max_steps", "on_step"}),
]


def _clients() -> tuple[AsyncGpt, Gpt]:
    return AsyncGpt(api_key="k"), Gpt(api_key="k")


@pytest.mark.parametrize(("method", "params", "own"), METHODS, ids=[m[0] for m in METHODS])
def test_method_signature_lists_every_keyword(method: str, params: type, own: set[str]) -> None:
    """Each chat.completions method lists its TypedDict's keys by name; sync equals async."""
    async_client, sync_client = _clients()
    async_sig = inspect.signature(getattr(async_client.chat.completions, method))
    sync_sig = inspect.signature(getattr(sync_client.chat.completions, method))
    names = set(async_sig.parameters)
    assert set(params.__annotations__) <= names
    assert names == set(params.__annotations__) | own
    assert list(async_sig.parameters.values()) == list(sync_sig.parameters.values())
    assert all(p.kind is p.KEYWORD_ONLY for p in async_sig.parameters.values())
    sync_client.close()


def test_create_signature_defaults_and_annotations() -> None:
    """Required keywords have no default; request fields default to UNSET, options to theirs.

    ``stream`` defaults to DEFAULT: not sent unless given, then sent as given.
    """
    parameters = inspect.signature(AsyncGpt(api_key="k").chat.completions.create).parameters
    assert parameters["model"].default is inspect.Parameter.empty
    assert parameters["messages"].default is inspect.Parameter.empty
    assert parameters["stream"].default is DEFAULT
    assert parameters["temperature"].default is UNSET
    assert parameters["timeout"].default is DEFAULT
    assert parameters["extra_body"].default is None
    assert parameters["temperature"].annotation == "float | None"
    assert parameters["model"].annotation == "str"


def test_raw_response_signature_equals_create() -> None:
    """with_raw_response.create takes exactly create's parameters, on both clients."""
    async_client, sync_client = _clients()
    expected = list(inspect.signature(async_client.chat.completions.create).parameters.values())
    for completions in (async_client.chat.completions, sync_client.chat.completions):
        raw = inspect.signature(completions.with_raw_response.create)
        assert list(raw.parameters.values()) == expected
    sync_client.close()


def test_constructor_signatures_list_every_option() -> None:
    """AsyncGpt and Gpt list every ClientOptions key with its default; the two are equal."""
    async_sig, sync_sig = inspect.signature(AsyncGpt), inspect.signature(Gpt)
    assert list(async_sig.parameters) == list(ClientOptions.__annotations__)
    assert async_sig.parameters == sync_sig.parameters
    assert async_sig.parameters["timeout"].default == Timeout()
    assert async_sig.parameters["api_key_header"].default == "authorization"
    assert async_sig.parameters["base_url"].default is None


def test_help_shows_the_keywords() -> None:
    """help() (pydoc) of create shows the request fields, as editors and notebooks do."""
    text = pydoc.render_doc(gpt_async.AsyncGpt(api_key="k").chat.completions.create)
    assert "temperature: 'float | None' = UNSET" in text
    assert "extra_headers" in text
    assert "api_key_auth" in pydoc.render_doc(gpt_async.Gpt)
