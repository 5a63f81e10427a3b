"""The README's promises: every Python example runs, and the two set-up commands are real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpt_async.testing import ThreadedFakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# The structured-outputs section needs a fake model and top-level await: it is run by
# tests/test_docs_structured.py; every other block runs here as a plain script.
_SCRIPTS = re.sub(r"## Structured outputs and tools\n.*?(?=\n## )", "", README, flags=re.DOTALL)
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", _SCRIPTS, flags=re.DOTALL)
BASH_BLOCKS = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedFakeOpenAIServer]:
    """The testing server every example talks to."""
    with ThreadedFakeOpenAIServer() as srv:
        yield srv


def _env(server: ThreadedFakeOpenAIServer) -> dict[str, str]:
    return {**os.environ, "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-readme"}


def test_readme_has_examples() -> None:
    """The README shows async, sync, seed-style, streaming and error examples."""
    assert len(PYTHON_BLOCKS) >= 8
    text = "\n".join(PYTHON_BLOCKS)
    for needle in ("AsyncGpt", "gpt.Gpt(", "create_chat_completion", "stream=True", "SDKError"):
        assert needle in text


@pytest.mark.parametrize("code", PYTHON_BLOCKS, ids=lambda c: c.strip().splitlines()[-1][:40])
def test_python_example_runs(code: str, server: ThreadedFakeOpenAIServer) -> None:
    """Each Python block of the README runs as written against the testing server."""
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(server),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def _setup_commands() -> list[str]:
    return [
        line
        for block in BASH_BLOCKS[:2]
        for line in block.splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_exactly_two_setup_commands() -> None:
    """The set-up section has two commands: the main job and the test suite."""
    commands = _setup_commands()
    assert len(commands) == 2
    assert "gpt_async chat" in commands[0]
    assert "nox -s tests" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs the README's test command verbatim."""
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _setup_commands()[1] in ci


def test_main_job_answers_without_a_key() -> None:
    """The main job's command answers from the embedded server when no key is set."""
    main_job = _setup_commands()[0].split("&&")[-1].strip()
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    proc = subprocess.run(
        main_job.replace("python3", sys.executable, 1),
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Hello, who are you?"
    assert "embedded local server" in proc.stderr
