"""The synchronous facade: scripts, threads, running loops, Ctrl-C, fork and exit."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import gpt_async
from gpt_async import AsyncGpt, AsyncStream, Gpt, Hooks, Stream
from gpt_async.models import errors
from gpt_async.testing import Reply, ThreadedFakeOpenAIServer

KEY = "sk-sync-SECRET"
USER = [{"role": "user", "content": "hello sync"}]

SEED_EXAMPLE = """
import gpt_async as gpt
from gpt_async.models import components

s = gpt.Gpt(
    api_key_auth="<YOUR_BEARER_TOKEN_HERE>",
)

req = components.CreateChatCompletionRequest(
    messages=[
        components.ChatCompletionRequestToolMessage(
            content='string',
            role=components.ChatCompletionRequestToolMessageRole.TOOL,
            tool_call_id='string',
        ),
    ],
    model=components.Two.GPT_3_5_TURBO,
    n=1,
    temperature=1,
    top_p=1,
    user='user-1234',
)

res = s.chat.create_chat_completion(req)

if res.create_chat_completion_response is not None:
    # handle response
    pass
"""


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A testing server on its own thread, shared by this module's tests."""
    with ThreadedFakeOpenAIServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
def client(server: ThreadedFakeOpenAIServer) -> Iterator[Gpt]:
    """A sync client of ``server``."""
    server.reset()
    with Gpt(api_key_auth=KEY, server_url=server.url, max_retries=0) as c:
        yield c


def run_script(code: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """Run ``code`` in a fresh interpreter; return its stdout, failing on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_seed_example_runs_unchanged(server: ThreadedFakeOpenAIServer) -> None:
    """The seed document's Python example runs as written against the testing server."""
    server.reset()
    with ThreadedFakeOpenAIServer() as open_server:
        code = SEED_EXAMPLE + "\nprint(res.status_code, res.create_chat_completion_response.model)"
        out = run_script(code, env={"OPENAI_BASE_URL": open_server.url})
        assert out.split() == ["200", "gpt-3.5-turbo"]
        assert open_server.requests[-1].json["messages"][0]["role"] == "tool"


def test_plain_call(client: Gpt) -> None:
    """A sync call returns the parsed completion."""
    completion = client.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "hello sync"


def test_errors_are_the_same_types(client: Gpt, server: ThreadedFakeOpenAIServer) -> None:
    """Sync calls raise the same exception classes as async ones."""
    server.enqueue(Reply.error(404, "no such model"))
    with pytest.raises(errors.NotFoundError, match="no such model"):
        client.chat.completions.create(model="m", messages=USER)


def test_fifty_threads_at_once(client: Gpt, server: ThreadedFakeOpenAIServer) -> None:
    """One Gpt serves 50 threads concurrently, each getting its own answer."""

    def call(i: int) -> str | None:
        msgs = [{"role": "user", "content": f"thread {i}"}]
        return client.chat.completions.create(model="m", messages=msgs).choices[0].message.content

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(call, range(50)))
    assert answers == [f"thread {i}" for i in range(50)]
    assert client.pool_size() <= 100


@pytest.mark.anyio
async def test_works_inside_a_running_loop(client: Gpt) -> None:
    """Called from a coroutine (blocking its loop), the sync client still answers."""
    completion = client.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "hello sync"


def test_call_from_portal_thread_raises(server: ThreadedFakeOpenAIServer) -> None:
    """A sync call made from inside the portal thread (a hook) raises ClientStateError."""
    server.reset()
    inner = Gpt(api_key_auth=KEY, server_url=server.url)

    def nested(request: gpt_async.HTTPRequest) -> None:
        inner.chat.completions.create(model="m", messages=USER)

    hooks = Hooks(before_request=[nested])
    with (
        Gpt(api_key_auth=KEY, server_url=server.url, hooks=hooks) as c,
        pytest.raises(errors.ClientStateError, match="event-loop thread"),
    ):
        c.chat.completions.create(model="m", messages=USER)
    inner.close()


def test_sync_stream_iterates_and_folds(client: Gpt) -> None:
    """A sync stream is a plain iterator and folds into the final completion."""
    with client.chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}
    ) as stream:
        assert isinstance(stream, Stream)
        pieces = [c.choices[0].delta.content for c in stream if c.choices]
        final = stream.get_final_completion()
    assert "".join(p or "" for p in pieces) == "hello sync"
    assert final.choices[0].message.content == "hello sync"
    assert final.usage is not None
    assert final.usage.total_tokens == 4


