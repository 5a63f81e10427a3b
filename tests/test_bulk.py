"""Bulk runs through the library: the runner, the JSONL formats, resume, shards and budgets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import gpt_async
from gpt_async import AsyncGpt, BulkRequest, Gpt, RetryConfig
from gpt_async.models import components
from gpt_async.testing import FakeOpenAIServer, Reply, ThreadedFakeOpenAIServer

pytestmark = pytest.mark.anyio

NO_WAIT = RetryConfig(backoff_scale=0)


def prompt(i: int) -> dict[str, Any]:
    """A keyword request whose echo names ``i``."""
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"item {i}"}]}


def write_input(path: Path, n: int, *, bare: bool = False) -> list[str]:
    """An input file of ``n`` requests; returns their ids."""
    lines = []
    for i in range(n):
        body = prompt(i)
        lines.append(body if bare else {"custom_id": f"id-{i}", "method": "POST",
                                        "url": "/v1/chat/completions", "body": body})  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return [str(i + 1) for i in range(n)] if bare else [f"id-{i}" for i in range(n)]


def output_ids(path: Path) -> list[str]:
    """The custom_id of every output line (each must be whole JSON)."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n")
    return [json.loads(line)["custom_id"] for line in data.splitlines()]


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server."""
    async with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
async def client(server: FakeOpenAIServer) -> AsyncIterator[AsyncGpt]:
    """A client of ``server`` whose retries never sleep."""
    async with AsyncGpt(api_key_auth="sk-bulk", server_url=server.url, retry_config=NO_WAIT) as c:
        yield c


# ------------------------------------------------------------------ the library API


async def test_results_carry_id_request_completion_attempts_usage(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """Each result has its id, request, completion, attempts (retries counted) and usage."""
    server.enqueue(Reply.error(500, "try again"))
    requests = [prompt(i) for i in range(5)]
    async with gpt_async.bulk(client, requests, concurrency=1) as run:
        results = [result async for result in run]
    assert [r.custom_id for r in results] == ["1", "2", "3", "4", "5"]
    assert [r.attempts for r in results] == [2, 1, 1, 1, 1]
    first = results[0]
    assert first.ok
    assert first.request is requests[0]
    assert first.completion is not None
    assert first.completion.choices[0].message.content == "item 0"
    assert first.usage is not None
    assert first.usage.completion_tokens == 2
    assert first.request_id is not None
    assert first.request_id.startswith("req_")


async def test_failed_item_is_a_result_and_the_run_goes_on(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """A 400 and a bad request become results with typed errors; the rest succeed."""
    server.enqueue(Reply.error(400, "bad", code="invalid_value"))
    requests: list[Any] = [prompt(0), {"model": "m", "messages": []}, prompt(2), 42]
    async with gpt_async.bulk(client, requests, concurrency=1) as run:
        results = {r.custom_id: r async for r in run}
    assert isinstance(results["1"].error, gpt_async.BadRequestError)
    assert results["1"].attempts == 1
    assert isinstance(results["2"].error, gpt_async.RequestValidationError)
    assert results["2"].attempts == 0
    assert results["3"].ok
    assert isinstance(results["4"].error, gpt_async.RequestValidationError)


async def test_models_bulk_requests_and_async_iterables(
    client: AsyncGpt, seed_request: components.CreateChatCompletionRequest
) -> None:
    """Request models, BulkRequests with own ids and async iterables all run."""

    async def requests() -> AsyncIterator[Any]:
        yield seed_request
        yield BulkRequest(custom_id="mine", body=prompt(1))

    async with gpt_async.bulk(client, requests(), concurrency=4) as run:
        results = {r.custom_id: r async for r in run}
    assert set(results) == {"1", "mine"}
    assert all(r.ok for r in results.values())
    assert results["1"].completion is not None
    assert results["1"].completion.model == "gpt-3.5-turbo"


async def test_concurrency_is_bounded(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """No more than ``concurrency`` requests are ever in flight."""
    peak = 0
    run = gpt_async.bulk(client, (prompt(i) for i in range(40)), concurrency=3)

    def slow(data: Any) -> Reply:
        nonlocal peak
        peak = max(peak, run.in_flight)
        return Reply(json=_echo_json(data), delay=0.002)

    server.set_default(slow)
    async with run:
        count = sum([1 async for _ in run])
    assert count == 40
    assert peak == 3


def _echo_json(data: Any) -> dict[str, Any]:
    words = data["messages"][-1]["content"]
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 1,
        "model": data["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": words},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4},
    }


async def test_stop_finishes_in_flight_and_starts_no_more(client: AsyncGpt) -> None:
    """After stop(), the iteration ends once the requests in flight are answered."""
    async with gpt_async.bulk(client, (prompt(i) for i in range(1000)), concurrency=2) as run:
        seen = []
        async for result in run:
            seen.append(result.custom_id)
            run.stop()
    assert 1 <= len(seen) <= 2 + 2  # those in flight, and those already waiting


async def test_input_error_ends_the_run_with_it(client: AsyncGpt) -> None:
    """An exception raised by the input iterator is raised by the iteration, as it is."""

    def broken() -> Iterator[Any]:
        yield prompt(0)
        raise OSError("disk gone")

    async def drain() -> list[gpt_async.BulkResult]:
        async with gpt_async.bulk(client, broken(), concurrency=2) as run:
            return [result async for result in run]

    with pytest.raises(OSError, match="disk gone"):
        await drain()


async def test_bad_concurrency_fails_before_io(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """concurrency=0 raises a validation error naming it; nothing is sent."""
    with pytest.raises(gpt_async.RequestValidationError, match="concurrency"):
        gpt_async.bulk(client, [prompt(0)], concurrency=0)
    assert server.requests == []


async def test_stream_requests_are_refused(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A request with stream=True fails as an item naming ``stream``; nothing is sent."""
    async with gpt_async.bulk(client, [{**prompt(0), "stream": True}]) as run:
        [result] = [r async for r in run]
    assert isinstance(result.error, gpt_async.RequestValidationError)
    assert result.error.path == "stream"
    assert server.requests == []


