"""Entry point: ``python -m benchmarks.run [--smoke] [--out DIR] [--clients ...]``.

Starts the fake server, then runs every (scenario, client) pair in a fresh
worker process, repetition by repetition (rep 1: every scenario and client,
rep 2: ...), rotating the client order each time. Cold imports are timed in
interleaved rounds; the memory soak runs once per client at the end. Writes
``results.json`` (raw runs, summary, machine) and ``results.md``.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import importlib
import importlib.util
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import report, scenarios
from benchmarks.clients import BASELINE, CLIENTS, ClientSpec
from benchmarks.server import ServerProcess
from benchmarks.worker import EXIT_UNAVAILABLE

if TYPE_CHECKING:
    from benchmarks.scenarios import Scenario

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "gpt_async", "aiohttp", "openai", "httpx", "httpx2", "pydantic",
    "attrs", "cattrs", "anyio", "orjson", "yarl", "multidict",
)  # fmt: skip
Json = dict[str, Any]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    names = [c.name for c in CLIENTS]
    kinds = [s.name for s in scenarios.SCENARIOS]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts, 1 repetition")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--clients",
        nargs="+",
        choices=names,
        default=names,
        metavar="CLIENT",
        help=f"subset of: {' '.join(names)}",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        choices=kinds,
        default=kinds,
        metavar="NAME",
        help=f"subset of: {' '.join(kinds)}",
    )
    parser.add_argument("--reps", type=int, help="repetitions (default 5; smoke 1)")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply full-mode request counts (e.g. 0.2 for a quick look)",
    )
    parser.add_argument(
        "--no-allocator-prime",
        action="store_true",
        help="skip the 4 MiB malloc primer in workers (shows the trap)",
    )
    args = parser.parse_args(argv)
    if BASELINE not in args.clients:
        args.clients.insert(0, BASELINE)  # every ratio needs the floor
    return args  # fmt: skip


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name == "gpt_async" and importlib.util.find_spec(name) is not None:
                versions[name] = importlib.import_module(name).__version__ + " (not installed)"
    return versions


def _meta(args: argparse.Namespace, reps: int) -> Json:
    counts = {
        s.name: s.counts(smoke=args.smoke, scale=args.scale)
        for s in scenarios.SCENARIOS
        if s.name in args.scenarios
    }
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "smoke": args.smoke,
        "reps": reps,
        "scale": args.scale,
        "counts": counts,
        "allocator_prime": not args.no_allocator_prime,
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "kernel": platform.platform(),
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "packages": _versions(),
        "clients_run": [],
    }


class Runner:
    """Drives worker processes and collects their raw results."""

    def __init__(self, args: argparse.Namespace, server: ServerProcess, raw: Json) -> None:
        """Bind to a started server and the raw results document."""
        self._args = args
        self._server = server
        self._raw = raw
        self._skipped: dict[str, str] = {}
        self._env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1")
        if args.no_allocator_prime:
            self._env["BENCH_NO_ALLOCATOR_PRIME"] = "1"

    def available(self, specs: list[ClientSpec]) -> list[ClientSpec]:
        """The clients whose packages are installed; note the others."""
        found = []
        for spec in specs:
            missing = spec.missing()
            if missing is None:
                found.append(spec)
            else:
                self._skip(spec, f"`{missing}` is not installed")
        return found

    def _skip(self, spec: ClientSpec, reason: str) -> None:
        if spec.name not in self._skipped:
            self._skipped[spec.name] = reason
            self._raw["notes"].append(f"skipped {spec.label}: {reason}")
            print(f"  skip {spec.name}: {reason}", flush=True)

    def worker(self, spec: ClientSpec, batch: list[Scenario], rep: int) -> None:
        """Run scenarios in one fresh process and record a run for each."""
        batch = [scenario for scenario in batch if scenario.admits(spec)]
        if spec.name in self._skipped or not batch:
            return
        jobs = []
        for scenario in batch:
            requests, warmup = scenario.counts(smoke=self._args.smoke, scale=self._args.scale)
            jobs.append(f"{scenario.name}:{requests}:{warmup}")
        cmd = [sys.executable, "-m", "benchmarks.worker", spec.name, *jobs,
               "--base-url", self._server.base_url]  # fmt: skip
        cpu0, served0 = self._server.cpu_seconds(), self._server.served()
        proc = subprocess.run(
            cmd, cwd=ROOT, env=self._env, capture_output=True, text=True, timeout=3600, check=False
        )
        server = {
            "server_scope": "+".join(s.name for s in batch),
            "server_cpu_s": self._server.cpu_seconds() - cpu0,
            "server_requests": self._server.served() - served0,
        }
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode == EXIT_UNAVAILABLE:
            self._skip(spec, lines[-1]["skipped"] if lines else "unavailable")
            return
        for result in lines:
            run = {"rep": rep, "scenario": result.pop("scenario"), "client": spec.name}
            self._raw["runs"].append({**run, **server, "result": result})
            server = {}
            print(f"  {run['scenario']:14} {spec.name:15} {_brief(result)}", flush=True)
        if proc.returncode != 0:
            error = (proc.stderr.strip().splitlines() or ["?"])[-1]
            self._raw["notes"].append(f"{spec.label} / {jobs} / rep {rep + 1}: {error}")
            print(f"  FAIL {spec.name} {jobs}: {proc.stderr[-2000:]}", flush=True)

    def ran(self, specs: list[ClientSpec]) -> list[str]:
        """Names of the clients that were not skipped."""
        return [s.name for s in specs if s.name not in self._skipped]


def _brief(result: Json) -> str:
    if "units" in result:
        return f"{1e6 * result['cpu_s'] / result['units']:9.1f} µs/unit cpu"
    if "samples" in result:
        last = result["samples"][-1][1]
        return f"RSS {result['rss_import_kib'] / 1024:.1f} -> {last / 1024:.1f} MiB"
    return f"{1e3 * result['cpu_s']:9.1f} ms cpu"


def time_imports(modules: list[str], rounds: int) -> Json:
    """Cold ``python -c 'import X'`` (and ``pass``) runs, interleaved.

    Args:
        modules: Top-level packages to import.
        rounds: Cold starts per module; each round runs every module once.

    Returns:
        ``{"wall": {module: [seconds...]}, "cpu": {...}}``, with ``"pass"`` for
        interpreter start-up. CPU is the child's user + system time, which a
        busy machine disturbs far less than wall time.
    """
    for module in modules:
        _compile_bytecode(module)
    names = ["pass", *modules]
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            code = "pass" if name == "pass" else f"import {name}"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
            wall[name].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def _compile_bytecode(module: str) -> None:
    """Write ``module``'s bytecode caches, as a regular ``pip install`` leaves them.

    An editable install (``nox -s bench``) has none, and with
    ``PYTHONDONTWRITEBYTECODE`` set (as in CI) the imports never write them either:
    every cold start would compile the package from source while its dependencies,
    installed from wheels, load cached bytecode, and the import row would price
    the compiler instead of the package.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return
    locations = spec.submodule_search_locations
    if locations:
        for location in locations:
            compileall.compile_dir(location, quiet=1)
    else:
        compileall.compile_file(spec.origin, quiet=1)


