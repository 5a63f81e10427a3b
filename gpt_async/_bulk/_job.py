"""A bulk run from an input JSONL file into an output JSONL file, live or through the Batch API.

Rerunning with the same output resumes: the ids already in the output are
skipped, a torn last line is cut off and redone. ``shard`` keeps the ids of one
shard, so several processes can split one input, each with its own output.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio

from gpt_async._config import check_option
from gpt_async._exceptions import AuthenticationError, RequestValidationError

from ._jsonl import OutputWriter, Shard, encode_result, scan_output
from ._options import JobOptions
from ._progress import Display, ProgressMode, make_display
from ._runner import DEFAULT_CONCURRENCY, BulkResult, Pool
from ._totals import BulkSummary, Prices, Tracker

if TYPE_CHECKING:
    from gpt_async._client import AsyncGpt

__all__ = ["bulk_file", "live_pass"]

Mode = Literal["live", "batch"]
BATCH_MAX_LINES = 50_000
BATCH_MAX_BYTES = 200 * 1024 * 1024


@contextlib.asynccontextmanager
async def _showing(
    display: Display | None, tracker: Tracker, pool: Pool | None
) -> AsyncIterator[None]:
    if display is None:
        yield
        return

    def in_flight() -> int:
        return pool.in_flight if pool is not None else 0

    async def tick() -> None:
        while True:
            await anyio.sleep(display.interval)
            display.refresh(tracker, in_flight())

    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        try:
            yield
        finally:
            group.cancel_scope.cancel()
            display.close(tracker, in_flight())


async def live_pass(
    client: AsyncGpt, options: JobOptions, tracker: Tracker, done: set[str]
) -> None:
    """Run the input's requests not ``done`` live, appending each result to the output."""
    writer = OutputWriter(options.output)

    async def write(result: BulkResult) -> None:
        if isinstance(result.error, AuthenticationError):
            raise result.error  # every other request would fail the same way: stop the run
        writer.write(encode_result(result))
        if tracker.add(result):
            pool.stop()

    source = options.pending(done)
    pool = Pool(client, source, concurrency=options.concurrency, on_result=write)
    display = None
    if options.progress != "none":
        display = make_display(options.progress, options.total(len(done)))
    try:
        async with _showing(display, tracker, pool):
            if not tracker.over_budget():
                await pool.run()
    finally:
        writer.close()


def _check_batch_options(poll_interval: float, max_lines: int, max_bytes: int) -> None:
    check_option(poll_interval, (int, float), "poll_interval")
    if poll_interval <= 0:
        raise RequestValidationError("poll_interval", "must be > 0")
    for name, value in (("batch_max_lines", max_lines), ("batch_max_bytes", max_bytes)):
        check_option(value, int, name)
        if value < 1:
            raise RequestValidationError(name, "must be an integer >= 1")


def _prices(prices: Prices | Mapping[str, Any] | str | Path | None) -> Prices | None:
    if prices is None or isinstance(prices, Prices):
        return prices
    if isinstance(prices, Mapping):
        return Prices(prices)
    return Prices.load(prices)


async def bulk_file(
    client: AsyncGpt,
    input: str | Path,
    output: str | Path,
    *,
    mode: Mode = "live",
    concurrency: int = DEFAULT_CONCURRENCY,
    model: str | None = None,
    shard: str | Shard | None = None,
    prices: Prices | Mapping[str, Any] | str | Path | None = None,
    max_tokens_total: int | None = None,
    max_cost: float | None = None,
    retry_failed: bool = False,
    progress: ProgressMode = "none",
    poll_interval: float = 10.0,
    live_fallback: bool = True,
    batch_max_lines: int = BATCH_MAX_LINES,
    batch_max_bytes: int = BATCH_MAX_BYTES,
) -> BulkSummary:
    """Run every request of a Batch API input file; write a Batch API output file.

    Args:
        client: The client (its retries and rate limiter apply to live requests).
        input: The input JSONL: Batch API request lines, or bare request bodies
            (whose ids are their line numbers).
        output: The output JSONL, appended to; rerunning with it resumes.
        mode: ``"live"`` sends the requests now; ``"batch"`` goes through the
            Batch API (half the price, within 24 hours), keeping its batch ids in
            ``OUTPUT.batches.json`` so a rerun resumes them.
        concurrency: The most live requests in flight at once.
        model: The model of request bodies that name none.
        shard: ``"I/N"`` (or a :class:`Shard`): only the ids of shard I of N.
        prices: A price table (see :class:`Prices`): a mapping or a JSON file.
        max_tokens_total: Stop (cleanly) once this run used this many tokens.
        max_cost: Stop (cleanly) once this run cost this many USD (needs ``prices``).
        retry_failed: Drop the output's failed lines first and run those ids again.
        progress: ``"auto"`` (a bar or status line on a terminal), ``"bar"``,
            ``"plain"`` or ``"none"``.
        poll_interval: Batch mode: the first wait between polls (it backs off).
        live_fallback: Batch mode: run live what expired, failed or was cancelled.
        batch_max_lines: Batch mode: the most lines per batch (OpenAI: 50,000).
        batch_max_bytes: Batch mode: the most bytes per batch file (OpenAI: 200 MB).

    Returns:
        The counts, tokens and cost of this run.

    Raises:
        RequestValidationError: A bad option or a missing file (before any request).
        CorruptOutputError: The output has a broken line that is not the last one.
    """
    options = JobOptions(
        input=input,
        output=output,
        concurrency=concurrency,
        model=model,
        shard=shard,
        retry_failed=retry_failed,
        progress=progress,
    )
    check_option(max_tokens_total, int, "max_tokens_total")
    check_option(max_cost, (int, float), "max_cost")
    table = _prices(prices)
    if max_cost is not None and table is None:
        raise RequestValidationError("max_cost", "needs a price table (prices)")
    if mode not in ("live", "batch"):
        raise RequestValidationError("mode", "expected 'live' or 'batch'")
    _check_batch_options(poll_interval, batch_max_lines, batch_max_bytes)
    tracker = Tracker(
        prices=table, max_tokens_total=max_tokens_total, max_cost=max_cost, batch=mode == "batch"
    )
    resumed = scan_output(options.output, drop_failed=retry_failed)
    tracker.summary.already_done = len(resumed.done)
    if mode == "batch":
        from ._batch import BatchJob  # noqa: PLC0415 - only the Batch API mode needs it

        job = BatchJob(client, options, tracker, poll_interval=poll_interval)
        await job.run(resumed.done, max_lines=batch_max_lines, max_bytes=batch_max_bytes)
        if not live_fallback or tracker.over_budget():
            return tracker.finish()
        tracker.batch = False  # what is left runs live, at live prices
    await live_pass(client, options, tracker, resumed.done)
    return tracker.finish()
