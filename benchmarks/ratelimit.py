"""The rate limiter's cost: client CPU per request against no limiter, and Redis round trips.

Three modes, measured in the same run, interleaved repetition by repetition,
each with a fresh ``AsyncGpt`` against the benchmark server (its own process):

* ``none``: no limiter;
* ``local``: ``RateLimiter(requests_per_minute=..., tokens_per_minute=...)`` with
  limits too high to ever wait, so every request pays for the token estimate,
  the reservation and the settlement, and nothing else;
* ``redis``: the same limits kept in a ``redis-server`` on a free 127.0.0.1
  port (skipped with a note when ``redis-server`` or the ``redis`` package is
  missing). Its round trips per request are Redis's own count of the commands
  it received (``INFO commandstats``), divided by the requests.

Each mode runs sequential requests, then 64 concurrent ones. The figure is the
median over repetitions of client CPU (``time.process_time()``) per request.

Run: ``python -m benchmarks.ratelimit [--smoke] [--reps N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import gpt_async as gpt
from benchmarks import payloads
from benchmarks.server import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
LIMITS = {"requests_per_minute": 10**9, "tokens_per_minute": 10**12}
MESSAGES = [{"role": "user", "content": "Say hello."}]
# Commands a script runs inside Redis, which INFO commandstats also counts.
_INSIDE_SCRIPTS = {"time", "hmget", "hset", "hget", "pexpire", "zadd", "zrem", "zcard"}


class _Redis:
    """A throwaway redis-server on a free port, stopped by PID."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory()
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", self._dir.name]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("redis-server did not start")

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)
        self._dir.cleanup()


def _redis_missing() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        return "the redis package is not installed (pip install 'gpt_async[redis]')"
    return None


async def _calls(client: gpt.AsyncGpt, requests: int, concurrency: int) -> None:
    async def one() -> None:
        await client.chat.completions.create(model=payloads.MODEL_SMALL, messages=MESSAGES)

    if concurrency == 1:
        for _ in range(requests):
            await one()
        return
    semaphore = asyncio.Semaphore(concurrency)

    async def bounded() -> None:
        async with semaphore:
            await one()

    await asyncio.gather(*(bounded() for _ in range(requests)))


async def _commands(url: str) -> dict[str, int]:
    import redis.asyncio

    probe = redis.asyncio.Redis.from_url(url)
    try:
        stats = await probe.info("commandstats")
    finally:
        await probe.aclose()
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


async def _reset_stats(url: str) -> None:
    import redis.asyncio

    probe = redis.asyncio.Redis.from_url(url)
    try:
        await probe.config_resetstat()
    finally:
        await probe.aclose()


