"""gpt_async.fastapi and the example chat backend, served by a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import anyio
import anyio.to_thread
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request

import gpt_async
from gpt_async import AsyncGpt, Gpt
from gpt_async.fastapi import (
    GptClient,
    error_response,
    get_gpt,
    get_sync_gpt,
    gpt_lifespan,
    install_tracing,
    stream_response,
)
from gpt_async.testing import FakeOpenAIServer, Fault, Reply, StreamReply

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-SECRET-fastapi-0123456789"
SECRET = "upstream-detail-SECRET-42"


# ---------------------------------------------------------------- helpers


@functools.cache
def example() -> ModuleType:
    """The example app module, loaded from its file (the repository root is not on sys.path)."""
    path = ROOT / "examples" / "fastapi_app" / "app.py"
    spec = importlib.util.spec_from_file_location("gpt_async_fastapi_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Runs ``app`` on a real uvicorn in a thread; yields its base URL, then shuts it down."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", ws="none", log_level="warning")
    config.timeout_graceful_shutdown = 3
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with anyio.fail_after(20):
            while not server.started:
                assert thread.is_alive(), "uvicorn exited during startup"
                await anyio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        # Joined off the loop: in-flight requests may need this loop's upstream to finish.
        await anyio.to_thread.run_sync(thread.join)
        sock.close()


def parse_sse(body: str) -> list[tuple[str, str]]:
    """The (event type, data) pairs of an event-stream body, by the SSE rules."""
    events = []
    for block in body.split("\n\n"):
        if not block:
            continue
        kind, data = "message", []
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)
        events.append((kind, "\n".join(data)))
    return events


def content_of(events: list[tuple[str, str]]) -> str:
    """The joined choice-0 content deltas of OpenAI-style chunk events."""
    text = []
    for kind, data in events:
        if kind == "message" and data != "[DONE]":
            chunk = json.loads(data)
            text += [c["delta"].get("content") or "" for c in chunk["choices"] if c["index"] == 0]
    return "".join(text)


def prompt_json(prompt: str) -> dict[str, str]:
    """The example's request body."""
    return {"prompt": prompt}


async def eventually(check: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Waits until ``check()`` holds."""
    with anyio.fail_after(timeout):
        while not check():  # noqa: ASYNC110 - the state belongs to other threads
            await anyio.sleep(0.02)


@pytest.fixture
async def upstream() -> AsyncIterator[FakeOpenAIServer]:
    """The testing server as the backend's upstream; it requires ``KEY``."""
    async with FakeOpenAIServer(api_key=KEY) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """The browser's side: a plain aiohttp session."""
    async with aiohttp.ClientSession() as session:
        yield session


Backend = Callable[..., Awaitable[tuple[str, FastAPI]]]


@pytest.fixture
async def backend(upstream: FakeOpenAIServer) -> AsyncIterator[Backend]:
    """Starts the example app (with extra client options) on uvicorn against ``upstream``."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**options: Any) -> tuple[str, FastAPI]:
            options = {"api_key_auth": KEY, "server_url": upstream.url, "max_retries": 0} | options
            app = example().create_app(**options)
            return await stack.enter_async_context(serve(app)), app

        yield start


# ---------------------------------------------------------------- the package


def test_import_gpt_async_does_not_import_fastapi() -> None:
    """``import gpt_async`` loads neither FastAPI nor Starlette nor pydantic."""
    code = """
        import sys
        import gpt_async, gpt_async.testing
        roots = {"fastapi", "starlette", "pydantic"}
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in roots)
        assert not heavy, heavy
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


async def test_dependencies_without_lifespan_name_the_fix() -> None:
    """get_gpt / get_sync_gpt in an app without gpt_lifespan fail naming what is missing."""
    request = Request({"type": "http", "app": FastAPI(), "headers": []})
    with pytest.raises(RuntimeError, match=r"lifespan=gpt_lifespan\(\.\.\.\)"):
        await get_gpt(request)
    with pytest.raises(RuntimeError, match=r"lifespan=gpt_lifespan\(sync=True, \.\.\.\)"):
        await get_sync_gpt(request)


