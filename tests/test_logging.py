"""Logging: one INFO line per retry, and GPT_ASYNC_LOG turning on a stderr handler."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator

import pytest

from gpt_async import APIConnectionError, AsyncGpt, Gpt, RetryConfig
from gpt_async._log import configure_from_env, logger
from gpt_async.testing import FakeOpenAIServer, Reply, ThreadedFakeOpenAIServer

KEY = "sk-log-SECRET-0123456789"
USER = [{"role": "user", "content": "hello world"}]
NO_WAIT = RetryConfig(backoff_scale=0)
RETRY_LINE = re.compile(
    r"^retrying in \d+\.\d\d s \(retry 1 of 2\) after 429 RateLimitError: Slow down"
    r" \(request id req_\w+\)$"
)
SCRIPT = textwrap.dedent(
    """
    import sys
    import gpt_async

    client = gpt_async.Gpt(
        api_key=sys.argv[2], server_url=sys.argv[1],
        retry_config=gpt_async.RetryConfig(backoff_scale=0),
    )
    with client:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    print("done")
    """
)


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server that requires ``KEY``."""
    async with FakeOpenAIServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
def thread_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A threaded testing server that requires ``KEY``."""
    with ThreadedFakeOpenAIServer(api_key=KEY) as srv:
        yield srv


def _retry_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]


@pytest.mark.anyio
async def test_async_retry_is_logged_at_info(
    server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    """AsyncGpt: a retried 429 logs one INFO line with delay, count, status and type."""
    server.enqueue(Reply.error(429, "Slow down"))
    caplog.set_level(logging.INFO, logger="gpt_async")
    async with AsyncGpt(api_key=KEY, server_url=server.url, retry_config=NO_WAIT) as client:
        await client.chat.completions.create(model="m", messages=USER)
    (line,) = _retry_lines(caplog)
    assert RETRY_LINE.match(line), line
    assert KEY not in caplog.text


def test_sync_retry_is_logged_at_info(
    thread_server: ThreadedFakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Gpt: the same INFO line, logged from the portal thread."""
    thread_server.enqueue(Reply.error(429, "Slow down"))
    caplog.set_level(logging.INFO, logger="gpt_async")
    with Gpt(api_key=KEY, server_url=thread_server.url, retry_config=NO_WAIT) as client:
        client.chat.completions.create(model="m", messages=USER)
    (line,) = _retry_lines(caplog)
    assert RETRY_LINE.match(line), line
    assert KEY not in caplog.text


def test_connection_error_retry_line(caplog: pytest.LogCaptureFixture) -> None:
    """A refused connection's retry names the error type, and the last retry counts up to 2."""
    caplog.set_level(logging.INFO, logger="gpt_async")
    client = Gpt(api_key=KEY, server_url="http://127.0.0.1:9", retry_config=NO_WAIT)
    with client, pytest.raises(APIConnectionError):
        client.chat.completions.create(model="m", messages=USER)
    lines = _retry_lines(caplog)
    counts = [line.split(" after ")[0][-14:] for line in lines]
    assert counts == ["(retry 1 of 2)", "(retry 2 of 2)"]
    assert all(" after APIConnectionError: " in line for line in lines)


def _run(server: ThreadedFakeOpenAIServer, level: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GPT_ASYNC_LOG"}
    if level is not None:
        env["GPT_ASYNC_LOG"] = level
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", SCRIPT, server.url, KEY],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )


def test_env_info_logs_the_retry_to_stderr(thread_server: ThreadedFakeOpenAIServer) -> None:
    """GPT_ASYNC_LOG=info: the retry line reaches stderr; no DEBUG line, never the key."""
    thread_server.enqueue(Reply.error(429, "Slow down"))
    proc = _run(thread_server, "info")
    assert proc.stdout.strip() == "done"
    assert "INFO] retrying in " in proc.stderr
    assert "after 429 RateLimitError: Slow down" in proc.stderr
    assert "DEBUG" not in proc.stderr
    assert KEY not in proc.stderr


def test_env_debug_logs_attempts_redacted(thread_server: ThreadedFakeOpenAIServer) -> None:
    """GPT_ASYNC_LOG=DEBUG: each attempt with redacted headers, status and timing."""
    proc = _run(thread_server, "DEBUG")
    assert "DEBUG] POST http://127.0.0.1:" in proc.stderr
    assert "'Authorization': '<redacted>'" in proc.stderr
    assert "DEBUG] HTTP 200 from " in proc.stderr
    assert KEY not in proc.stderr


@pytest.mark.parametrize("level", [None, "", "verbose"])
def test_without_env_nothing_is_printed(
    thread_server: ThreadedFakeOpenAIServer, level: str | None
) -> None:
    """Without GPT_ASYNC_LOG (or with an unknown level), a retry prints nothing."""
    thread_server.enqueue(Reply.error(429, "Slow down"))
    proc = _run(thread_server, level)
    assert proc.stdout.strip() == "done"
    assert proc.stderr == ""


def test_configure_from_env_adds_one_handler() -> None:
    """configure_from_env adds a handler at the named level, or nothing for no level."""
    assert configure_from_env({}) is None
    assert configure_from_env({"GPT_ASYNC_LOG": "warning"}) is None
    level = logger.level
    handler = configure_from_env({"GPT_ASYNC_LOG": " Info "})
    try:
        assert handler is not None
        assert handler in logger.handlers
        assert logger.level == logging.INFO
    finally:
        logger.removeHandler(handler)  # type: ignore[arg-type]
        logger.setLevel(level)
