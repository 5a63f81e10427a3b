"""The testing server's parts: the threaded runner stops cleanly, and a new part plugs in."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gpt_async.testing import FakeOpenAIServer, Reply, ThreadedFakeOpenAIServer
from gpt_async.testing._base import PARTS
from gpt_async.testing._core import ServerCore

THREAD = "gpt_async-fake-openai"
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi there"}]}


def _threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == THREAD]


def _post(url: str) -> bytes:
    request = urllib.request.Request(
        f"{url}/chat/completions",
        data=json.dumps(BODY).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        data: bytes = response.read()
    return data


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_close_stops_the_thread_and_the_port() -> None:
    """After close() the portal thread is gone and the port refuses connections."""
    before = len(_threads())
    server = ThreadedFakeOpenAIServer()
    server.start()
    url, port = server.url, server.port
    assert json.loads(_post(url))["choices"][0]["message"]["content"] == "hi there"
    assert len(_threads()) == before + 1
    server.close()
    server.close()
    assert len(_threads()) == before
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass
    assert "not started" not in repr(server)


def test_a_closed_threaded_server_starts_again() -> None:
    """A closed threaded server can be started again; starting twice is refused."""
    server = ThreadedFakeOpenAIServer()
    with server, pytest.raises(RuntimeError, match="already started"):
        server.start()
    with server:
        assert json.loads(_post(server.url))["object"] == "chat.completion"
        assert [r.path for r in server.requests] == ["/v1/chat/completions"]


def test_a_port_in_use_fails_start_and_leaves_no_thread() -> None:
    """Binding a taken port raises OSError from start() and stops the portal thread."""
    before = len(_threads())
    with ThreadedFakeOpenAIServer() as taken:
        clash = ThreadedFakeOpenAIServer(port=taken.port)
        with pytest.raises(OSError, match="address already in use"):
            clash.start()
        assert len(_threads()) == before + 1
        with pytest.raises(RuntimeError, match="not started"):
            clash.wait_for_disconnects(1)
    assert len(_threads()) == before


def test_reset_runs_on_the_servers_loop() -> None:
    """reset() of a running threaded server forgets the script and the recordings."""
    with ThreadedFakeOpenAIServer() as server:
        server.enqueue(Reply(status=500), Reply(status=500))
        with pytest.raises(urllib.error.HTTPError) as info:
            _post(server.url)
        info.value.close()
        server.reset()
        assert (server.queued, server.requests) == (0, [])
    server.enqueue(Reply(status=500))
    server.reset()
    assert server.queued == 0


def test_a_script_that_never_closes_its_server_exits() -> None:
    """A process that leaves a threaded server running exits cleanly, without a hang."""
    proc = _run(
        """
        import json, urllib.request
        from gpt_async.testing import ThreadedFakeOpenAIServer
        server = ThreadedFakeOpenAIServer()
        server.start()
        request = urllib.request.Request(
            server.url + "/chat/completions",
            data=b'{"model": "m", "messages": [{"role": "user", "content": "bye"}]}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            print(json.load(response)["choices"][0]["message"]["content"])
        """
    )
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "bye", "")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_close_in_a_forked_child_does_not_hang() -> None:
    """A forked child closing the parent's threaded server returns at once."""
    proc = _run(
        """
        import os
        from gpt_async.testing import ThreadedFakeOpenAIServer
        with ThreadedFakeOpenAIServer() as server:
            pid = os.fork()
            if pid == 0:
                server.close()
                os._exit(7)
            _, status = os.waitpid(pid, 0)
            print(os.waitstatus_to_exitcode(status))
        """
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "7"), proc.stderr


# ------------------------------------------------------------------ parts


def _teapot(core: ServerCore, app: web.Application) -> None:
    """A part of a test's own: ``GET /v1/teapot`` answers 418 through the core."""

    async def teapot(request: web.Request) -> web.StreamResponse:
        await core.receive(request)
        if not core.authorized(request):
            return await core.unauthorized(request)
        return await core.respond(request, Reply.error(418, "I'm a teapot"))

    app.router.add_get("/v1/teapot", teapot)


@pytest.fixture
async def teapot_server() -> AsyncIterator[str]:
    """The chat part plus the teapot part, served with the core's 404 and auth."""
    core = ServerCore(api_key="sk-t", clock=None, record=True)
    runner = web.AppRunner(core.make_app([*PARTS, _teapot]), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.mark.anyio
async def test_a_new_part_gets_routes_auth_and_request_ids(teapot_server: str) -> None:
    """A part added to the list serves its route beside the chat route, with auth and ids."""
    auth = {"Authorization": "Bearer sk-t"}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{teapot_server}/v1/teapot", headers=auth) as r:
            assert (r.status, r.headers["x-request-id"]) == (418, "req_1")
            assert (await r.json())["error"]["message"] == "I'm a teapot"
        async with session.get(f"{teapot_server}/v1/teapot") as r:
            assert r.status == 401
        async with session.post(
            f"{teapot_server}/v1/chat/completions", json=BODY, headers=auth
        ) as r:
            assert (await r.json())["choices"][0]["message"]["content"] == "hi there"
        async with session.get(f"{teapot_server}/v1/nothing") as r:
            assert (r.status, r.headers["x-request-id"]) == (404, "req_4")


@pytest.mark.anyio
async def test_the_async_server_is_made_of_the_listed_parts() -> None:
    """FakeOpenAIServer serves what PARTS add: the chat route, and a 404 for the rest."""
    async with FakeOpenAIServer() as server, aiohttp.ClientSession() as session:
        async with session.post(f"{server.url}/chat/completions", json=BODY) as r:
            assert r.status == 200
        async with session.get(f"{server.url}/teapot") as r:
            assert r.status == 404
    assert [r.path for r in server.requests] == ["/v1/chat/completions", "/v1/teapot"]


# ------------------------------------------------------------------ validation and echo


async def _answer(body: object) -> tuple[int, Any]:
    """POSTs ``body`` to a fresh async server; returns the status and the JSON reply."""
    async with (
        FakeOpenAIServer() as server,
        aiohttp.ClientSession() as session,
        session.post(f"{server.url}/chat/completions", json=body) as r,
    ):
        return r.status, await r.json()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("override", "param"),
    [
        ({"model": 4}, "model"),
        ({"top_logprobs": 21}, "top_logprobs"),
        ({"stop": ["ok", 1]}, "stop"),
        ({"stream": "yes"}, "stream"),
    ],
)
async def test_invalid_options_get_a_400_naming_them(override: dict[str, Any], param: str) -> None:
    """The validation part answers a wrong option with the API's 400 and its param."""
    status, reply = await _answer({**BODY, **override})
    assert (status, reply["error"]["param"], reply["error"]["code"]) == (400, param, "invalid_type")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "tools_and_choice",
    [
        {"tools": [{"type": "function"}], "tool_choice": "required"},
        {"tools": [{"type": "function"}], "tool_choice": {"function": {"name": 3}}},
    ],
)
async def test_the_echo_answers_text_when_no_tool_can_be_named(
    tools_and_choice: dict[str, object],
) -> None:
    """A forced tool choice without a usable function name gets the text echo."""
    messages = [{"role": "assistant", "content": None}, {"role": "user", "content": "plain"}]
    body = {"model": "m", "messages": messages, **tools_and_choice}
    _, reply = await _answer(body)
    choice = reply["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == ("plain", "stop")
    assert reply["usage"]["prompt_tokens"] == 1


@pytest.mark.anyio
async def test_an_unstarted_server_has_no_port_and_starts_once() -> None:
    """port needs a started server; a second start() is refused."""
    server = FakeOpenAIServer()
    with pytest.raises(RuntimeError, match="FakeOpenAIServer is not started"):
        _ = server.url
    assert "not started" in repr(server)
    async with server:
        with pytest.raises(RuntimeError, match="already started"):
            await server.start()
