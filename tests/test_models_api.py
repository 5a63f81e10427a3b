"""``client.models.list()`` and ``retrieve()`` against the testing server, through both clients.

They share chat's request path, so each of its guarantees is checked here again:
retries, timeouts, hooks, typed errors, authentication and redaction.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio.to_thread
import attrs
import pytest

from gpt_async import (
    APIResponseValidationError,
    APITimeoutError,
    AsyncGpt,
    AuthenticationError,
    Gpt,
    Hooks,
    HTTPRequest,
    NotFoundError,
    RequestValidationError,
    RetryConfig,
    to_dict,
)
from gpt_async.models.components import ModelList, ModelObject
from gpt_async.testing import DEFAULT_CREATED, DEFAULT_MODELS, FakeOpenAIServer, Reply

pytestmark = pytest.mark.anyio

KEY = "sk-models-TOPSECRET-31c4"
NO_WAIT = RetryConfig(backoff_scale=0)


@attrs.frozen
class Models:
    """``models.list`` and ``models.retrieve`` of either client, awaitable alike."""

    list: Callable[..., Awaitable[ModelList]]
    retrieve: Callable[..., Awaitable[ModelObject]]


@pytest.fixture(params=["AsyncGpt", "Gpt"])
def open_models(
    request: pytest.FixtureRequest,
) -> Callable[..., Any]:
    """``async with open_models(**options) as models``: a new client of each kind in turn."""
    import contextlib

    @contextlib.asynccontextmanager
    async def open_(**options: Any) -> AsyncIterator[Models]:
        options.setdefault("api_key", KEY)
        if request.param == "AsyncGpt":
            async with AsyncGpt(**options) as client:
                yield Models(client.models.list, client.models.retrieve)
            return
        with Gpt(**options) as sync_client:

            async def list_(**kw: Any) -> ModelList:
                call = functools.partial(sync_client.models.list, **kw)
                return await anyio.to_thread.run_sync(call)

            async def retrieve(model: str, **kw: Any) -> ModelObject:
                call = functools.partial(sync_client.models.retrieve, model, **kw)
                return await anyio.to_thread.run_sync(call)

            yield Models(list_, retrieve)

    return open_


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """The testing server, requiring ``KEY``."""
    async with FakeOpenAIServer(api_key=KEY) as srv:
        yield srv


async def test_list_returns_typed_models(
    open_models: Callable[..., Any], server: FakeOpenAIServer
) -> None:
    """list() gives a ModelList of ModelObjects with id, created and owned_by."""
    async with open_models(server_url=server.url) as models:
        listed = await models.list()
    assert isinstance(listed, ModelList)
    assert [m.id for m in listed] == list(DEFAULT_MODELS)
    assert len(listed) == len(DEFAULT_MODELS)
    first = listed.data[0]
    assert first == ModelObject(
        id=DEFAULT_MODELS[0], created=DEFAULT_CREATED, owned_by="gpt_async-testing"
    )
    recorded = server.requests[-1]
    assert (recorded.method, recorded.path, recorded.body) == ("GET", "/v1/models", b"")
    assert recorded.headers["Authorization"] == f"Bearer {KEY}"
    assert "Content-Type" not in recorded.headers


async def test_unknown_fields_are_kept(
    open_models: Callable[..., Any], server: FakeOpenAIServer
) -> None:
    """Server-specific keys (llama.cpp's meta, a list's extras) stay readable in extra."""
    server.models[:] = [{"id": "local", "object": "model", "meta": {"n_ctx": 8192}}]
    server.enqueue(Reply(json={"object": "list", "data": server.models, "models": ["local"]}))
    async with open_models(server_url=server.url) as models:
        listed = await models.list()
        one = await models.retrieve("local")
    assert listed.extra == {"models": ["local"]}
    assert listed.data[0].extra == {"meta": {"n_ctx": 8192}}
    assert (one.id, one.created, one.owned_by) == ("local", 0, "")
    assert to_dict(one) == server.models[0]  # lossless: the defaults are not written back


async def test_retrieve_by_id_with_a_slash(
    open_models: Callable[..., Any], server: FakeOpenAIServer
) -> None:
    """retrieve() percent-encodes the id, so ids like org/model reach the server whole."""
    server.models.append({"id": "meta-llama/Llama-3.1-8B", "object": "model", "created": 5})
    async with open_models(server_url=server.url) as models:
        found = await models.retrieve("meta-llama/Llama-3.1-8B")
        plain = await models.retrieve("gpt-4o")
    assert (found.id, found.created) == ("meta-llama/Llama-3.1-8B", 5)
    assert plain.id == "gpt-4o"
    assert server.requests[0].path == "/v1/models/meta-llama/Llama-3.1-8B"


async def test_unknown_model_is_not_found(
    open_models: Callable[..., Any], server: FakeOpenAIServer
) -> None:
    """An id the server does not serve raises NotFoundError with the server's code."""
    async with open_models(server_url=server.url) as models:
        with pytest.raises(NotFoundError) as caught:
            await models.retrieve("gpt-nope")
    assert caught.value.code == "model_not_found"
    assert "gpt-nope" in caught.value.message