async def _one_mode(
    base_url: str, mode: str, redis_url: str | None, requests: int, concurrency: int
) -> dict[str, float]:
    limiter = None
    if mode == "local":
        limiter = gpt.RateLimiter(**LIMITS)
    elif mode == "redis":
        limiter = gpt.RateLimiter(**LIMITS, redis=redis_url, key=f"bench-{time.time_ns()}")
    async with gpt.AsyncGpt(
        api_key="sk-bench", server_url=base_url, rate_limiter=limiter
    ) as client:
        await _calls(client, max(50, requests // 10), concurrency)  # warm up
        if redis_url is not None and mode == "redis":
            await _reset_stats(redis_url)
        started = time.process_time()
        await _calls(client, requests, concurrency)
        cpu = time.process_time() - started
    result = {"cpu_us_per_request": cpu / requests * 1e6}
    if limiter is not None:
        await limiter.aclose()
    if mode == "redis" and redis_url is not None:
        commands = await _commands(redis_url)
        sent = sum(n for name, n in commands.items() if name not in _INSIDE_SCRIPTS)
        sent -= commands.get("config|resetstat", 0) + commands.get("info", 0)
        result["round_trips_per_request"] = sent / requests
    return result


class _Reply:
    """What the limiter reads from a response: its headers (the benchmark server's)."""

    def __init__(self) -> None:
        from multidict import CIMultiDict

        self.headers = CIMultiDict(
            {"x-ratelimit-remaining-requests": "9999", "x-ratelimit-remaining-tokens": "99999"}
        )


async def _isolated(requests: int) -> float:
    """The limiter's own CPU per request: reserve, then settle to a completion's usage."""
    from gpt_async.models.components import ChatCompletion, CompletionUsage

    limiter = gpt.RateLimiter(**LIMITS)
    reply = _Reply()
    completion = ChatCompletion(
        id="c",
        choices=[],
        created=0,
        model="m",
        object="chat.completion",
        usage=CompletionUsage(completion_tokens=5, prompt_tokens=5, total_tokens=10),
    )
    body = {"model": payloads.MODEL_SMALL, "messages": MESSAGES}
    started = time.process_time()
    for _ in range(requests):
        reservation = await limiter._reserve(body)
        await reservation.completed(reply, completion)  # type: ignore[arg-type]
    return (time.process_time() - started) / requests * 1e6


def _summary(raw: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    isolated = statistics.median(r["cpu_us_per_request"] for r in raw.pop("isolated"))
    medians = {
        key: statistics.median(r["cpu_us_per_request"] for r in runs) for key, runs in raw.items()
    }
    summary: dict[str, Any] = {"cpu_us_per_request": medians}
    for key, value in medians.items():
        mode, shape = key.split("/")
        if mode != "none":
            summary.setdefault("ratio_to_none", {})[key] = value / medians[f"none/{shape}"]
    summary["limiter_alone_us_per_request"] = isolated
    summary["limiter_alone_share"] = isolated / medians["none/sequential"]
    trips = [r["round_trips_per_request"] for k, runs in raw.items() for r in runs if "redis" in k]
    if trips:
        summary["redis_round_trips_per_request"] = max(trips)
    return summary


def _table(summary: dict[str, Any]) -> str:
    lines = ["| mode | shape | CPU µs/request | vs none |", "|---|---|---|---|"]
    ratios = summary.get("ratio_to_none", {})
    for key, value in summary["cpu_us_per_request"].items():
        mode, shape = key.split("/")
        ratio = f"{ratios[key]:.3f}x" if key in ratios else "1.000x"
        lines.append(f"| {mode} | {shape} | {value:.1f} | {ratio} |")
    if "redis_round_trips_per_request" in summary:
        trips = summary["redis_round_trips_per_request"]
        lines.append(f"\nRedis round trips per request: {trips:.2f} (target 2)")
    local = [v for k, v in ratios.items() if k.startswith("local/")]
    alone, share = summary["limiter_alone_us_per_request"], summary["limiter_alone_share"]
    lines.append(
        f"The limiter alone (reserve + settle, no I/O): {alone:.1f} µs per request,"
        f" {share:.1%} of a sequential request's CPU without it (target <= 5%)"
    )
    if local:
        verdict = "met" if max(local) <= 1.05 else "MISSED"
        lines.append(f"End to end: at most {max(local):.3f}x none (target 1.05x): {verdict}")
    return "\n".join(lines)


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    missing = _redis_missing()
    modes = ["none", "local"] + (["redis"] if missing is None else [])
    redis_server = _Redis() if missing is None else None
    raw: dict[str, list[dict[str, float]]] = {}
    try:
        with ServerProcess() as server:
            for rep in range(args.reps):
                for shape, concurrency in (("sequential", 1), ("concurrent64", 64)):
                    order = modes[rep % len(modes) :] + modes[: rep % len(modes)]
                    for mode in order:
                        url = redis_server.url if redis_server else None
                        result = await _one_mode(
                            server.base_url, mode, url, args.requests, concurrency
                        )
                        raw.setdefault(f"{mode}/{shape}", []).append(result)
                isolated = await _isolated(args.requests * 10)
                raw.setdefault("isolated", []).append({"cpu_us_per_request": isolated})
    finally:
        if redis_server is not None:
            redis_server.close()
    return {"raw": raw, "summary": _summary(raw), "notes": [missing] if missing else []}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ratelimit", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts, 1 repetition")
    parser.add_argument("--reps", type=int, help="repetitions (default 5; smoke 1)")
    parser.add_argument("--requests", type=int, help="requests per measurement (default 2000)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    args.reps = args.reps or (1 if args.smoke else 5)
    args.requests = args.requests or (100 if args.smoke else 2000)
    report = asyncio.run(_run(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ratelimit.json").write_text(json.dumps(report, indent=2))
    table = _table(report["summary"])
    (args.out / "ratelimit.md").write_text(table + "\n")
    print(table)
    for note in report["notes"]:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
