"""``gpt-async batch``: SIGKILL and Ctrl-C in subprocesses; exit codes and output in-process."""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gpt_async
from gpt_async.__main__ import main as gpt_async_main
from gpt_async.testing import RateLimits, Reply, ThreadedFakeOpenAIServer

CONCURRENCY = 8


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedFakeOpenAIServer]:
    """One threaded testing server for the module."""
    with ThreadedFakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def slow_server(server: ThreadedFakeOpenAIServer) -> ThreadedFakeOpenAIServer:
    """The server, answering each echo after 10 ms so that runs last a while."""
    server.reset()
    server.set_default(lambda data: Reply(json=_echo(data), delay=0.01))
    return server


def _echo(data: Any) -> dict[str, Any]:
    content = data["messages"][-1]["content"]
    message = {"role": "assistant", "content": content}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": data["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def write_input(path: Path, n: int, **options: Any) -> list[str]:
    """``n`` Batch API input lines (``options`` go into each body); returns their ids."""
    ids = [f"req-{i}" for i in range(n)]
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        "".join(
            json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
                        "body": {"model": "gpt-4o-mini",
                                 "messages": [{"role": "user", "content": f"hello {cid}"}],
                                 **options}})
            + "\n"
            for cid in ids
        )
    )  # fmt: skip
    return ids


