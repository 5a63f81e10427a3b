"""openai-python's ``AsyncOpenAI`` on its aiohttp backend (``openai[aiohttp]``)."""

from __future__ import annotations

from benchmarks.clients import API_KEY, ClientUnavailable
from benchmarks.clients.openai_client import AsyncOpenAIClient


def preload() -> None:
    """Import openai and check its aiohttp extra is installed.

    Raises:
        ClientUnavailable: ``openai.DefaultAioHttpClient`` cannot be built.
    """
    import openai  # type: ignore[import-not-found,unused-ignore]

    if "Missing" in openai.DefaultAioHttpClient.__name__:
        raise ClientUnavailable('openai aiohttp backend needs `pip install "openai[aiohttp]"`')


async def open_async(base_url: str) -> AsyncOpenAIClient:
    """Build an ``AsyncOpenAI`` with ``http_client=openai.DefaultAioHttpClient()``."""
    import openai  # type: ignore[import-not-found,unused-ignore]

    try:
        http_client = openai.DefaultAioHttpClient()
    except RuntimeError as exc:  # raised by the placeholder class when the extra is missing
        raise ClientUnavailable(str(exc)) from exc
    client = openai.AsyncOpenAI(
        api_key=API_KEY, base_url=base_url, max_retries=0, http_client=http_client
    )
    return AsyncOpenAIClient(client)
