"""The README's promises: every Python example runs as a script; the set-up commands are real."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpt_async.testing import Reply, ScriptItem, StreamReply, ThreadedFakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# The structured-outputs section talks to a fake model that answers in kind (an
# event, tool calls); every other block to the testing server's echo.
_MODEL_SECTION = re.compile(r"## Structured outputs and tools\n.*?(?=\n## )", re.DOTALL)
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
MODEL_BLOCKS = _BLOCK.findall("".join(_MODEL_SECTION.findall(README)))
ECHO_BLOCKS = _BLOCK.findall(_MODEL_SECTION.sub("", README))
PYTHON_BLOCKS = _BLOCK.findall(README)
BASH_BLOCKS = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)

# What a block prints, by a line of its code: the README's comments say the same.
EXPECTED_OUTPUT = {
    "print(completion.choices[0].message.content)": "Say hello",
    'print(choice.delta.content or "", end="")': "Count to five",
    "print(client)  # AsyncGpt(": "AsyncGpt(server_url='https://api.openai.com/v1')",
    "print(client)  # no token in sight": (
        "AsyncGpt(server_url='https://my-resource.openai.azure.com/openai/deployments/my-gpt-4o')"
    ),
    "print(client.server_url)": "https://my-resource.openai.azure.com/openai/deployments/my-gpt-4o",
    'print(exc.path, "-", exc.reason)': "messages[0].content - is required",
    "print(completion.choices[0].finish_reason)": "stop",
    "print(message.parsed.participants)": "['Alice', 'Bob']",
    "print(event.participants if event else None)": "['Alice', 'Bob']",
    "print(exc.path)": "Photo.data",
    "print(type(meeting).__name__, meeting.participants)": "Meeting ['Alice', 'Bob']",
    "print(tool.definition.function.name)": "get_weather\n{'city': 'Oslo', 'unit': 'celsius'}",
    "print(result.content)": (
        "step 0 ['18 degrees celsius in Oslo', '5']\n"
        "step 1 []\n"
        "18 degrees celsius in Oslo and 5\n"
        "5 messages"
    ),
}
EVENT = {"name": "Science fair", "participants": ["Alice", "Bob"], "online": None}


def _message(**fields: Any) -> dict[str, Any]:
    """A completion body with one choice holding ``fields`` as its message."""
    reason = "tool_calls" if "tool_calls" in fields else "stop"
    choice = {"index": 0, "message": {"role": "assistant", "content": None, **fields}}
    return {
        "id": "c",
        "object": "chat.completion",
        "choices": [{**choice, "finish_reason": reason}],
    }


def fake_model(body: dict[str, Any]) -> ScriptItem:
    """Answers like a model would: the event, tool calls, then a summary of their results."""
    if "response_format" in body:
        text = json.dumps(EVENT)
        if body.get("stream"):
            return StreamReply.of_content([text[:20], text[20:]])
        return Reply(json=_message(content=text))
    if not any(m["role"] == "tool" for m in body["messages"]):
        weather = {"name": "get_weather", "arguments": '{"city": "Oslo", "unit": null}'}
        add = {"name": "add", "arguments": '{"a": 2, "b": 3}'}
        calls = [
            {"id": "1", "type": "function", "function": weather},
            {"id": "2", "type": "function", "function": add},
        ]
        return Reply(json=_message(tool_calls=calls))
    results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
    return Reply(json=_message(content=" and ".join(results)))


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedFakeOpenAIServer]:
    """The testing server the echo examples talk to."""
    with ThreadedFakeOpenAIServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def model_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """The testing server as a fake model, for the structured-outputs examples."""
    with ThreadedFakeOpenAIServer() as srv:
        srv.set_default(fake_model)
        yield srv


def _env(server: ThreadedFakeOpenAIServer) -> dict[str, str]:
    return {**os.environ, "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-readme"}


def _run_script(code: str, server: ThreadedFakeOpenAIServer) -> str:
    """Runs ``code`` as a script file of its own (warnings are errors); returns its stdout."""
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-"],
        input=code,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(server),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def _expected(code: str) -> str | None:
    found = [out for line, out in EXPECTED_OUTPUT.items() if line in code]
    return found[0] if len(found) == 1 else None


def _id(code: str) -> str:
    return code.strip().splitlines()[-1][:40]


def test_readme_has_examples() -> None:
    """The README shows async, sync, seed-style, streaming, error and structured examples."""
    assert len(ECHO_BLOCKS) >= 8
    assert len(MODEL_BLOCKS) >= 5
    text = "\n".join(PYTHON_BLOCKS)
    for needle in ("AsyncGpt", "gpt.Gpt(", "create_chat_completion", "stream=True", "SDKError"):
        assert needle in text
    for needle in (".parse(", ".parse_stream(", ".run_tools(", "function_tool("):
        assert needle in text


def test_every_printing_example_says_what_it_prints() -> None:
    """Every expected output belongs to a README block, and none is stale."""
    for line in EXPECTED_OUTPUT:
        assert any(line in block for block in PYTHON_BLOCKS), line


def test_async_examples_are_scripts() -> None:
    """No example needs top-level await: async ones run through asyncio.run(main())."""
    for block in PYTHON_BLOCKS:
        compile(block, "README.md", "exec")  # a SyntaxError for a top-level await
        if "async def main()" in block:
            assert block.rstrip().endswith("asyncio.run(main())")


@pytest.mark.parametrize("code", ECHO_BLOCKS, ids=_id)
def test_python_example_runs(code: str, server: ThreadedFakeOpenAIServer) -> None:
    """Each Python block runs as written, as a script, against the testing server's echo."""
    out = _run_script(code, server)
    expected = _expected(code)
    if expected is not None:
        assert expected in out


@pytest.mark.parametrize("code", MODEL_BLOCKS, ids=_id)
def test_structured_example_runs(code: str, model_server: ThreadedFakeOpenAIServer) -> None:
    """Each structured-outputs block runs as a script and prints what its comments say."""
    expected = _expected(code)
    assert expected is not None
    assert _run_script(code, model_server).strip() == expected


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
