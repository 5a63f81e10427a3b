"""The Batch API mode end to end against the testing server's /files and /batches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

import gpt_async
from gpt_async import AsyncGpt, RetryConfig
from gpt_async.testing import FakeOpenAIServer, Reply

pytestmark = pytest.mark.anyio

KEY = "sk-batch-test"


def write_input(path: Path, n: int) -> list[str]:
    """``n`` Batch API input lines; returns their ids."""
    ids = [f"b-{i}" for i in range(n)]
    lines = [
        {
            "custom_id": cid,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": cid}]},
        }
        for cid in ids
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return ids


def output_lines(path: Path) -> dict[str, dict[str, Any]]:
    """The output's lines by id; asserts no id appears twice."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    by_id = {line["custom_id"]: line for line in lines}
    assert len(by_id) == len(lines)
    return by_id


def calls(server: FakeOpenAIServer, method: str, path: str) -> int:
    """How many requests the server got for ``method path``."""
    return sum(1 for r in server.requests if (r.method, r.path) == (method, path))


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server that requires ``KEY``."""
    async with FakeOpenAIServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
async def client(server: FakeOpenAIServer) -> AsyncIterator[AsyncGpt]:
    """A client of ``server`` whose retries never sleep."""
    retry = RetryConfig(backoff_scale=0)
    async with AsyncGpt(api_key_auth=KEY, server_url=server.url, retry_config=retry) as c:
        yield c


async def run_batch(client: AsyncGpt, tmp: Path, **options: Any) -> gpt_async.BulkSummary:
    """The batch mode over ``tmp/in.jsonl`` into ``tmp/out.jsonl``, polling fast."""
    return await gpt_async.bulk_file(
        client, tmp / "in.jsonl", tmp / "out.jsonl", mode="batch", poll_interval=0.001, **options
    )


async def test_batch_mode_end_to_end(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """One upload, one batch, polls until completed, then the output holds every id."""
    ids = write_input(tmp_path / "in.jsonl", 6)
    summary = await run_batch(client, tmp_path)
    assert (summary.succeeded, summary.failed, summary.exit_code) == (6, 0, 0)
    assert (summary.prompt_tokens, summary.completion_tokens) == (6, 6)
    assert calls(server, "POST", "/v1/files") == 1
    assert calls(server, "POST", "/v1/batches") == 1
    assert calls(server, "POST", "/v1/chat/completions") == 0  # nothing ran live
    [batch] = server.batches.batches.values()
    assert summary.batches == [batch["id"]]
    assert batch["status"] == "completed"
    lines = output_lines(tmp_path / "out.jsonl")
    assert sorted(lines) == sorted(ids)
    assert lines["b-2"]["response"]["body"]["choices"][0]["message"]["content"] == "b-2"
    assert not (tmp_path / "out.jsonl.batches.json").exists()


async def test_batch_api_calls_run_the_client_hooks(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """/files and /batches calls run before_request and after_success; a hook's header is sent."""
    seen: list[tuple[str, str, int | None]] = []

    def before(request: gpt_async.HTTPRequest) -> None:
        request.headers["x-job"] = "nightly"
        seen.append(("before", request.method, None))

    def after(request: gpt_async.HTTPRequest, response: gpt_async.RawResponse) -> None:
        seen.append(("after", request.url.rsplit("/v1", 1)[1], response.status_code))

    hooks = gpt_async.Hooks(before_request=[before], after_success=[after])
    write_input(tmp_path / "in.jsonl", 2)
    async with AsyncGpt(api_key_auth=KEY, server_url=server.url, hooks=hooks) as client:
        summary = await run_batch(client, tmp_path)
    assert summary.succeeded == 2
    paths = [path for kind, path, _status in seen if kind == "after"]
    assert paths[:2] == ["/files", "/batches"]
    assert any(p.startswith("/files/") and p.endswith("/content") for p in paths)
    assert {status for kind, _path, status in seen if kind == "after"} == {200}
    assert len([s for s in seen if s[0] == "before"]) == len(server.requests)
    assert all(r.headers.get("x-job") == "nightly" for r in server.requests)


