"""``gpt-async batch INPUT.jsonl OUTPUT.jsonl``: a bulk run from the command line.

The server options (``--base-url``, ``--api-key``, ``--timeout``, ``--local``)
are those every ``gpt-async`` subcommand shares; ``--json`` prints the summary
as one JSON object on stdout. Unlike ``chat``, the command never falls back to
the embedded echo server by itself: a job's output is worth more than a demo,
so it answers locally only with ``--local``.

Exit status: 0 when every request succeeded, 1 when some failed (they are
error lines in the output) or the API refused the run, 2 on bad usage, 3 when
a budget cap stopped the run (rerun to go on), 130 after Ctrl-C (the output
holds every result received; rerun to resume).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from gpt_async._client import AsyncGpt
from gpt_async._config import Timeout
from gpt_async._exceptions import GptAsyncError, RequestValidationError
from gpt_async._ratelimit import RateLimiter

from ._job import BATCH_MAX_BYTES, BATCH_MAX_LINES, bulk_file
from ._runner import DEFAULT_CONCURRENCY
from ._totals import BulkSummary

__all__ = ["add_parser", "run"]

EXIT_INTERRUPTED = 130


def add_parser(commands: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Add the ``batch`` subcommand to the ``gpt-async`` parser's subcommands.

    Args:
        commands: The parser's subcommands (``add_subparsers()``).
        parents: The parsers of the options every subcommand shares.
    """
    batch = commands.add_parser(
        "batch",
        parents=list(parents),
        help="run every request of a JSONL file (resumable), live or through the Batch API",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("input", help="Batch API request lines, or bare request bodies")
    batch.add_argument("output", help="Batch API output lines; appended to, rerun to resume")
    batch.add_argument("--model", "-m", help="the model of requests that name none")
    batch.add_argument("--concurrency", "-c", type=int, default=DEFAULT_CONCURRENCY)
    batch.add_argument("--rpm", type=int, help="requests per minute (client-side limiter)")
    batch.add_argument("--tpm", type=int, help="tokens per minute (client-side limiter)")
    batch.add_argument("--redis", metavar="URL", help="share the limiter through Redis")
    batch.add_argument("--mode", choices=("live", "batch"), default="live")
    batch.add_argument("--shard", metavar="I/N", help="only the ids of shard I (0-based) of N")
    batch.add_argument("--max-tokens-total", type=int, help="stop after this many tokens")
    batch.add_argument("--max-cost", type=float, help="stop after this many USD (needs --prices)")
    batch.add_argument("--prices", metavar="FILE", help="JSON: model -> USD per 1M tokens")
    batch.add_argument("--retry-failed", action="store_true", help="run failed ids again")
    batch.add_argument("--progress", choices=("auto", "bar", "plain", "none"), default="auto")
    batch.add_argument("--poll-interval", type=float, default=10.0, help="batch mode: seconds")
    batch.add_argument(
        "--no-live-fallback",
        action="store_true",
        help="batch mode: leave what expired, failed or was cancelled for a later run",
    )
    batch.add_argument("--batch-max-lines", type=int, default=BATCH_MAX_LINES)
    batch.add_argument("--batch-max-bytes", type=int, default=BATCH_MAX_BYTES)


def _client_options(args: argparse.Namespace, url: str | None) -> dict[str, Any]:
    """The client's options; a bad value is a usage error here, before any I/O."""
    options: dict[str, Any] = {"server_url": url}
    if args.local or args.api_key:
        options["api_key_auth"] = "sk-local" if args.local else args.api_key
    if args.timeout is not None:
        if not args.timeout > 0:
            raise RequestValidationError("--timeout", "must be a positive number of seconds")
        options["timeout"] = Timeout(connect=args.timeout, read=args.timeout)
    if args.rpm is not None or args.tpm is not None or args.redis is not None:
        try:
            options["rate_limiter"] = RateLimiter(
                requests_per_minute=args.rpm, tokens_per_minute=args.tpm, redis=args.redis
            )
        except (TypeError, ValueError) as exc:
            raise RequestValidationError("--rpm/--tpm/--redis", str(exc)) from None
    return options


@contextlib.contextmanager
def _server_url(args: argparse.Namespace) -> Iterator[str | None]:
    if not args.local:
        yield args.base_url
        return
    from gpt_async.testing import ThreadedFakeOpenAIServer  # noqa: PLC0415 - only with --local

    with ThreadedFakeOpenAIServer() as server:
        print(
            f"gpt-async batch: answering from the local echo server at {server.url}",
            file=sys.stderr,
        )
        yield server.url


def _client(options: dict[str, Any]) -> AsyncGpt:
    try:
        return AsyncGpt(**options)
    except RequestValidationError:
        raise
    except ValueError as exc:  # a bad --base-url, OPENAI_BASE_URL or proxy
        raise RequestValidationError("--base-url", str(exc)) from None


async def _run(args: argparse.Namespace, url: str | None) -> BulkSummary:
    options = _client_options(args, url)
    try:
        async with _client(options) as client:
            return await bulk_file(
                client,
                args.input,
                args.output,
                mode=args.mode,
                concurrency=args.concurrency,
                model=args.model,
                shard=args.shard,
                prices=args.prices,
                max_tokens_total=args.max_tokens_total,
                max_cost=args.max_cost,
                retry_failed=args.retry_failed,
                progress=args.progress,
                poll_interval=args.poll_interval,
                live_fallback=not args.no_live_fallback,
                batch_max_lines=args.batch_max_lines,
                batch_max_bytes=args.batch_max_bytes,
            )
    finally:
        limiter = options.get("rate_limiter")
        if limiter is not None:
            await limiter.aclose()  # its Redis connection, if any


def _check_key(args: argparse.Namespace) -> None:
    if args.local or args.api_key or args.base_url or os.environ.get("OPENAI_BASE_URL"):
        return
    if not os.environ.get("OPENAI_API_KEY", "").strip():
        raise RequestValidationError("OPENAI_API_KEY", "set it (or pass --base-url or --local)")


def run(args: argparse.Namespace) -> int:
    """Run the ``batch`` subcommand; returns the exit status."""
    try:
        _check_key(args)
        with _server_url(args) as url:
            summary = asyncio.run(_run(args, url))
    except KeyboardInterrupt:
        print(
            "gpt-async batch: interrupted; the output holds every result received, "
            "rerun the same command to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except RequestValidationError as exc:
        print(f"gpt-async batch: {exc}", file=sys.stderr)
        return 2
    except GptAsyncError as exc:
        print(f"gpt-async batch: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(summary.text(), file=sys.stderr)
    if args.json:
        print(json.dumps(_summary_json(summary)))
    return summary.exit_code


def _summary_json(summary: BulkSummary) -> dict[str, Any]:
    fields = attrs.asdict(summary, recurse=False)
    fields["unpriced"] = sorted(summary.unpriced)
    return {**fields, "exit_code": summary.exit_code}
