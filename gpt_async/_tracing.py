"""OpenTelemetry GenAI spans and metrics for chat calls; the only module that imports OpenTelemetry.

The client loads this module only when tracing is on and ``opentelemetry-api`` is
installed (see ``_client._telemetry``); ``import gpt_async`` never imports it.

One chat call is one CLIENT span named ``chat {model}``, following the GenAI
semantic conventions for OpenAI (``gen_ai.*``, ``openai.*``, ``server.*``,
``error.type``), plus the ``gen_ai.client.operation.duration``,
``gen_ai.client.token.usage`` and ``gen_ai.client.operation.time_to_first_chunk``
histograms. A plain call's span ends when its completion is parsed; a stream's
span is handed to the :class:`~gpt_async.AsyncStream` and ends exactly once,
however the stream ends: ``[DONE]``, an error, ``aclose()``, cancellation, or
garbage collection (a ``weakref.finalize`` on the stream).

Without an SDK (the API's proxy providers, nothing configured) a call does no
span or metric work at all: it only forwards the caller's trace context as
``traceparent``, so the cost per request stays near zero.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast
from urllib.parse import urlsplit

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - the client checks before importing us
    if not (exc.name or "").startswith("opentelemetry"):
        raise
    raise ImportError("gpt_async tracing needs opentelemetry-api", name="opentelemetry") from exc

from ._accumulate import fold_chunks
from ._exceptions import APITimeoutError, SDKError
from ._streaming import AsyncStream
from ._version import __version__

if TYPE_CHECKING:
    from ._transport import HTTPRequest
    from .models._chunk import ChatCompletionChunk
    from .models._response import ChatCompletion, CompletionUsage

__all__ = ["CAPTURE_CONTENT_ENV", "Telemetry", "capture_from_env"]

logger = logging.getLogger("gpt_async")
H = TypeVar("H")
R = TypeVar("R")  # what the call parsed: a ChatCompletion, or a stream

#: ``true`` records the messages and completions on the span (off by default).
CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_SCOPE: Final = "gpt_async"
_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"
_SECONDS_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
_TOKEN_BUCKETS: Final = tuple(4**i for i in range(14))  # 1, 4, 16 ... 67108864
_NUMBERS: Final = (
    ("temperature", "gen_ai.request.temperature", float),
    ("top_p", "gen_ai.request.top_p", float),
    ("frequency_penalty", "gen_ai.request.frequency_penalty", float),
    ("presence_penalty", "gen_ai.request.presence_penalty", float),
    ("seed", "gen_ai.request.seed", int),
)
_OUTPUT_TYPES: Final = {"text": "text", "json_object": "json", "json_schema": "json"}
_CALL: ContextVar[_Call | None] = ContextVar("gpt_async_tracing_call", default=None)

try:  # where the API keeps the global meter provider (None until one is set)
    from opentelemetry.metrics import _internal as _metrics_state
except ImportError:  # pragma: no cover - a future API moved it: always take the SDK path
    _metrics_state = None  # type: ignore[assignment]
_PROVIDER_VARIABLES: Final = ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER")


def capture_from_env() -> bool:
    """Whether ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for content."""
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() == "true"


def _server(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return {"server.address": parts.hostname or "", "server.port": port}


class Telemetry:
    """One client's tracer, meter and settings; :meth:`call` traces one chat call.

    Args:
        server_url: The client's base URL (``server.address``/``server.port``).
        provider_name: ``gen_ai.provider.name``: ``openai`` or ``azure.ai.openai``.
        tracer_provider: A tracer provider; ``None`` uses the global one.
        meter_provider: A meter provider; ``None`` uses the global one.
        capture_content: Record messages and completions; ``None`` reads
            :data:`CAPTURE_CONTENT_ENV`.
        propagate: Send the trace context out as ``traceparent``.
    """

    def __init__(
        self,
        *,
        server_url: str,
        provider_name: str = "openai",
        tracer_provider: Any = None,
        meter_provider: Any = None,
        capture_content: bool | None = None,
        propagate: bool = True,
    ) -> None:
        # An explicit provider, or one the API loads from the environment, means an SDK.
        self._explicit = (
            tracer_provider is not None
            or meter_provider is not None
            or any(name in os.environ for name in _PROVIDER_VARIABLES)
        )
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self.capture_content = capture_from_env() if capture_content is None else capture_content
        self.propagate = propagate
        self.base: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider_name,
            **_server(server_url),
        }
        self._deployment = _deployment(server_url)
        self._tracer: trace.Tracer | None = None

    def _ready(self) -> bool:
        """Build the tracer and instruments once an SDK is there; ``False`` while none is."""
        if self._tracer is not None:
            return True
        if not self._explicit and _no_sdk():
            return False
        self._tracer = trace.get_tracer(
            _SCOPE, __version__, tracer_provider=self._tracer_provider, schema_url=_SCHEMA_URL
        )
        meter = metrics.get_meter(
            _SCOPE, __version__, meter_provider=self._meter_provider, schema_url=_SCHEMA_URL
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )  # fmt: skip
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )  # fmt: skip
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )  # fmt: skip
        return True

    async def call(
        self, send: Callable[..., Awaitable[tuple[H, R]]], request: HTTPRequest, *args: Any
    ) -> tuple[H, R]:
        """Run ``send(request, *args)`` inside a chat span; a stream's span goes to the stream."""
        if not self._ready():
            if self.propagate and otel_context.get_current():  # empty: nothing to forward
                propagate.inject(request.headers)  # an incoming trace or baggage flows on
            return await send(request, *args)
        call = _Call(self, request.json)
        token = otel_context.attach(trace.set_span_in_context(call.span))
        current = _CALL.set(call)
        try:
            if self.propagate and "traceparent" not in request.headers:
                propagate.inject(request.headers)
            response, result = await send(request, *args)
        except BaseException as exc:
            call.end(exc)
            raise
        finally:
            _CALL.reset(current)
            otel_context.detach(token)
        if isinstance(result, AsyncStream):
            result._watch(call)
        else:
            call.completed(cast("ChatCompletion", result))  # only chat calls are traced
        return response, result

    @staticmethod
    def retried(exc: BaseException, delay: float) -> None:
        """Record on the current call's span that an attempt failed and is retried."""
        call = _CALL.get()
        if call is not None:
            call.retried(exc, delay)

    def model_of(self, body: Mapping[str, Any]) -> str:
        """``gen_ai.request.model``: the body's model, else an Azure deployment's name."""
        model = body.get("model")
        return str(model) if model else self._deployment


