"""A fake OpenAI server that answers from precomputed bytes, in its own process.

A bare :class:`asyncio.Protocol` speaking HTTP/1.1 with keep-alive: it reads
each request's full body (``Content-Length`` or chunked), then writes one
precomputed response chosen by the model name in the body (``bench-1k``,
``bench-20k``, ``bench-stream``). Streams use ``Transfer-Encoding: chunked``
with one HTTP chunk per SSE event, all written at once, so the server costs a
few tens of microseconds per request and never bounds the client.

``GET /__bench/stats`` answers the number of chat requests served, so the
runner can divide the server's own CPU (from ``/proc/<pid>/stat``) by it.

Run standalone with ``python -m benchmarks.server [--port N]``; it prints
``PORT <n>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks import payloads

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)")
_STATS_PATH = b"/__bench/stats"
_HEADERS = (
    b"date: Wed, 01 Jan 2025 00:00:00 GMT\r\n"
    b"openai-organization: bench-org\r\n"
    b"openai-processing-ms: 1\r\n"
    b"openai-version: 2020-10-01\r\n"
    b"x-request-id: req_0123456789abcdef0123456789abcdef\r\n"
    b"x-ratelimit-remaining-requests: 9999\r\n"
)


def _json_response(body: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" + _HEADERS
    return head + b"content-length: %d\r\n\r\n" % len(body) + body


def _sse_response(events: list[bytes]) -> bytes:
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        + _HEADERS
        + b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    framed = b"".join(b"%x\r\n%s\r\n" % (len(event), event) for event in events)
    return head + framed + b"0\r\n\r\n"


SMALL_BODY = payloads.completion_body(1024)
LARGE_BODY = payloads.completion_body(20 * 1024)
SMALL = _json_response(SMALL_BODY)
LARGE = _json_response(LARGE_BODY)
STREAM = _sse_response(payloads.stream_events())
_LARGE_MARK = payloads.MODEL_LARGE.encode()
_STREAM_MARK = payloads.MODEL_STREAM.encode()


def _chunked_end(buf: bytearray, start: int) -> int:
    """Index just past a chunked body that begins at ``start``, or -1 if incomplete."""
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return -1
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
        if size == 0:
            end = buf.find(b"\r\n\r\n", eol)
            return -1 if end < 0 else end + 4
        pos = eol + 2 + size + 2
        if pos > len(buf):
            return -1


class FakeOpenAI(asyncio.Protocol):
    """One keep-alive connection: parse requests, answer precomputed bytes."""

    served = 0

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None
        self._head = b""  # lower-cased head of a request whose body is still arriving
        self._end = -1  # where that request ends in the buffer, -1 for chunked bodies

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the transport."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        """Answer every complete request in the buffer (pipelining allowed)."""
        self._buf += data
        while self._transport is not None and self._answer_one():
            pass

    def _answer_one(self) -> bool:
        buf = self._buf
        if not self._head:
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                return False
            self._head = bytes(buf[:head_end]).lower()
            del buf[: head_end + 4]
            match = _CONTENT_LENGTH.search(self._head)
            chunked = match is None and b"\r\ntransfer-encoding: chunked" in self._head
            self._end = -1 if chunked else int(match.group(1)) if match else 0
        end = _chunked_end(buf, 0) if self._end < 0 else self._end
        if end < 0 or len(buf) < end:
            return False
        head, body = self._head, bytes(buf[:end])
        del buf[:end]
        self._head = b""
        self._reply(head, body)
        return True

    def _reply(self, head: bytes, body: bytes) -> None:
        transport = self._transport
        assert transport is not None
        if head.startswith(b"get ") and _STATS_PATH in head[:64]:
            stats = json.dumps({"served": FakeOpenAI.served}).encode()
            transport.write(_json_response(stats))
        elif _STREAM_MARK in body:
            transport.write(STREAM)
        elif _LARGE_MARK in body:
            transport.write(LARGE)
        else:
            transport.write(SMALL)
        if not head.startswith(b"get "):
            FakeOpenAI.served += 1
        if b"\r\nconnection: close" in head:
            transport.close()
            self._transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the transport."""
        self._transport = None


async def serve(port: int) -> None:
    """Listen on 127.0.0.1 and print ``PORT <n>`` once ready."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FakeOpenAI, "127.0.0.1", port, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


class ServerProcess:
    """The fake server in a child process, with its CPU and request counters."""

    def __init__(self) -> None:
        """Start the child process and wait for its port."""
        root = Path(__file__).resolve().parent.parent
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server"],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith("PORT "):
            self._proc.kill()
            raise RuntimeError(f"fake server failed to start: {line!r}")
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def cpu_seconds(self) -> float:
        """User plus system CPU the server process has used so far."""
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ticks / os.sysconf("SC_CLK_TCK")

    def served(self) -> int:
        """Number of chat requests answered so far."""
        url = f"http://127.0.0.1:{self.port}{_STATS_PATH.decode()}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(json.loads(resp.read())["served"])

    def close(self) -> None:
        """Terminate the child process."""
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> ServerProcess:
        """Return self."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Terminate the child process."""
        self.close()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    primer = bytearray(4 * 1024 * 1024)  # same allocator state as the clients
    del primer
    started = time.monotonic()
    try:
        asyncio.run(serve(args.port))
    except KeyboardInterrupt:
        print(f"served {FakeOpenAI.served} in {time.monotonic() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
