"""OpenTelemetry GenAI spans and metrics, through both clients against the fake server.

Every test gets its own SDK tracer and meter provider (an in-memory span exporter
and metric reader) passed to the client; the process-wide providers stay unset,
and the tests of the global providers, of the API without an SDK and of the
import cost run in subprocesses.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import attrs
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gpt_async import APITimeoutError, AsyncGpt, BadRequestError, Gpt, RetryConfig
from gpt_async.testing import (
    FakeOpenAIServer,
    Fault,
    Reply,
    StreamReply,
    ThreadedFakeOpenAIServer,
)

pytestmark = pytest.mark.anyio

KEY = "sk-trace-SECRET-0123456789"
MODEL = "gpt-4o-mini"
USER = [{"role": "user", "content": "tell me a story"}]
NO_WAIT = RetryConfig(backoff_scale=0)
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


@attrs.define
class Otel:
    """An SDK tracer and meter provider with in-memory export, and readers for both."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def options(self, **extra: Any) -> dict[str, Any]:
        """Client options that send this test's telemetry here."""
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider,
                **extra}  # fmt: skip

    def spans(self, name_prefix: str = "chat") -> list[ReadableSpan]:
        """The finished spans whose name starts with ``name_prefix``."""
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(name_prefix)]

    def span(self) -> ReadableSpan:
        """The one finished chat span (fails if there are more or none)."""
        spans = self.spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def points(self, metric: str) -> list[Any]:
        """The histogram data points recorded for ``metric``."""
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for m in scope.metrics
            if m.name == metric
            for point in m.data.data_points
        ]


@pytest.fixture
def otel() -> Iterator[Otel]:
    """A fresh SDK setup per test, shut down afterwards."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Otel(tracer_provider, meter_provider, exporter, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture(autouse=True)
def _no_capture_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Content capture starts off whatever the environment running the tests says."""
    monkeypatch.delenv(CAPTURE_ENV, raising=False)


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A fake OpenAI server on this test's loop."""
    async with FakeOpenAIServer(api_key=KEY) as fake:
        yield fake


def client_for(server: FakeOpenAIServer, otel: Otel, **options: Any) -> AsyncGpt:
    """An AsyncGpt on the fake server reporting to ``otel``."""
    return AsyncGpt(api_key=KEY, server_url=server.url, **otel.options(**options))


def base_attributes(server: FakeOpenAIServer | ThreadedFakeOpenAIServer) -> dict[str, Any]:
    """The attributes every chat span and metric carries."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }


def assert_has(attributes: Any, expected: dict[str, Any]) -> None:
    """Every expected attribute is there with that value."""
    got = dict(attributes)
    for name, value in expected.items():
        assert got.get(name) == value, (name, got.get(name), value)


def usage_reply(**usage: Any) -> Reply:
    """A completion reporting cached and reasoning tokens."""
    body = {
        "id": "chatcmpl-usage",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "flex",
        "system_fingerprint": "fp_usage",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": "stop"},
            {
                "index": 1,
                "message": {"role": "assistant", "content": "b"},
                "finish_reason": "length",
            },
        ],
        "usage": {
            "prompt_tokens": 40,
            "completion_tokens": 12,
            "total_tokens": 52,
            "prompt_tokens_details": {"cached_tokens": 32},
            "completion_tokens_details": {"reasoning_tokens": 8},
            **usage,
        },
    }
    return Reply(json=body)


# ---------------------------------------------------------------------- plain calls


async def test_plain_call_records_request_response_and_usage(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """A plain call is one CLIENT span with every request, response and usage attribute."""
    server.enqueue(usage_reply())
    async with client_for(server, otel) as client:
        await client.chat.completions.create(
            model=MODEL, messages=USER, temperature=0.2, top_p=0.9, max_completion_tokens=64,
            seed=7, stop=["END", "STOP"], n=2, frequency_penalty=0.5, presence_penalty=0.25,
            response_format={"type": "json_object"}, service_tier="flex",
        )  # fmt: skip
    span = otel.span()
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert_has(span.attributes, {
        **base_attributes(server),
        "gen_ai.request.temperature": 0.2, "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 64, "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("END", "STOP"), "gen_ai.request.choice.count": 2,
        "gen_ai.request.frequency_penalty": 0.5, "gen_ai.request.presence_penalty": 0.25,
        "gen_ai.output.type": "json", "openai.request.service_tier": "flex",
        "openai.api.type": "chat_completions",
        "gen_ai.response.id": "chatcmpl-usage", "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ("stop", "length"),
        "openai.response.service_tier": "flex", "openai.response.system_fingerprint": "fp_usage",
        "gen_ai.usage.input_tokens": 40, "gen_ai.usage.output_tokens": 12,
        "gen_ai.usage.cache_read.input_tokens": 32, "gen_ai.usage.reasoning.output_tokens": 8,
    })  # fmt: skip
    for absent in ("gen_ai.request.stream", "error.type", "gen_ai.response.time_to_first_chunk"):
        assert absent not in span.attributes


async def test_plain_call_records_duration_and_token_metrics(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """The duration and token-usage histograms carry the conventions' attributes."""
    server.enqueue(usage_reply())
    async with client_for(server, otel) as client:
        await client.chat.completions.create(model=MODEL, messages=USER)
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert duration.sum > 0
    response_model = {"gen_ai.response.model": "gpt-4o-mini-2024-07-18"}
    assert_has(duration.attributes, {**base_attributes(server), **response_model})
    tokens = {
        p.attributes["gen_ai.token.type"]: p for p in otel.points("gen_ai.client.token.usage")
    }
    assert {kind: p.sum for kind, p in tokens.items()} == {"input": 40, "output": 12}
    assert_has(tokens["input"].attributes, base_attributes(server))
    assert otel.points("gen_ai.client.operation.time_to_first_chunk") == []


