"""openai-python with its default httpx transport: ``AsyncOpenAI`` and ``OpenAI``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchmarks.clients import API_KEY

if TYPE_CHECKING:
    from benchmarks.payloads import Message

_STREAM_OPTIONS = {"include_usage": True}


def preload() -> None:
    """Import openai."""
    import openai  # type: ignore[import-not-found,unused-ignore]  # noqa: F401


class AsyncOpenAIClient:
    """``await client.chat.completions.create(...)``."""

    def __init__(self, client: Any) -> None:
        """Wrap an ``AsyncOpenAI``."""
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
        """Close the client."""
        await self._client.close()


class OpenAIClient:
    """The blocking ``OpenAI`` client."""

    def __init__(self, client: Any) -> None:
        """Wrap an ``OpenAI``."""
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
        """Close the client."""
        self._client.close()


async def open_async(base_url: str) -> AsyncOpenAIClient:
    """Build an ``AsyncOpenAI`` on its default httpx transport."""
    import openai  # type: ignore[import-not-found,unused-ignore]

    return AsyncOpenAIClient(openai.AsyncOpenAI(api_key=API_KEY, base_url=base_url, max_retries=0))


def open_sync(base_url: str) -> OpenAIClient:
    """Build an ``OpenAI``."""
    import openai  # type: ignore[import-not-found,unused-ignore]

    return OpenAIClient(openai.OpenAI(api_key=API_KEY, base_url=base_url, max_retries=0))
