"""The bulk-run API as a type checker sees it: checked by ``mypy --strict``, never run."""

from __future__ import annotations

from collections.abc import AsyncIterator

from typing_extensions import assert_type

import gpt_async
from gpt_async import AsyncGpt, BulkRequest, BulkResult, BulkSummary, Gpt
from gpt_async.models import components


async def bulk_api() -> None:
    async def requests() -> AsyncIterator[BulkRequest]:
        yield BulkRequest(custom_id="a", body={"model": "m", "messages": []})

    async with AsyncGpt() as client:
        async with gpt_async.bulk(client, requests(), concurrency=8) as run:
            async for result in run:
                assert_type(result, BulkResult)
                completion: components.ChatCompletion | None = result.completion
                error: gpt_async.GptAsyncError | None = result.error
                print(result.custom_id, result.attempts, completion, error, run.in_flight)
            run.stop()
        summary = await gpt_async.bulk_file(
            client, "in.jsonl", "out.jsonl", mode="batch", shard="0/2", max_cost=1.0,
            prices=gpt_async.Prices({"m": {"input": 1, "output": 2}}),
        )  # fmt: skip
        assert_type(summary, BulkSummary)
        code: int = summary.exit_code
        print(code, summary.text(), gpt_async.Shard.parse("1/3"))


def bulk_sync_api() -> None:
    with Gpt() as client:
        for result in gpt_async.bulk_sync(client, [{"model": "m", "messages": []}]):
            assert_type(result, BulkResult)