async def test_bad_id_fails_before_sending(
    open_models: Callable[..., Any], server: FakeOpenAIServer
) -> None:
    """An empty or non-string id raises RequestValidationError naming model; nothing is sent."""
    async with open_models(server_url=server.url) as models:
        for bad in ("", None, 3):
            with pytest.raises(RequestValidationError) as caught:
                await models.retrieve(bad)
            assert caught.value.path == "model"
    assert server.requests == []


async def test_a_misspelled_option_fails_before_sending(
    open_models: Callable[..., Any], server: FakeOpenAIServer
) -> None:
    """A typo in a per-call option is a TypeError naming the closest one; nothing is sent."""
    async with open_models(server_url=server.url) as models:
        with pytest.raises(TypeError, match=r"list\(\).*'timout'; did you mean 'timeout'\?"):
            await models.list(timout=1)
        with pytest.raises(TypeError, match=r"retrieve\(\).*'extra_body'"):
            await models.retrieve("gpt-4o", extra_body={"x": 1})  # a GET has no body
    assert server.requests == []


async def test_models_signatures_spell_out_the_options() -> None:
    """``help()`` shows each option of list/retrieve, the same on both clients."""
    import inspect

    options = ["timeout", "retries", "extra_headers", "extra_query"]
    async with AsyncGpt(api_key=KEY) as async_client:
        with Gpt(api_key=KEY) as sync_client:
            for models in (async_client.models, sync_client.models):
                assert list(inspect.signature(models.list).parameters) == options
                retrieve = inspect.signature(models.retrieve).parameters
                assert list(retrieve) == ["model", *options]


async def test_retries_after_server_errors(
    open_models: Callable[..., Any], server: FakeOpenAIServer
) -> None:
    """A 500 then a 429 are retried like chat; the third attempt's list is returned."""
    server.enqueue(Reply.error(500, "boom"), Reply.error(429, "slow", headers={"retry-after": "0"}))
    async with open_models(server_url=server.url, retry_config=NO_WAIT) as models:
        listed = await models.list()
    assert len(listed) == len(DEFAULT_MODELS)
    assert len(server.requests) == 3


async def test_per_call_retries_and_timeout(
    open_models: Callable[..., Any], server: FakeOpenAIServer
) -> None:
    """timeout= and retries= per call work as for chat: a slow reply times out."""
    server.enqueue(Reply(json={"object": "list", "data": []}, delay=2))
    async with open_models(server_url=server.url) as models:
        with pytest.raises(APITimeoutError):
            await models.list(timeout=0.2, retries=0)
    assert len(server.requests) == 1


async def test_hooks_see_models_requests(
    open_models: Callable[..., Any], server: FakeOpenAIServer
) -> None:
    """before_request and after_success run for models calls, with GET and the URL."""
    seen: list[tuple[str, str]] = []
    succeeded: list[int] = []

    def before(request: HTTPRequest) -> None:
        seen.append((request.method, request.url))
        request.headers["X-Trace"] = "t-1"

    hooks = Hooks(before_request=[before], after_success=[lambda _r, raw: succeeded.append(1)])
    async with open_models(server_url=server.url, hooks=hooks) as models:
        await models.retrieve("gpt-4o", extra_query={"v": "1"}, extra_headers={"X-A": "b"})
    assert seen == [("GET", f"{server.url}/models/gpt-4o")]
    assert succeeded == [1]
    recorded = server.requests[-1]
    assert (recorded.headers["X-Trace"], recorded.headers["X-A"]) == ("t-1", "b")
    assert recorded.query == {"v": "1"}


async def test_wrong_key_is_authentication_error_without_the_key(
    open_models: Callable[..., Any], server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 401 raises AuthenticationError; the key is in no message, traceback or log line."""
    caplog.set_level(logging.DEBUG)
    wrong = KEY + "-wrong"
    async with open_models(server_url=server.url, api_key=wrong, max_retries=0) as models:
        with pytest.raises(AuthenticationError) as caught:
            await models.list()
    shown = "".join(traceback.format_exception(caught.value))
    shown += "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records
    assert KEY not in shown
    assert "TOPSECRET" not in shown


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body="<html>gateway</html>", content_type="text/html"),
        Reply(body="{not json"),
        Reply(json={"object": "list", "data": "nope"}),
    ],
    ids=["html", "broken-json", "wrong-shape"],
)
async def test_a_body_that_is_not_a_model_list_is_a_typed_error(
    open_models: Callable[..., Any], server: FakeOpenAIServer, reply: Reply
) -> None:
    """A 2xx body that is not a model list raises APIResponseValidationError."""
    server.enqueue(reply)
    async with open_models(server_url=server.url) as models:
        with pytest.raises(APIResponseValidationError):
            await models.list()


async def test_models_go_through_the_token_provider(server: FakeOpenAIServer) -> None:
    """With an Entra ID token provider, models calls send the token as Bearer."""
    async with AsyncGpt(server_url=server.url, azure_ad_token_provider=lambda: KEY) as client:
        assert len(await client.models.list()) == len(DEFAULT_MODELS)
    assert server.requests[-1].headers["Authorization"] == f"Bearer {KEY}"


async def test_closed_client_refuses_models_calls(server: FakeOpenAIServer) -> None:
    """A closed client raises ClientStateError for models calls too."""
    from gpt_async import ClientStateError

    client = AsyncGpt(api_key=KEY, server_url=server.url)
    await client.aclose()
    with pytest.raises(ClientStateError):
        await client.models.list()
    assert server.requests == []
