"""Azure OpenAI: Entra ID tokens as Bearer, fetched per attempt; environment fallbacks; options.

Every test talks to the real testing server on 127.0.0.1, through both clients.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.lowlevel
import anyio.to_thread
import pytest

from gpt_async import AsyncGpt, AuthenticationError, Gpt, RequestValidationError, RetryConfig
from gpt_async.testing import FakeOpenAIServer, Reply

pytestmark = pytest.mark.anyio

USER = [{"role": "user", "content": "hello"}]
TOKEN = "eyJ0eXAiOiJKV1Qi.ENTRA-TOPSECRET.9f8e7d"
VERSION = "2024-10-21"
NO_WAIT = RetryConfig(backoff_scale=0)
AZURE_VARIABLES = ("AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION", "AZURE_OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's Azure and OpenAI variables do not leak into these tests."""
    for name in (*AZURE_VARIABLES, "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """The testing server, without a required key."""
    async with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture(params=["AsyncGpt", "Gpt"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client a test drives."""
    return str(request.param)


async def ask_azure(kind: str, **options: Any) -> Any:
    """One completion through ``<kind>.azure(**options)``; returns it."""
    if kind == "AsyncGpt":
        async with AsyncGpt.azure(**options) as client:
            return await client.chat.completions.create(model="ignored", messages=USER)

    def call() -> Any:
        with Gpt.azure(**options) as client:
            return client.chat.completions.create(model="ignored", messages=USER)

    return await anyio.to_thread.run_sync(call)


def numbered_tokens() -> tuple[list[str], Callable[[], str]]:
    """A sync provider handing out token-1, token-2...; and the list of what it gave."""
    given: list[str] = []

    def provider() -> str:
        given.append(f"token-{len(given) + 1}")
        return given[-1]

    return given, provider


async def test_token_is_sent_as_bearer_instead_of_api_key(
    kind: str, server: FakeOpenAIServer
) -> None:
    """The Entra ID token goes in Authorization: Bearer; no api-key header is sent."""
    given, provider = numbered_tokens()
    completion = await ask_azure(
        kind,
        endpoint=server.origin,
        deployment="dep",
        api_version=VERSION,
        azure_ad_token_provider=provider,
    )
    assert completion.choices[0].message.content == "hello"
    recorded = server.requests[-1]
    assert recorded.path == "/openai/deployments/dep/chat/completions"
    assert recorded.headers["Authorization"] == "Bearer token-1"
    assert "api-key" not in recorded.headers
    assert given == ["token-1"]


async def test_token_is_fetched_again_before_each_attempt(
    kind: str, server: FakeOpenAIServer
) -> None:
    """A retried request asks the provider anew, so an expired token is replaced."""
    given, provider = numbered_tokens()
    server.enqueue(Reply.error(500, "boom"), Reply.error(429, "slow down"))
    await ask_azure(
        kind,
        endpoint=server.origin,
        deployment="dep",
        api_version=VERSION,
        azure_ad_token_provider=provider,
        retry_config=NO_WAIT,
    )
    sent = [r.headers["Authorization"] for r in server.requests]
    assert sent == ["Bearer token-1", "Bearer token-2", "Bearer token-3"]
    assert given == ["token-1", "token-2", "token-3"]


async def test_async_token_provider_on_a_plain_client(server: FakeOpenAIServer) -> None:
    """An async provider works on AsyncGpt too, and OPENAI_API_KEY does not clash with it."""
    calls: list[int] = []

    async def provider() -> str:
        calls.append(1)
        await anyio.lowlevel.checkpoint()
        return TOKEN

    async with AsyncGpt(server_url=server.url, azure_ad_token_provider=provider) as client:
        await client.chat.completions.create(model="m", messages=USER)
        await client.chat.completions.create(model="m", messages=USER)
    assert [r.headers["Authorization"] for r in server.requests] == [f"Bearer {TOKEN}"] * 2
    assert len(calls) == 2


async def test_environment_api_key_is_not_sent_with_a_token(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a token provider, OPENAI_API_KEY and AZURE_OPENAI_API_KEY are not read."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-env")
    await ask_azure(
        "AsyncGpt",
        endpoint=server.origin,
        deployment="dep",
        api_version=VERSION,
        azure_ad_token_provider=lambda: TOKEN,
    )
    headers = server.requests[-1].headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert "api-key" not in headers


async def test_environment_fallbacks(
    kind: str, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """azure() reads AZURE_OPENAI_ENDPOINT, OPENAI_API_VERSION and AZURE_OPENAI_API_KEY."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.origin + "/")
    monkeypatch.setenv("OPENAI_API_VERSION", VERSION)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-key")
    await ask_azure(kind, deployment="dep")
    recorded = server.requests[-1]
    assert recorded.path == "/openai/deployments/dep/chat/completions"
    assert recorded.query == {"api-version": VERSION}
    assert recorded.headers["api-key"] == "az-key"


async def test_every_client_option_is_accepted(kind: str, server: FakeOpenAIServer) -> None:
    """api_key_header, api_key_auth, default_query, headers and retries pass through azure()."""
    await ask_azure(
        kind,
        endpoint=server.origin,
        deployment="dep",
        api_version=VERSION,
        api_key_auth="sk-az",
        api_key_header="authorization",
        default_query={"trace": "1"},
        default_headers={"X-Team": "search"},
        max_retries=0,
        timeout=30,
        trust_env=False,
    )
    recorded = server.requests[-1]
    assert recorded.headers["Authorization"] == "Bearer sk-az"
    assert "api-key" not in recorded.headers
    assert recorded.headers["X-Team"] == "search"
    assert recorded.query == {"trace": "1", "api-version": VERSION}


async def test_server_url_replaces_endpoint_and_deployment(
    kind: str, server: FakeOpenAIServer
) -> None:
    """server_url is the deployment's full base URL; api-version is still added."""
    await ask_azure(
        kind,
        server_url=f"{server.origin}/openai/deployments/other",
        api_version=VERSION,
        api_key="k",
    )
    recorded = server.requests[-1]
    assert recorded.path == "/openai/deployments/other/chat/completions"
    assert recorded.query == {"api-version": VERSION}


@pytest.mark.parametrize(
    ("options", "path", "mentions"),
    [
        ({"deployment": "d", "api_version": VERSION}, "endpoint", "AZURE_OPENAI_ENDPOINT"),
        ({"endpoint": "https://r.example", "deployment": "d"}, "api_version", "OPENAI_API_VERSION"),
        ({"endpoint": "https://r.example", "api_version": VERSION}, "deployment", "deployment"),
        (
            {"endpoint": "https://r.example", "deployment": "d", "api_version": VERSION,
             "server_url": "https://r.example/x"},
            "server_url",
            "not both",
        ),
        (
            {"endpoint": "https://r.example", "deployment": "d", "api_version": VERSION,
             "api_key": "a", "api_key_auth": "b"},
            "api_key_auth",
            "not both",
        ),
        (
            {"endpoint": "https://r.example", "deployment": "d", "api_version": VERSION,
             "api_key": "a", "azure_ad_token_provider": lambda: TOKEN},
            "azure_ad_token_provider",
            "not both",
        ),
        (
            {"endpoint": "https://r.example", "deployment": "d", "api_version": VERSION,
             "azure_ad_token_provider": TOKEN},
            "azure_ad_token_provider",
            "callable",
        ),
    ],
)  # fmt: skip
def test_bad_azure_configuration_names_the_option(
    options: dict[str, Any], path: str, mentions: str
) -> None:
    """A missing or doubled setting fails at construction, naming it."""
    for client in (AsyncGpt, Gpt):
        with pytest.raises(RequestValidationError) as caught:
            client.azure(**options)
        assert caught.value.path == path
        assert mentions in str(caught.value)


async def test_bad_token_fails_before_sending(kind: str, server: FakeOpenAIServer) -> None:
    """A provider returning a non-string or a token with CR/LF fails naming the option."""
    for bad in (lambda: 42, lambda: "tok\r\nX-Evil: 1", lambda: ""):
        with pytest.raises(RequestValidationError) as caught:
            await ask_azure(
                kind,
                endpoint=server.origin,
                deployment="d",
                api_version=VERSION,
                azure_ad_token_provider=bad,
            )
        assert caught.value.path == "azure_ad_token_provider"
    assert server.requests == []


async def test_token_never_shown(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    """The token is in no repr, debug log line, error text or traceback."""
    caplog.set_level(logging.DEBUG)
    async with FakeOpenAIServer(api_key="another-token") as server:
        options = {
            "endpoint": server.origin,
            "deployment": "d",
            "api_version": VERSION,
            "azure_ad_token_provider": lambda: TOKEN,
        }
        with pytest.raises(AuthenticationError) as caught:
            await ask_azure(kind, **options)
        async with AsyncGpt.azure(**options) as client:
            shown = repr(client)
        with Gpt.azure(**options) as sync_client:
            shown += repr(sync_client)
    shown += "".join(traceback.format_exception(caught.value))
    shown += "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records
    assert TOKEN not in shown
    assert "TOPSECRET" not in shown