# ---------------------------------------------------------------- streaming


async def test_fifty_concurrent_streams_each_get_their_own_text(
    backend: Backend, upstream: FakeOpenAIServer, http: aiohttp.ClientSession
) -> None:
    """50 concurrent streamed requests each receive their own reply, then data: [DONE]."""
    url, _app = await backend()
    prompts = [f"request {i} says {'é' * (i % 3)} hello to stream number {i}" for i in range(50)]
    results: dict[int, tuple[int, str, str]] = {}

    async def one(i: int) -> None:
        async with http.post(f"{url}/api/chat", json=prompt_json(prompts[i])) as resp:
            results[i] = (resp.status, resp.headers["Content-Type"], await resp.text())

    async with anyio.create_task_group() as group:
        for i in range(50):
            group.start_soon(one, i)
    for i, prompt in enumerate(prompts):
        status, content_type, body = results[i]
        assert status == 200
        assert content_type.startswith("text/event-stream")
        events = parse_sse(body)
        assert events[-1] == ("message", "[DONE]")
        assert content_of(events) == " ".join(prompt.split())
    assert len(upstream.requests) == 50
    assert all(r.json["stream"] is True for r in upstream.requests)


async def test_text_format_sends_content_deltas_then_done(
    backend: Backend, upstream: FakeOpenAIServer, http: aiohttp.ClientSession
) -> None:
    """format=text sends only the content, line breaks as several data: lines, then event: done."""
    url, _app = await backend()
    pieces = ["Hel", "lo\nwor", "ld", "\r\n", " ✓"]
    upstream.enqueue(StreamReply.of_content(pieces))
    async with http.post(f"{url}/api/chat?format=text", json=prompt_json("hi")) as resp:
        body = await resp.text()
    assert "data: lo\ndata: wor\n\n" in body
    events = parse_sse(body)
    assert events[-1] == ("done", "[DONE]")
    assert "".join(data for kind, data in events[:-1]) == "Hello\nworld\n ✓"


async def test_browser_disconnect_cancels_the_upstream_stream(
    backend: Backend, upstream: FakeOpenAIServer, http: aiohttp.ClientSession
) -> None:
    """Closing the browser's connection mid-stream drops the upstream one at once; none leaks."""
    url, app = await backend()
    upstream.enqueue(StreamReply.of_content(["tick "] * 200, delay_between=0.05))  # 10 s long
    resp = await http.post(f"{url}/api/chat", json=prompt_json("count"))
    assert resp.status == 200
    first = await resp.content.readuntil(b"\n\n")
    assert first.startswith(b"data: {")
    assert upstream.active_connections == 1
    resp.close()  # drops the connection, as a closed tab does
    assert await upstream.wait_for_disconnects(1, timeout=5) == 1
    await eventually(lambda: upstream.active_connections == 0)
    assert app.state.gpt.pool_size() == 0
    async with http.post(f"{url}/api/chat", json=prompt_json("still works")) as again:
        assert content_of(parse_sse(await again.text())) == "still works"