def _no_sdk() -> bool:
    """Whether no global tracer or meter provider was set, read without calling the API.

    ``get_tracer_provider()`` costs an ``os.environ`` miss (a raised KeyError) per
    call; this is the per-request check of the API-without-SDK case, so it reads the
    API's globals instead. Should they ever move, the answer is "an SDK may be there".
    """
    return (
        getattr(trace, "_TRACER_PROVIDER", trace) is None
        and getattr(_metrics_state, "_METER_PROVIDER", trace) is None
    )


def _deployment(url: str) -> str:
    marker = "/openai/deployments/"
    path = urlsplit(url).path
    return path.split(marker, 1)[1].split("/", 1)[0] if marker in path else ""


class _Call:
    """The span and measurements of one chat call, ended exactly once.

    For a stream it is the stream's observer: :meth:`observe` sees each batch of
    chunks, :meth:`end` is called from every way the stream can finish, and a
    finalizer on the stream ends it at garbage collection.
    """

    def __init__(self, telemetry: Telemetry, body: Mapping[str, Any]) -> None:
        self._telemetry = telemetry
        self._started = time.perf_counter()
        model = telemetry.model_of(body)
        self.metric_attributes: dict[str, Any] = {**telemetry.base, "gen_ai.request.model": model}
        attributes = {**self.metric_attributes, **_request_attributes(body)}
        if telemetry.capture_content:
            attributes.update(_input_content(body))
        assert telemetry._tracer is not None
        self.span = telemetry._tracer.start_span(
            f"chat {model}" if model else "chat", kind=SpanKind.CLIENT, attributes=attributes
        )
        self._retries = 0
        # Taken by whichever end comes first, on any thread: the stream's finalizer
        # may run on whatever thread collects it while the loop closes it.
        self._ending = threading.Lock()
        self._done = False
        self._first_chunk: float | None = None
        self._chunks: list[ChatCompletionChunk] | None = None  # a stream's, so far
        # Set in one call at the end: each SDK set_attribute takes the span's lock.
        self._late: dict[str, Any] = {}
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # ------------------------------------------------------------------ plain calls

    def completed(self, completion: ChatCompletion) -> None:
        """Record a parsed completion and end the span."""
        self._record(completion)
        self._done = True
        self.end()

    def _record(self, completion: ChatCompletion) -> None:
        self._response(completion.id, completion.model, completion.service_tier,
                       completion.system_fingerprint)  # fmt: skip
        self._finish_reasons([str(c.finish_reason) for c in completion.choices if c.finish_reason])
        self._usage(completion.usage)
        if self._telemetry.capture_content and completion.choices:
            self._late["gen_ai.output.messages"] = _dumps(_output(completion))

    def retried(self, exc: BaseException, delay: float) -> None:
        """Add a retry event: which attempt failed, why, and the wait before the next."""
        self._retries += 1
        self.span.add_event(
            "gpt_async.retry",
            {
                "gpt_async.retry.attempt": self._retries,
                "gpt_async.retry.reason": error_type(exc),
                "gpt_async.retry.delay": float(delay),
            },
        )

    # ------------------------------------------------------------------ streams

    def bind(self, stream: AsyncStream[Any]) -> None:
        """Follow ``stream``: end the span if it is collected before it ends."""
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._chunks is None:
            self._chunks = []
        self._finalizer = weakref.finalize(stream, self._collected)
        self._finalizer.atexit = False

    def observe(self, chunks: list[ChatCompletionChunk], *, done: bool) -> None:
        """Take a batch of chunks; ``done`` means ``[DONE]`` arrived (the span ends)."""
        if self._ending.locked() or self._chunks is None:
            return
        if chunks and self._first_chunk is None:
            self._first_chunk = time.perf_counter() - self._started
        self._chunks += chunks
        if done:
            self._done = True
            self.end()

    def _collected(self) -> None:
        if self._ending.acquire(blocking=False):
            self._late["gpt_async.stream.abandoned"] = True
            self._end(None)

    # ------------------------------------------------------------------ the end

    def end(self, error: BaseException | None = None) -> None:
        """End the span and record the metrics, once; later calls do nothing.

        It runs inside the caller's ``aclose()``, iteration or a finalizer: a failure
        here is logged and never reaches the caller, and the span ends regardless.
        """
        if self._ending.acquire(blocking=False):  # never released: a second end does nothing
            self._end(error)

    def _end(self, error: BaseException | None) -> None:
        try:
            self._finish(error)
        except Exception:
            logger.exception("gpt_async could not record a chat span's end")
        finally:
            self.span.end()

    def _finish(self, error: BaseException | None) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._chunks is not None:  # what the stream got, as far as it went
            self._record(fold_chunks(self._chunks))
        if self._retries:
            self._late["http.request.resend_count"] = self._retries
        if self._first_chunk is not None:
            self._late["gen_ai.response.time_to_first_chunk"] = self._first_chunk
        if error is not None:
            kind = error_type(error)
            self._late["error.type"] = kind
            self.span.set_status(Status(StatusCode.ERROR, _describe(error)))
            self.metric_attributes["error.type"] = kind
        elif self._chunks is not None and not self._done:
            self._late["gpt_async.stream.closed_early"] = True
        self._record_metrics()
        self.span.set_attributes(self._late)

    def _record_metrics(self) -> None:
        telemetry, attributes = self._telemetry, self.metric_attributes
        telemetry.duration.record(time.perf_counter() - self._started, attributes)
        if self._first_chunk is not None:
            telemetry.first_chunk.record(self._first_chunk, _without_error(attributes))

    def _response(self, id: str, model: str, tier: object, fingerprint: str | None) -> None:
        attributes: dict[str, Any] = {}
        if id:
            attributes["gen_ai.response.id"] = id
        if model:
            attributes["gen_ai.response.model"] = model
            self.metric_attributes["gen_ai.response.model"] = model
        if tier:
            attributes["openai.response.service_tier"] = str(tier)
            self.metric_attributes["openai.response.service_tier"] = str(tier)
        if fingerprint:
            attributes["openai.response.system_fingerprint"] = fingerprint
        self._late.update(attributes)

    def _finish_reasons(self, reasons: list[str]) -> None:
        if reasons:
            self._late["gen_ai.response.finish_reasons"] = reasons

    def _usage(self, usage: CompletionUsage | None) -> None:
        if usage is None:
            return
        self._late.update(_usage_attributes(usage))
        attributes = _without_error(self.metric_attributes)
        for kind, count in (("input", usage.prompt_tokens), ("output", usage.completion_tokens)):
            self._telemetry.tokens.record(count, {**attributes, "gen_ai.token.type": kind})


