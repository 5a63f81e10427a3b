"""The ``gpt-async`` command, run in-process against the testing server."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from gpt_async.__main__ import main
from gpt_async.testing import Reply, ThreadedFakeOpenAIServer


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A testing server for the command to talk to."""
    with ThreadedFakeOpenAIServer(api_key="sk-cli") as srv:
        yield srv


@pytest.fixture
def remote(server: ThreadedFakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment of a configured user: a key, and the server's URL to pass."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli")
    server.reset()
    return server.url


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_local_answers_from_the_embedded_server(capsys: pytest.CaptureFixture[str]) -> None:
    """--local streams the echo of the prompt and says where the answer came from."""
    assert main(["chat", "--local", "Hello   there"]) == 0
    out, err = capsys.readouterr()
    assert out == "Hello there\n"
    assert "--local; answering from the embedded local server" in err


def test_no_key_means_local(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a key or a base URL the command answers locally rather than failing."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert main(["chat", "--no-stream", "hi"]) == 0
    out, err = capsys.readouterr()
    assert (out, "no API key or base URL is configured" in err) == ("hi\n", True)


def test_options_reach_the_request_and_json_prints_the_response(
    remote: str, server: ThreadedFakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """--system, --temperature, --max-tokens and --model are sent; --json prints the body."""
    argv = ["chat", "--base-url", remote, "--json", "-s", "Be brief.", "-t", "0.5"]
    assert main([*argv, "--max-tokens", "1", "-m", "tiny", "one two three"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["choices"][0]["message"]["content"] == "one"
    assert printed["choices"][0]["finish_reason"] == "length"
    sent = server.requests[-1].json
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (sent["model"], sent["temperature"], sent["max_completion_tokens"]) == ("tiny", 0.5, 1)
    assert "stream" not in sent


def test_the_prompt_can_come_from_stdin(
    remote: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-`` (or no prompt) reads the prompt from a piped stdin."""
    monkeypatch.setattr("sys.stdin", io.StringIO("piped words"))
    assert main(["chat", "--base-url", remote, "-"]) == 0
    assert capsys.readouterr().out == "piped words\n"


def test_a_terminal_without_a_prompt_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No prompt and an interactive stdin exits 2 with a hint."""
    monkeypatch.setattr("sys.stdin", _Terminal())
    assert main(["chat"]) == 2
    assert "give a prompt" in capsys.readouterr().err


def test_an_api_error_exits_1_with_its_type(
    remote: str, server: ThreadedFakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An SDK error is reported on stderr by type, exit status 1, no traceback."""
    server.enqueue(Reply.error(400, "Bad model", param="model"))
    assert main(["chat", "--base-url", remote, "--no-stream", "hi"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("gpt-async: BadRequestError: ")
    assert "Bad model" in err