def test_sync_twin_runs_on_gpt() -> None:
    """bulk_sync yields every result through the synchronous client."""
    with ThreadedFakeOpenAIServer() as srv, Gpt(api_key_auth="k", server_url=srv.url) as client:
        results = list(gpt_async.bulk_sync(client, (prompt(i) for i in range(30)), concurrency=4))
    assert sorted(int(r.custom_id) for r in results) == list(range(1, 31))
    assert all(r.ok for r in results)


# ------------------------------------------------------------------ files


async def test_file_run_writes_batch_api_output(client: AsyncGpt, tmp_path: Path) -> None:
    """Every input line gets one Batch API output line with the server's body."""
    ids = write_input(tmp_path / "in.jsonl", 20)
    summary = await gpt_async.bulk_file(client, tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    assert (summary.succeeded, summary.failed, summary.exit_code) == (20, 0, 0)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(line["custom_id"] for line in lines) == sorted(ids)
    line = next(line for line in lines if line["custom_id"] == "id-3")
    assert line["id"].startswith("batch_req_")
    assert line["error"] is None
    assert line["response"]["status_code"] == 200
    assert line["response"]["request_id"].startswith("req_")
    assert line["response"]["body"]["choices"][0]["message"]["content"] == "item 3"
    assert (summary.prompt_tokens, summary.completion_tokens) == (40, 40)


async def test_bare_bodies_take_line_numbers_and_model(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """Lines holding only a body are ids 1, 2, ...; ``model`` fills in a missing model."""
    (tmp_path / "in.jsonl").write_text(
        '{"messages": [{"role": "user", "content": "a"}]}\n\n'
        '{"model": "own", "messages": [{"role": "user", "content": "b"}]}\n'
    )
    await gpt_async.bulk_file(client, tmp_path / "in.jsonl", tmp_path / "out.jsonl", model="dflt")
    assert sorted(output_ids(tmp_path / "out.jsonl")) == ["1", "3"]
    assert sorted(r.json["model"] for r in server.requests) == ["dflt", "own"]


async def test_bad_lines_become_error_lines(client: AsyncGpt, tmp_path: Path) -> None:
    """Malformed lines and API errors are error lines naming the problem; exit code 1."""
    (tmp_path / "in.jsonl").write_text(
        'not json\n{"custom_id": "x", "url": "/v1/embeddings", "body": {}}\n'
        '{"custom_id": "y", "body": {"model": "m", "messages": []}}\n'
    )
    summary = await gpt_async.bulk_file(client, tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    assert (summary.failed, summary.exit_code) == (3, 1)
    lines = {
        line["custom_id"]: line
        for line in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())
    }
    assert lines["1"]["error"] == {
        "code": "invalid_request",
        "message": "line 1: not valid JSON",
    }
    assert "url" in lines["x"]["error"]["message"]
    assert lines["y"]["error"]["message"] == "messages: must hold at least one message"


async def test_http_error_line_keeps_status_and_body(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """A 4xx is written with its status, request id, error body and code."""
    server.enqueue(Reply.error(400, "no such model", code="model_not_found"))
    write_input(tmp_path / "in.jsonl", 1)
    await gpt_async.bulk_file(client, tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    [line] = map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())
    assert line["response"]["status_code"] == 400
    assert line["response"]["body"]["error"]["message"] == "no such model"
    assert line["error"] == {"code": "model_not_found", "message": "no such model"}


async def test_resume_skips_done_ids(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """A rerun sends only the ids missing from the output."""
    ids = write_input(tmp_path / "in.jsonl", 10)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(_done_line(i) for i in ids[:6]))
    summary = await gpt_async.bulk_file(client, tmp_path / "in.jsonl", out)
    assert (summary.already_done, summary.succeeded) == (6, 4)
    assert len(server.requests) == 4
    assert sorted(output_ids(out)) == sorted(ids)


def _done_line(custom_id: str) -> bytes:
    body = {"status_code": 200, "request_id": "r", "body": {}}
    line = {"id": "batch_req_1", "custom_id": custom_id, "response": body, "error": None}
    return json.dumps(line).encode() + b"\n"


async def test_torn_last_line_is_redone(client: AsyncGpt, tmp_path: Path) -> None:
    """A half-written last line is cut off and its id run again, exactly once."""
    ids = write_input(tmp_path / "in.jsonl", 5)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(_done_line(i) for i in ids[:3]) + _done_line(ids[3])[:25])
    summary = await gpt_async.bulk_file(client, tmp_path / "in.jsonl", out)
    assert (summary.already_done, summary.succeeded) == (3, 2)
    assert sorted(output_ids(out)) == sorted(ids)


async def test_broken_middle_line_is_refused(client: AsyncGpt, tmp_path: Path) -> None:
    """A broken line before the last is an error naming it, not silently dropped."""
    write_input(tmp_path / "in.jsonl", 2)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"garbage\n" + _done_line("id-0"))
    with pytest.raises(gpt_async.CorruptOutputError, match="line 1"):
        await gpt_async.bulk_file(client, tmp_path / "in.jsonl", out)


async def test_retry_failed_reruns_only_failed_ids(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """retry_failed drops the failed lines and runs those ids again, keeping ids unique."""
    ids = write_input(tmp_path / "in.jsonl", 4)
    out = tmp_path / "out.jsonl"
    server.enqueue(Reply.error(400, "bad"))
    first = await gpt_async.bulk_file(client, tmp_path / "in.jsonl", out, concurrency=1)
    assert first.failed == 1
    again = await gpt_async.bulk_file(client, tmp_path / "in.jsonl", out, retry_failed=True)
    assert (again.already_done, again.succeeded, again.failed) == (3, 1, 0)
    assert sorted(output_ids(out)) == sorted(ids)


async def test_shards_cover_every_id_once(client: AsyncGpt, tmp_path: Path) -> None:
    """Three shards of one input write disjoint outputs whose union is every id."""
    ids = write_input(tmp_path / "in.jsonl", 60)
    seen: list[str] = []
    for index in range(3):
        out = tmp_path / f"out{index}.jsonl"
        await gpt_async.bulk_file(client, tmp_path / "in.jsonl", out, shard=f"{index}/3")
        shard_ids = output_ids(out)
        assert 5 < len(shard_ids) < 40  # each shard takes a share
        seen += shard_ids
    assert sorted(seen) == sorted(ids)


async def test_token_budget_stops_cleanly_and_resume_goes_on(
    client: AsyncGpt, tmp_path: Path
) -> None:
    """max_tokens_total stops the run (exit code 3); a rerun with a larger cap finishes it."""
    ids = write_input(tmp_path / "in.jsonl", 30)
    out = tmp_path / "out.jsonl"
    summary = await gpt_async.bulk_file(
        client, tmp_path / "in.jsonl", out, concurrency=2, max_tokens_total=20
    )
    assert (summary.stopped_by, summary.exit_code) == ("max_tokens_total", 3)
    assert 5 <= summary.succeeded <= 7  # 4 tokens each; those in flight finish
    assert "--max-tokens-total reached" in summary.text()
    await gpt_async.bulk_file(client, tmp_path / "in.jsonl", out)
    assert sorted(output_ids(out)) == sorted(ids)


async def test_cost_budget_uses_the_price_table(client: AsyncGpt, tmp_path: Path) -> None:
    """The cost is priced per model; max_cost stops the run once reached."""
    write_input(tmp_path / "in.jsonl", 30)
    prices = {"gpt-4o": {"input": 1_000_000, "output": 2_000_000}}  # $6 per request
    summary = await gpt_async.bulk_file(
        client, tmp_path / "in.jsonl", tmp_path / "out.jsonl",
        concurrency=1, prices=prices, max_cost=20,
    )  # fmt: skip
    assert summary.stopped_by == "max_cost"
    assert summary.succeeded == 4
    assert summary.cost == pytest.approx(24.0)
    assert "cost: $24.0000" in summary.text()


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"shard": "3/3"}, "shard"),
        ({"max_cost": 1.0}, "max_cost"),
        ({"mode": "fast"}, "mode"),
        ({"prices": {"m": {"input": -1, "output": 0}}}, "prices.m.input"),
        ({"prices": {"m": {"input": 1}}}, "prices.m.output"),
        ({"progress": "loud"}, "progress"),
    ],
)
async def test_bad_options_fail_before_io(
    client: AsyncGpt, server: FakeOpenAIServer, tmp_path: Path, options: dict[str, Any], path: str
) -> None:
    """Each bad option raises a validation error naming it; nothing is sent or written."""
    write_input(tmp_path / "in.jsonl", 1)
    with pytest.raises(gpt_async.RequestValidationError) as caught:
        await gpt_async.bulk_file(client, tmp_path / "in.jsonl", tmp_path / "out.jsonl", **options)
    assert caught.value.path == path
    assert server.requests == []
    assert not (tmp_path / "out.jsonl").exists()


async def test_missing_input_fails_naming_it(client: AsyncGpt, tmp_path: Path) -> None:
    """A missing input file is a validation error naming ``input``."""
    with pytest.raises(gpt_async.RequestValidationError, match="input"):
        await gpt_async.bulk_file(client, tmp_path / "nope.jsonl", tmp_path / "out.jsonl")


async def test_wrong_key_stops_the_run_without_writing_it(tmp_path: Path) -> None:
    """A 401 ends the run with AuthenticationError; no line is written, so a rerun redoes it."""
    write_input(tmp_path / "in.jsonl", 20)
    async with (
        FakeOpenAIServer(api_key="sk-right") as server,
        AsyncGpt(api_key_auth="sk-wrong", server_url=server.url) as client,
    ):
        with pytest.raises(gpt_async.AuthenticationError):
            await gpt_async.bulk_file(client, tmp_path / "in.jsonl", tmp_path / "out.jsonl")
        assert len(server.requests) <= 16  # the first answer stopped the rest
    assert output_ids(tmp_path / "out.jsonl") == []
