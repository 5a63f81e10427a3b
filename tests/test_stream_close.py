"""Streams close themselves: every way of leaving a loop, on both clients, against two servers.

Each case leaves a loop over a slow, long stream early while the stream object is
still referenced, and checks that the server sees the client go within a second,
that the pool is back to its size, that no task or thread is left and that the
stream says it is closed. The servers are the project's testing server and a
bare-socket HTTP server that only writes SSE frames and watches for EOF.
"""

from __future__ import annotations

import asyncio
import gc
import select
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import attrs
import pytest

from gpt_async import AsyncGpt, AsyncStream, ClientStateError, Gpt
from gpt_async.models import components
from gpt_async.testing import StreamReply, ThreadedFakeOpenAIServer

KEY = "sk-close"
USER = [{"role": "user", "content": "hello"}]
EOF_WITHIN = 1.0  # seconds the server may wait to see the client go


@attrs.define
class Answer:
    """A structured output for parse_stream."""

    text: str


class Watched(Protocol):
    """A server that counts the streams its clients abandoned."""

    url: str

    @property
    def disconnects(self) -> int: ...

    def prepare(self) -> None: ...


# ---------------------------------------------------------------- servers


_FRAME = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"w "},"finish_reason":null}]}\n\n'
)


class RawSocketServer:
    """HTTP/1.1 on a bare socket: every POST gets an endless SSE stream, one frame per 20 ms.

    A connection counts as abandoned when the client's EOF (or reset) arrives while
    frames are still being written.
    """

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def disconnects(self) -> int:
        """Connections whose client went away mid-stream."""
        with self._lock:
            return self._count

    def prepare(self) -> None:
        """Nothing to script: every request streams forever."""

    def __enter__(self) -> RawSocketServer:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._sock.close()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name="raw-sse", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            _read_request(conn)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            if self._stream_until_eof(conn):
                with self._lock:
                    self._count += 1

    def _stream_until_eof(self, conn: socket.socket) -> bool:
        frame = b"%x\r\n%s\r\n" % (len(_FRAME), _FRAME)
        while not self._stop.is_set():
            try:
                conn.sendall(frame)
                readable, _, _ = select.select([conn], [], [], 0.02)
                if readable and not conn.recv(4096):
                    return True
            except OSError:  # reset or broken pipe: the client went away
                return True
        return False


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += conn.recv(65536)


class ScriptedServer:
    """The project's testing server on its own thread, scripted with a slow, long stream."""

    def __init__(self, server: ThreadedFakeOpenAIServer) -> None:
        self._server = server
        self.url = server.url

    @property
    def disconnects(self) -> int:
        """Responses the client abandoned."""
        return self._server.disconnects

    def prepare(self) -> None:
        """Queue one slow stream of 400 chunks."""
        self._server.reset()
        self._server.enqueue(StreamReply.of_content(["w "] * 400, delay_between=0.02))