def _command(server: ThreadedFakeOpenAIServer, tmp: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "gpt_async", "batch", str(tmp / "in.jsonl"), str(tmp / "out.jsonl"),
        "--base-url", server.url, "--concurrency", str(CONCURRENCY), *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": "sk-cli-test"}  # the command needs some key


def run_cli(
    server: ThreadedFakeOpenAIServer, tmp: Path, *extra: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the command in a subprocess to its end."""
    return subprocess.run(
        _command(server, tmp, *extra),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def main(
    capsys: pytest.CaptureFixture[str], server: ThreadedFakeOpenAIServer, tmp: Path, *extra: str
) -> tuple[int, str]:
    """Run the command in this process; returns its exit status and stderr."""
    try:
        status = gpt_async_main(_command(server, tmp, *extra)[3:])
    except SystemExit as exc:  # argparse's own usage errors
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    assert captured.out == ""
    return status, captured.err


def whole_lines(path: Path) -> list[dict[str, Any]]:
    """The output's complete lines (a torn last one left out), each parsed."""
    data = path.read_bytes() if path.exists() else b""
    return [json.loads(line) for line in data.split(b"\n")[:-1]]


def _wait_for_output(proc: subprocess.Popen[str], path: Path) -> None:
    deadline = time.monotonic() + 30
    while not (path.exists() and path.stat().st_size > 0):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run wrote nothing"
        time.sleep(0.01)


def test_sigkill_at_random_moments_then_resume(
    slow_server: ThreadedFakeOpenAIServer, tmp_path: Path
) -> None:
    """Killed four times mid-run, then resumed: every id once, at most the in-flight lost."""
    ids = write_input(tmp_path / "in.jsonl", 300)
    out = tmp_path / "out.jsonl"
    rng = random.Random(17)
    for _ in range(4):
        before = len(whole_lines(out))
        slow_server.reset()
        slow_server.set_default(lambda data: Reply(json=_echo(data), delay=0.01))
        proc = subprocess.Popen(_command(slow_server, tmp_path, "--progress", "none"),
                                env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip
        try:
            _wait_for_output(proc, out)
            time.sleep(rng.uniform(0.0, 0.25))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        finally:
            proc.kill()
        lines = whole_lines(out)
        written = [line["custom_id"] for line in lines]
        assert len(written) == len(set(written))
        received = len(slow_server.requests)
        assert len(lines) - before >= received - CONCURRENCY  # only the in-flight are lost
    done = run_cli(slow_server, tmp_path, "--progress", "none")
    assert done.returncode == 0, done.stderr
    assert sorted(line["custom_id"] for line in whole_lines(out)) == sorted(ids)
    assert out.read_bytes().endswith(b"\n")


def test_ctrl_c_exits_130_with_valid_output(
    slow_server: ThreadedFakeOpenAIServer, tmp_path: Path
) -> None:
    """SIGINT mid-run: exit 130, every line whole and unique; a rerun completes the rest."""
    ids = write_input(tmp_path / "in.jsonl", 300)
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(_command(slow_server, tmp_path, "--progress", "none"), env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        _wait_for_output(proc, out)
        proc.send_signal(signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    data = out.read_bytes()
    assert data.endswith(b"\n")
    written = [json.loads(line)["custom_id"] for line in data.splitlines()]
    assert 0 < len(written) < len(ids)
    assert len(set(written)) == len(written)
    done = run_cli(slow_server, tmp_path, "--progress", "none")
    assert done.returncode == 0, done.stderr
    assert sorted(line["custom_id"] for line in whole_lines(out)) == sorted(ids)


def test_summary_with_prices_and_exit_code_1_on_failures(
    server: ThreadedFakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One failed item: exit 1, and the summary gives counts, tokens and cost."""
    server.reset()
    write_input(tmp_path / "in.jsonl", 10)
    (tmp_path / "prices.json").write_text('{"gpt-4o-mini": {"input": 1000000, "output": 0}}')
    server.enqueue(Reply.error(400, "nope"))
    prices = str(tmp_path / "prices.json")
    status, err = main(
        capsys, server, tmp_path, "--prices", prices, "-c", "1", "--progress", "none"
    )
    assert status == 1, err
    assert "9 succeeded, 1 failed, 0 already done" in err
    assert "tokens: 18 in / 18 out" in err  # the echo counts words
    assert "cost: $18.0000" in err
    status, err = main(capsys, server, tmp_path)
    assert status == 0
    assert "0 succeeded, 0 failed, 10 already done" in err


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--shard", "2/2"], "shard"),
        (["--concurrency", "0"], "concurrency"),
        (["--max-cost", "3"], "max_cost"),
        (["--prices", "/nonexistent/prices.json"], "prices"),
        (["--mode", "fast"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2_before_any_request(
    server: ThreadedFakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    needle: str,
) -> None:
    """A bad flag exits 2 with a message naming it; nothing is sent or written."""
    server.reset()
    write_input(tmp_path / "in.jsonl", 3)
    status, err = main(capsys, server, tmp_path, *extra)
    assert status == 2
    assert needle in err
    assert server.requests == []
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_key_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without OPENAI_API_KEY (and no --base-url) the command refuses to start."""
    write_input(tmp_path / "in.jsonl", 1)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    status = gpt_async_main(["batch", str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl")])
    assert status == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def test_shared_server_options_and_json_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--api-key (no OPENAI_API_KEY needed) and --timeout are the CLI's shared ones; --json."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    ids = write_input(tmp_path / "in.jsonl", 3)
    paths = [str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl")]
    with ThreadedFakeOpenAIServer(api_key="sk-flag") as keyed:
        url = ["--base-url", keyed.url, "--progress", "none"]
        status = gpt_async_main(["batch", *paths, *url, "--timeout", "0"])
        assert status == 2
        assert "--timeout" in capsys.readouterr().err
        assert keyed.requests == []
        flags = ["--api-key", "sk-flag", "--timeout", "5", "--json"]
        status = gpt_async_main(["batch", *paths, *url, *flags])
        assert status == 0
        assert {r.headers["Authorization"] for r in keyed.requests} == {"Bearer sk-flag"}
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["succeeded"], summary["failed"], summary["exit_code"]) == (3, 0, 0)
    assert summary["unpriced"] == []
    assert sorted(line["custom_id"] for line in whole_lines(tmp_path / "out.jsonl")) == ids


def test_token_cap_exits_3_and_shard_flag_selects(
    server: ThreadedFakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--max-tokens-total stops with exit 3; --shard I/N runs only that shard's ids."""
    server.reset()
    ids = write_input(tmp_path / "in.jsonl", 40)
    status, err = main(capsys, server, tmp_path, "--max-tokens-total", "10", "-c", "1")
    assert status == 3, err
    assert "--max-tokens-total reached" in err
    (tmp_path / "out.jsonl").unlink()
    shard = gpt_async.Shard.parse("1/4")
    status, err = main(capsys, server, tmp_path, "--shard", "1/4")
    assert status == 0, err
    written = {line["custom_id"] for line in whole_lines(tmp_path / "out.jsonl")}
    assert written == {cid for cid in ids if cid in shard}


@pytest.mark.parametrize(("mode", "needle"), [("plain", "in flight"), ("bar", "req/s")])
def test_progress_on_stderr(
    slow_server: ThreadedFakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    needle: str,
) -> None:
    """--progress plain prints status lines, --progress bar a tqdm bar, both on stderr."""
    write_input(tmp_path / "in.jsonl", 20)
    status, err = main(capsys, slow_server, tmp_path, "--progress", mode)
    assert status == 0, err
    assert needle in err


def test_rate_limit_flags_build_a_limiter(
    server: ThreadedFakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--rpm and --tpm reach RateLimiter's own checks: good values run, a bad one exits 2."""
    server.reset()
    ids = write_input(tmp_path / "in.jsonl", 5)
    status, err = main(capsys, server, tmp_path, "--rpm", "6000", "--tpm", "1000000")
    assert status == 0, err
    assert sorted(line["custom_id"] for line in whole_lines(tmp_path / "out.jsonl")) == ids
    sent = len(server.requests)
    status, err = main(capsys, server, tmp_path, "--rpm", "0", "--retry-failed")
    assert status == 2
    assert "requests_per_minute" in err  # RateLimiter's message names its keyword
    assert len(server.requests) == sent


def test_batch_mode_from_the_command_line(
    server: ThreadedFakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--mode batch goes through /files and /batches and writes every id."""
    server.reset()
    ids = write_input(tmp_path / "in.jsonl", 7)
    status, err = main(capsys, server, tmp_path, "--mode", "batch", "--poll-interval", "0.01")
    assert status == 0, err
    assert "7 succeeded" in err
    assert [b["status"] for b in server.batches.batches.values()] == ["completed"]
    assert sorted(line["custom_id"] for line in whole_lines(tmp_path / "out.jsonl")) == ids


# The server's limits per 1 s window (the client's burst is 1/60 of its per-minute
# limits, so the window must be at least 1 s), and the command's flags at 90% of them.
# Each echoed request costs 4 tokens (2 words in, 2 out): 1,600 tokens/s at the request
# limit. The limit is well under what this machine serves even when loaded (500/s was
# not, once), so that the control, which can fail, does not.
SERVER_LIMITS = RateLimits(requests_per_minute=400, tokens_per_minute=1_800, period=1.0)
UNDER_LIMITS = ("--rpm", str(400 * 60 * 9 // 10), "--tpm", str(1_800 * 60 * 9 // 10))


def _ids_once(path: Path, ids: list[str]) -> None:
    written = collections.Counter(line["custom_id"] for line in whole_lines(path))
    assert written == collections.Counter(ids)  # each id exactly once, none missing


def test_without_rate_flags_the_limited_server_refuses_requests(tmp_path: Path) -> None:
    """The control: the same server and job without --rpm/--tpm draws 429s."""
    with ThreadedFakeOpenAIServer(record=False, rate_limits=SERVER_LIMITS) as server:
        ids = write_input(tmp_path / "in.jsonl", 2_000, max_completion_tokens=2)
        done = run_cli(server, tmp_path, "--progress", "none", "-c", "64", timeout=120)
        assert server.rate_limiter is not None
        refused = server.rate_limiter.refused
    assert done.returncode in (0, 1), done.stderr  # 1: a request out of retries
    assert refused > 0
    _ids_once(tmp_path / "out.jsonl", ids)


def test_ten_thousand_requests_under_a_server_limit_see_no_429(tmp_path: Path) -> None:
    """10k requests with --rpm/--tpm just under the server's limits: 0 refused, each id once."""
    with ThreadedFakeOpenAIServer(record=False, rate_limits=SERVER_LIMITS) as server:
        ids = write_input(tmp_path / "in.jsonl", 10_000, max_completion_tokens=2)
        done = run_cli(server, tmp_path, "--progress", "none", *UNDER_LIMITS, timeout=300)
        assert server.rate_limiter is not None
        refused, accepted = server.rate_limiter.refused, server.rate_limiter.accepted
    assert done.returncode == 0, done.stderr
    assert "10,000 succeeded, 0 failed" in done.stderr
    assert (refused, accepted) == (0, 10_000)
    _ids_once(tmp_path / "out.jsonl", ids)


def test_auto_progress_shows_a_bar_only_on_a_terminal(
    server: ThreadedFakeOpenAIServer, tmp_path: Path
) -> None:
    """--progress auto draws the tqdm bar when stderr is a terminal, and nothing otherwise."""
    import fcntl
    import pty
    import struct
    import termios

    server.reset()
    write_input(tmp_path / "in.jsonl", 5)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100x24
    proc = subprocess.Popen(_command(server, tmp_path), env=_env(), stderr=follower,
                            stdout=subprocess.DEVNULL)  # fmt: skip
    os.close(follower)
    shown = b""
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not data:
            break
        shown += data
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    assert b"5/5" in shown
    assert b"req/s" in shown
    (tmp_path / "out.jsonl").unlink()
    piped = run_cli(server, tmp_path)
    assert piped.returncode == 0
    assert "req/s" not in piped.stderr
    assert "in flight" not in piped.stderr


def test_local_flag_answers_from_the_echo_and_a_bad_url_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--local runs the job on the embedded echo server; a URL without a scheme exits 2."""
    ids = write_input(tmp_path / "in.jsonl", 3)
    paths = [str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), "--progress", "none"]
    assert gpt_async_main(["batch", *paths, "--base-url", "127.0.0.1:9/v1"]) == 2
    assert "--base-url" in capsys.readouterr().err
    assert gpt_async_main(["batch", *paths, "--local"]) == 0
    assert "local echo server" in capsys.readouterr().err
    lines = whole_lines(tmp_path / "out.jsonl")
    assert sorted(line["custom_id"] for line in lines) == ids
    assert {line["response"]["body"]["choices"][0]["message"]["content"] for line in lines} == {
        f"hello {cid}" for cid in ids
    }


def test_a_refused_key_exits_1_with_the_typed_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong --api-key stops the run at the first 401: exit 1, the error named on stderr."""
    write_input(tmp_path / "in.jsonl", 20)
    paths = [str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), "--progress", "none"]
    with ThreadedFakeOpenAIServer(api_key="sk-right") as keyed:
        flags = ["--base-url", keyed.url, "--api-key", "sk-wrong", "-c", "1"]
        assert gpt_async_main(["batch", *paths, *flags]) == 1
        sent = len(keyed.requests)
    assert "AuthenticationError" in capsys.readouterr().err
    assert sent < 20  # the run stopped instead of failing every request
