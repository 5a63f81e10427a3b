"""RateLimiter in one process, against the rate-limited testing server on 127.0.0.1."""

from __future__ import annotations

import gc
import importlib.util
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import gpt_async as gpt
from gpt_async.testing import FakeOpenAIServer, RateLimits, Reply, StreamReply

pytestmark = pytest.mark.anyio

PROMPT = "one two three four five six seven eight nine ten"
MESSAGES = [{"role": "user", "content": PROMPT}]


async def _burst(client: gpt.AsyncGpt, n: int, **params: Any) -> tuple[int, int, float]:
    """Run ``n`` calls at once: (successes, 429s, seconds from the first reply to the last).

    Timing from the first reply leaves out the start of 256 tasks on a busy machine,
    which costs the same without a limiter.
    """
    counts = {"ok": 0, "limited": 0}
    replies: list[float] = []

    async def one() -> None:
        try:
            await client.chat.completions.create(
                model="m", messages=MESSAGES, max_tokens=10, **params
            )
        except gpt.RateLimitError:
            counts["limited"] += 1
        else:
            counts["ok"] += 1
            replies.append(time.monotonic())

    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(one)
    span = max(replies) - min(replies) if replies else 0.0
    return counts["ok"], counts["limited"], span


def _client(server: FakeOpenAIServer, limiter: gpt.RateLimiter | None, **options: Any) -> Any:
    return gpt.AsyncGpt(
        api_key="sk-test", server_url=server.url, max_retries=0, rate_limiter=limiter, **options
    )


@pytest.mark.parametrize(
    ("limits", "binding"),
    [
        (RateLimits(requests_per_minute=100, period=1.0), "requests"),
        (RateLimits(requests_per_minute=1000, tokens_per_minute=2000, period=1.0), "tokens"),
    ],
)
async def test_256_concurrent_calls_get_no_429_and_90_percent_of_the_limit(
    limits: RateLimits, binding: str
) -> None:
    """256 calls at once stay under the server's limit and still use >= 90% of it."""
    limiter = gpt.RateLimiter(
        requests_per_minute=limits.requests_per_minute,
        tokens_per_minute=limits.tokens_per_minute,
        period=1.0,
    )
    async with (
        FakeOpenAIServer(record=False, rate_limits=limits) as server,
        _client(server, limiter) as client,
    ):
        ok, limited, elapsed = await _burst(client, 256)
    assert (ok, limited) == (256, 0)
    per_call = 1 if binding == "requests" else 20  # the echo's usage: 10 prompt + 10 reply
    limit = limits.requests_per_minute if binding == "requests" else limits.tokens_per_minute
    assert limit is not None
    assert (ok - 1) * per_call / elapsed >= 0.9 * limit / limits.period
    assert limiter.in_flight == 0
    assert limiter.in_flight_tokens == 0


async def test_without_the_limiter_the_same_burst_draws_429s() -> None:
    """The same 256 calls without a limiter exceed the server's limit (the test can fail)."""
    limits = RateLimits(requests_per_minute=100, period=1.0)
    async with FakeOpenAIServer(record=False, rate_limits=limits) as server:
        async with _client(server, None) as client:
            _ok, limited, _elapsed = await _burst(client, 256)
        assert server.rate_limiter is not None
        assert limited > 0
        assert server.rate_limiter.refused == limited


async def test_limits_are_learned_from_headers_when_none_are_configured() -> None:
    """With no limits configured, the first reply's x-ratelimit-* headers set them."""
    limits = RateLimits(requests_per_minute=40, tokens_per_minute=5000, period=1.0)
    limiter = gpt.RateLimiter(period=1.0)
    async with FakeOpenAIServer(rate_limits=limits) as server, _client(server, limiter) as client:
        await client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=10)
        assert (limiter.requests_per_minute, limiter.tokens_per_minute) == (40, 5000)
        ok, limited, _elapsed = await _burst(client, 30)
    assert (ok, limited) == (30, 0)


async def test_the_limiter_follows_a_server_reporting_fewer_remaining_requests() -> None:
    """When someone else used the server's budget, the headers' remaining count wins."""
    limits = RateLimits(requests_per_minute=20, period=1.0)
    limiter = gpt.RateLimiter(requests_per_minute=20, period=1.0, burst=1.0)
    async with FakeOpenAIServer(rate_limits=limits) as server:
        async with _client(server, None) as other:
            await _burst(other, 18)  # another client spends most of the window
        async with _client(server, limiter) as client:
            limited = 0
            for _ in range(12):
                try:
                    await client.chat.completions.create(model="m", messages=MESSAGES)
                except gpt.RateLimitError:
                    limited += 1
    assert limited == 0


