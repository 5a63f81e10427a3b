"""gpt_async's bulk runner: ``gpt_async.bulk()`` and ``gpt_async.bulk_file()`` over ``AsyncGpt``.

Measured only in the ``bulk`` scenario (against the hand-written
``asyncio.gather`` + semaphore loop over raw aiohttp, which is what the
``raw_aiohttp`` adapter runs there) and in ``bulk_memory`` (a JSONL file run).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.clients import API_KEY, ClientUnavailable
from benchmarks.clients.gpt_async_client import AsyncGptClient

if TYPE_CHECKING:
    from benchmarks.payloads import Message


def preload() -> None:
    """Import gpt_async and check it has the bulk runner.

    Raises:
        ClientUnavailable: The installed gpt_async has no ``bulk``.
    """
    import gpt_async

    for name in ("AsyncGpt", "bulk", "bulk_file"):
        if not hasattr(gpt_async, name):
            raise ClientUnavailable(f"gpt_async has no {name} yet")


class AsyncGptBulk(AsyncGptClient):
    """The ``AsyncGpt`` adapter plus whole-run methods through the bulk runner."""

    async def bulk(
        self, model: str, messages: list[Message], requests: int, concurrency: int
    ) -> list[str]:
        """Run ``requests`` copies of one request; return every reply's content."""
        import gpt_async

        body = {"model": model, "messages": messages}
        contents: list[str] = []
        run = gpt_async.bulk(
            self._client, itertools.repeat(body, requests), concurrency=concurrency
        )
        async with run:
            async for result in run:
                if result.completion is None:
                    raise RuntimeError(f"bulk request failed: {result.error!r}")
                contents.append(result.completion.choices[0].message.content or "")
        return contents

    async def bulk_file(self, source: Path, output: Path, concurrency: int) -> Any:
        """Run a JSONL file into a JSONL file; returns the summary."""
        import gpt_async

        return await gpt_async.bulk_file(self._client, source, output, concurrency=concurrency)


async def open_async(base_url: str) -> AsyncGptBulk:
    """Build and enter an ``AsyncGpt`` inside the running loop."""
    import gpt_async

    client = gpt_async.AsyncGpt(api_key_auth=API_KEY, server_url=base_url, max_retries=0)
    await client.__aenter__()
    return AsyncGptBulk(client)


def open_sync(base_url: str) -> Any:
    """The bulk runner's sync twin is not measured.

    Raises:
        ClientUnavailable: Always.
    """
    raise ClientUnavailable("the bulk runner is measured through AsyncGpt only")