async def test_listing_models_makes_no_chat_span(server: FakeOpenAIServer, otel: Otel) -> None:
    """GET /models is not a chat call: it works with tracing on and makes no span."""
    async with client_for(server, otel) as client:
        listed = await client.models.list()
        await client.chat.completions.create(model=MODEL, messages=USER)
    assert [m.id for m in listed][:1] == ["gpt-4o-mini"]
    assert len(otel.spans("")) == 1
    assert otel.span().name == f"chat {MODEL}"


async def test_seed_request_form_is_traced(
    server: FakeOpenAIServer, otel: Otel, seed_request: Any
) -> None:
    """``create_chat_completion`` with the seed's request model makes the same span."""
    async with client_for(server, otel) as client:
        await client.chat.create_chat_completion(seed_request)
    span = otel.span()
    assert span.name == "chat gpt-3.5-turbo"
    assert_has(span.attributes, {"gen_ai.request.temperature": 1.0, "gen_ai.request.top_p": 1.0})
    assert "gen_ai.request.choice.count" not in span.attributes  # n=1 is the default


async def test_azure_client_names_its_provider(server: FakeOpenAIServer, otel: Otel) -> None:
    """An Azure client reports ``gen_ai.provider.name`` ``azure.ai.openai``."""
    client = AsyncGpt.azure(
        endpoint=server.origin, deployment="prod-4o", api_version="2024-10-21", api_key=KEY,
        **otel.options(),
    )  # fmt: skip
    async with client:
        await client.chat.completions.create(model=MODEL, messages=USER)
    assert otel.span().attributes["gen_ai.provider.name"] == "azure.ai.openai"


# ---------------------------------------------------------------------- tool calls