async def test_one_429_pauses_every_caller_and_spreads_the_retries() -> None:
    """A 429 with Retry-After holds back every caller of the limiter, then they go spread out."""
    limiter = gpt.RateLimiter(requests_per_minute=6000, period=60.0)
    arrivals: list[float] = []

    def handler(data: Any) -> Reply:
        arrivals.append(time.monotonic())
        return Reply(json=_completion())

    async with FakeOpenAIServer() as server:
        server.set_default(handler)
        server.enqueue(
            Reply.error(
                429, "Rate limit reached", code="rate_limit_exceeded", headers={"retry-after": "1"}
            )
        )
        async with (
            gpt.AsyncGpt(
                api_key="sk-test", server_url=server.url, max_retries=1, rate_limiter=limiter
            ) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(_call, client)
            await _until(lambda: limiter._local.paused_until > time.monotonic())  # the 429
            for _ in range(5):
                tg.start_soon(_call, client)
            await anyio.sleep(0.3)
            assert len(server.requests) == 1  # nobody went during the pause
    assert len(server.requests) == 7
    assert len(set(arrivals)) == 6
    assert max(arrivals) > min(arrivals)


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await anyio.sleep(0.01)
    raise AssertionError("the condition never held")


async def _call(client: gpt.AsyncGpt) -> None:
    await client.chat.completions.create(model="m", messages=MESSAGES)


def _completion() -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi"},
                "finish_reason": "stop",
            }
        ],
    }


@pytest.mark.parametrize("with_limiter", [True, False])
async def test_insufficient_quota_is_raised_at_once(with_limiter: bool) -> None:
    """A 429 insufficient_quota is not retried and pauses nobody: no wait refills a quota."""
    limiter = gpt.RateLimiter(requests_per_minute=600) if with_limiter else None
    quota = Reply.error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        type="insufficient_quota",
        code="insufficient_quota",
        headers={"retry-after": "20"},
    )
    async with FakeOpenAIServer() as server:
        server.enqueue(quota)
        async with gpt.AsyncGpt(
            api_key="sk-test", server_url=server.url, max_retries=3, rate_limiter=limiter
        ) as client:
            with pytest.raises(gpt.RateLimitError) as caught:
                await _call(client)
            assert caught.value.code == "insufficient_quota"
            assert len(server.requests) == 1
            await _call(client)  # the next call goes at once: no pause was set
    if limiter is not None:
        assert limiter._local.paused_until < time.monotonic()


@pytest.mark.parametrize("include_usage", [True, False])
async def test_a_stream_settles_from_its_usage_chunk_or_else_the_estimate(
    include_usage: bool,
) -> None:
    """A stream holds its reservation until it ends, then settles to its usage (or estimate)."""
    # A whole window of burst refilling slowly: the level shows what was charged.
    limiter = gpt.RateLimiter(tokens_per_minute=100_000, period=36_000.0, burst=1.0)
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        stream = await client.chat.completions.create(
            model="m",
            messages=MESSAGES,
            max_tokens=10,
            stream=True,
            stream_options={"include_usage": include_usage},
        )
        estimate = limiter.estimate(server.requests[0].json)
        assert (limiter.in_flight, limiter.in_flight_tokens) == (1, estimate)
        chunks = [chunk async for chunk in stream]
    assert (chunks[-1].usage is not None) == include_usage
    assert (limiter.in_flight, limiter.in_flight_tokens) == (0, 0)
    charged = 20 if include_usage else estimate  # the echo's usage: 10 prompt + 10 reply
    assert estimate > 20
    assert limiter._local.tokens.level == pytest.approx(100_000 - charged, abs=5)


async def test_a_cancelled_waiter_and_a_failed_call_give_their_slots_back() -> None:
    """Cancelling a caller that waits for a slot, or one in flight, releases everything."""
    limiter = gpt.RateLimiter(max_concurrency=1)
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        server.enqueue(Reply(json=_completion(), delay=30))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_call, client)
            tg.start_soon(_call, client)  # waits for the only slot
            await _until(lambda: bool(server.requests))
            assert limiter.in_flight == 1
            tg.cancel_scope.cancel()
        assert limiter.in_flight == 0
        server.enqueue(Reply.error(500, "boom"))
        with pytest.raises(gpt.InternalServerError):
            await _call(client)
        with anyio.fail_after(5):
            await _call(client)  # the slot came back each time
    assert limiter.in_flight == 0


#: A stream long enough to be abandoned in the middle: 40 events 50 ms apart.
LONG_STREAM = StreamReply.of_content(["word "] * 40, delay_between=0.05)


async def _open_created(client: gpt.AsyncGpt) -> Any:
    return await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)


async def _open_deferred(client: gpt.AsyncGpt) -> Any:
    return await client.chat.completions.stream(model="m", messages=MESSAGES)


async def _drop(stream: Any) -> None:
    await anext(stream)  # read from, but neither read to its end nor closed


async def _leave_loop_early(stream: Any) -> None:
    async for _chunk in stream:
        break


