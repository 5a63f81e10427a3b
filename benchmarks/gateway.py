"""The OpenAI gateway example relaying many concurrent streams, against a hand-written relay.

``python -m benchmarks.gateway [--streams 1000] [--reps 2]`` starts a fake upstream
(aiohttp.web, its own process) whose streams send a first chunk, hold the stream
open for ``--hold`` seconds, then send the rest. For each relay in turn, in the same
run (order alternating per repetition), it starts the relay on uvicorn in its own
process, opens ``--streams`` concurrent streams through it with a raw aiohttp
client, and reads from ``/proc/<pid>`` of the relay process:

- client CPU per relayed chunk: the relay's user+system CPU over the run, divided
  by the chunks the clients received;
- RSS per open stream: the relay's RSS while every stream is open (each has its
  first chunk), minus its RSS before the load, divided by the streams.

The relays: ``gpt_async`` is ``examples/openai_gateway`` (the body read as a
``CreateChatCompletionRequest``, each chunk parsed into a model and written back
with ``to_dict``); ``raw`` is a hand-written FastAPI endpoint over one raw
``aiohttp.ClientSession`` that reads the upstream's SSE lines and relays each
chunk through ``json.loads`` / ``json.dumps``. Targets: at most 1.3x the CPU per
chunk and 1.5x the memory per stream of ``raw``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request  # at module level: FastAPI resolves the annotation here

ROOT = Path(__file__).resolve().parents[1]
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
CHUNKS = 40
MODEL = "bench-gateway"


# ------------------------------------------------------------------ upstream


def _chunk(delta: dict[str, Any], finish: str | None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def upstream_app(hold: float) -> Any:
    """The fake upstream: one chunk, a pause with the stream open, then the rest."""
    from aiohttp import web

    first = _chunk({"role": "assistant", "content": ""}, None)
    rest = [_chunk({"content": f" tok{i}"}, None) for i in range(CHUNKS - 2)]
    rest += [_chunk({}, "stop"), b"data: [DONE]\n\n"]

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(first)
        await asyncio.sleep(hold)
        for event in rest:
            await response.write(event)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


# ------------------------------------------------------------------ relays


def raw_relay_app(upstream: str) -> Any:
    """The hand-written relay: FastAPI and one raw aiohttp session, json per chunk."""
    import contextlib

    import aiohttp
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    state: dict[str, aiohttp.ClientSession] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            state["session"] = session
            yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/chat/completions")
    async def relay(request: Request) -> StreamingResponse:
        body = json.loads(await request.body())
        response = await state["session"].post(f"{upstream}/chat/completions", json=body)

        async def events() -> Any:
            try:
                async for line in response.content:
                    if line.startswith(b"data: {"):
                        chunk = json.loads(line[6:])
                        yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
                    elif line.startswith(b"data: [DONE]"):
                        yield b"data: [DONE]\n\n"
            finally:
                response.release()

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def gpt_async_relay_app(upstream: str) -> Any:
    """The gateway example, its upstream client allowed as many connections as streams."""
    import importlib.util

    from gpt_async import Limits

    path = ROOT / "examples" / "openai_gateway" / "app.py"
    spec = importlib.util.spec_from_file_location("openai_gateway", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    limits = Limits(max_connections=0)
    return module.create_app(server_url=upstream, api_key_auth="sk-bench", limits=limits)


RELAYS = {"gpt_async": gpt_async_relay_app, "raw": raw_relay_app}


# ------------------------------------------------------------------ processes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(role: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "benchmarks.gateway", "--role", role, "--port", str(port)]
    return subprocess.Popen([*command, *extra], cwd=ROOT)


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the process exited during startup"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _rss(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ------------------------------------------------------------------ driver


async def _drive(url: str, streams: int, pid: int) -> tuple[int, int]:
    """Opens ``streams`` streams at once; returns the chunks read and the RSS when all were open."""
    import aiohttp

    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    opened = 0
    all_open = asyncio.Event()

    async def one(session: aiohttp.ClientSession) -> int:
        nonlocal opened
        chunks = 0
        async with session.post(url, json=body) as response:
            assert response.status == 200, await response.text()
            async for line in response.content:
                if line.startswith(b"data: {"):
                    chunks += 1
                    if chunks == 1:
                        opened += 1
                        if opened == streams:
                            all_open.set()
        return chunks

    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [asyncio.ensure_future(one(session)) for _ in range(streams)]
        await all_open.wait()
        rss_open = _rss(pid)
        counts = await asyncio.gather(*tasks)
    return sum(counts), rss_open


def measure(relay: str, upstream: str, streams: int) -> dict[str, float]:
    """One run of one relay: CPU per chunk (µs) and RSS per open stream (KiB)."""
    port = _free_port()
    proc = _start("relay", port, "--relay", relay, "--upstream", upstream)
    try:
        _wait_listening(port, proc)
        time.sleep(0.5)  # imports and lifespan done, before the baseline
        rss_before, cpu_before = _rss(proc.pid), _cpu(proc.pid)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        chunks, rss_open = asyncio.run(_drive(url, streams, proc.pid))
        cpu = _cpu(proc.pid) - cpu_before
    finally:
        _stop(proc)
    assert chunks == streams * CHUNKS, chunks  # every chunk relayed
    return {
        "cpu_us_per_chunk": cpu / chunks * 1e6,
        "rss_kib_per_stream": (rss_open - rss_before) / streams / 1024,
    }


def run(streams: int, reps: int, hold: float) -> dict[str, list[dict[str, float]]]:
    """Every relay, ``reps`` times, order alternating; the same upstream for all."""
    port = _free_port()
    upstream = _start("upstream", port, "--hold", str(hold))
    results: dict[str, list[dict[str, float]]] = {name: [] for name in RELAYS}
    try:
        _wait_listening(port, upstream)
        order = list(RELAYS)
        for rep in range(reps):
            for name in order if rep % 2 == 0 else order[::-1]:
                results[name].append(measure(name, f"http://127.0.0.1:{port}/v1", streams))
                print(name, results[name][-1], flush=True)
    finally:
        _stop(upstream)
    return results


def report(results: dict[str, list[dict[str, float]]]) -> str:
    """Medians and the ratios to the hand-written relay."""
    med = {
        name: {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in runs[0]}
        for name, runs in results.items()
    }
    cpu = med["gpt_async"]["cpu_us_per_chunk"] / med["raw"]["cpu_us_per_chunk"]
    rss = med["gpt_async"]["rss_kib_per_stream"] / med["raw"]["rss_kib_per_stream"]
    lines = [f"{name}: {values}" for name, values in med.items()]
    lines.append(f"CPU per relayed chunk: {cpu:.2f}x the raw relay (target <= 1.3x)")
    lines.append(f"RSS per open stream: {rss:.2f}x the raw relay (target <= 1.5x)")
    return "\n".join(lines)


def main() -> None:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--hold", type=float, default=3.0)
    parser.add_argument("--role", choices=["driver", "upstream", "relay"], default="driver")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--relay", choices=list(RELAYS), default="gpt_async")
    parser.add_argument("--upstream", default="")
    args = parser.parse_args()
    if args.role == "upstream":
        from aiohttp import web

        web.run_app(upstream_app(args.hold), host="127.0.0.1", port=args.port, print=None)
    elif args.role == "relay":
        import uvicorn

        app = RELAYS[args.relay](args.upstream)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", backlog=4096)
    else:
        print(report(run(args.streams, args.reps, args.hold)))


if __name__ == "__main__":
    main()
