"""Turn raw worker results into medians, ratios, a markdown report and targets.

Ratios are taken per repetition (each client against raw aiohttp measured in
the same repetition) and the median of those ratios is reported, so a slow
stretch of a noisy machine shifts both sides of a ratio together.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.clients import BASELINE, CLIENTS
from benchmarks.scenarios import SCENARIOS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

Json = dict[str, Any]
_MIB = 1024.0


def _median(values: Iterable[float]) -> float | None:
    data = list(values)
    return statistics.median(data) if data else None


def _runs(raw: Json, scenario: str, client: str) -> dict[int, Json]:
    return {
        run["rep"]: run["result"]
        for run in raw["runs"]
        if run["scenario"] == scenario and run["client"] == client and "result" in run
    }


def _per_rep_ratios(
    raw: Json, scenario: str, client: str, metric: Callable[[Json], float]
) -> list[float]:
    base = _runs(raw, scenario, BASELINE)
    mine = _runs(raw, scenario, client)
    return [metric(mine[rep]) / metric(base[rep]) for rep in mine if rep in base]


def _us_per_unit(result: Json) -> float:
    return 1e6 * float(result["cpu_s"]) / int(result["units"])


def _throughput(raw: Json, scenario: str, client: str) -> Json | None:
    runs = list(_runs(raw, scenario, client).values())
    if not runs:
        return None
    return {
        "us_per_unit": _median(_us_per_unit(r) for r in runs),
        "ratio": _median(_per_rep_ratios(raw, scenario, client, _us_per_unit)),
        "rate": _median(_rate(r) for r in runs),
        "rate_ratio": _median(_per_rep_ratios(raw, scenario, client, _rate)),
        "reps": len(runs),
    }


def _rate(result: Json) -> float:
    return int(result["units"]) / float(result["wall_s"])


def _first_request(raw: Json, client: str) -> Json | None:
    runs = list(_runs(raw, "first_request", client).values())
    if not runs:
        return None
    return {
        "cpu_ms": _median(1e3 * r["cpu_s"] for r in runs),
        "wall_ms": _median(1e3 * r["wall_s"] for r in runs),
        "ratio": _median(_per_rep_ratios(raw, "first_request", client, lambda r: r["cpu_s"])),
    }


def warmup_samples(count: int) -> int:
    """How many leading RSS samples count as warm-up: the first fifth, at least one."""
    return max(1, count // 5)


def _slope_kib_per_10k(samples: list[list[int]]) -> float | None:
    """Least-squares RSS growth over the samples after the warm-up ones."""
    points = samples[warmup_samples(len(samples)) :]
    if len(points) < 2:
        return None
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mean_x) ** 2 for x in xs)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return 10_000 * num / den


def _memory(raw: Json, client: str, scenario: str = "memory") -> Json | None:
    runs = list(_runs(raw, scenario, client).values())
    if not runs:
        return None
    result = runs[0]
    samples = result["samples"]
    return {
        "rss_import_mib": result["rss_import_kib"] / _MIB,
        "rss_first_sample_mib": samples[0][1] / _MIB,
        "first_sample_requests": samples[0][0],
        "warmup_requests": samples[warmup_samples(len(samples)) - 1][0],
        "slope_kib_per_10k": _slope_kib_per_10k(samples),
        "total_requests": samples[-1][0],
    }


def _net_medians(times: dict[str, list[float]]) -> dict[str, float]:
    start = _median(times["pass"]) or 0.0
    return {name: (_median(ts) or 0.0) - start for name, ts in times.items() if name != "pass"}


def _imports(raw: Json) -> dict[str, Json]:
    times = raw.get("imports", {})
    if "pass" not in times.get("wall", {}):
        return {}
    wall, cpu = _net_medians(times["wall"]), _net_medians(times["cpu"])
    floor_wall, floor_cpu = wall.get("aiohttp"), cpu.get("aiohttp")
    out: dict[str, Json] = {}
    for spec in CLIENTS:
        name = spec.import_name
        if name in wall:
            out[spec.name] = {
                "module": name,
                "ms": wall[name] * 1e3,
                "ratio": wall[name] / floor_wall if floor_wall else None,
                "cpu_ms": cpu[name] * 1e3,
                "cpu_ratio": cpu[name] / floor_cpu if floor_cpu else None,
            }
    out["_python_startup"] = {"ms": 1e3 * (_median(times["wall"]["pass"]) or 0.0)}
    return out


def _server(raw: Json) -> dict[str, Json]:
    cpu: dict[str, float] = {}
    served: dict[str, int] = {}
    for run in raw["runs"]:
        scope = run.get("server_scope")
        if scope:
            cpu[scope] = cpu.get(scope, 0.0) + run["server_cpu_s"]
            served[scope] = served.get(scope, 0) + run["server_requests"]
    return {
        scope: {"us_per_request": 1e6 * cpu[scope] / n, "requests": n}
        for scope, n in served.items()
        if n
    }


def summarize(raw: Json) -> Json:
    """Aggregate the raw runs of :mod:`benchmarks.run` into report figures."""
    throughput: dict[str, dict[str, Json]] = {}
    for scenario in SCENARIOS:
        if scenario.kind == "throughput":
            rows = {c.name: _throughput(raw, scenario.name, c.name) for c in CLIENTS}
            throughput[scenario.name] = {k: v for k, v in rows.items() if v is not None}
    first = {c.name: _first_request(raw, c.name) for c in CLIENTS}
    memory = {c.name: _memory(raw, c.name) for c in CLIENTS}
    return {
        "throughput": throughput,
        "first_request": {k: v for k, v in first.items() if v is not None},
        "memory": {k: v for k, v in memory.items() if v is not None},
        "bulk_memory": {
            c.name: found for c in CLIENTS if (found := _memory(raw, c.name, "bulk_memory"))
        },
        "import": _imports(raw),
        "server": _server(raw),
    }


@dataclass(frozen=True)
class Target:
    """One performance target: a figure, a bound and how to read it."""

    text: str
    bound: float
    figure: Callable[[Json], float | None]
    unit: str = "x"
    at_least: bool = False

    def check(self, summary: Json) -> tuple[str, float | None]:
        """``("PASS" | "MISS" | "n/a", figure)``."""
        try:
            value = self.figure(summary)
        except (KeyError, TypeError, ZeroDivisionError):
            value = None
        if value is None:
            return "n/a", None
        ok = value >= self.bound if self.at_least else value <= self.bound
        return ("PASS" if ok else "MISS"), value


def _ratio(scenario: str, client: str) -> Callable[[Json], float | None]:
    return lambda s: s["throughput"][scenario][client]["ratio"]


def _vs_openai(scenario: str) -> Callable[[Json], float | None]:
    def figure(s: Json) -> float:
        rows = s["throughput"][scenario]
        return float(rows["openai"]["us_per_unit"] / rows["gpt_async"]["us_per_unit"])

    return figure


def _vs_untraced(scenario: str, client: str) -> Callable[[Json], float | None]:
    def figure(s: Json) -> float:
        rows = s["throughput"][scenario]
        return float(rows[client]["ratio"] / rows["gpt_async"]["ratio"])

    return figure


def _rss_over_aiohttp(s: Json) -> float:
    mem = s["memory"]
    return float(mem["gpt_async"]["rss_import_mib"] - mem[BASELINE]["rss_import_mib"])


FLAT_RSS_KIB_PER_10K = 64.0
#: The performance targets of DESIGN.md ("Performance targets"), word for word in
#: their bounds: the report checks what the project promises, not a looser line.
TARGETS = (
    Target("gpt_async sequential CPU/request <= 1.1x raw aiohttp", 1.1,
           _ratio("sequential", "gpt_async")),
    Target("gpt_async 64-concurrent CPU/request <= 1.1x raw aiohttp", 1.1,
           _ratio("concurrent", "gpt_async")),
    Target("gpt_async 50-message history CPU/request <= 1.1x raw aiohttp", 1.1,
           _ratio("history", "gpt_async")),
    Target("gpt_async first request (construct + call) CPU <= 1.5x raw aiohttp", 1.5,
           lambda s: s["first_request"]["gpt_async"]["ratio"]),
    Target("gpt_async CPU/stream chunk <= 1.0x raw aiohttp + json", 1.0,
           _ratio("stream", "gpt_async")),
    Target("gpt_async Gpt (sync) sequential CPU/request <= 1.3x raw aiohttp", 1.3,
           _ratio("sequential", "gpt_async_sync")),
    Target("gpt_async Gpt (sync) 64-thread CPU/request <= 1.3x raw aiohttp", 1.3,
           _ratio("concurrent", "gpt_async_sync")),
    Target("tracing=False (OTel installed) CPU/request <= 1.02x untraced gpt_async", 1.02,
           _vs_untraced("sequential", "gpt_async_otel_off")),
    Target("OTel API without an SDK CPU/request <= 1.02x untraced gpt_async", 1.02,
           _vs_untraced("sequential", "gpt_async_otel_api")),
    Target("import gpt_async <= 1.2x import aiohttp", 1.2,
           lambda s: s["import"]["gpt_async"]["ratio"]),
    Target("RSS after import <= aiohttp + 5 MiB", 5.0, _rss_over_aiohttp, unit=" MiB over"),
    Target(f"flat RSS, AsyncGpt (<= {FLAT_RSS_KIB_PER_10K:.0f} KiB per 10k requests)",
           FLAT_RSS_KIB_PER_10K, lambda s: s["memory"]["gpt_async"]["slope_kib_per_10k"],
           unit=" KiB/10k"),
    Target(f"flat RSS, Gpt sync (<= {FLAT_RSS_KIB_PER_10K:.0f} KiB per 10k requests)",
           FLAT_RSS_KIB_PER_10K, lambda s: s["memory"]["gpt_async_sync"]["slope_kib_per_10k"],
           unit=" KiB/10k"),
    Target("bulk runner CPU/request <= 1.2x a gather + semaphore loop over raw aiohttp", 1.2,
           _ratio("bulk", "gpt_async_bulk")),
    Target("bulk runner throughput >= 0.9x that loop's", 0.9,
           lambda s: s["throughput"]["bulk"]["gpt_async_bulk"]["rate_ratio"], at_least=True),
    Target(f"flat RSS, bulk_file over a long input (<= {FLAT_RSS_KIB_PER_10K:.0f} KiB/10k lines)",
           FLAT_RSS_KIB_PER_10K,
           lambda s: s["bulk_memory"]["gpt_async_bulk"]["slope_kib_per_10k"], unit=" KiB/10k"),
    Target("openai AsyncOpenAI / gpt_async CPU per request >= 5x", 5.0,
           _vs_openai("sequential"), at_least=True),
    Target("openai AsyncOpenAI / gpt_async CPU per chunk >= 10x", 10.0,
           _vs_openai("stream"), at_least=True),
)  # fmt: skip


def target_lines(summary: Json) -> list[str]:
    """One ``PASS``/``MISS``/``n/a`` line per target (never raises on a miss)."""
    lines = []
    for target in TARGETS:
        status, value = target.check(summary)
        shown = "no data" if value is None else f"{value:.2f}{target.unit}"
        lines.append(f"{status:4}  {target.text}: {shown}")
    return lines


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _throughput_table(summary: Json, clients: list[str]) -> list[str]:
    labels = {c.name: c.label for c in CLIENTS}
    lines = [
        "| scenario | " + " | ".join(labels[c] for c in clients) + " |",
        "|---|" + "---:|" * len(clients),
    ]
    for scenario in SCENARIOS:
        rows = summary["throughput"].get(scenario.name)
        if not rows:
            continue
        cells = []
        for client in clients:
            row = rows.get(client)
            cells.append(
                "-"
                if row is None
                else f"{row['us_per_unit']:,.1f} µs · {_fmt(row['ratio'], '.2f', 'x')}"
                f" · {row['rate']:,.0f}/s"
            )
        lines.append(f"| {scenario.label} | " + " | ".join(cells) + " |")
    return lines


def _startup_table(summary: Json, clients: list[str]) -> list[str]:
    labels = {c.name: c.label for c in CLIENTS}
    first_sample = summary["memory"].get(BASELINE, {}).get("first_sample_requests")
    after = "first sample" if first_sample is None else f"{first_sample:,} req"
    lines = [
        "| client | import wall ms (ratio) | import CPU ms (ratio) | RSS after import MiB"
        f" | RSS after {after} MiB | RSS slope KiB/10k req | first request CPU ms (ratio)"
        " | first request wall ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for client in clients:
        imp = summary["import"].get(client) or {}
        mem = summary["memory"].get(client) or {}
        first = summary["first_request"].get(client) or {}
        cells = [
            labels[client],
            f"{_fmt(imp.get('ms'), '.0f')} ({_fmt(imp.get('ratio'), '.2f', 'x')})",
            f"{_fmt(imp.get('cpu_ms'), '.0f')} ({_fmt(imp.get('cpu_ratio'), '.2f', 'x')})",
            _fmt(mem.get("rss_import_mib"), ".1f"),
            _fmt(mem.get("rss_first_sample_mib"), ".1f"),
            _fmt(mem.get("slope_kib_per_10k"), "+.1f"),
            f"{_fmt(first.get('cpu_ms'), '.1f')} ({_fmt(first.get('ratio'), '.2f', 'x')})",
            _fmt(first.get("wall_ms"), ".1f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _server_lines(summary: Json) -> list[str]:
    lines = ["| scenario | server CPU µs per request | requests served |", "|---|---:|---:|"]
    for name, row in summary["server"].items():
        lines.append(f"| {name} | {row['us_per_request']:.1f} | {row['requests']:,} |")
    return lines


def _machine_lines(meta: Json) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in meta["packages"].items())
    return [
        f"- date: {meta['date']}",
        f"- machine: {meta['nproc']} CPUs, {meta['cpu_model']}, {meta['kernel']}",
        f"- load average at start / end: {meta['loadavg_start']} / {meta.get('loadavg_end', '-')}",
        f"- Python: {meta['python']} ({meta['executable']})",
        f"- packages: {versions}",
    ]


def _bulk_memory_lines(summary: Json) -> list[str]:
    mem = summary.get("bulk_memory", {}).get("gpt_async_bulk")
    if not mem:
        return []
    return [
        "## Bulk file run memory",
        "",
        f"`gpt_async.bulk_file` over a {mem['total_requests']:,}-line input (64 concurrent):"
        f" RSS {mem['rss_import_mib']:.1f} MiB after import,"
        f" {mem['rss_first_sample_mib']:.1f} MiB after {mem['first_sample_requests']:,} lines,"
        f" slope {_fmt(mem['slope_kib_per_10k'], '+.1f')} KiB per 10k lines after"
        f" {mem['warmup_requests']:,}.",
        "",
    ]


def markdown(raw: Json, summary: Json) -> str:
    """The human-readable report (``results.md``)."""
    meta = raw["meta"]
    clients = [c.name for c in CLIENTS if c.name in meta["clients_run"]]
    mode = "smoke" if meta["smoke"] else "full"
    memory_note = summary["memory"].get(BASELINE, {})
    parts = [
        "# gpt_async benchmark results",
        "",
        f"{meta['date']} · {mode} mode · {meta['reps']} interleaved repetition(s) · "
        f"Python {meta['python'].split()[0]} · {meta['nproc']} CPUs ({meta['cpu_model']})",
        "",
        "## Client CPU per request (per chunk for streams)",
        "",
        "Cell: median client-process CPU (user+sys, `time.process_time()`) per request or"
        " chunk · median of per-repetition ratios to raw aiohttp · median wall requests"
        " (chunks) per second.",
        "",
        *_throughput_table(summary, clients),
        "",
        "## Startup and memory",
        "",
        "Import: `python -c 'import X'` minus `python -c 'pass'`, wall time and the"
        " child's CPU time, median of"
        f" {meta['counts'].get('import', ['-'])[0]} interleaved runs. RSS: VmRSS in the"
        f" client process; warm-up = first {memory_note.get('warmup_requests', '-')}"
        " requests, slope fitted over the later samples"
        f" (up to {memory_note.get('total_requests', '-')} requests, 64 concurrent workers)."
        " First request: client construction plus one call in a fresh process,"
        " after the import.",
        "",
        *_startup_table(summary, clients),
        "",
        *_bulk_memory_lines(summary),
        "## Fake server CPU (sanity check)",
        "",
        *_server_lines(summary),
        "",
        "## Targets (report only)",
        "",
        "```",
        *target_lines(summary),
        "```",
        "",
        "## Notes",
        "",
        *[f"- {note}" for note in raw["notes"]],
        "",
        "## Machine",
        "",
        *_machine_lines(meta),
        "",
    ]
    return "\n".join(parts)
