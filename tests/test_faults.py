"""The fault matrix: every way a server or network misbehaves, through AsyncGpt and Gpt.

Each row of ``MATRIX`` is one fault against a real loopback server (the testing
server, or ``RawHTTPServer`` for bytes aiohttp.web will not write) and what the
user sees. Every row runs through both clients and then checks that nothing
leaked: the pool holds no connection in use, the server sees every connection
closed, and no task or thread was left behind. ``docs/faults.md`` shows the
same table; ``test_docs_table_matches_the_matrix`` keeps it true.

The end of the file cancels calls and streams at random points (hypothesis).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gpt_async import AsyncGpt, Gpt, RetryConfig, Timeout, _portal
from gpt_async.models import errors
from gpt_async.testing import (
    FakeOpenAIServer,
    Fault,
    RawBytes,
    Reply,
    ScriptItem,
    StreamReply,
    ThreadedFakeOpenAIServer,
)

KEY = "sk-faults-SECRET"
USER = [{"role": "user", "content": "hello world"}]
ECHO = "hello world"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "faults.md"


def completion_json(content: str) -> dict[str, Any]:
    """A minimal chat completion whose message says ``content``."""
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
    }


def completion_bytes(content: str) -> bytes:
    """``completion_json(content)`` encoded."""
    return json.dumps(completion_json(content)).encode()


def http_date(offset: float) -> str:
    """An HTTP date ``offset`` seconds from now."""
    return email.utils.formatdate(time.time() + offset, usegmt=True)


# ---------------------------------------------------------------- a raw loopback server


def _read_request(conn: socket.socket) -> None:
    """Read one HTTP request (head and Content-Length body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?i)content-length:\s*(\d+)", head)
    missing = int(match.group(1)) - len(body) if match else 0
    while missing > 0:
        piece = conn.recv(65536)
        if not piece:
            return
        missing -= len(piece)


