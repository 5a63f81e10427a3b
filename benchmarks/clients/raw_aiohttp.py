"""The floor: a bare aiohttp ClientSession with stdlib json, no SDK at all."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from benchmarks.clients import API_KEY

if TYPE_CHECKING:
    import aiohttp

    from benchmarks.payloads import Message


def preload() -> None:
    """Import aiohttp."""
    import aiohttp  # noqa: F401


class RawAiohttp:
    """POST ``json.dumps`` bytes, ``await resp.read()``, ``json.loads``."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        """Wrap a session opened inside the running loop."""
        self._url = base_url + "/chat/completions"
        self._session = session
        self._headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

    async def complete(self, model: str, messages: list[Message]) -> str:
        """Send one chat completion and return the assistant content."""
        data = json.dumps({"model": model, "messages": messages})
        async with self._session.post(self._url, data=data, headers=self._headers) as resp:
            body = json.loads(await resp.read())
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
        content: str = body["choices"][0]["message"]["content"]
        return content

    async def stream(self, model: str, messages: list[Message]) -> int:
        """Read SSE lines from ``resp.content`` and parse every ``data:`` line."""
        payload = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        data = json.dumps(payload)
        chunks = 0
        async with self._session.post(self._url, data=data, headers=self._headers) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            async for line in resp.content:
                if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                    json.loads(line[6:])
                    chunks += 1
        return chunks

    async def aclose(self) -> None:
        """Close the session."""
        await self._session.close()


async def open_async(base_url: str) -> RawAiohttp:
    """Build the adapter; must run inside the event loop."""
    import aiohttp

    return RawAiohttp(base_url, aiohttp.ClientSession())