@pytest.mark.parametrize("leave", [_drop, _leave_loop_early])
@pytest.mark.parametrize("open_stream", [_open_created, _open_deferred])
async def test_an_abandoned_stream_gives_its_concurrency_slot_back(
    open_stream: Callable[[gpt.AsyncGpt], Any], leave: Callable[[Any], Any]
) -> None:
    """A stream dropped unread, or a loop over it left early, releases its max_concurrency slot."""
    limiter = gpt.RateLimiter(max_concurrency=1, tokens_per_minute=100_000)
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        server.enqueue(LONG_STREAM)
        stream = await open_stream(client)
        await anext(stream)
        assert limiter.in_flight == 1
        await leave(stream)
        del stream
        gc.collect()  # a dropped stream's finalizer runs here
        await _until(lambda: limiter.in_flight == 0)
        assert limiter.in_flight_tokens == 0
        with anyio.fail_after(5):
            await _call(client)  # the only slot is free again
    assert limiter.in_flight == 0


def test_a_sync_stream_dropped_on_another_thread_gives_its_slot_back() -> None:
    """A Gpt stream collected on the caller's thread releases its slot on the portal's loop."""
    limiter = gpt.RateLimiter(max_concurrency=1)
    with (
        FakeOpenAIServer.in_thread() as server,
        gpt.Gpt(api_key="sk-test", server_url=server.url, rate_limiter=limiter) as client,
    ):
        server.enqueue(LONG_STREAM)
        stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        next(stream)
        assert limiter.in_flight == 1
        del stream
        gc.collect()  # on this thread, not the portal's: the release is scheduled there
        for _ in range(500):
            if limiter.in_flight == 0:
                break
            time.sleep(0.01)
        assert limiter.in_flight == 0
        reply = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=2)
    assert reply.choices[0].message.content == "one two"
    assert limiter.in_flight == 0


async def test_listing_models_spends_no_chat_budget() -> None:
    """models.list() (a GET without a body) goes past the limiter: no slot, no request spent."""
    limiter = gpt.RateLimiter(requests_per_minute=60, max_concurrency=1, period=36_000.0)
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        level = limiter._local.requests.level
        listed = await client.models.list()
        assert listed.data
        assert limiter.in_flight == 0
        assert limiter._local.requests.level == level
        await _call(client)
        assert limiter._local.requests.level == pytest.approx(level - 1, abs=0.01)


def test_the_sync_client_takes_a_rate_limiter() -> None:
    """Gpt(rate_limiter=...) reserves and settles like AsyncGpt."""
    limiter = gpt.RateLimiter(requests_per_minute=6000, tokens_per_minute=1_000_000)
    with (
        FakeOpenAIServer.in_thread() as server,
        gpt.Gpt(api_key="sk-test", server_url=server.url, rate_limiter=limiter) as client,
    ):
        reply = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=3)
    assert reply.choices[0].message.content == "one two three"
    assert (limiter.in_flight, limiter.in_flight_tokens) == (0, 0)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"tokens_per_minute": "many"}, "tokens_per_minute"),
        ({"max_concurrency": 1.5}, "max_concurrency"),
        ({"burst": 2.0}, "burst"),
        ({"period": -1}, "period"),
        ({"on_redis_error": "ignore"}, "on_redis_error"),
        ({"key": ""}, "key"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    """A bad option fails at construction with an error naming it."""
    with pytest.raises((TypeError, ValueError), match=field):
        gpt.RateLimiter(**options)


def test_the_client_refuses_a_rate_limiter_of_the_wrong_type() -> None:
    """AsyncGpt(rate_limiter=...) names the option when given something else."""
    with pytest.raises(TypeError, match="rate_limiter"):
        gpt.AsyncGpt(api_key="sk-test", rate_limiter=100)  # type: ignore[arg-type]


def test_the_estimate_counts_prompt_characters_and_the_completion_cap() -> None:
    """Without tiktoken: 4 characters a token, 4 per message, 3 for the reply, plus the cap."""
    if importlib.util.find_spec("tiktoken") is not None:
        pytest.skip("tiktoken is installed: it counts instead of the estimate")
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 40}], "max_tokens": 7}
    assert gpt.RateLimiter().estimate(body) == 10 + 4 + 3 + 7
    two = {**body, "n": 2, "max_completion_tokens": 5}
    assert gpt.RateLimiter().estimate(two) == 10 + 4 + 3 + 10
    uncapped = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert gpt.RateLimiter(default_completion_tokens=100).estimate(uncapped) == 1 + 4 + 3 + 100


def test_the_repr_names_the_limits_and_never_the_redis_url() -> None:
    """The repr shows limits and the shared key, not a URL that may hold a password."""
    limiter = gpt.RateLimiter(requests_per_minute=60, redis="redis://:hunter2@db:6379/0", key="k")
    assert "hunter2" not in repr(limiter)
    assert "requests_per_minute=60" in repr(limiter)
    assert "'k'" in repr(limiter)