def _rotate(specs: list[ClientSpec], rep: int) -> list[ClientSpec]:
    shift = rep % len(specs) if specs else 0
    return specs[shift:] + specs[:shift]


def _batches(selected: list[Scenario], *, smoke: bool) -> list[list[Scenario]]:
    """One scenario per process; smoke mode batches them (first request first)."""
    repeated = [s for s in selected if s.kind in {"first_request", "throughput"}]
    if not smoke:
        return [[s] for s in repeated]
    return [sorted(repeated, key=lambda s: s.kind != "first_request")]


def _measure(
    runner: Runner, specs: list[ClientSpec], selected: list[Scenario], *, reps: int, smoke: bool
) -> None:
    for rep in range(reps):
        print(f"repetition {rep + 1}/{reps}", flush=True)
        for batch in _batches(selected, smoke=smoke):
            for spec in _rotate(specs, rep):
                runner.worker(spec, batch, rep)
    for scenario in (s for s in selected if s.kind == "memory"):
        print("memory", flush=True)
        for spec in specs:
            runner.worker(spec, [scenario], 0)


def run(args: argparse.Namespace) -> Json:
    """Run every selected measurement and return the raw results document."""
    reps = args.reps or (1 if args.smoke else 5)
    raw: Json = {"meta": _meta(args, reps), "runs": [], "notes": [], "imports": {}}
    selected = [s for s in scenarios.SCENARIOS if s.name in args.scenarios]
    with ServerProcess() as server:
        runner = Runner(args, server, raw)
        specs = runner.available([c for c in CLIENTS if c.name in args.clients])
        if any(s.name == "import" for s in selected):
            rounds = scenarios.by_name("import").counts(smoke=args.smoke, scale=1.0)[0]
            modules = sorted({s.import_name for s in specs})
            print(f"import: {rounds} rounds of {modules}", flush=True)
            raw["imports"] = time_imports(modules, rounds)
        try:
            _measure(runner, specs, selected, reps=reps, smoke=args.smoke)
        except KeyboardInterrupt:
            raw["notes"].append("INTERRUPTED: the figures cover only the runs completed")
        raw["meta"]["clients_run"] = runner.ran(specs)
    raw["meta"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return raw


def _standing_notes(raw: Json) -> None:
    meta = raw["meta"]
    if meta["allocator_prime"]:
        raw["notes"].append(
            "every client process (and the server) allocates and frees a 4 MiB bytearray"
            " before importing anything, so glibc's dynamic mmap threshold is already raised"
            " and asyncio's 256 KiB read buffers come from the heap in every client alike"
        )
    else:
        raw["notes"].append("allocator primer DISABLED (--no-allocator-prime)")
    raw["notes"].append(
        "sync clients: CPU covers every thread of the process; 64-concurrent uses a"
        " ThreadPoolExecutor of 64 threads"
    )
    if meta["smoke"]:
        raw["notes"].append("smoke mode: counts are tiny, figures are not meaningful")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, write ``results.json`` and ``results.md``, print targets."""
    args = _parse(argv)
    started = time.monotonic()
    # A ``timeout`` or a CI job's cancel stops the run like Ctrl-C: the figures of the
    # runs completed are written (marked INTERRUPTED), not lost with the process.
    signal.signal(signal.SIGTERM, _interrupt)
    raw = run(args)
    _standing_notes(raw)
    summary = report.summarize(raw)
    raw["summary"] = summary
    raw["targets"] = report.target_lines(summary)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(raw, indent=2) + "\n")
    text = report.markdown(raw, summary)
    (args.out / "results.md").write_text(text)
    print(text)
    elapsed = time.monotonic() - started
    print(f"wrote {args.out / 'results.md'} in {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