@pytest.fixture(scope="module")
def threaded_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A testing server on its own thread, usable from both clients."""
    with ThreadedFakeOpenAIServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def raw_server() -> Iterator[RawSocketServer]:
    """The bare-socket SSE server."""
    with RawSocketServer() as srv:
        yield srv


@pytest.fixture(params=["testing", "raw"])
def server(
    request: pytest.FixtureRequest,
    threaded_server: ThreadedFakeOpenAIServer,
    raw_server: RawSocketServer,
) -> Watched:
    """Each server in turn, scripted for one long stream."""
    srv: Watched = ScriptedServer(threaded_server) if request.param == "testing" else raw_server
    srv.prepare()
    return srv


def _seed_request() -> components.CreateChatCompletionRequest:
    return components.CreateChatCompletionRequest(
        messages=[components.ChatCompletionRequestUserMessage(content="hello")],
        model="m",
        stream=True,
    )


def _wait_sync(server: Watched, count: int) -> None:
    deadline = time.monotonic() + EOF_WITHIN
    while server.disconnects < count:
        assert time.monotonic() < deadline, f"the server saw no EOF within {EOF_WITHIN} s"
        time.sleep(0.005)


async def _wait_async(server: Watched, count: int) -> None:
    with anyio.fail_after(EOF_WITHIN):
        while server.disconnects < count:  # noqa: ASYNC110 - counted on the server's thread
            await anyio.sleep(0.005)


# ---------------------------------------------------------------- async client


async def _ready(value: Any) -> Any:
    return value  # not entered: the first iteration sends the request


async def _envelope_stream(client: AsyncGpt) -> AsyncStream[Any]:
    envelope = await client.chat.create_chat_completion(_seed_request())
    assert isinstance(envelope.stream, AsyncStream)
    return envelope.stream


ASYNC_SOURCES: dict[str, Callable[[AsyncGpt], Any]] = {
    "create": lambda c: c.chat.completions.create(model="m", messages=USER, stream=True),
    "stream": lambda c: _ready(c.chat.completions.stream(model="m", messages=USER)),
    "parse_stream": lambda c: _ready(
        c.chat.completions.parse_stream(model="m", messages=USER, response_format=Answer)
    ),
    "envelope": _envelope_stream,
}


async def _leave_by_break(stream: Any) -> None:
    async for _ in stream:
        break


async def _leave_by_return(stream: Any) -> None:
    async for _ in stream:
        return


async def _leave_by_exception(stream: Any) -> None:
    async def fail() -> None:
        async for _ in stream:
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await fail()


async def _leave_by_cancel(stream: Any) -> None:
    async def consume() -> None:
        async for _ in stream:
            await anyio.lowlevel.checkpoint()

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


ASYNC_EXITS = {
    "break": _leave_by_break,
    "return": _leave_by_return,
    "exception": _leave_by_exception,
    "cancel": _leave_by_cancel,
}


@pytest.mark.anyio
@pytest.mark.parametrize("exit_name", sorted(ASYNC_EXITS))
@pytest.mark.parametrize("source", sorted(ASYNC_SOURCES))
async def test_async_loop_left_early_closes(server: Watched, source: str, exit_name: str) -> None:
    """Leaving an async loop early without ``async with`` closes the stream at once."""
    threads = set(threading.enumerate())
    tasks = asyncio.all_tasks()
    seen = server.disconnects
    async with AsyncGpt(api_key=KEY, server_url=server.url) as client:
        pool = client.pool_size()
        stream = await ASYNC_SOURCES[source](client)
        await ASYNC_EXITS[exit_name](stream)
        await _wait_async(server, seen + 1)
        await asyncio.sleep(0)
        assert stream.closed
        assert client.pool_size() == pool
        assert asyncio.all_tasks() == tasks
        assert [chunk async for chunk in stream] == []
        with pytest.raises(ClientStateError, match="before its end"):
            await stream.get_final_completion()
        del stream
        gc.collect()
    assert set(threading.enumerate()) == threads


@pytest.mark.anyio
async def test_async_anext_keeps_the_stream_open(threaded_server: ThreadedFakeOpenAIServer) -> None:
    """``anext(stream)`` peeks at a chunk without closing; a loop then reads the rest."""
    threaded_server.reset()
    async with AsyncGpt(api_key=KEY, server_url=threaded_server.url) as client:
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "one two three"}], stream=True
        )
        first = await anext(stream)
        rest = [chunk async for chunk in stream]
        final = await stream.get_final_completion()
    assert [first, *rest] == stream.chunks
    assert final.choices[0].message.content == "one two three"
    assert threaded_server.disconnects == 0


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["create", "envelope"])
async def test_async_stream_dropped_unread_is_released(server: Watched, source: str) -> None:
    """A connected stream nobody reads or closes drops its connection when collected."""
    seen = server.disconnects
    async with AsyncGpt(api_key=KEY, server_url=server.url) as client:
        stream = await ASYNC_SOURCES[source](client)
        assert stream.response.status_code == 200
        del stream
        gc.collect()
        await _wait_async(server, seen + 1)
        assert client.pool_size() == 0


@pytest.mark.anyio
async def test_async_deferred_stream_dropped_unsent(
    threaded_server: ThreadedFakeOpenAIServer,
) -> None:
    """A ``stream()`` never entered sends nothing and warns about nothing when dropped."""
    threaded_server.reset()
    async with AsyncGpt(api_key=KEY, server_url=threaded_server.url) as client:
        stream = client.chat.completions.stream(model="m", messages=USER)
        del stream
        gc.collect()
    assert threaded_server.requests == []


# ---------------------------------------------------------------- sync client

SYNC_SOURCES: dict[str, Callable[[Gpt], Any]] = {
    "create": lambda c: c.chat.completions.create(model="m", messages=USER, stream=True),
    "stream": lambda c: c.chat.completions.stream(model="m", messages=USER),
    "parse_stream": lambda c: c.chat.completions.parse_stream(
        model="m", messages=USER, response_format=Answer
    ),
    "envelope": lambda c: c.chat.create_chat_completion(_seed_request()).stream,
}


def _sync_break(stream: Any) -> None:
    for _ in stream:
        break


def _sync_return(stream: Any) -> None:
    for _ in stream:
        return


def _sync_exception(stream: Any) -> None:
    def fail() -> None:
        for _ in stream:
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail()


SYNC_EXITS = {"break": _sync_break, "return": _sync_return, "exception": _sync_exception}


@pytest.fixture
def portal_started(threaded_server: ThreadedFakeOpenAIServer) -> None:
    """The portal thread is running before a test counts threads."""
    with Gpt(api_key=KEY, server_url=threaded_server.url) as client:
        client.chat.completions.create(model="m", messages=USER)


@pytest.mark.usefixtures("portal_started")
@pytest.mark.parametrize("exit_name", sorted(SYNC_EXITS))
@pytest.mark.parametrize("source", sorted(SYNC_SOURCES))
def test_sync_loop_left_early_closes(server: Watched, source: str, exit_name: str) -> None:
    """Leaving a sync loop early without ``with`` closes the stream before the next line."""
    threads = set(threading.enumerate())
    seen = server.disconnects
    with Gpt(api_key=KEY, server_url=server.url) as client:
        pool = client.pool_size()
        stream = SYNC_SOURCES[source](client)
        SYNC_EXITS[exit_name](stream)
        assert stream.closed
        _wait_sync(server, seen + 1)
        assert client.pool_size() == pool
        assert list(stream) == []
        with pytest.raises(ClientStateError, match="before its end"):
            stream.get_final_completion()
        del stream
        gc.collect()
    assert set(threading.enumerate()) == threads


def test_sync_next_keeps_the_stream_open(threaded_server: ThreadedFakeOpenAIServer) -> None:
    """``next(stream)`` peeks at a chunk without closing; a loop then reads the rest."""
    threaded_server.reset()
    with Gpt(api_key=KEY, server_url=threaded_server.url) as client:
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "one two three"}], stream=True
        )
        first = next(stream)
        rest = list(stream)
        final = stream.get_final_completion()
    assert [first, *rest] == stream.chunks
    assert final.choices[0].message.content == "one two three"
    assert threaded_server.disconnects == 0


@pytest.mark.usefixtures("portal_started")
@pytest.mark.parametrize("source", ["create", "envelope"])
def test_sync_stream_dropped_unread_is_released(server: Watched, source: str) -> None:
    """A connected sync stream nobody reads or closes drops its connection when collected."""
    seen = server.disconnects
    with Gpt(api_key=KEY, server_url=server.url) as client:
        stream = SYNC_SOURCES[source](client)
        assert stream.response is not None
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        del stream
        gc.collect()
        _wait_sync(server, seen + 1)
        assert client.pool_size() == 0


# ---------------------------------------------------------------- interpreter exit

_EXIT_SCRIPTS = {
    "sync": """
        import gpt_async
        client = gpt_async.Gpt(api_key_auth="k", server_url=URL)
        stream = client.chat.completions.create(model="m", messages=USER, stream=True)
        next(stream)
        deferred = client.chat.completions.stream(model="m", messages=USER)
        print("ok", flush=True)
    """,
    "async": """
        import asyncio, gpt_async
        KEEP = []
        async def main():
            async with gpt_async.AsyncGpt(api_key_auth="k", server_url=URL) as client:
                stream = await client.chat.completions.create(
                    model="m", messages=USER, stream=True)
                await anext(stream)
                KEEP.extend([stream, client.chat.completions.stream(model="m", messages=USER)])
                KEEP.append(stream.__aiter__())
                await anext(KEEP[-1])
        asyncio.run(main())
        print("ok", flush=True)
    """,
}


@pytest.mark.parametrize("kind", sorted(_EXIT_SCRIPTS))
def test_streams_left_at_exit_warn_nothing(raw_server: RawSocketServer, kind: str) -> None:
    """Streams still open when the interpreter exits raise no warning and no error."""
    prelude = f"URL = {raw_server.url!r}\nUSER = {USER!r}\n"
    code = prelude + textwrap.dedent(_EXIT_SCRIPTS[kind])
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")


# ---------------------------------------------------------------- stream sent as set


@pytest.mark.parametrize("value", [True, False, None])
def test_stream_sent_as_set_in_both_forms(
    threaded_server: ThreadedFakeOpenAIServer, value: bool | None
) -> None:
    """``stream`` is sent as the caller set it, keyword or request form; unset, no key."""
    threaded_server.reset()
    with Gpt(api_key=KEY, server_url=threaded_server.url) as client:
        _drain(client.chat.completions.create(model="m", messages=USER, stream=value))
        request = components.CreateChatCompletionRequest(
            messages=[components.ChatCompletionRequestUserMessage(content="x")],
            model="m",
            stream=value,
        )
        _drain(client.chat.create_chat_completion(request).stream)
        client.chat.completions.create(model="m", messages=USER)
        unset = components.CreateChatCompletionRequest(
            messages=[components.ChatCompletionRequestUserMessage(content="x")], model="m"
        )
        client.chat.create_chat_completion(unset)
    bodies = [r.json for r in threaded_server.requests]
    assert [b["stream"] for b in bodies[:2]] == [value, value]
    assert ["stream" in b for b in bodies[2:]] == [False, False]


def _drain(stream: Any) -> None:
    if stream is not None and not isinstance(stream, components.ChatCompletion):
        list(stream)


@pytest.mark.anyio
async def test_async_stream_false_is_a_completion(
    threaded_server: ThreadedFakeOpenAIServer,
) -> None:
    """``create(stream=False)`` and ``stream=None`` on AsyncGpt return a completion, sent as set."""
    threaded_server.reset()
    async with AsyncGpt(api_key=KEY, server_url=threaded_server.url) as client:
        for value in (False, None):
            result = await client.chat.completions.create(model="m", messages=USER, stream=value)
            assert isinstance(result, components.ChatCompletion)
    assert [r.json["stream"] for r in threaded_server.requests] == [False, None]


def test_ctrl_c_in_a_sync_loop_without_with_closes(interrupt: Callable[..., str]) -> None:
    """SIGINT in a bare sync loop (no ``with``, stream still referenced) drops the stream."""
    code = """
    import gpt_async
    from gpt_async.testing import ThreadedFakeOpenAIServer, StreamReply
    with ThreadedFakeOpenAIServer() as srv:
        srv.enqueue(StreamReply.of_content(["w "] * 2000, delay_between=0.01))
        client = gpt_async.Gpt(api_key_auth="k", server_url=srv.url)
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True)
        try:
            for i, _ in enumerate(stream):
                if i == 1:
                    print("streaming", flush=True)
        except KeyboardInterrupt:
            print("interrupted", stream.closed, srv.wait_for_disconnects(1, timeout=1),
                  client.pool_size(), flush=True)
        client.close()
    """
    out = interrupt(code, "streaming")
    assert out.split() == ["interrupted", "True", "1", "0"]