# ---------------------------------------------------------------------- attributes


def _request_attributes(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request parameters that were set, as ``gen_ai.request.*`` and ``openai.*``."""
    attributes: dict[str, Any] = {"openai.api.type": "chat_completions"}
    if body.get("stream") is True:
        attributes["gen_ai.request.stream"] = True
    for field, name, convert in _NUMBERS:
        value = body.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[name] = convert(value)
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(limit, int):
        attributes["gen_ai.request.max_tokens"] = limit
    stop = body.get("stop")  # extra_body may have put anything in the body: check types
    if stop and isinstance(stop, (str, list)):
        stops = [stop] if isinstance(stop, str) else [str(s) for s in stop]
        attributes["gen_ai.request.stop_sequences"] = stops
    count = body.get("n")
    if isinstance(count, int) and count != 1:
        attributes["gen_ai.request.choice.count"] = count
    output = _output_type(body)
    if output:
        attributes["gen_ai.output.type"] = output
    tier = body.get("service_tier")
    if tier and tier != "auto":
        attributes["openai.request.service_tier"] = str(tier)
    return attributes


def _output_type(body: Mapping[str, Any]) -> str | None:
    modalities = body.get("modalities")
    if isinstance(modalities, list) and "audio" in modalities:
        return "speech"
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping):
        kind = str(response_format.get("type", ""))
        return _OUTPUT_TYPES.get(kind, kind or None)
    return None


def _usage_attributes(usage: CompletionUsage) -> dict[str, int]:
    attributes = {
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
    }
    prompt, completion = usage.prompt_tokens_details, usage.completion_tokens_details
    details = (
        ("gen_ai.usage.cache_read.input_tokens", prompt and prompt.cached_tokens),
        ("gen_ai.usage.cache_creation.input_tokens", prompt and prompt.cache_write_tokens),
        ("gen_ai.usage.audio.input_tokens", prompt and prompt.audio_tokens),
        ("gen_ai.usage.reasoning.output_tokens", completion and completion.reasoning_tokens),
        ("gen_ai.usage.audio.output_tokens", completion and completion.audio_tokens),
    )
    for name, value in details:
        if isinstance(value, int):
            attributes[name] = value
    return attributes


def _without_error(attributes: dict[str, Any]) -> dict[str, Any]:
    if "error.type" not in attributes:
        return attributes
    return {k: v for k, v in attributes.items() if k != "error.type"}


def error_type(exc: BaseException) -> str:
    """The low-cardinality ``error.type``: the HTTP status, ``timeout``, ``cancelled``,
    or the exception's qualified class name.
    """
    if isinstance(exc, SDKError) and exc.status_code:
        return str(exc.status_code)
    if isinstance(exc, APITimeoutError):
        return "timeout"
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
        return "cancelled"
    cls = type(exc)
    module = "gpt_async" if cls.__module__.startswith("gpt_async.") else cls.__module__
    return f"{module}.{cls.__qualname__}"


def _describe(exc: BaseException) -> str:
    # Our messages never hold the key; the server's message is cut to stay small.
    text = str(exc) or type(exc).__name__
    return text[:500]


# ---------------------------------------------------------------------- content (opt-in)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _input_content(body: Mapping[str, Any]) -> dict[str, str]:
    content = {"gen_ai.input.messages": _dumps(list(_input_messages(body.get("messages") or ())))}
    if body.get("tools"):
        content["gen_ai.tool.definitions"] = _dumps(body["tools"])
    return content


def _input_messages(messages: Iterable[Any]) -> Iterable[dict[str, Any]]:
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        role = str(message.get("role", ""))
        if role == "tool":
            parts = [_tool_response(message)]
        else:
            parts = [*_parts(message.get("content")), *_tool_calls(message.get("tool_calls"))]
        out: dict[str, Any] = {"role": role, "parts": parts}
        if message.get("name"):
            out["name"] = message["name"]
        yield out


def _tool_response(message: Mapping[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return {"type": "tool_call_response", "id": message.get("tool_call_id"), "response": content}


def _parts(content: object) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, list):
        return [_part(part) for part in content if isinstance(part, Mapping)]
    return [{"type": "text", "content": str(content)}]


def _part(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(part.get("type", ""))
    if kind == "text":
        return {"type": "text", "content": part.get("text", "")}
    if kind == "refusal":
        return {"type": "refusal", "content": part.get("refusal", "")}
    if kind == "image_url":
        url = str((part.get("image_url") or {}).get("url", ""))
        if url.startswith("data:"):
            mime, _, data = url[5:].partition(";base64,")
            return {"type": "blob", "modality": "image", "mime_type": mime, "content": data}
        return {"type": "uri", "modality": "image", "uri": url}
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        return {"type": "blob", "modality": "audio", "mime_type": f"audio/{audio.get('format')}",
                "content": audio.get("data", "")}  # fmt: skip
    if kind == "file":
        file = part.get("file") or {}
        return {"type": "file", "modality": "document", "file_id": file.get("file_id", "")}
    return {"type": kind}


def _tool_calls(calls: object) -> list[dict[str, Any]]:
    parts = []
    for call in calls if isinstance(calls, list) else ():
        if not isinstance(call, Mapping):
            continue
        function = call.get("function") or call.get("custom") or {}
        arguments = function.get("arguments", function.get("input"))
        parts.append({"type": "tool_call", "id": call.get("id"), "name": function.get("name"),
                      "arguments": _maybe_json(arguments)})  # fmt: skip
    return parts


def _maybe_json(text: object) -> object:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _output(completion: ChatCompletion) -> list[dict[str, Any]]:
    messages = []
    for choice in completion.choices:
        message = choice.message
        parts = _parts(message.content)
        if message.refusal:
            parts.append({"type": "refusal", "content": message.refusal})
        for call in message.tool_calls or ():
            function = getattr(call, "function", None) or getattr(call, "custom", None)
            arguments = getattr(function, "arguments", getattr(function, "input", None))
            parts.append({"type": "tool_call", "id": getattr(call, "id", None),
                          "name": getattr(function, "name", None),
                          "arguments": _maybe_json(arguments)})  # fmt: skip
        messages.append({"role": str(message.role), "parts": parts,
                         "finish_reason": str(choice.finish_reason or "")})  # fmt: skip
    return messages


# ---------------------------------------------------------------------- server side (FastAPI)


class ServerSpanMiddleware:
    """ASGI middleware: one SERVER span per HTTP request, joined to the caller's trace.

    The incoming ``traceparent`` (any configured propagator) is the parent, and
    the span is current while the app runs, so the chat calls an endpoint makes
    are its children and carry the trace on upstream.

    Args:
        app: The ASGI application.
        tracer_provider: A tracer provider; ``None`` uses the global one.
    """

    def __init__(self, app: Any, *, tracer_provider: Any = None) -> None:
        self.app = app
        self._tracer = trace.get_tracer(
            _SCOPE, __version__, tracer_provider=tracer_provider, schema_url=_SCHEMA_URL
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        parent = propagate.extract(headers)
        method = str(scope.get("method", "GET"))
        span = self._tracer.start_span(
            method, context=parent, kind=SpanKind.SERVER, attributes=_server_attributes(scope)
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))

        async def send_and_watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                _response_status(span, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except BaseException as exc:
            span.set_attribute("error.type", error_type(exc))
            span.set_status(Status(StatusCode.ERROR, _describe(exc)))
            raise
        finally:
            _name_by_route(span, method, scope)
            otel_context.detach(token)
            span.end()


def _server_attributes(scope: Mapping[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": str(scope.get("method", "GET")),
        "url.path": str(scope.get("path", "")),
        "url.scheme": str(scope.get("scheme", "http")),
    }
    server = scope.get("server")
    if server:
        attributes["server.address"], attributes["server.port"] = str(server[0]), int(server[1])
    return attributes


def _response_status(span: trace.Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))


def _name_by_route(span: trace.Span, method: str, scope: Mapping[str, Any]) -> None:
    # The router stores the matched route in the scope; its template keeps the name
    # low-cardinality (``POST /chat/{id}``, never the id itself).
    route = getattr(scope.get("route"), "path", None)
    if route:
        span.set_attribute("http.route", route)
        span.update_name(f"{method} {route}")
