"""gpt_async through its keyword API: ``AsyncGpt`` and the ``Gpt`` sync facade.

These rows run with OpenTelemetry hidden (as if ``opentelemetry-api`` were not
installed), so they measure the untraced client whatever the environment holds;
``gpt_async_otel`` prices tracing against them in the same run.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from benchmarks.clients import API_KEY, ClientUnavailable

if TYPE_CHECKING:
    from benchmarks.payloads import Message

_STREAM_OPTIONS = {"include_usage": True}


def preload() -> None:
    """Import gpt_async and check it exposes both clients.

    Raises:
        ClientUnavailable: The installed gpt_async has no ``AsyncGpt`` or ``Gpt``.
    """
    sys.modules.setdefault("opentelemetry", None)  # type: ignore[arg-type]
    import gpt_async

    for name in ("AsyncGpt", "Gpt"):
        if not hasattr(gpt_async, name):
            raise ClientUnavailable(f"gpt_async has no {name} yet")


class AsyncGptClient:
    """``await client.chat.completions.create(...)``."""

    def __init__(self, client: Any) -> None:
        """Wrap an entered ``AsyncGpt``."""
        self._client = client
        self._completions = client.chat.completions

    async def complete(self, model: str, messages: list[Message]) -> str:
        """Send one chat completion and return the assistant content."""
        response = await self._completions.create(model=model, messages=messages)
        content: str = response.choices[0].message.content
        return content

    async def stream(self, model: str, messages: list[Message]) -> int:
        """Iterate the chunk stream, counting chunks."""
        chunks = 0
        stream = await self._completions.create(
            model=model, messages=messages, stream=True, stream_options=_STREAM_OPTIONS
        )
        async with stream:
            async for _chunk in stream:
                chunks += 1
        return chunks

    async def aclose(self) -> None:
        """Leave the client's context."""
        await self._client.__aexit__(None, None, None)


class GptClient:
    """The blocking facade: the same calls without ``await``."""

    def __init__(self, client: Any) -> None:
        """Wrap an entered ``Gpt``."""
        self._client = client
        self._completions = client.chat.completions

    def complete(self, model: str, messages: list[Message]) -> str:
        """Send one chat completion and return the assistant content."""
        response = self._completions.create(model=model, messages=messages)
        content: str = response.choices[0].message.content
        return content

    def stream(self, model: str, messages: list[Message]) -> int:
        """Iterate the chunk stream, counting chunks."""
        chunks = 0
        stream = self._completions.create(
            model=model, messages=messages, stream=True, stream_options=_STREAM_OPTIONS
        )
        with stream:
            for _chunk in stream:
                chunks += 1
        return chunks

    def close(self) -> None:
        """Leave the client's context."""
        self._client.__exit__(None, None, None)


async def open_async(base_url: str) -> AsyncGptClient:
    """Build and enter an ``AsyncGpt`` inside the running loop."""
    import gpt_async

    client = gpt_async.AsyncGpt(api_key_auth=API_KEY, server_url=base_url, max_retries=0)
    await client.__aenter__()
    return AsyncGptClient(client)


def open_sync(base_url: str) -> GptClient:
    """Build and enter a ``Gpt``."""
    import gpt_async

    client = gpt_async.Gpt(api_key_auth=API_KEY, server_url=base_url, max_retries=0)
    client.__enter__()
    return GptClient(client)