def test_close_is_idempotent(server: ThreadedFakeOpenAIServer) -> None:
    """close() twice is fine; a call afterwards raises ClientStateError."""
    c = Gpt(api_key_auth=KEY, server_url=server.url)
    c.close()
    c.close()
    assert c.is_closed
    with pytest.raises(errors.ClientStateError):
        c.chat.completions.create(model="m", messages=USER)


def test_ctrl_c_cancels_in_flight_request(
    server: ThreadedFakeOpenAIServer, interrupt: Callable[..., str]
) -> None:
    """SIGINT during a slow call raises KeyboardInterrupt and the request is abandoned."""
    server.reset()
    code = f"""
    import sys, gpt_async
    from gpt_async.testing import ThreadedFakeOpenAIServer, Fault
    with ThreadedFakeOpenAIServer() as srv:
        srv.enqueue(Fault.delay_headers(30))
        client = gpt_async.Gpt(api_key_auth="k", server_url=srv.url)
        print("ready", flush=True)
        try:
            client.chat.completions.create(model="m", messages={USER!r})
        except KeyboardInterrupt:
            print("interrupted", srv.wait_for_disconnects(1, timeout=5), flush=True)
        client.close()
    """
    out = interrupt(code, "ready", settle=0.5)  # settle: let the request reach the server
    assert out.split() == ["interrupted", "1"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_fresh_portal() -> None:
    """After fork, the child's calls run on a new portal and new sockets."""
    code = f"""
    import os, gpt_async
    from gpt_async.testing import ThreadedFakeOpenAIServer
    with ThreadedFakeOpenAIServer() as srv:
        client = gpt_async.Gpt(api_key_auth="k", server_url=srv.url)
        client.chat.completions.create(model="m", messages={USER!r})
        pid = os.fork()
        if pid == 0:
            reply = client.chat.completions.create(model="m", messages={USER!r})
            os._exit(0 if reply.choices[0].message.content == "hello sync" else 3)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        reply = client.chat.completions.create(model="m", messages={USER!r})
        print("parent", reply.choices[0].message.content)
        print("requests", len(srv.requests))
        client.close()
    """
    out = run_script(code)
    assert out.splitlines() == ["child 0", "parent hello sync", "requests 3"]


def test_process_exits_with_client_left_open() -> None:
    """A script that never closes its client still exits promptly."""
    code = f"""
    import gpt_async
    from gpt_async.testing import ThreadedFakeOpenAIServer
    srv = ThreadedFakeOpenAIServer()
    srv.start()
    client = gpt_async.Gpt(api_key_auth="k", server_url=srv.url)
    print(client.chat.completions.create(model="m", messages={USER!r}).choices[0].message.content)
    """
    assert run_script(code, timeout=30).strip() == "hello sync"


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("sync_cls", "async_cls", "renames"),
    [
        (Gpt, AsyncGpt, {"close": "aclose"}),
        (gpt_async._sync.Chat, gpt_async._client.AsyncChat, {}),
        (gpt_async._sync.Completions, gpt_async._client.AsyncCompletions, {}),
        (Stream, AsyncStream, {"close": "aclose"}),
    ],
)
def test_sync_methods_mirror_async_signatures(
    sync_cls: type, async_cls: type, renames: dict[str, str]
) -> None:
    """Every public sync method has the same parameters as its async twin."""
    sync_methods = _public_methods(sync_cls)
    async_methods = _public_methods(async_cls)
    assert sync_methods
    for name, signature in sync_methods.items():
        twin = async_methods.get(renames.get(name, name))
        if twin is None:
            continue  # sync-only conveniences (none carry request parameters)
        assert list(signature.parameters.values()) == list(twin.parameters.values()), name
    shared = {renames.get(n, n) for n in sync_methods} & set(async_methods)
    assert {"create", "stream"} <= shared or {"create_chat_completion"} <= shared or shared


def test_gpt_options_mirror_async_options() -> None:
    """Gpt accepts exactly AsyncGpt's keyword options."""
    from gpt_async._params import ClientOptions

    params = inspect.signature(AsyncGpt.__init__).parameters
    assert set(ClientOptions.__annotations__) == {n for n in params if n != "self"}
