"""Shared fixtures: the anyio backend, the seed document's request, a Ctrl-C harness."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import pytest

from gpt_async.models import components


@pytest.fixture
def anyio_backend() -> str:
    """Runs async tests on asyncio, the loop aiohttp needs."""
    return "asyncio"


@pytest.fixture
def seed_request() -> components.CreateChatCompletionRequest:
    """The request of the seed document's example, built exactly as the seed writes it."""
    return components.CreateChatCompletionRequest(
        messages=[
            components.ChatCompletionRequestToolMessage(
                content="string",
                role=components.ChatCompletionRequestToolMessageRole.TOOL,
                tool_call_id="string",
            ),
        ],
        model=components.Two.GPT_3_5_TURBO,
        n=1,
        temperature=1,
        top_p=1,
        user="user-1234",
    )


def _interrupt(code: str, ready: str, settle: float = 0.0) -> str:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == ready
        time.sleep(settle)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    return out


@pytest.fixture
def interrupt() -> Callable[..., str]:
    """Runs a script until it prints ``ready``, sends it SIGINT, returns the rest of its stdout.

    Call it as ``interrupt(code, ready, settle=seconds)``; ``settle`` waits after ``ready``
    before the signal. The script must exit 0.
    """
    return _interrupt