async def test_failure_mid_stream_ends_with_an_error_event(
    backend: Backend, upstream: FakeOpenAIServer, http: aiohttp.ClientSession
) -> None:
    """An upstream stream that breaks after two events ends the body with event: error."""
    url, _app = await backend()
    upstream.enqueue(StreamReply.of_content(["one", " two", " three"], abort_after=2))
    async with http.post(f"{url}/api/chat", json=prompt_json("x")) as resp:
        assert resp.status == 200
        events = parse_sse(await resp.text())
    assert content_of(events[:-1]) == "one"
    kind, data = events[-1]
    assert kind == "error"
    assert json.loads(data) == {
        "error": {"message": "The connection to the AI service failed.", "type": "upstream_error"}
    }


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [({"retry-after": "7"}, "7"), ({"retry-after-ms": "1500"}, "2")],
)
async def test_upstream_429_stays_429_with_retry_after(
    backend: Backend,
    upstream: FakeOpenAIServer,
    http: aiohttp.ClientSession,
    headers: dict[str, str],
    retry_after: str,
) -> None:
    """An upstream 429 reaches the browser as 429 with Retry-After and a generic body."""
    url, _app = await backend()
    upstream.enqueue(Reply.error(429, f"Rate limit for {KEY}: {SECRET}", headers=headers))
    async with http.post(f"{url}/api/chat", json=prompt_json("x")) as resp:
        body = await resp.text()
        assert resp.status == 429
        assert resp.headers["Retry-After"] == retry_after
    assert json.loads(body)["error"]["type"] == "rate_limited"
    assert KEY not in body
    assert SECRET not in body


@pytest.mark.parametrize(
    "case",
    [
        (Reply.error(500, SECRET, type="server_error"), 502, "upstream_error"),
        (Reply.error(503, SECRET), 502, "upstream_error"),
        (Reply.error(401, f"Incorrect API key provided: {KEY}"), 502, "upstream_error"),
        (Reply.error(400, SECRET, param="messages"), 400, "invalid_request"),
        (Reply.error(404, SECRET, code="model_not_found"), 404, "invalid_request"),
        (Fault.drop(), 502, "upstream_error"),
        (Reply(body=f"<html>{SECRET}</html>", content_type="text/html"), 502, "upstream_error"),
    ],
)
@pytest.mark.parametrize("path", ["/api/chat", "/api/chat/sync"])
async def test_upstream_errors_map_to_generic_http_answers(
    backend: Backend,
    upstream: FakeOpenAIServer,
    http: aiohttp.ClientSession,
    case: tuple[Reply | Fault, int, str],
    path: str,
) -> None:
    """Upstream 5xx/401 and broken connections give 502, other 4xx keep theirs; nothing leaks."""
    item, status, kind = case
    url, _app = await backend()
    upstream.enqueue(item)
    async with http.post(url + path, json=prompt_json("x")) as resp:
        body = await resp.text()
        assert resp.status == status
        assert resp.headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["type"] == kind
    assert KEY not in body
    assert SECRET not in body


@pytest.mark.parametrize("path", ["/api/chat", "/api/chat/sync"])
async def test_upstream_timeout_becomes_504(
    backend: Backend, upstream: FakeOpenAIServer, http: aiohttp.ClientSession, path: str
) -> None:
    """An upstream that does not answer within the client's timeout gives 504."""
    url, _app = await backend(timeout=0.3)
    upstream.enqueue(Fault.delay_headers(3))
    async with http.post(url + path, json=prompt_json("x")) as resp:
        assert resp.status == 504
        error = (await resp.json())["error"]
    assert error == {
        "message": "The AI service did not answer in time.",
        "type": "upstream_timeout",
    }


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (gpt_async.APITimeoutError(SECRET), 504, "upstream_timeout"),
        (gpt_async.IncompleteStreamError(SECRET), 502, "upstream_error"),
        (gpt_async.StreamDecodeError(SECRET, body=SECRET), 502, "upstream_error"),
        (gpt_async.LengthFinishReasonError(SECRET, completion=None), 502, "upstream_error"),
        (gpt_async.RequestValidationError("messages[0]", SECRET), 400, "invalid_request"),
        (gpt_async.SchemaError("Person.photo", SECRET), 500, "internal_error"),
        (gpt_async.ClientStateError(SECRET), 503, "unavailable"),
        (gpt_async.SDKError(SECRET, status_code=418, body=SECRET), 418, "invalid_request"),
        (gpt_async.SDKError(SECRET, status_code=0), 502, "upstream_error"),
    ],
)
def test_error_response_maps_every_error_class_without_its_text(
    exc: gpt_async.GptAsyncError, status: int, kind: str
) -> None:
    """error_response gives each error class its status and a generic body."""
    response = error_response(exc)
    assert response.status_code == status
    body = response.body.decode()
    assert json.loads(body)["error"]["type"] == kind
    assert SECRET not in body
    assert "retry-after" not in response.headers