async def test_tool_call_records_tool_calls_finish_and_content(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """A tool-call reply finishes with ``tool_calls``; captured content shows the call."""
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    async with client_for(server, otel, capture_content=True) as client:
        await client.chat.completions.create(
            model=MODEL, messages=USER, tools=tools, tool_choice="required"
        )
    attributes = otel.span().attributes
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    (output,) = json.loads(attributes["gen_ai.output.messages"])
    assert output["finish_reason"] == "tool_calls"
    assert output["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "lookup", "arguments": {}}
    ]
    assert json.loads(attributes["gen_ai.tool.definitions"]) == tools


async def test_run_tools_traces_every_step(server: FakeOpenAIServer, otel: Otel) -> None:
    """The tool loop makes one chat span per request, tool results captured as responses."""

    def lookup() -> str:
        """Look something up."""
        return "found it"

    async with client_for(server, otel, capture_content=True) as client:
        server.enqueue(
            Reply(json=_tool_call_completion()),
        )
        await client.chat.completions.run_tools(model=MODEL, messages=USER, tools=[lookup])
    first, second = otel.spans()
    assert first.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert second.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    messages = json.loads(second.attributes["gen_ai.input.messages"])
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["parts"][0]["name"] == "lookup"
    assert messages[2]["parts"] == [
        {"type": "tool_call_response", "id": "call_x", "response": "found it"}
    ]


def _tool_call_completion() -> dict[str, Any]:
    call = {"id": "call_x", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return {
        "id": "chatcmpl-tool", "object": "chat.completion", "created": 0, "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
    }  # fmt: skip


# ---------------------------------------------------------------------- errors and retries


async def test_400_sets_error_type_and_status(server: FakeOpenAIServer, otel: Otel) -> None:
    """A 400 ends the span with ``error.type`` 400, status ERROR, and an errored duration."""
    server.enqueue(Reply.error(400, "bad temperature", param="temperature"))
    async with client_for(server, otel) as client:
        with pytest.raises(BadRequestError):
            await client.chat.completions.create(model=MODEL, messages=USER)
    span = otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert "bad temperature" in (span.status.description or "")
    assert_has(span.attributes, {**base_attributes(server), "error.type": "400"})
    assert "gen_ai.response.id" not in span.attributes
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "400"
    assert otel.points("gen_ai.client.token.usage") == []


async def test_429_then_retry_adds_an_event_per_retry(server: FakeOpenAIServer, otel: Otel) -> None:
    """Each retry is a span event with its reason and delay; the call then succeeds."""
    server.enqueue(
        Reply.error(429, "slow down", headers={"retry-after-ms": "250"}),
        Reply.error(503, "busy", headers={"retry-after-ms": "100"}),
    )
    async with client_for(server, otel, retry_config=NO_WAIT) as client:
        await client.chat.completions.create(model=MODEL, messages=USER)
    span = otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in span.attributes
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    assert events == [
        ("gpt_async.retry", {"gpt_async.retry.attempt": 1, "gpt_async.retry.reason": "429",
                             "gpt_async.retry.delay": 0.0}),
        ("gpt_async.retry", {"gpt_async.retry.attempt": 2, "gpt_async.retry.reason": "503",
                             "gpt_async.retry.delay": 0.0}),
    ]  # fmt: skip
    assert span.attributes["http.request.resend_count"] == 2
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-3"
    assert len(server.requests) == 3


async def test_retry_event_reports_the_real_delay(server: FakeOpenAIServer, otel: Otel) -> None:
    """The event's delay is the wait the client slept, from ``retry-after-ms``."""
    server.enqueue(Reply.error(429, "slow down", headers={"retry-after-ms": "20"}))
    async with client_for(server, otel) as client:
        await client.chat.completions.create(model=MODEL, messages=USER)
    (event,) = otel.span().events
    assert event.attributes is not None
    assert event.attributes["gpt_async.retry.delay"] == pytest.approx(0.02)


async def test_odd_extra_body_values_do_not_break_tracing(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """``extra_body`` can put any value in the body; the server's answer is what surfaces."""
    async with client_for(server, otel, capture_content=True, max_retries=0) as client:
        with pytest.raises(BadRequestError):
            await client.chat.completions.create(
                model=MODEL, messages=USER,
                extra_body={"stop": 5, "modalities": "audio", "n": "two", "tools": [1]},
            )  # fmt: skip
    span = otel.span()
    assert span.attributes["error.type"] == "400"
    assert "gen_ai.request.stop_sequences" not in span.attributes


async def test_timeout_sets_error_type_timeout(server: FakeOpenAIServer, otel: Otel) -> None:
    """A read timeout ends the span with ``error.type`` ``timeout``."""
    server.enqueue(Fault.delay_headers(2.0))
    async with client_for(server, otel, max_retries=0) as client:
        with pytest.raises(APITimeoutError):
            await client.chat.completions.create(model=MODEL, messages=USER, timeout=0.2)
    span = otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "timeout"


async def test_connection_error_names_the_exception(otel: Otel) -> None:
    """A refused connection's ``error.type`` is our exception's qualified name."""
    with anyio.fail_after(10):
        async with AsyncGpt(api_key=KEY, server_url="http://127.0.0.1:9", max_retries=0,
                            **otel.options()) as client:  # fmt: skip
            with pytest.raises(Exception, match="cannot connect"):
                await client.chat.completions.create(model=MODEL, messages=USER)
    span = otel.span()
    assert span.attributes["error.type"] == "gpt_async.APIConnectionError"
    assert span.attributes["server.port"] == 9


async def test_cancelled_call_ends_its_span_once(server: FakeOpenAIServer, otel: Otel) -> None:
    """A call cancelled while waiting for headers ends its span with ``cancelled``."""
    server.enqueue(Fault.delay_headers(5.0))
    async with client_for(server, otel) as client:
        with anyio.move_on_after(0.2):
            await client.chat.completions.create(model=MODEL, messages=USER)
    span = otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "cancelled"
    assert len(otel.points("gen_ai.client.operation.duration")) == 1


# ---------------------------------------------------------------------- streams


async def test_stream_records_first_chunk_usage_and_finish(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """A stream read to ``[DONE]`` has its usage, finish reasons and time to first chunk."""
    async with client_for(server, otel) as client:
        stream = await client.chat.completions.create(
            model=MODEL, messages=USER, stream=True, stream_options={"include_usage": True}
        )
        async with stream:
            assert otel.spans() == []  # open while the stream is
            chunks = [chunk async for chunk in stream]
    span = otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert_has(span.attributes, {
        **base_attributes(server), "gen_ai.request.stream": True,
        "gen_ai.response.id": chunks[0].id, "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ("stop",), "openai.response.service_tier": "default",
        "gen_ai.usage.input_tokens": 4, "gen_ai.usage.output_tokens": 4,
    })  # fmt: skip
    first = span.attributes["gen_ai.response.time_to_first_chunk"]
    assert isinstance(first, float)
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert 0 < first <= duration.sum  # both from the call's start, on one clock
    assert "gpt_async.stream.closed_early" not in span.attributes
    (ttfc,) = otel.points("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1
    assert_has(ttfc.attributes, base_attributes(server))
    assert sum(p.sum for p in otel.points("gen_ai.client.token.usage")) == 8


async def test_deferred_stream_is_traced_from_entry(server: FakeOpenAIServer, otel: Otel) -> None:
    """``completions.stream(...)`` starts its span when entered and ends it at ``[DONE]``."""
    async with client_for(server, otel) as client:
        stream = client.chat.completions.stream(model=MODEL, messages=USER)
        assert server.requests == []
        async with stream:
            async for _chunk in stream:
                pass
    assert otel.span().attributes["gen_ai.response.finish_reasons"] == ("stop",)


async def test_stream_error_event_sets_error_type(server: FakeOpenAIServer, otel: Otel) -> None:
    """An error event mid-stream ends the span with the error's status, as far as it got."""
    error = {"error": {"message": "overloaded", "type": "server_error", "code": 503}}
    server.enqueue(StreamReply(events=[content_chunk("hi"), error]))
    async with client_for(server, otel) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=USER, stream=True)
        with pytest.raises(Exception, match="overloaded"):
            async for _chunk in stream:
                pass
    span = otel.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "503"


async def test_stream_closed_early_ends_its_span_once(server: FakeOpenAIServer, otel: Otel) -> None:
    """``break`` then ``aclose()`` ends the span once, with what had arrived and no finish."""
    server.enqueue(StreamReply.of_content(["a", "b", "c"], delay_between=0.2))
    async with client_for(server, otel) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=USER, stream=True)
        async for _chunk in stream:
            break
        await stream.aclose()
        await stream.aclose()
        del stream
        gc.collect()
    span = otel.span()
    assert span.status.status_code is StatusCode.UNSET
    assert_has(span.attributes, {"gpt_async.stream.closed_early": True,
                                 "gen_ai.response.id": "chatcmpl-scripted"})  # fmt: skip
    assert "gen_ai.response.finish_reasons" not in span.attributes
    assert "gpt_async.stream.abandoned" not in span.attributes


async def test_abandoned_stream_ends_its_span_at_collection(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """A stream dropped without closing ends its span once when it is collected."""
    server.enqueue(StreamReply.of_content(["a", "b", "c"], delay_between=0.2))
    async with client_for(server, otel) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=USER, stream=True)
        await stream.__anext__()  # one chunk, and the stream stays open
        response = stream.response
        assert otel.spans() == []
        del stream
        gc.collect()
        assert len(otel.spans()) == 1
        assert response is not None
        response.close()  # the connection; this test is about the span
        gc.collect()
    span = otel.span()
    assert_has(span.attributes, {"gpt_async.stream.abandoned": True,
                                 "gpt_async.stream.closed_early": True})  # fmt: skip
    assert len(otel.points("gen_ai.client.operation.duration")) == 1


async def test_cancelled_stream_ends_its_span(server: FakeOpenAIServer, otel: Otel) -> None:
    """A task cancelled while reading a stream ends the span with ``cancelled``."""
    server.enqueue(StreamReply.of_content(["a", "b", "c"], delay_between=5.0))
    async with client_for(server, otel) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=USER, stream=True)
        with anyio.move_on_after(0.3):
            async for _chunk in stream:
                pass
    span = otel.span()
    assert span.attributes["error.type"] == "cancelled"
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-scripted"


async def test_stream_dropped_unread_ends_its_span_once(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """A stream never read, dropped and collected, ends its span once and frees its connection."""
    server.enqueue(StreamReply.of_content(["a", "b"], delay_between=0.2))
    async with client_for(server, otel) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=USER, stream=True)
        del stream
        gc.collect()  # on the loop's thread: the stream's finalizer closes its response now
        assert client.pool_size() == 0
    span = otel.span()
    assert_has(span.attributes, {"gpt_async.stream.abandoned": True,
                                 "gpt_async.stream.closed_early": True})  # fmt: skip
    assert len(otel.points("gen_ai.client.operation.duration")) == 1


# ---------------------------------------------------------------------- raw responses, with_options


async def test_raw_response_calls_are_traced(server: FakeOpenAIServer, otel: Otel) -> None:
    """``with_raw_response``: a plain call and a stream each make one full span."""
    async with client_for(server, otel) as client:
        raw = await client.chat.completions.with_raw_response.create(model=MODEL, messages=USER)
        completion = raw.parse()
        raw_stream = await client.chat.completions.with_raw_response.create(
            model=MODEL, messages=USER, stream=True
        )
        assert otel.spans() != []  # the plain call's span ended before the stream's
        async for _chunk in raw_stream.parse():
            pass
    plain, streamed = otel.spans()
    assert_has(plain.attributes, {**base_attributes(server), "gen_ai.response.id": completion.id,
                                  "gen_ai.response.finish_reasons": ("stop",)})  # fmt: skip
    assert_has(streamed.attributes, {"gen_ai.request.stream": True,
                                     "gen_ai.response.finish_reasons": ("stop",)})  # fmt: skip
    assert "gpt_async.stream.closed_early" not in streamed.attributes
    for span, request in zip((plain, streamed), server.requests, strict=True):
        assert f"{span.context.span_id:016x}" in request.headers["traceparent"]
    assert sum(p.count for p in otel.points("gen_ai.client.operation.duration")) == 2


async def test_with_options_shares_the_tracer_or_derives_its_own(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """with_options shares the tracer; a new URL, key header or tracing=False derives its own."""
    async with (
        client_for(server, otel) as client,
        FakeOpenAIServer(api_key=KEY) as other,
    ):
        await client.chat.completions.create(model=MODEL, messages=USER)
        same = client.with_options(timeout=30, max_retries=1)
        await same.chat.completions.create(model=MODEL, messages=USER)
        assert same._tracing is client._tracing is not None
        moved = client.with_options(server_url=other.url, api_key_header="api-key")
        await moved.chat.completions.create(model=MODEL, messages=USER)
        off = client.with_options(tracing=False)
        await off.chat.completions.create(model=MODEL, messages=USER)
        await client.chat.completions.create(model=MODEL, messages=USER)
    spans = otel.spans()
    assert len(spans) == 4
    for span in (spans[0], spans[1], spans[3]):
        assert_has(span.attributes, base_attributes(server))
    assert_has(spans[2].attributes, {"gen_ai.provider.name": "azure.ai.openai",
                                     "server.port": other.port})  # fmt: skip
    assert "traceparent" not in server.requests[-2].headers
    assert "traceparent" in server.requests[-1].headers


def content_chunk(content: str) -> dict[str, Any]:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": None}
    return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
            "choices": [choice]}  # fmt: skip


# ---------------------------------------------------------------------- content capture


async def test_content_is_not_captured_by_default(server: FakeOpenAIServer, otel: Otel) -> None:
    """Without the option or variable, no message text reaches the span."""
    async with client_for(server, otel) as client:
        await client.chat.completions.create(model=MODEL, messages=USER)
        stream = await client.chat.completions.create(model=MODEL, messages=USER, stream=True)
        async with stream:
            async for _chunk in stream:
                pass
    for span in otel.spans():
        assert not any(
            name.startswith(("gen_ai.input", "gen_ai.output.m")) for name in span.attributes
        )
        assert "story" not in json.dumps(dict(span.attributes))


async def test_content_is_captured_when_the_variable_says_true(
    server: FakeOpenAIServer, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` records input and output."""
    monkeypatch.setenv(CAPTURE_ENV, "true")
    messages = [{"role": "system", "content": "be brief"}, *USER]
    async with client_for(server, otel) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=messages, stream=True)
        async with stream:
            async for _chunk in stream:
                pass
    attributes = otel.span().attributes
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
        {"role": "user", "parts": [{"type": "text", "content": "tell me a story"}]},
    ]
    assert json.loads(attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "tell me a story"}],
         "finish_reason": "stop"},
    ]  # fmt: skip


async def test_captured_content_maps_every_part_type(server: FakeOpenAIServer, otel: Otel) -> None:
    """Images, audio, files, refusals, tool results and names become GenAI message parts."""
    user_parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}},
    ]
    messages = [
        {"role": "user", "content": user_parts, "name": "ann"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "42"}]},
    ]
    async with client_for(server, otel, capture_content=True) as client:
        await client.chat.completions.create(
            model=MODEL, messages=messages, modalities=["text", "audio"]
        )
    attributes = otel.span().attributes
    user, assistant, tool = json.loads(attributes["gen_ai.input.messages"])
    assert user == {"role": "user", "name": "ann", "parts": [
        {"type": "text", "content": "look"},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "iVBO"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/a.png"},
        {"type": "blob", "modality": "audio", "mime_type": "audio/wav", "content": "UklG"},
        {"type": "file", "modality": "document", "file_id": "file-1"},
    ]}  # fmt: skip
    assert assistant["parts"] == [{"type": "refusal", "content": "no"}]
    assert tool["parts"] == [{"type": "tool_call_response", "id": "call_1", "response": "42"}]
    assert attributes["gen_ai.output.type"] == "speech"


async def test_the_option_overrides_the_variable(
    server: FakeOpenAIServer, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``capture_content=False`` wins over the variable, ``True`` works without it."""
    monkeypatch.setenv(CAPTURE_ENV, "true")
    async with client_for(server, otel, capture_content=False) as client:
        await client.chat.completions.create(model=MODEL, messages=USER)
    assert "gen_ai.input.messages" not in otel.span().attributes
    monkeypatch.delenv(CAPTURE_ENV)
    otel.exporter.clear()
    async with client_for(server, otel, capture_content=True) as client:
        await client.chat.completions.create(model=MODEL, messages=USER)
    assert "gen_ai.output.messages" in otel.span().attributes


async def test_no_key_or_header_reaches_a_span(server: FakeOpenAIServer, otel: Otel) -> None:
    """Even with content captured and a retry, neither the key nor any header is recorded."""
    server.enqueue(Reply.error(429, f"slow {KEY[:3]}", headers={"retry-after-ms": "1"}))
    async with client_for(server, otel, capture_content=True, retry_config=NO_WAIT,
                          default_headers={"X-Custom": "header-value-42"}) as client:  # fmt: skip
        await client.chat.completions.create(model=MODEL, messages=USER)
    span = otel.span()
    dumped = json.dumps([dict(span.attributes), [dict(e.attributes or {}) for e in span.events]])
    assert KEY not in dumped
    assert "header-value-42" not in dumped
    assert "Bearer" not in dumped


# ---------------------------------------------------------------------- trace context


async def test_span_is_a_child_and_traceparent_reaches_the_server(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """The chat span's parent is the caller's span, and the server sees the chat span's id."""
    tracer = otel.tracer_provider.get_tracer("test")
    async with client_for(server, otel) as client:
        with tracer.start_as_current_span("handler") as parent:
            await client.chat.completions.create(model=MODEL, messages=USER)
    span = otel.span()
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id
    header = server.requests[-1].headers["traceparent"]
    version, trace_id, span_id, flags = header.split("-")
    assert (version, trace_id, span_id) == ("00", f"{span.context.trace_id:032x}",
                                            f"{span.context.span_id:016x}")  # fmt: skip
    assert int(flags, 16) & 1  # sampled


async def test_propagation_can_be_switched_off(server: FakeOpenAIServer, otel: Otel) -> None:
    """``propagate_trace_context=False`` sends no ``traceparent``; the span is still made."""
    async with client_for(server, otel, propagate_trace_context=False) as client:
        await client.chat.completions.create(model=MODEL, messages=USER)
    assert "traceparent" not in server.requests[-1].headers
    assert len(otel.spans()) == 1


async def test_a_callers_own_traceparent_is_kept(server: FakeOpenAIServer, otel: Otel) -> None:
    """A ``traceparent`` the caller sets explicitly is sent as given."""
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with client_for(server, otel) as client:
        await client.chat.completions.create(
            model=MODEL, messages=USER, extra_headers={"traceparent": mine}
        )
    assert server.requests[-1].headers["traceparent"] == mine


async def test_tracing_false_makes_no_span_and_sends_no_header(
    server: FakeOpenAIServer, otel: Otel
) -> None:
    """``tracing=False`` switches spans, metrics and propagation off."""
    tracer = otel.tracer_provider.get_tracer("test")
    async with client_for(server, otel, tracing=False) as client:
        with tracer.start_as_current_span("handler"):
            await client.chat.completions.create(model=MODEL, messages=USER)
    assert otel.spans() == []
    assert otel.points("gen_ai.client.operation.duration") == []
    assert "traceparent" not in server.requests[-1].headers


async def test_tracing_option_is_checked(server: FakeOpenAIServer) -> None:
    """A non-bool ``tracing`` fails at construction, naming the option."""
    with pytest.raises(Exception, match="tracing"):
        AsyncGpt(api_key=KEY, server_url=server.url, tracing="yes")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the sync client


@pytest.fixture
def thread_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A fake server on its own thread, for the sync client."""
    with FakeOpenAIServer.in_thread(api_key=KEY) as fake:
        yield fake


def sync_client(server: ThreadedFakeOpenAIServer, otel: Otel, **options: Any) -> Gpt:
    """A Gpt on the threaded fake server reporting to ``otel``."""
    return Gpt(api_key=KEY, server_url=server.url, **otel.options(**options))


def test_sync_call_is_a_child_of_the_callers_span(
    thread_server: ThreadedFakeOpenAIServer, otel: Otel
) -> None:
    """The caller's context crosses into the portal thread: parent, trace id and header."""
    tracer = otel.tracer_provider.get_tracer("test")
    with (
        sync_client(thread_server, otel) as client,
        tracer.start_as_current_span("script") as parent,
    ):
        client.chat.completions.create(model=MODEL, messages=USER, seed=3)
    span = otel.span()
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert_has(span.attributes, {**base_attributes(thread_server), "gen_ai.request.seed": 3,
                                 "gen_ai.response.finish_reasons": ("stop",)})  # fmt: skip
    header = thread_server.requests[-1].headers["traceparent"]
    assert f"{span.context.span_id:016x}" in header


def test_sync_stream_and_error(thread_server: ThreadedFakeOpenAIServer, otel: Otel) -> None:
    """Through ``Gpt``: a stream closed early ends once; a 400 sets ``error.type``."""
    thread_server.enqueue(
        StreamReply.of_content(["a", "b"], delay_between=0.2), Reply.error(400, "bad request")
    )
    with sync_client(thread_server, otel) as client:
        with client.chat.completions.create(model=MODEL, messages=USER, stream=True) as stream:
            for _chunk in stream:
                break
        stream.close()
        with pytest.raises(BadRequestError):
            client.chat.completions.create(model=MODEL, messages=USER)
    streamed, failed = otel.spans()
    assert_has(streamed.attributes, {"gen_ai.request.stream": True,
                                     "gpt_async.stream.closed_early": True})  # fmt: skip
    assert failed.attributes["error.type"] == "400"


def test_sync_retry_and_stream_to_done(thread_server: ThreadedFakeOpenAIServer, otel: Otel) -> None:
    """Through ``Gpt``: a retried stream records the retry event, usage and first chunk."""
    thread_server.enqueue(Reply.error(429, "slow", headers={"retry-after-ms": "1"}))
    with sync_client(thread_server, otel, retry_config=NO_WAIT) as client:
        stream = client.chat.completions.create(
            model=MODEL, messages=USER, stream=True, stream_options={"include_usage": True}
        )
        assert len(list(stream)) > 1
    span = otel.span()
    assert [e.name for e in span.events] == ["gpt_async.retry"]
    assert_has(span.attributes, {"gen_ai.usage.output_tokens": 4, "gen_ai.request.stream": True})
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


def test_sync_tool_call_and_timeout(thread_server: ThreadedFakeOpenAIServer, otel: Otel) -> None:
    """Through ``Gpt``: a tool call finishes with ``tool_calls``; a read timeout is ``timeout``."""
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    thread_server.enqueue(Reply(json=_tool_call_completion()), Fault.delay_headers(2.0))
    with sync_client(thread_server, otel, max_retries=0) as client:
        client.chat.completions.create(model=MODEL, messages=USER, tools=tools)
        with pytest.raises(APITimeoutError):
            client.chat.completions.create(model=MODEL, messages=USER, timeout=0.2)
    tool, timed_out = otel.spans()
    assert_has(tool.attributes, {**base_attributes(thread_server),
                                 "gen_ai.response.finish_reasons": ("tool_calls",)})  # fmt: skip
    assert timed_out.status.status_code is StatusCode.ERROR
    assert timed_out.attributes["error.type"] == "timeout"


def test_sync_stream_dropped_ends_its_span_once(
    thread_server: ThreadedFakeOpenAIServer, otel: Otel
) -> None:
    """A Gpt stream dropped after one chunk, collected on this thread, ends its span once."""
    thread_server.enqueue(StreamReply.of_content(["a", "b", "c"], delay_between=0.2))
    with sync_client(thread_server, otel) as client:
        stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True)
        next(iter(stream))
        del stream
        gc.collect()
        client.chat.completions.create(model=MODEL, messages=USER)  # after the portal's close
    streamed, plain = otel.spans()
    assert_has(streamed.attributes, {"gen_ai.request.stream": True,
                                     "gpt_async.stream.closed_early": True})  # fmt: skip
    assert "gen_ai.request.stream" not in plain.attributes
    assert sum(p.count for p in otel.points("gen_ai.client.operation.duration")) == 2


def test_sync_ctrl_c_ends_the_span_as_cancelled(interrupt: Any) -> None:
    """Ctrl-C during a sync call cancels it in the portal; its span ends once, ``cancelled``."""
    code = f"""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    import gpt_async
    from gpt_async.testing import Fault, ThreadedFakeOpenAIServer
    exporter, provider = InMemorySpanExporter(), TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with ThreadedFakeOpenAIServer() as srv:
        srv.enqueue(Fault.delay_headers(30))
        client = gpt_async.Gpt(api_key="k", server_url=srv.url, tracer_provider=provider)
        print("ready", flush=True)
        try:
            client.chat.completions.create(model="m", messages={USER!r})
        except KeyboardInterrupt:
            srv.wait_for_disconnects(1, timeout=5)
        client.close()
    print([s.attributes["error.type"] for s in exporter.get_finished_spans()])
    """
    out = interrupt(code, "ready", settle=0.5)
    assert out.strip() == "['cancelled']"


# ---------------------------------------------------------------------- processes


def _run(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_loads_no_opentelemetry() -> None:
    """``import gpt_async`` and a client with tracing off import no OpenTelemetry module."""
    out = _run("""
        import sys
        import gpt_async
        gpt_async.AsyncGpt(api_key="k", tracing=False)
        gpt_async.Gpt(api_key="k", tracing=False)
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
    """)
    assert out.strip() == "[]"


def test_otel_loads_only_once_the_app_uses_it(thread_server: ThreadedFakeOpenAIServer) -> None:
    """Calls import no OpenTelemetry until the app does; once it sets an SDK up, calls trace."""
    out = _run(f"""
        import sys
        import gpt_async
        user = [{{"role": "user", "content": "a"}}]
        client = gpt_async.Gpt(api_key={KEY!r}, server_url={thread_server.url!r})
        client.chat.completions.create(model="m", messages=user)
        print(any(m.startswith("opentelemetry") for m in sys.modules))
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter, provider = InMemorySpanExporter(), TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        with client:
            client.chat.completions.create(model="m", messages=user)
        print([s.name for s in exporter.get_finished_spans()])
    """)
    assert out.split("\n")[:2] == ["False", "['chat m']"]


def test_without_opentelemetry_calls_work_untraced(thread_server: ThreadedFakeOpenAIServer) -> None:
    """With opentelemetry not importable, clients are built and calls work, untraced."""
    out = _run(f"""
        import sys
        sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
        import gpt_async
        with gpt_async.Gpt(api_key={KEY!r}, server_url={thread_server.url!r}) as client:
            reply = client.chat.completions.create(model="m", messages=[{{"role": "user",
                                                                          "content": "hi"}}])
        print(reply.choices[0].message.content, client._async._tracing)
    """)
    assert out.split() == ["hi", "None"]
    assert "traceparent" not in thread_server.requests[-1].headers


def test_api_without_sdk_only_forwards_the_context(thread_server: ThreadedFakeOpenAIServer) -> None:
    """With the API but no SDK, no span is made and an incoming trace context flows on."""
    out = _run(f"""
        from opentelemetry import trace
        from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
        import gpt_async
        incoming = SpanContext(0x0af7651916cd43dd8448eb211c80319c, 0xb7ad6b7169203331,
                               is_remote=True, trace_flags=TraceFlags(1))
        with gpt_async.Gpt(api_key={KEY!r}, server_url={thread_server.url!r}) as client:
            client.chat.completions.create(model="m", messages=[{{"role": "user", "content": "a"}}])
            with trace.use_span(NonRecordingSpan(incoming)):
                client.chat.completions.create(model="m", messages=[{{"role": "user",
                                                                      "content": "b"}}])
        print(type(trace.get_tracer_provider()).__name__)
    """)
    assert out.strip() == "ProxyTracerProvider"
    first, second = thread_server.requests[-2:]
    assert "traceparent" not in first.headers
    assert (
        second.headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    )


def test_global_providers_are_used_by_default(thread_server: ThreadedFakeOpenAIServer) -> None:
    """Set globally after the client is built, an SDK still gets the spans and metrics."""
    out = _run(f"""
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import gpt_async
        client = gpt_async.Gpt(api_key={KEY!r}, server_url={thread_server.url!r})
        exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        with client:
            client.chat.completions.create(model="m", messages=[{{"role": "user", "content": "a"}}])
        names = [m.name for r in reader.get_metrics_data().resource_metrics
                 for s in r.scope_metrics for m in s.metrics]
        print([s.name for s in exporter.get_finished_spans()], sorted(names))
    """)
    assert out.strip() == (
        "['chat m'] ['gen_ai.client.operation.duration', 'gen_ai.client.token.usage']"
    )


# ---------------------------------------------------------------------- no leaks


async def test_many_calls_leave_no_open_span(server: FakeOpenAIServer, otel: Otel) -> None:
    """Concurrent plain and streamed calls end one span each; none is left open."""

    async def one(i: int) -> None:
        if i % 2:
            await client.chat.completions.create(model=MODEL, messages=USER)
            return
        stream = await client.chat.completions.create(model=MODEL, messages=USER, stream=True)
        async with stream:
            async for _chunk in stream:
                break

    async with client_for(server, otel) as client:
        await asyncio.gather(*(one(i) for i in range(20)))
    spans = otel.spans()
    assert len(spans) == 20
    assert len({s.context.span_id for s in spans}) == 20
    assert trace.get_current_span() is trace.INVALID_SPAN
