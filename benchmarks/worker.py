"""One client process: run scenarios through one client, print JSON lines.

``python -m benchmarks.worker CLIENT SCENARIO[:REQUESTS[:WARMUP]]...
--base-url URL [--profile FILE]``. Each scenario prints one JSON object line
(with its ``scenario``). Exit status 3 with ``{"skipped": reason}`` means the
client is unavailable. The runner starts one worker per scenario; only smoke
mode batches a client's scenarios into one process, to keep CI fast.

Before anything else is imported the process allocates and frees a 4 MiB
block. glibc's malloc starts with a 128 KiB mmap threshold and raises it the
first time a large mmapped block is freed; until then every 256 KiB read
buffer asyncio allocates costs an mmap/munmap pair. Importing a heavy library
happens to free such a block, a bare aiohttp does not, so without this primer
the floor would pay a cost the SDKs do not. Every client process (and the
server) starts from the same allocator state instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

EXIT_UNAVAILABLE = 3


def _prime_allocator() -> None:
    primer = bytearray(4 * 1024 * 1024)
    del primer


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run benchmark scenarios in this process.")
    parser.add_argument("client")
    parser.add_argument(
        "jobs",
        nargs="+",
        metavar="SCENARIO[:REQUESTS[:WARMUP]]",
        help="scenarios to run in order; counts default to the full-mode ones",
    )
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats of the run")
    return parser.parse_args(argv)


def _run(client: str, job: str, base_url: str) -> dict[str, Any]:
    import asyncio

    from benchmarks import clients, scenarios

    spec = clients.by_name(client)
    name, *counts = job.split(":")
    scenario = scenarios.by_name(name)
    requests, warmup = scenario.counts(smoke=False, scale=1.0)
    if counts:
        requests = int(counts[0])
    if len(counts) > 1:
        warmup = int(counts[1])
    if spec.is_async:
        result = asyncio.run(scenarios.run_async(spec, scenario, base_url, requests, warmup))
    else:
        result = scenarios.run_sync(spec, scenario, base_url, requests, warmup)
    return {"scenario": name, **result}


def main(argv: list[str] | None = None) -> int:
    """Run the scenario and print its result as the last stdout line.

    Returns:
        The process exit status.
    """
    if os.environ.get("BENCH_NO_ALLOCATOR_PRIME") != "1":
        _prime_allocator()
    args = _parse(argv)
    from benchmarks.clients import ClientUnavailable

    profiler = None
    if args.profile:
        import cProfile
        import time

        # CPU time, not wall time: the server shares the machine
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    try:
        results = [_run(args.client, job, args.base_url) for job in args.jobs]
    except (ClientUnavailable, ImportError) as exc:
        print(json.dumps({"skipped": f"{type(exc).__name__}: {exc}"}))
        return EXIT_UNAVAILABLE
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
    for result in results:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