# ---------------------------------------------------------------- sync endpoint, lifespan


async def test_sync_endpoint_answers_from_the_threadpool(
    backend: Backend, upstream: FakeOpenAIServer, http: aiohttp.ClientSession
) -> None:
    """The plain def endpoint using Gpt answers concurrent requests correctly."""
    url, _app = await backend()
    answers: dict[int, Any] = {}

    async def one(i: int) -> None:
        async with http.post(f"{url}/api/chat/sync", json=prompt_json(f"sync {i} ok")) as resp:
            answers[i] = (resp.status, await resp.json())

    async with anyio.create_task_group() as group:
        for i in range(10):
            group.start_soon(one, i)
    assert answers == {i: (200, {"text": f"sync {i} ok"}) for i in range(10)}
    assert all(r.json.get("stream") is None for r in upstream.requests)


async def test_lifespan_opens_once_and_closes_both_clients(upstream: FakeOpenAIServer) -> None:
    """The clients exist while the app runs and are closed and removed at shutdown."""
    app = example().create_app(api_key_auth=KEY, server_url=upstream.url)
    async with serve(app):
        client, sync_client = app.state.gpt, app.state.gpt_sync
        assert isinstance(client, AsyncGpt)
        assert isinstance(sync_client, Gpt)
        assert client.server_url == upstream.url
        assert not client.is_closed
    assert client.is_closed
    assert sync_client.is_closed
    assert not hasattr(app.state, "gpt")