class RawHTTPServer:
    """A loopback server on a thread that answers every request with fixed bytes, then closes."""

    def __init__(self, reply: bytes) -> None:
        self._reply = reply
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.02)
        self._stopping = False
        self.connections = 0
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        self._thread = threading.Thread(target=self._serve, name="raw-http-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):  # a client may hang up mid-reply
                self.connections += 1
                conn.settimeout(5)
                _read_request(conn)
                conn.sendall(self._reply)

    def close(self) -> None:
        """Stop accepting and join the thread."""
        self._stopping = True
        self._thread.join()
        self._listener.close()


# ---------------------------------------------------------------- the matrix


@attrs.frozen(kw_only=True)
class Row:
    """One fault and what the user sees.

    Attributes:
        id: The fault id, also the first column of docs/faults.md.
        fault: What the server or network does.
        sees: What the caller sees, as docs/faults.md says it.
        script: Items the testing server answers with, in order.
        raw: Bytes a raw server answers every request with, instead of the testing server.
        refused: Nothing listens on the port.
        stream: Call with ``stream=True`` and read the whole stream.
        timeout: The client's timeout.
        retries: The client's ``max_retries`` (retries never sleep here).
        expect: The exception raised, or ``None`` for a result.
        match: A regex the exception's text must match.
        content: The message content of the result.
        attempts: How many requests the server must have received, when checked.
    """

    id: str
    fault: str
    sees: str
    script: tuple[ScriptItem, ...] = ()
    raw: bytes | None = None
    refused: bool = False
    stream: bool = False
    timeout: Timeout = attrs.field(factory=Timeout)
    retries: int = 2
    expect: type[Exception] | None = None
    match: str = ""
    content: str | None = ECHO
    attempts: int | None = None


def _error(status: int, message: str, **headers: str) -> Reply:
    return Reply.error(status, message, headers=headers)


_TRICKLED = completion_bytes("slow but steady")
_BIG_LINE = "x" * (1 << 20)
_BIG_BODY = "y" * (10 << 20)
_GARBAGE = (
    b": a comment line\n\ngarbage without a colon\n\nretry: 100\nid: 7\nfoo: bar\n\nevent: ping\n\n"
)

MATRIX: tuple[Row, ...] = (
    Row(
        id="connection-refused",
        fault="nothing listens on the port",
        sees="`APIConnectionError` (cannot connect), after the retries",
        refused=True,
        expect=errors.APIConnectionError,
        match="cannot connect",
        content=None,
    ),
    Row(
        id="closed-before-headers",
        fault="the server closes the connection before any byte (every attempt)",
        sees="`APIConnectionError`, after the retries",
        script=(Fault.drop(),) * 3,
        expect=errors.APIConnectionError,
        content=None,
        attempts=3,
    ),
    Row(
        id="reset-before-headers",
        fault="TCP RST before any byte (every attempt)",
        sees="`APIConnectionError`, after the retries",
        script=(Fault.drop(reset=True),) * 3,
        expect=errors.APIConnectionError,
        content=None,
        attempts=3,
    ),
    Row(
        id="dropped-then-success",
        fault="one attempt's connection is closed before the headers, the next one answers",
        sees="the completion, on the second attempt",
        script=(Fault.drop(),),
        attempts=2,
    ),
    Row(
        id="reset-after-headers",
        fault="status and headers, then the connection closes (every attempt)",
        sees="`APIConnectionError` (body cut off), after the retries",
        script=(Fault.reset_after_headers(),) * 3,
        expect=errors.APIConnectionError,
        match="cut off",
        content=None,
        attempts=3,
    ),
    Row(
        id="closed-mid-body",
        fault="Content-Length promises more than is sent, then the connection closes",
        sees="`APIConnectionError` (body cut off), after the retries",
        script=(Fault.partial_body(),) * 3,
        expect=errors.APIConnectionError,
        match="cut off",
        content=None,
        attempts=3,
    ),
    Row(
        id="closed-mid-stream",
        fault="a stream's connection closes after two events",
        sees="the first chunks, then `APIConnectionError`; never retried",
        script=(StreamReply.of_content(["a", "b", "c"], abort_after=2),),
        stream=True,
        expect=errors.APIConnectionError,
        content=None,
        attempts=1,
    ),
    Row(
        id="slow-headers",
        fault="no status line within the read timeout (every attempt)",
        sees="`APITimeoutError` (read timeout), after the retries",
        script=(Fault.delay_headers(5.0),) * 2,
        timeout=Timeout(read=0.2),
        retries=1,
        expect=errors.APITimeoutError,
        match="read timeout",
        content=None,
        attempts=2,
    ),
    Row(
        id="trickle-idle-timeout",
        fault="the body trickles with gaps longer than the read timeout",
        sees="`APITimeoutError` (read timeout)",
        script=(Fault.trickle(_TRICKLED, chunk_size=32, interval=2.0),),
        timeout=Timeout(read=0.2),
        retries=0,
        expect=errors.APITimeoutError,
        match="read timeout",
        content=None,
        attempts=1,
    ),
    Row(
        id="trickle-within-idle",
        fault="the body trickles for longer than the read timeout, each gap shorter",
        sees="the completion: the read timeout bounds the idle gap, not the whole body",
        script=(Fault.trickle(_TRICKLED, chunk_size=len(_TRICKLED) // 8 + 1, interval=0.06),),
        timeout=Timeout(read=0.3),
        retries=0,
        content="slow but steady",
        attempts=1,
    ),
    Row(
        id="total-deadline",
        fault="the body trickles past `Timeout(total=...)`",
        sees="`APITimeoutError` (total timeout)",
        script=(Fault.trickle(_TRICKLED, chunk_size=16, interval=0.05),),
        timeout=Timeout(read=1.0, total=0.3),
        expect=errors.APITimeoutError,
        match="total",
        content=None,
        attempts=1,
    ),
    Row(
        id="stream-idle-timeout",
        fault="a stream pauses longer than the read timeout between events",
        sees="the first chunks, then `APITimeoutError`; never retried",
        script=(StreamReply.of_content(["a", "b"], delay_between=2.0),),
        stream=True,
        timeout=Timeout(read=0.2),
        expect=errors.APITimeoutError,
        content=None,
        attempts=1,
    ),
    Row(
        id="stream-total-deadline",
        fault="a steady stream outlasts `Timeout(total=...)`",
        sees="the first chunks, then `APITimeoutError` (total timeout)",
        script=(StreamReply.of_content(list("abcdefghij"), delay_between=0.08),),
        stream=True,
        timeout=Timeout(read=1.0, total=0.3),
        expect=errors.APITimeoutError,
        match="total",
        content=None,
        attempts=1,
    ),
    Row(
        id="429-retry-after-ms",
        fault="429 with `retry-after-ms: 20`, then success",
        sees="the completion, on the second attempt",
        script=(_error(429, "slow down", **{"retry-after-ms": "20"}),),
        attempts=2,
    ),
    Row(
        id="429-retry-after-seconds",
        fault="429 with `retry-after: 1` (seconds), then success",
        sees="the completion, on the second attempt",
        script=(_error(429, "slow down", **{"retry-after": "1"}),),
        attempts=2,
    ),
    Row(
        id="429-retry-after-date",
        fault="429 with `retry-after` as an HTTP date 2 s ahead, then success",
        sees="the completion, on the second attempt",
        script=(_error(429, "slow down", **{"retry-after": http_date(2)}),),
        attempts=2,
    ),
    Row(
        id="429-retry-after-absurd",
        fault="429 with `retry-after: 86400` (over `max_retry_after`, 60 s by default)",
        sees="`RateLimitError` at once, not retried",
        script=(_error(429, "come back tomorrow", **{"retry-after": "86400"}),),
        expect=errors.RateLimitError,
        match="come back tomorrow",
        content=None,
        attempts=1,
    ),
    Row(
        id="429-retry-after-absurd-date",
        fault="429 with `retry-after` as an HTTP date a day ahead",
        sees="`RateLimitError` at once, not retried",
        script=(_error(429, "come back tomorrow", **{"retry-after": http_date(86400)}),),
        expect=errors.RateLimitError,
        content=None,
        attempts=1,
    ),
    Row(
        id="500-then-success",
        fault="500, then success",
        sees="the completion, on the second attempt",
        script=(_error(500, "oops"),),
        attempts=2,
    ),
    Row(
        id="502-then-success",
        fault="502 with an HTML page (a proxy), then success",
        sees="the completion, on the second attempt",
        script=(Reply(status=502, body="<html>Bad Gateway</html>", content_type="text/html"),),
        attempts=2,
    ),
    Row(
        id="503-then-success",
        fault="503, then success",
        sees="the completion, on the second attempt",
        script=(_error(503, "overloaded"),),
        attempts=2,
    ),
    Row(
        id="504-then-success",
        fault="504 with an empty body, then success",
        sees="the completion, on the second attempt",
        script=(Reply(status=504, body=b""),),
        attempts=2,
    ),
    Row(
        id="500-persistent",
        fault="500 on every attempt",
        sees="`InternalServerError` with the last message, after the retries",
        script=tuple(_error(500, f"oops {i}") for i in range(3)),
        expect=errors.InternalServerError,
        match="oops 2",
        content=None,
        attempts=3,
    ),
    Row(
        id="x-should-retry-true",
        fault="400 with `x-should-retry: true`, then success",
        sees="the completion, on the second attempt",
        script=(_error(400, "try again", **{"x-should-retry": "true"}),),
        attempts=2,
    ),
    Row(
        id="x-should-retry-false",
        fault="503 with `x-should-retry: false`",
        sees="`InternalServerError` at once, not retried",
        script=(_error(503, "do not retry", **{"x-should-retry": "false"}),),
        expect=errors.InternalServerError,
        match="do not retry",
        content=None,
        attempts=1,
    ),
    Row(
        id="redirect",
        fault="307 to another host",
        sees="`SDKError` with `status_code` 307; the redirect is not followed",
        script=(Reply(status=307, body=b"", headers={"Location": "http://127.0.0.2:9/v1/steal"}),),
        expect=errors.SDKError,
        match="^307",
        content=None,
        attempts=1,
    ),
    Row(
        id="html-200",
        fault="200 with an HTML page",
        sees="`APIResponseValidationError` (Content-Type), not retried",
        script=(Reply(body="<html><body>Welcome</body></html>", content_type="text/html"),),
        expect=errors.APIResponseValidationError,
        match="Content-Type",
        content=None,
        attempts=1,
    ),
    Row(
        id="empty-200",
        fault="200 with an empty JSON body",
        sees="`APIResponseValidationError` (empty body), not retried",
        script=(Reply(body=b""),),
        expect=errors.APIResponseValidationError,
        match="empty",
        content=None,
        attempts=1,
    ),
    Row(
        id="truncated-json-200",
        fault="200 with truncated JSON",
        sees="`APIResponseValidationError` (not valid JSON), not retried",
        script=(Reply(body=b'{"id": "x", "choi'),),
        expect=errors.APIResponseValidationError,
        match="not valid JSON",
        content=None,
        attempts=1,
    ),
    Row(
        id="wrong-content-type-200",
        fault="200 with a valid completion labelled `text/plain`",
        sees="`APIResponseValidationError` (Content-Type), not retried",
        script=(Reply(body=completion_bytes("hi"), content_type="text/plain"),),
        expect=errors.APIResponseValidationError,
        match="Content-Type",
        content=None,
        attempts=1,
    ),
    Row(
        id="not-a-completion-200",
        fault="200 with JSON that is not a completion",
        sees="`APIResponseValidationError` naming the JSON path",
        script=(Reply(json={"object": "list"}),),
        expect=errors.APIResponseValidationError,
        match="choices",
        content=None,
        attempts=1,
    ),
    Row(
        id="gzip-200",
        fault="200 with a gzip-encoded body (`Content-Encoding: gzip`)",
        sees="the completion, decoded",
        script=(
            Reply(
                body=gzip.compress(completion_bytes("zipped")),
                headers={"Content-Encoding": "gzip"},
            ),
        ),
        content="zipped",
        attempts=1,
    ),
    Row(
        id="deflate-200",
        fault="200 with a deflate-encoded body (`Content-Encoding: deflate`)",
        sees="the completion, decoded",
        script=(
            Reply(
                body=zlib.compress(completion_bytes("deflated")),
                headers={"Content-Encoding": "deflate"},
            ),
        ),
        content="deflated",
        attempts=1,
    ),
    Row(
        id="body-10mb",
        fault="200 with a 10 MB completion",
        sees="the completion",
        script=(Reply(json=completion_json(_BIG_BODY)),),
        content=_BIG_BODY,
        attempts=1,
    ),
    Row(
        id="stream-429-then-success",
        fault="a stream request gets 429 with `retry-after-ms`, then a stream",
        sees="every chunk: a status error comes before any chunk, so it is retried",
        script=(_error(429, "slow down", **{"retry-after-ms": "10"}),),
        stream=True,
        attempts=2,
    ),
    Row(
        id="stream-reset-after-headers",
        fault="a stream's status and headers arrive, then the connection closes",
        sees="`APIConnectionError` on the first read; never retried",
        script=(Fault.reset_after_headers(content_type="text/event-stream"),),
        stream=True,
        expect=errors.APIConnectionError,
        content=None,
        attempts=1,
    ),
    Row(
        id="sse-error-event",
        fault="a stream sends `event: error` after a chunk",
        sees="the first chunk, then `SDKError` with the event's message",
        script=(
            StreamReply(
                events=[
                    RawBytes(b'event: error\ndata: {"error": {"message": "model overloaded"}}\n\n')
                ]
            ),
        ),
        stream=True,
        expect=errors.SDKError,
        match="model overloaded",
        content=None,
        attempts=1,
    ),
    Row(
        id="sse-error-payload",
        fault='a stream sends `data: {"error": ...}`',
        sees="`RateLimitError`, the class of the payload's `code` (429)",
        script=(StreamReply(events=[{"error": {"message": "quota exceeded", "code": 429}}]),),
        stream=True,
        expect=errors.RateLimitError,
        match="quota exceeded",
        content=None,
        attempts=1,
    ),
    Row(
        id="sse-without-done",
        fault="a stream ends cleanly but without `data: [DONE]`",
        sees="every chunk, then `IncompleteStreamError`",
        script=(StreamReply.of_content(["a", "b"], done=False),),
        stream=True,
        expect=errors.IncompleteStreamError,
        match="DONE",
        content=None,
        attempts=1,
    ),
    Row(
        id="sse-empty-body",
        fault="a stream's 200 has an empty body",
        sees="`IncompleteStreamError`",
        script=(StreamReply(events=[], done=False),),
        stream=True,
        expect=errors.IncompleteStreamError,
        content=None,
        attempts=1,
    ),
    Row(
        id="sse-garbage-lines",
        fault="comments, unknown fields and lines without a colon between the events",
        sees="the chunks: lines that are not `data:` are ignored, as SSE says",
        script=(
            StreamReply(
                events=[
                    RawBytes(_GARBAGE),
                    *StreamReply.of_content(["hello", " world"]).events,
                    RawBytes(_GARBAGE),
                ]
            ),
        ),
        stream=True,
        attempts=1,
    ),
    Row(
        id="sse-non-json-data",
        fault="a stream's `data:` line is not JSON",
        sees="`StreamDecodeError`",
        script=(StreamReply(events=["this is not json"]),),
        stream=True,
        expect=errors.StreamDecodeError,
        match="not valid JSON",
        content=None,
        attempts=1,
    ),
    Row(
        id="sse-1mb-line",
        fault="one stream event of 1 MB",
        sees="the chunk, whole",
        script=(StreamReply.of_content([_BIG_LINE]),),
        stream=True,
        content=_BIG_LINE,
        attempts=1,
    ),
    Row(
        id="malformed-status-line",
        fault="the server answers `HTTP/1.1 OK` (no status code; raw socket)",
        sees="`APIConnectionError` (malformed response), after the retries",
        raw=b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n",
        expect=errors.APIConnectionError,
        content=None,
        attempts=3,
    ),
    Row(
        id="huge-response-header",
        fault="a 100 KB response header line (raw socket)",
        sees="`APIConnectionError` (malformed response), after the retries",
        raw=b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * 100_000 + b"\r\nContent-Length: 0\r\n\r\n",
        expect=errors.APIConnectionError,
        content=None,
        attempts=3,
    ),
)

ROW_IDS = [row.id for row in MATRIX]


def test_matrix_ids_are_unique() -> None:
    """Every fault id names one row."""
    assert len(set(ROW_IDS)) == len(ROW_IDS)


def test_docs_table_matches_the_matrix() -> None:
    """docs/faults.md lists exactly the matrix's faults, with the same words."""
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \| (.+?) \|$", DOCS.read_text(), re.MULTILINE)
    assert [r[0] for r in rows] == ROW_IDS
    for (fault_id, fault, sees), row in zip(rows, MATRIX, strict=True):
        assert (fault, sees) == (row.fault, row.sees), fault_id
        if row.expect is not None:
            assert f"`{row.expect.__name__}`" in sees, fault_id
        else:
            assert "completion" in sees or "chunk" in sees, fault_id


# ---------------------------------------------------------------- running a row


@attrs.define
class Target:
    """Where a row's client points, and what the server there saw."""

    url: str
    attempts: Callable[[], int]
    active_connections: Callable[[], int]
    echoes: bool  # a follow-up call gets the testing server's echo


def refused_url() -> str:
    """A loopback URL on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


@contextmanager
def raw_or_refused_target(row: Row) -> Iterator[Target]:
    """A target for rows that do not use the testing server."""
    if row.refused:
        yield Target(refused_url(), lambda: 0, lambda: 0, echoes=False)
        return
    assert row.raw is not None
    raw = RawHTTPServer(row.raw)
    try:
        yield Target(raw.url, lambda: raw.connections, lambda: 0, echoes=False)
    finally:
        raw.close()


def retry_config(row: Row) -> RetryConfig:
    """The row's retry policy, without sleeping."""
    return RetryConfig(max_retries=row.retries, backoff_scale=0)


def check_outcome(row: Row, result: str | BaseException, attempts: int) -> None:
    """The call's result or error is the row's, after the row's number of attempts."""
    if row.expect is None:
        assert not isinstance(result, BaseException), repr(result)
        assert result == row.content
    else:
        assert isinstance(result, row.expect), repr(result)
        assert re.search(row.match, str(result)), str(result)
    if row.attempts is not None:
        assert attempts == row.attempts


def thread_names() -> set[str]:
    """The names of the live threads."""
    return {t.name for t in threading.enumerate()}


async def eventually(predicate: Callable[[], bool], what: str, timeout: float = 3.0) -> None:
    """Wait until ``predicate()`` holds, polling; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"still not true after {timeout} s: {what}")
        await anyio.sleep(0.01)


def eventually_sync(predicate: Callable[[], bool], what: str, timeout: float = 3.0) -> None:
    """Like :func:`eventually`, blocking."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"still not true after {timeout} s: {what}")
        time.sleep(0.01)


async def async_call(client: AsyncGpt, stream: bool) -> str:
    """One call; the content of the answer (the joined deltas for a stream)."""
    if not stream:
        completion = await client.chat.completions.create(model="m", messages=USER)
        return completion.choices[0].message.content or ""
    pieces: list[str] = []
    async with await client.chat.completions.create(model="m", messages=USER, stream=True) as s:
        async for chunk in s:
            pieces += [c.delta.content or "" for c in chunk.choices]
    return "".join(pieces)


def sync_call(client: Gpt, stream: bool) -> str:
    """The synchronous twin of :func:`async_call`."""
    if not stream:
        completion = client.chat.completions.create(model="m", messages=USER)
        return completion.choices[0].message.content or ""
    pieces: list[str] = []
    with client.chat.completions.create(model="m", messages=USER, stream=True) as s:
        for chunk in s:
            pieces += [c.delta.content or "" for c in chunk.choices]
    return "".join(pieces)


async def outcome(call: Awaitable[str]) -> str | BaseException:
    """The call's result, or the exception it raised."""
    try:
        return await call
    except Exception as exc:
        return exc


def sync_outcome(call: Callable[[], str]) -> str | BaseException:
    """The call's result, or the exception it raised."""
    try:
        return call()
    except Exception as exc:
        return exc


@asynccontextmanager
async def async_target(row: Row) -> AsyncIterator[Target]:
    """The server a row's async client talks to."""
    if row.refused or row.raw is not None:
        with raw_or_refused_target(row) as target:
            yield target
        return
    async with FakeOpenAIServer(api_key=KEY) as server:
        server.enqueue(*row.script)
        yield Target(
            server.url, lambda: len(server.requests), lambda: server.active_connections, True
        )


def stray_tasks(before: set[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Tasks of this loop that were not there before, bar the current one."""
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t not in before and t is not current]


@pytest.mark.anyio
@pytest.mark.parametrize("row", MATRIX, ids=ROW_IDS)
async def test_fault_through_async_client(row: Row) -> None:
    """AsyncGpt meets the fault with the row's result or error, and leaks nothing."""
    threads_before = thread_names()
    tasks_before = asyncio.all_tasks()
    async with async_target(row) as target:
        client = AsyncGpt(
            api_key=KEY,
            server_url=target.url,
            retry_config=retry_config(row),
            timeout=row.timeout,
        )
        try:
            check_outcome(row, await outcome(async_call(client, row.stream)), target.attempts())
            if target.echoes:  # still usable, and the fault's connection is not held
                assert await async_call(client, stream=False) == ECHO
                assert client.pool_size() == 1
                await eventually(lambda: target.active_connections() == 1, "one server conn")
            else:
                assert client.pool_size() == 0
        finally:
            await client.aclose()
        assert client.pool_size() == 0
        await eventually(lambda: target.active_connections() == 0, "server sees all closed")
    await eventually(lambda: not stray_tasks(tasks_before), "no stray task")
    assert thread_names() <= threads_before


# ---------------------------------------------------------------- the same through Gpt


@pytest.fixture(scope="module")
def thread_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A testing server on its own thread, shared by the sync rows."""
    with ThreadedFakeOpenAIServer(api_key=KEY) as server:
        yield server


async def _portal_tasks() -> set[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current}


def portal_tasks() -> set[asyncio.Task[Any]]:
    """The tasks of the sync facade's event loop, bar the one asking."""
    return _portal.run(_portal_tasks)


@contextmanager
def sync_target(row: Row, server: ThreadedFakeOpenAIServer) -> Iterator[Target]:
    """The server a row's sync client talks to."""
    if row.refused or row.raw is not None:
        with raw_or_refused_target(row) as target:
            yield target
        return
    server.reset()
    server.enqueue(*row.script)
    yield Target(server.url, lambda: len(server.requests), lambda: server.active_connections, True)


@pytest.mark.parametrize("row", MATRIX, ids=ROW_IDS)
def test_fault_through_sync_client(row: Row, thread_server: ThreadedFakeOpenAIServer) -> None:
    """Gpt meets the fault with the row's result or error, and leaks nothing."""
    tasks_before = portal_tasks()
    threads_before = thread_names()
    with sync_target(row, thread_server) as target:
        client = Gpt(
            api_key=KEY,
            server_url=target.url,
            retry_config=retry_config(row),
            timeout=row.timeout,
        )
        try:
            result = sync_outcome(lambda: sync_call(client, row.stream))
            check_outcome(row, result, target.attempts())
            if target.echoes:
                assert sync_call(client, stream=False) == ECHO
                assert client.pool_size() == 1
                eventually_sync(lambda: target.active_connections() == 1, "one server conn")
            else:
                assert client.pool_size() == 0
        finally:
            client.close()
        assert client.pool_size() == 0
        eventually_sync(lambda: target.active_connections() == 0, "server sees all closed")
    eventually_sync(lambda: portal_tasks() <= tasks_before, "no stray portal task")
    assert thread_names() <= threads_before


# ---------------------------------------------------------------- cancellation at random points


def _slow_handler(data: Any) -> ScriptItem:
    """Answers after the delay the request asks for; streams with the gap it asks for."""
    if data.get("stream"):
        return StreamReply.of_content(["a", "b", "c", "d", "e"], delay_between=data["gap"])
    return Reply(json=completion_json("ok"), delay=data["delay"])


@pytest.fixture
async def cancel_server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server whose replies take as long as each request asks."""
    async with FakeOpenAIServer(record=False) as server:
        server.set_default(_slow_handler)
        yield server


@pytest.fixture
async def cancel_client(cancel_server: FakeOpenAIServer) -> AsyncIterator[AsyncGpt]:
    """One client shared by every example: it must stay usable."""
    async with AsyncGpt(api_key=KEY, server_url=cancel_server.url, max_retries=0) as client:
        yield client


async def assert_still_usable(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """Nothing is held after a cancelled call, and the next call works on one connection."""
    assert client.pool_size() <= 1
    reply = await client.chat.completions.create(
        model="m", messages=USER, extra_body={"delay": 0, "gap": 0}
    )
    assert reply.choices[0].message.content == "ok"
    assert client.pool_size() == 1
    await eventually(lambda: server.active_connections == 1, "one server connection")


CANCEL_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
delays = st.floats(min_value=0, max_value=0.03)


@pytest.mark.anyio
@CANCEL_SETTINGS
@given(cancel_after=delays, server_delay=delays)
async def test_cancelled_call_leaks_nothing(
    cancel_client: AsyncGpt,
    cancel_server: FakeOpenAIServer,
    cancel_after: float,
    server_delay: float,
) -> None:
    """A call cancelled anywhere (connect, headers, body, after) frees its connection."""
    with anyio.move_on_after(cancel_after) as scope:
        await cancel_client.chat.completions.create(
            model="m", messages=USER, extra_body={"delay": server_delay}
        )
    event("cancelled" if scope.cancelled_caught else "completed")
    await assert_still_usable(cancel_client, cancel_server)


@pytest.mark.anyio
@CANCEL_SETTINGS
@given(cancel_after=delays, gap=st.floats(min_value=0, max_value=0.008), early_exit=st.booleans())
async def test_cancelled_stream_leaks_nothing(
    cancel_client: AsyncGpt,
    cancel_server: FakeOpenAIServer,
    cancel_after: float,
    gap: float,
    early_exit: bool,
) -> None:
    """A stream cancelled anywhere, or left after its first chunk, frees its connection."""
    with anyio.move_on_after(cancel_after) as scope:
        stream = cancel_client.chat.completions.stream(
            model="m", messages=USER, extra_body={"gap": gap}
        )
        async with stream:
            async for _chunk in stream:
                if early_exit:
                    break
    event("cancelled" if scope.cancelled_caught else "completed")
    await assert_still_usable(cancel_client, cancel_server)


@pytest.fixture(scope="module")
def cancel_thread_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A threaded testing server whose replies take as long as each request asks."""
    with ThreadedFakeOpenAIServer(record=False) as server:
        server.set_default(_slow_handler)
        yield server


@pytest.fixture(scope="module")
def cancel_sync_client(cancel_thread_server: ThreadedFakeOpenAIServer) -> Iterator[Gpt]:
    """One sync client shared by every example."""
    with Gpt(api_key=KEY, server_url=cancel_thread_server.url, max_retries=0) as client:
        yield client


@CANCEL_SETTINGS
@given(total=st.floats(min_value=0.001, max_value=0.03), server_delay=delays, stream=st.booleans())
def test_sync_deadline_at_random_points_leaks_nothing(
    cancel_sync_client: Gpt,
    cancel_thread_server: ThreadedFakeOpenAIServer,
    total: float,
    server_delay: float,
    stream: bool,
) -> None:
    """A Gpt call or stream cut by a random total deadline frees its connection."""
    client, server = cancel_sync_client, cancel_thread_server
    extra = {"delay": server_delay, "gap": server_delay / 5}
    timeout = Timeout(total=total)
    try:
        if stream:
            with client.chat.completions.create(
                model="m", messages=USER, stream=True, timeout=timeout, extra_body=extra
            ) as s:
                for _chunk in s:
                    pass
        else:
            client.chat.completions.create(
                model="m", messages=USER, timeout=timeout, extra_body=extra
            )
        event("completed")
    except errors.APITimeoutError:
        event("cut by the deadline")
    assert client.pool_size() <= 1
    reply = client.chat.completions.create(model="m", messages=USER, extra_body={"delay": 0})
    assert reply.choices[0].message.content == "ok"
    assert client.pool_size() == 1
    eventually_sync(lambda: server.active_connections == 1, "one server connection")
