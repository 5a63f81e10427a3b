"""The README's structured-outputs section runs against the testing server as a fake model."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

from gpt_async.testing import FakeOpenAIServer, Reply, ScriptItem, StreamReply

pytestmark = pytest.mark.anyio

README = Path(__file__).parent.parent / "README.md"
SECTION = "## Structured outputs and tools"
EVENT = {"name": "Science fair", "participants": ["Alice", "Bob"], "online": None}


def code_blocks() -> list[str]:
    """The python code blocks of the README's structured-outputs section, in order."""
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return re.findall(r"```python\n(.*?)```", text[start : end if end > 0 else None], re.S)


def message(**fields: Any) -> dict[str, Any]:
    """A completion body with one choice holding ``fields`` as its message."""
    reason = "tool_calls" if "tool_calls" in fields else "stop"
    choice = {"index": 0, "message": {"role": "assistant", "content": None, **fields}}
    return {
        "id": "c",
        "object": "chat.completion",
        "choices": [{**choice, "finish_reason": reason}],
    }


def fake_model(body: dict[str, Any]) -> ScriptItem:
    """Answers like a model would: the event, tool calls, then a summary."""
    if "response_format" in body:
        text = json.dumps(EVENT)
        if body.get("stream"):
            return StreamReply.of_content([text[:20], text[20:]])
        return Reply(json=message(content=text))
    if not any(m["role"] == "tool" for m in body["messages"]):
        weather = {"name": "get_weather", "arguments": '{"city": "Oslo", "unit": null}'}
        add = {"name": "add", "arguments": '{"a": 2, "b": 3}'}
        calls = [
            {"id": "1", "type": "function", "function": weather},
            {"id": "2", "type": "function", "function": add},
        ]
        return Reply(json=message(tool_calls=calls))
    results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
    return Reply(json=message(content=" and ".join(results)))


async def test_documented_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    """Every python block of the document runs, and prints what its comments say."""
    blocks = code_blocks()
    assert len(blocks) >= 4
    async with FakeOpenAIServer() as server:
        server.set_default(fake_model)
        namespace: dict[str, Any] = {"server_url": server.url, "__name__": "docs"}
        for block in blocks:
            code = compile(block, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)
            if inspect.iscoroutine(result):
                await result
    out = capsys.readouterr().out
    assert "['Alice', 'Bob']" in out
    assert "Photo.data" in out
    assert "{'city': 'Oslo', 'unit': 'celsius'}" in out
    assert "step 0 ['18 degrees celsius in Oslo', '5']" in out
    assert "18 degrees celsius in Oslo and 5" in out
    assert namespace["event"].participants == ["Alice", "Bob"]
    assert namespace["history"][-1].content == "18 degrees celsius in Oslo and 5"