async def test_documented_command_serves_the_embedded_upstream(
    http: aiohttp.ClientSession,
) -> None:
    """``uvicorn examples.fastapi_app.app:app`` without a key says so and echoes the prompt."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in {"OPENAI_API_KEY", "OPENAI_BASE_URL"}}
    command = [sys.executable, "-m", "uvicorn", "examples.fastapi_app.app:app", "--port", str(port)]
    proc = await anyio.open_process(command, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    log = b""
    try:
        assert proc.stderr is not None
        with anyio.fail_after(30):
            while b"Uvicorn running on" not in log:
                log += await proc.stderr.receive()
        assert re.search(rb"no OPENAI_API_KEY is set; answering from the embedded testing", log)
        async with http.post(
            f"http://127.0.0.1:{port}/api/chat", json=prompt_json("hello from the command")
        ) as resp:
            assert content_of(parse_sse(await resp.text())) == "hello from the command"
    finally:
        proc.terminate()
        await proc.wait()
        await proc.aclose()


# ---------------------------------------------------------------- the README section


async def test_readme_fastapi_example(
    upstream: FakeOpenAIServer, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The FastAPI section's code block serves a stream, a sync answer and mapped errors."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## FastAPI\n(.*?)(?=^## |\Z)", text, flags=re.DOTALL | re.MULTILINE)
    assert section is not None
    blocks = re.findall(r"^```python\n(.*?)^```$", section[1], flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) == 2  # the app, then wire models in endpoints
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", upstream.url)
    namespace: dict[str, Any] = {"__name__": "readme_fastapi"}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    models: dict[str, Any] = {"__name__": "readme_fastapi_models"}
    exec(compile(blocks[1], "README.md", "exec"), models)
    async with serve(models["app"]) as url:
        async with http.post(f"{url}/ask", params={"prompt": "hi there"}) as resp:
            assert (await resp.json())["choices"][0]["message"]["content"] == "hi there"
        body = {"model": "m", "messages": [{"role": "user", "content": "relayed"}]}
        async with http.post(f"{url}/relay", json=body) as resp:
            assert (await resp.json())["choices"][0]["message"]["content"] == "relayed"
    async with serve(namespace["app"]) as url:
        async with http.post(f"{url}/chat", json=prompt_json("streamed to you")) as resp:
            events = parse_sse(await resp.text())
        assert content_of(events) == "streamed to you"
        assert events[-1] == ("message", "[DONE]")
        async with http.post(f"{url}/chat/whole", json=prompt_json("all at once")) as resp:
            assert await resp.json() == {"text": "all at once"}
        upstream.enqueue(Reply.error(404, SECRET, code="model_not_found"))
        async with http.post(f"{url}/chat", json=prompt_json("x")) as resp:
            assert resp.status == 404
            assert SECRET not in await resp.text()


async def test_install_tracing_joins_the_callers_trace(
    upstream: FakeOpenAIServer, http: aiohttp.ClientSession
) -> None:
    """A request's SERVER span continues the caller's trace; its chat span carries it upstream."""
    from opentelemetry import propagate
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    lifespan = gpt_lifespan(api_key=KEY, server_url=upstream.url, tracer_provider=provider)
    app = FastAPI(lifespan=lifespan)
    install_tracing(app, tracer_provider=provider)

    @app.post("/rooms/{room}/chat")
    async def chat(room: str, gpt: GptClient) -> Any:
        stream = await gpt.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": room}], stream=True
        )
        return await stream_response(stream)

    async with serve(app) as base:
        with provider.get_tracer("test").start_as_current_span("browser") as caller:
            headers: dict[str, str] = {}
            propagate.inject(headers)
        async with http.post(f"{base}/rooms/r42/chat", headers=headers) as response:
            body = await response.text()
            assert response.status == 200, body
            assert content_of(parse_sse(body)) == "r42"
        await eventually(lambda: len(exporter.get_finished_spans()) == 3)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    server, chat_span = spans["POST /rooms/{room}/chat"], spans["chat gpt-4o-mini"]
    assert server.kind is SpanKind.SERVER
    assert server.parent is not None
    assert server.parent.span_id == caller.get_span_context().span_id
    assert chat_span.parent is not None
    assert chat_span.parent.span_id == server.context.span_id
    assert {chat_span.context.trace_id, server.context.trace_id} == {
        caller.get_span_context().trace_id
    }
    assert dict(server.attributes or {}) | {"server.port": 0} == {
        "http.request.method": "POST",
        "url.path": "/rooms/r42/chat",
        "url.scheme": "http",
        "server.address": "127.0.0.1",
        "server.port": 0,
        "http.response.status_code": 200,
        "http.route": "/rooms/{room}/chat",
    }
    sent = upstream.requests[-1].headers["traceparent"]
    assert sent.split("-")[2] == f"{chat_span.context.span_id:016x}"


async def test_install_tracing_marks_failed_requests(http: aiohttp.ClientSession) -> None:
    """An endpoint that raises, or answers 5xx, ends its SERVER span with an error."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode
    from starlette.responses import Response

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()
    install_tracing(app, tracer_provider=provider)

    @app.get("/boom")
    async def boom() -> None:
        raise LookupError("no such room")

    @app.get("/busy")
    async def busy() -> Response:
        return Response(status_code=503)

    async with serve(app) as base:
        for path in ("boom", "busy"):
            async with http.get(f"{base}/{path}") as response:
                assert response.status >= 500
        await eventually(lambda: len(exporter.get_finished_spans()) == 2)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    raised, answered = spans["GET /boom"], spans["GET /busy"]
    assert raised.status.status_code is StatusCode.ERROR
    assert raised.attributes is not None
    assert raised.attributes["error.type"] == "builtins.LookupError"
    assert answered.status.status_code is StatusCode.ERROR
    assert answered.attributes is not None
    assert answered.attributes["error.type"] == "503"
