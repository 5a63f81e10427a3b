"""The ``gpt-async`` command, run as a subprocess against the testing server on 127.0.0.1.

Each case checks the exit status and that stderr is at most one line, with no traceback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import gpt_async
from gpt_async.testing import DEFAULT_MODELS, Reply, ThreadedFakeOpenAIServer

KEY = "sk-cli-TOPSECRET-0b1d"
ROOT = str(Path(gpt_async.__file__).resolve().parents[1])
SCRUBBED = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GPT_ASYNC_MODEL", "HTTP_PROXY", "HTTPS_PROXY")
SCRUBBED += ("ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")


def environment(**extra: str) -> dict[str, str]:
    """The test's environment without OpenAI or proxy settings, running this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**env, **extra}


def cli(
    *args: str, stdin: str | None = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gpt_async *args``; ``stdin=None`` gives it /dev/null."""
    return subprocess.run(
        [sys.executable, "-m", "gpt_async", *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        env=env if env is not None else environment(),
        timeout=60,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line of stderr, which must not be a traceback."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("gpt-async: ")
    return lines[0]


@pytest.fixture
def server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A key-less testing server in a thread."""
    with ThreadedFakeOpenAIServer() as srv:
        yield srv


# ---------------------------------------------------------------- which server answers


def test_base_url_wins_with_no_key_set(server: ThreadedFakeOpenAIServer) -> None:
    """--base-url with no OPENAI_API_KEY talks to that server, sending no key."""
    result = cli("chat", "--base-url", server.url, "--no-stream", "hello there")
    assert (result.returncode, result.stdout, result.stderr) == (0, "hello there\n", "")
    [recorded] = server.requests
    assert "Authorization" not in recorded.headers


def test_openai_base_url_wins_with_no_key_set(server: ThreadedFakeOpenAIServer) -> None:
    """OPENAI_BASE_URL with no key streams from that server, not the embedded one."""
    result = cli("chat", "hi from env", env=environment(OPENAI_BASE_URL=server.url))
    assert (result.returncode, result.stdout, result.stderr) == (0, "hi from env\n", "")
    assert server.requests[0].json["stream"] is True


def test_api_key_option_is_sent() -> None:
    """--api-key authenticates against a server that requires it."""
    with ThreadedFakeOpenAIServer(api_key=KEY) as locked:
        result = cli("chat", "--base-url", locked.url, "--api-key", KEY, "--no-stream", "ok")
        assert (result.returncode, result.stdout) == (0, "ok\n")
        assert locked.requests[0].headers["Authorization"] == f"Bearer {KEY}"


def test_embedded_server_answers_when_nothing_is_configured() -> None:
    """With no key and no URL the embedded server echoes, and stderr says so."""
    result = cli("chat", "echo me")
    assert (result.returncode, result.stdout) == (0, "echo me\n")
    assert "no API key or base URL is configured" in result.stderr
    assert "embedded local server" in result.stderr


def test_local_overrides_configured_settings(server: ThreadedFakeOpenAIServer) -> None:
    """--local answers from the embedded server even with a key and a URL set."""
    env = environment(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=server.url)
    result = cli("chat", "--local", "--no-stream", "local please", env=env)
    assert (result.returncode, result.stdout) == (0, "local please\n")
    assert "--local" in result.stderr
    assert server.requests == []


# ---------------------------------------------------------------- errors: one line each


def test_url_without_scheme_is_a_usage_error() -> None:
    """A base URL without http:// exits 2 with one line suggesting the fix."""
    result = cli("chat", "--base-url", "127.0.0.1:8080/v1", "hi")
    assert result.returncode == 2
    line = one_error_line(result)
    assert "http://127.0.0.1:8080/v1" in line
    assert "server_url" in line


def test_not_found_hints_at_v1(server: ThreadedFakeOpenAIServer) -> None:
    """A 404 (a base URL missing /v1) exits 1 with a hint to check the /v1 ending."""
    result = cli("chat", "--base-url", f"{server.origin}/api", "hi")
    assert result.returncode == 1
    line = one_error_line(result)
    assert "NotFoundError" in line
    assert "ends in /v1" in line


def test_refused_connection_is_one_line() -> None:
    """A port where nothing listens exits 1 with one APIConnectionError line."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli("chat", "--base-url", f"http://127.0.0.1:{port}/v1", "hi")
    assert result.returncode == 1
    assert "APIConnectionError" in one_error_line(result)


def test_timeout_is_one_line(server: ThreadedFakeOpenAIServer) -> None:
    """A server slower than --timeout exits 1 with one APITimeoutError line."""
    slow = Reply(json={}, delay=10)
    server.enqueue(slow, slow, slow)
    result = cli("chat", "--base-url", server.url, "--timeout", "0.3", "--no-stream", "hi")
    assert result.returncode == 1
    assert "APITimeoutError" in one_error_line(result)


def test_server_error_message_is_one_line(server: ThreadedFakeOpenAIServer) -> None:
    """A multi-line error message from the server is folded into one stderr line."""
    server.enqueue(Reply.error(400, "bad\nrequest\n  really"))
    result = cli("chat", "--base-url", server.url, "hi")
    assert result.returncode == 1
    assert "BadRequestError: 400: bad request really" in one_error_line(result)


def test_wrong_key_does_not_show_the_key() -> None:
    """A 401 exits 1 with one line that does not contain the key sent."""
    with ThreadedFakeOpenAIServer(api_key="sk-other") as locked:
        result = cli("models", "--base-url", locked.url, "--api-key", KEY)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "AuthenticationError" in line
    assert KEY not in line
    assert "TOPSECRET" not in line


@pytest.mark.parametrize("stdin", [None, "", "  \n\t\n"], ids=["devnull", "empty", "blank"])
def test_empty_stdin_is_an_error(server: ThreadedFakeOpenAIServer, stdin: str | None) -> None:
    """An empty or blank prompt on stdin exits 2 and sends nothing."""
    result = cli("chat", "--base-url", server.url, stdin=stdin)
    assert result.returncode == 2
    assert "prompt is empty" in one_error_line(result)
    assert server.requests == []


def test_ctrl_c_exits_130_without_traceback(server: ThreadedFakeOpenAIServer) -> None:
    """SIGINT while waiting for the reply exits 130 with one line and no traceback."""
    server.enqueue(Reply(json={}, delay=30))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpt_async", "chat", "--base-url", server.url, "hi"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.requests, "the request never arrived"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130
    assert err.splitlines() == ["gpt-async: interrupted"]
    server.wait_for_disconnects(1)


# ---------------------------------------------------------------- output


def test_json_prints_the_body_exactly_as_received(server: ThreadedFakeOpenAIServer) -> None:
    """--json prints the server's bytes, spacing and unknown keys included."""
    message = {"role": "assistant", "content": "raw"}
    body = json.dumps(
        {
            "id": "c-1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "x_custom": {"kept": True},
        },
        indent=3,
    )
    server.enqueue(Reply(body=body, content_type="application/json"))
    result = cli("chat", "--base-url", server.url, "--json", "hi")
    assert (result.returncode, result.stdout) == (0, body + "\n")


def test_models_prints_one_id_per_line(server: ThreadedFakeOpenAIServer) -> None:
    """gpt-async models lists the server's model ids, one per line."""
    result = cli("models", "--base-url", server.url)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == list(DEFAULT_MODELS)
    assert server.requests[0].path == "/v1/models"


def test_models_json_prints_the_body(server: ThreadedFakeOpenAIServer) -> None:
    """gpt-async models --json prints the list body as received."""
    body = '{"object": "list", "data": [{"id": "only", "object": "model", "meta": 1}]}'
    server.enqueue(Reply(body=body, content_type="application/json"))
    result = cli("models", "--base-url", server.url, "--json")
    assert (result.returncode, result.stdout) == (0, body + "\n")
