"""The public API as a type checker sees it: checked by ``mypy --strict``, never run."""

from __future__ import annotations

from typing_extensions import assert_type

import gpt_async
from gpt_async import AsyncGpt, AsyncStream, Gpt, Stream
from gpt_async.models import components, errors, operations


async def async_api() -> None:
    async with AsyncGpt(api_key_auth="k", server_url="http://127.0.0.1:1/v1") as client:
        completion = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            temperature=0.5,
            stop=["\n"],
            timeout=gpt_async.Timeout(total=5),
            extra_body={"cache_prompt": False},
        )
        assert_type(completion, components.ChatCompletion)
        content: str | None = completion.choices[0].message.content
        await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}, completion.choices[0].message],
        )
        stream = await client.chat.completions.create(
            model=components.Model.GPT_4O_MINI,
            messages=[components.ChatCompletionRequestUserMessage(content="hi")],
            stream=True,
        )
        assert_type(stream, AsyncStream[components.ChatCompletionChunk])
        async with stream:
            async for chunk in stream:
                assert_type(chunk, components.ChatCompletionChunk)
        final = await stream.get_final_completion()
        assert_type(final, components.ChatCompletion)
        assert_type(
            await client.chat.completions.create(model="m", messages=[], stream=None),
            components.ChatCompletion,
        )
        async with client.chat.completions.stream(model="m", messages=[]) as s2:
            assert_type(s2, AsyncStream[components.ChatCompletionChunk])
        res = await client.chat.create_chat_completion(
            components.CreateChatCompletionRequest(messages=[], model=components.Two.GPT_3_5_TURBO)
        )
        assert_type(res, operations.CreateChatCompletionResponse)
        print(content, res.create_chat_completion_response)


def sync_api() -> None:
    with Gpt(api_key_auth=lambda: "rotated", max_retries=0) as client:
        completion = client.chat.completions.create(model="m", messages=[])
        assert_type(completion, components.ChatCompletion)
        stream = client.chat.completions.create(model="m", messages=[], stream=True)
        assert_type(stream, Stream[components.ChatCompletionChunk])
        with stream:
            for chunk in stream:
                assert_type(chunk, components.ChatCompletionChunk)
        assert_type(stream.get_final_completion(), components.ChatCompletion)
        assert_type(
            stream.response, gpt_async.APIResponse[Stream[components.ChatCompletionChunk]] | None
        )
        unstreamed = client.chat.completions.create(model="m", messages=[], stream=False)
        assert_type(unstreamed, components.ChatCompletion)
        assert_type(
            client.chat.completions.create(model="m", messages=[], stream=None),
            components.ChatCompletion,
        )
    try:
        pass
    except errors.SDKError as exc:
        status: int = exc.status_code
        request_id: str | None = exc.request_id
        print(status, request_id)
    config = gpt_async.RetryConfig(max_retries=3, backoff_scale=0)
    print(config, gpt_async.to_dict(completion))


async def rate_limited_api() -> None:
    limiter = gpt_async.RateLimiter(
        requests_per_minute=500, tokens_per_minute=200_000, redis="redis://127.0.0.1:6379/0"
    )
    async with AsyncGpt(rate_limiter=limiter) as client:
        await client.chat.completions.create(model="m", messages=[])
    with Gpt(rate_limiter=limiter) as sync_client:
        sync_client.chat.completions.create(model="m", messages=[])
    assert_type(limiter.estimate({"messages": []}), int)
    assert_type(limiter.shared, bool)
    await limiter.aclose()


def tracing_options() -> None:
    # The tracing keywords type-check on both clients (Gpt through ClientOptions).
    gpt_async.AsyncGpt(tracing=False, capture_content=True, propagate_trace_context=False)
    Gpt(tracing=True, tracer_provider=None, meter_provider=None, capture_content=None)


async def raw_and_options_api(client: AsyncGpt, sync: Gpt) -> None:
    raw = await client.chat.completions.with_raw_response.create(model="m", messages=[])
    assert_type(raw, gpt_async.APIResponse[components.ChatCompletion])
    assert_type(raw.parse(), components.ChatCompletion)
    assert_type(raw.rate_limits, gpt_async.RateLimitInfo)
    assert_type(raw.rate_limits.reset_tokens, float | None)
    elapsed: float = raw.elapsed
    retries: int = raw.retries_taken
    raw_stream = await client.chat.completions.with_raw_response.create(
        model="m", messages=[], stream=True
    )
    assert_type(raw_stream.parse(), AsyncStream[components.ChatCompletionChunk])
    tuned = client.with_options(timeout=5, base_url="http://127.0.0.1:1/v1")
    assert_type(tuned, AsyncGpt)
    sync_raw = sync.chat.completions.with_raw_response.create(model="m", messages=[], stream=True)
    assert_type(sync_raw.parse(), Stream[components.ChatCompletionChunk])
    assert_type(sync.with_options(max_retries=1), Gpt)
    try:
        pass
    except errors.SDKError as exc:
        assert_type(exc.rate_limits, gpt_async.RateLimitInfo)
    print(elapsed, retries)


async def deployment_api() -> None:
    async def token() -> str:
        return "entra-token"

    async with AsyncGpt.azure(
        endpoint="https://r.example",
        deployment="d",
        api_version="2024-10-21",
        azure_ad_token_provider=token,
        proxy="http://user:pass@127.0.0.1:3128",
    ) as client:
        listed = await client.models.list(timeout=5)
        assert_type(listed, components.ModelList)
        for model in listed:
            assert_type(model, components.ModelObject)
        assert_type(await client.models.retrieve("m"), components.ModelObject)
    with Gpt(trust_env=False, proxy=None) as sync_client:
        assert_type(sync_client.models.list().data, list[components.ModelObject])
        assert_type(sync_client.models.retrieve("m", retries=0), components.ModelObject)