async def test_uploaded_file_is_batch_api_input(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """Bare bodies are uploaded as full Batch API lines, with ``model`` filled in."""
    (tmp_path / "in.jsonl").write_text('{"messages": [{"role": "user", "content": "x"}]}\n')
    await run_batch(client, tmp_path, model="gpt-4o")
    [content] = [c for f, c in server.batches.files.items() if f in _inputs(server)]
    assert json.loads(content) == {
        "custom_id": "1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"messages": [{"role": "user", "content": "x"}], "model": "gpt-4o"},
    }


def _inputs(server: FakeOpenAIServer) -> set[str]:
    return {b["input_file_id"] for b in server.batches.batches.values()}


async def test_large_input_is_split_into_batches(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """Over the line limit, the input goes in several batches the server accepts."""
    server.batches.max_lines = 10  # an unsplit upload would fail validation
    ids = write_input(tmp_path / "in.jsonl", 25)
    summary = await run_batch(client, tmp_path, batch_max_lines=10)
    assert calls(server, "POST", "/v1/batches") == 3
    assert [b["request_counts"]["total"] for b in server.batches.batches.values()] == [10, 10, 5]
    assert all(b["status"] == "completed" for b in server.batches.batches.values())
    assert sorted(output_lines(tmp_path / "out.jsonl")) == sorted(ids)
    assert summary.succeeded == 25


async def test_byte_limit_splits_too(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """Over the byte limit, parts stay under it."""
    ids = write_input(tmp_path / "in.jsonl", 9)
    line_size = len((tmp_path / "in.jsonl").read_text().splitlines()[0]) + 1
    server.batches.max_bytes = 4 * line_size
    await run_batch(client, tmp_path, batch_max_bytes=4 * line_size)
    assert [b["request_counts"]["total"] for b in server.batches.batches.values()] == [4, 4, 1]
    assert sorted(output_lines(tmp_path / "out.jsonl")) == sorted(ids)


async def test_rerun_resumes_polling_instead_of_resubmitting(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """A run stopped while its batches run leaves a state file; the rerun only polls."""
    ids = write_input(tmp_path / "in.jsonl", 12)
    state = tmp_path / "out.jsonl.batches.json"
    server.batches.polls_in_progress = 10**9  # the batches never finish in the first run
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: run_batch(client, tmp_path, batch_max_lines=5))
        with anyio.fail_after(10):
            while not _all_running(server, 3):  # noqa: ASYNC110 - state to poll, not an event
                await anyio.sleep(0.005)
        group.cancel_scope.cancel()
    parts = json.loads(state.read_text())["parts"]
    assert [p["batch_id"] for p in parts] == list(server.batches.batches)
    server.batches.polls_in_progress = 1
    summary = await run_batch(client, tmp_path, batch_max_lines=5)
    assert calls(server, "POST", "/v1/batches") == 3  # none submitted again
    assert calls(server, "POST", "/v1/files") == 3
    assert sorted(output_lines(tmp_path / "out.jsonl")) == sorted(ids)
    assert summary.succeeded == 12
    assert not state.exists()


def _all_running(server: FakeOpenAIServer, count: int) -> bool:
    batches = server.batches.batches.values()
    return len(batches) == count and all(b["status"] == "in_progress" for b in batches)


async def test_state_file_of_another_input_is_refused(client: AsyncGpt, tmp_path: Path) -> None:
    """A state file left by a run over another input stops the run, naming the output."""
    write_input(tmp_path / "in.jsonl", 2)
    state = {"input": "/elsewhere/other.jsonl", "next_line": 1, "parts": []}
    (tmp_path / "out.jsonl.batches.json").write_text(json.dumps(state))
    with pytest.raises(gpt_async.RequestValidationError, match="another input"):
        await run_batch(client, tmp_path)


async def test_expired_batch_is_completed_live(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """A batch that expires after 3 lines: those are kept, the other 5 run live."""
    ids = write_input(tmp_path / "in.jsonl", 8)
    server.batches.script_next("expired", after=3)
    summary = await run_batch(client, tmp_path)
    [batch] = server.batches.batches.values()
    assert batch["status"] == "expired"
    assert calls(server, "POST", "/v1/chat/completions") == 5
    lines = output_lines(tmp_path / "out.jsonl")
    assert sorted(lines) == sorted(ids)
    assert all(line["error"] is None for line in lines.values())
    assert (summary.succeeded, summary.failed) == (8, 0)


async def test_expired_items_wait_without_live_fallback(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """With live_fallback off the expired items stay out of the output; a live rerun adds them."""
    ids = write_input(tmp_path / "in.jsonl", 4)
    server.batches.script_next("expired", after=1)
    await run_batch(client, tmp_path, live_fallback=False)
    assert len(output_lines(tmp_path / "out.jsonl")) == 1
    await gpt_async.bulk_file(client, tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    assert sorted(output_lines(tmp_path / "out.jsonl")) == sorted(ids)


async def test_failed_batch_is_run_live(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """A batch that fails validation leaves every item to the live pass."""
    ids = write_input(tmp_path / "in.jsonl", 3)
    server.batches.script_next("failed")
    await run_batch(client, tmp_path)
    [batch] = server.batches.batches.values()
    assert batch["status"] == "failed"
    assert batch["errors"]["data"][0]["message"]
    assert calls(server, "POST", "/v1/chat/completions") == 3
    assert sorted(output_lines(tmp_path / "out.jsonl")) == sorted(ids)


async def test_cancelled_batch_keeps_its_results_and_runs_the_rest_live(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """A batch cancelled after 2 lines: those 2 are kept, the other 3 run live."""
    ids = write_input(tmp_path / "in.jsonl", 5)
    server.batches.script_next("cancelled", after=2)
    summary = await run_batch(client, tmp_path)
    assert [b["status"] for b in server.batches.batches.values()] == ["cancelled"]
    assert calls(server, "POST", "/v1/chat/completions") == 3
    assert sorted(output_lines(tmp_path / "out.jsonl")) == sorted(ids)
    assert summary.succeeded == 5


async def test_failed_request_in_a_batch_is_an_error_line(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """A 4xx answer inside a batch lands as a failed line (exit code 1), not run again."""
    write_input(tmp_path / "in.jsonl", 3)
    server.enqueue(Reply.error(400, "bad body", code="invalid_value"))
    summary = await run_batch(client, tmp_path)
    assert (summary.succeeded, summary.failed, summary.exit_code) == (2, 1, 1)
    lines = output_lines(tmp_path / "out.jsonl").values()
    assert [line["response"]["status_code"] for line in lines].count(400) == 1
    assert calls(server, "POST", "/v1/chat/completions") == 0


async def test_batch_prices_default_to_half(client: AsyncGpt, tmp_path: Path) -> None:
    """Batch results are priced at batch_* prices, half the live ones by default."""
    write_input(tmp_path / "in.jsonl", 2)
    prices = {"gpt-4o-mini": {"input": 1_000_000, "output": 1_000_000}}
    summary = await run_batch(client, tmp_path, prices=prices)
    assert summary.cost == pytest.approx(2 * (1 + 1) * 0.5)


async def test_testing_server_files_and_batches_speak_openai(server: FakeOpenAIServer) -> None:
    """The raw endpoints: upload, create, poll through the statuses, download, 404s, auth."""
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"model": "m", "messages": [{"role": "user", "content": "hi there"}]}
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": body}
    async with aiohttp.ClientSession(headers=headers) as http:
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field("file", json.dumps(line).encode(), filename="in.jsonl")
        async with http.post(f"{server.url}/files", data=form) as resp:
            uploaded = await resp.json()
        assert uploaded["purpose"] == "batch"
        body = {"input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions",
                "completion_window": "24h"}  # fmt: skip
        async with http.post(f"{server.url}/batches", json=body) as resp:
            batch = await resp.json()
        statuses = [batch["status"]]
        for _ in range(2):
            async with http.get(f"{server.url}/batches/{batch['id']}") as resp:
                batch = await resp.json()
            statuses.append(batch["status"])
        assert statuses == ["validating", "in_progress", "completed"]
        assert batch["request_counts"] == {"total": 1, "completed": 1, "failed": 0}
        async with http.get(f"{server.url}/files/{batch['output_file_id']}/content") as resp:
            [out] = (await resp.read()).splitlines()
        assert json.loads(out)["response"]["body"]["choices"][0]["message"]["content"] == "hi there"
        async with http.get(f"{server.url}/batches/batch_404") as resp:
            assert resp.status == 404
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.get(f"{server.url}/files/x") as r,
        ):
            assert r.status == 401


async def test_bad_batch_options_fail_before_io(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """batch_max_lines=0 is a validation error naming it; nothing is sent."""
    write_input(tmp_path / "in.jsonl", 1)
    with pytest.raises(gpt_async.RequestValidationError, match="batch_max_lines"):
        await run_batch(client, tmp_path, batch_max_lines=0)
    assert server.requests == []


async def test_batch_api_errors_are_typed(server: FakeOpenAIServer, tmp_path: Path) -> None:
    """A wrong key fails the upload with AuthenticationError; nothing is written."""
    write_input(tmp_path / "in.jsonl", 2)
    async with AsyncGpt(api_key_auth="sk-wrong", server_url=server.url) as client:
        with pytest.raises(gpt_async.AuthenticationError):
            await run_batch(client, tmp_path)
    assert server.batches.batches == {}
    assert (tmp_path / "out.jsonl").read_bytes() == b""


def _line(custom_id: str, url: str = "/v1/chat/completions") -> bytes:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body}).encode()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{not json\n", "not valid JSON"),
        (_line("a", url="/v1/embeddings") + b"\n", "url must be"),
        (_line("a") + b"\n" + _line("a") + b"\n", "repeated"),
        (_line("a") + b"\n" + _line("b") + b"\n" + _line("c") + b"\n", "more than 2"),
        (_line("a" * 1_000) + b"\n", "larger than"),
    ],
)
async def test_testing_server_fails_an_invalid_batch_input(
    server: FakeOpenAIServer, content: bytes, needle: str
) -> None:
    """Bad JSON, another endpoint, a repeated id, too many lines or bytes: the batch fails."""
    server.batches.max_lines, server.batches.max_bytes = 2, 1_000
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as http:
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field("file", content, filename="in.jsonl")
        async with http.post(f"{server.url}/files", data=form) as resp:
            file_id = (await resp.json())["id"]
        create = {"input_file_id": file_id, "endpoint": "/v1/chat/completions"}
        async with http.post(f"{server.url}/batches", json=create) as resp:
            batch_id = (await resp.json())["id"]
        async with http.get(f"{server.url}/batches/{batch_id}") as resp:
            batch = await resp.json()
    assert batch["status"] == "failed"
    assert needle in batch["errors"]["data"][0]["message"]


async def test_testing_server_refuses_bad_batch_calls(server: FakeOpenAIServer) -> None:
    """Missing fields and unknown ids get OpenAI's 400 and 404; cancelling a batch works."""
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as http:
        form = aiohttp.FormData()
        form.add_field("purpose", "fine-tune")
        async with http.post(f"{server.url}/files", data=form) as resp:
            assert (resp.status, (await resp.json())["error"]["param"]) == (400, "file")
        for path in ("/files/file-x", "/files/file-x/content", "/batches/batch_x"):
            async with http.get(f"{server.url}{path}") as resp:
                assert resp.status == 404, path
        async with http.post(f"{server.url}/batches/batch_x/cancel") as resp:
            assert resp.status == 404
        async with http.post(f"{server.url}/batches", json={"input_file_id": "nope"}) as resp:
            assert (await resp.json())["error"]["param"] == "input_file_id"
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field("file", _line("a") + b"\n", filename="in.jsonl")
        async with http.post(f"{server.url}/files", data=form) as resp:
            file_id = (await resp.json())["id"]
        async with http.get(f"{server.url}/files/{file_id}") as resp:
            assert (await resp.json())["bytes"] == len(_line("a")) + 1
        wrong = {"input_file_id": file_id, "endpoint": "/v1/embeddings"}
        async with http.post(f"{server.url}/batches", json=wrong) as resp:
            assert (await resp.json())["error"]["param"] == "endpoint"
        create = {"input_file_id": file_id, "endpoint": "/v1/chat/completions"}
        async with http.post(f"{server.url}/batches", json=create) as resp:
            batch_id = (await resp.json())["id"]
        async with http.post(f"{server.url}/batches/{batch_id}/cancel") as resp:
            assert (await resp.json())["status"] == "cancelling"
        async with http.get(f"{server.url}/batches/{batch_id}") as resp:
            assert (await resp.json())["status"] == "cancelled"
