"""Hostile input: header injection, unencodable text, huge requests, wrong types, and fuzzing.

Everything a caller passes is checked before a byte is sent, with an error that
names the field; everything a server sends is decoded so that only gpt_async's
own exceptions can escape.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_async import AsyncGpt, AsyncStream, Gpt, GptAsyncError, Hooks, HTTPRequest
from gpt_async._codec import structure
from gpt_async._sse import SSEDecoder
from gpt_async.models import errors
from gpt_async.models.components import ChatCompletion, ChatCompletionChunk
from gpt_async.testing import FakeOpenAIServer, ThreadedFakeOpenAIServer

pytestmark = pytest.mark.anyio

KEY = "sk-hostile-SECRET"
USER = [{"role": "user", "content": "hello"}]
CRLF = "\r\nX-Evil: 1"


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server that requires ``KEY``."""
    async with FakeOpenAIServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture(scope="module")
def thread_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A threaded testing server for the Gpt cases."""
    with ThreadedFakeOpenAIServer(api_key=KEY) as srv:
        yield srv


def set_header(name: str, value: str) -> Hooks:
    """Hooks whose before_request sets one header."""

    def hook(request: HTTPRequest) -> None:
        request.headers[name] = value

    return Hooks(before_request=[hook])


async def rotating_key() -> str:
    """A key callable that returns a key with a header injection in it."""
    return KEY + CRLF


# ---------------------------------------------------------------- header injection


@attrs.frozen
class Injection:
    """A header-injection attempt: client options, per-call options, the path the error names."""

    id: str
    options: dict[str, Any]
    call: dict[str, Any]
    path: str


INJECTIONS = (
    Injection("key-crlf", {"api_key": KEY + CRLF}, {}, "api_key_auth"),
    Injection("key-lf", {"api_key": KEY + "\nX-Evil: 1"}, {}, "api_key_auth"),
    Injection("key-nul", {"api_key": KEY + "\x00"}, {}, "api_key_auth"),
    Injection("key-callable-crlf", {"api_key": rotating_key}, {}, "api_key_auth"),
    Injection("key-non-latin1", {"api_key": KEY + "\u20ac"}, {}, "api_key_auth"),
    Injection(
        "organization-crlf", {"organization": "org" + CRLF}, {}, "headers.OpenAI-Organization"
    ),
    Injection("project-crlf", {"project": "p" + CRLF}, {}, "headers.OpenAI-Project"),
    Injection(
        "default-header-crlf", {"default_headers": {"X-App": "a" + CRLF}}, {}, "headers.X-App"
    ),
    Injection(
        "extra-header-crlf", {}, {"extra_headers": {"X-Custom": "a" + CRLF}}, "headers.X-Custom"
    ),
    Injection("extra-header-cr", {}, {"extra_headers": {"X-Custom": "a\rb"}}, "headers.X-Custom"),
    Injection("header-name-colon", {}, {"extra_headers": {"X-A: 1\r\nX-B": "v"}}, "headers.X-A"),
    Injection("header-name-space", {}, {"extra_headers": {"X A": "v"}}, "headers.X A"),
    Injection("header-value-int", {}, {"extra_headers": {"X-Num": 5}}, "headers.X-Num"),
    Injection(
        "hook-header-crlf", {"hooks": set_header("X-Hooked", "a" + CRLF)}, {}, "headers.X-Hooked"
    ),
)


@pytest.mark.parametrize("case", INJECTIONS, ids=[c.id for c in INJECTIONS])
async def test_header_injection_is_rejected_before_sending(
    server: FakeOpenAIServer, case: Injection
) -> None:
    """CR/LF (or any control character) in a header is a RequestValidationError; nothing is sent."""
    with pytest.raises(errors.RequestValidationError) as info:
        async with AsyncGpt(server_url=server.url, max_retries=0, **case.options) as client:
            await client.chat.completions.create(model="m", messages=USER, **case.call)
    assert info.value.path.startswith(case.path)
    assert KEY not in str(info.value)
    assert server.requests == []


@pytest.mark.parametrize("case", INJECTIONS, ids=[c.id for c in INJECTIONS])
def test_header_injection_is_rejected_through_gpt(
    thread_server: ThreadedFakeOpenAIServer, case: Injection
) -> None:
    """Gpt rejects the same header injections the same way."""
    thread_server.reset()
    with pytest.raises(errors.RequestValidationError) as info:  # noqa: PT012 - either step may raise
        client = Gpt(server_url=thread_server.url, max_retries=0, **case.options)
        with client:
            client.chat.completions.create(model="m", messages=USER, **case.call)
    assert info.value.path.startswith(case.path)
    assert KEY not in str(info.value)
    assert thread_server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/v1\r\nX-Evil: 1",
        "http://127.0.0.1:9/v1\nHost: evil",
        "http://127.0.0.1:9/v 1",
        "http://127.0.0.1:9/v1\x00",
        "http://exa\tmple.com/v1",
        "http://ex\ud800.com/v1",
    ],
)
def test_server_url_with_control_characters_is_rejected(url: str) -> None:
    """A server_url with CR, LF, tab, NUL, spaces or lone surrogates is refused, naming it."""
    with pytest.raises(ValueError, match="server_url"):
        AsyncGpt(api_key=KEY, server_url=url)


async def test_crlf_in_model_is_json_escaped(server: FakeOpenAIServer) -> None:
    """CR/LF in body fields are escaped in the JSON: sent as given, no header is forged."""
    hostile = "gpt-4o" + CRLF + "\r\n\r\nPOST /v1/evil HTTP/1.1"
    async with AsyncGpt(api_key=KEY, server_url=server.url) as client:
        await client.chat.completions.create(
            model=hostile, messages=[{"role": "user", "content": CRLF}], user=hostile
        )
    (recorded,) = server.requests
    assert recorded.json["model"] == recorded.json["user"] == hostile
    assert recorded.json["messages"][0]["content"] == CRLF
    assert b"\r" not in recorded.body
    assert b"\n" not in recorded.body
    assert b"\\r\\nX-Evil: 1" in recorded.body
    assert "X-Evil" not in recorded.headers
    assert recorded.path == "/v1/chat/completions"


async def test_crlf_in_query_is_percent_encoded(server: FakeOpenAIServer) -> None:
    """CR/LF in a query value travel percent-encoded and arrive intact; no header is forged."""
    async with AsyncGpt(api_key=KEY, server_url=server.url) as client:
        await client.chat.completions.create(
            model="m", messages=USER, extra_query={"tag": "a" + CRLF}
        )
    (recorded,) = server.requests
    assert recorded.query["tag"] == "a" + CRLF
    assert "X-Evil" not in recorded.headers


# ---------------------------------------------------------------- text that is not Unicode

SURROGATE = "\ud800"
ESCAPED_BYTE = b"caf\xe9".decode("utf-8", "surrogateescape")  # "caf\udce9"


@attrs.frozen
class BadText:
    """Create() keywords holding unencodable text, and the path the error names."""

    id: str
    params: dict[str, Any]
    path: str


BAD_TEXT = (
    BadText(
        "content", {"messages": [{"role": "user", "content": SURROGATE}]}, "messages[0].content"
    ),
    BadText(
        "surrogateescape-bytes",
        {"messages": [{"role": "user", "content": ESCAPED_BYTE}]},
        "messages[0].content",
    ),
    BadText(
        "content-part",
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "a" + SURROGATE}]}]},
        "messages[0].content[0].text",
    ),
    BadText(
        "message-name",
        {"messages": [{"role": "user", "content": "x", "name": SURROGATE}]},
        "messages[0].name",
    ),
    BadText(
        "second-message",
        {"messages": [*USER, {"role": "assistant", "content": "ok" + SURROGATE}]},
        "messages[1].content",
    ),
    BadText(
        "tool-arguments",
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a": "' + SURROGATE + '"}'},
                        }
                    ],
                }
            ]
        },
        "messages[0].tool_calls[0].function.arguments",
    ),
    BadText("model", {"model": "gpt" + SURROGATE}, "model"),
    BadText("user", {"user": SURROGATE}, "user"),
    BadText("stop-item", {"stop": ["ok", SURROGATE]}, "stop[1]"),
    BadText(
        "tool-description",
        {"tools": [{"type": "function", "function": {"name": "f", "description": SURROGATE}}]},
        "tools[0].function.description",
    ),
    BadText("metadata-value", {"metadata": {"k": SURROGATE}}, "metadata.k"),
    BadText("metadata-key", {"metadata": {SURROGATE: "v"}}, "metadata["),
    BadText("logit-bias-key", {"logit_bias": {SURROGATE: 1}}, "logit_bias["),
    BadText("extra-body", {"extra_body": {"x": {"y": [SURROGATE]}}}, "x.y[0]"),
    BadText("extra-query", {"extra_query": {"q": SURROGATE}}, "extra_query.q"),
)


@pytest.mark.parametrize("case", BAD_TEXT, ids=[c.id for c in BAD_TEXT])
async def test_unencodable_text_names_the_field(server: FakeOpenAIServer, case: BadText) -> None:
    """Lone surrogates anywhere give a RequestValidationError naming the field; nothing is sent."""
    params: dict[str, Any] = {"model": "m", "messages": USER, **case.params}
    async with AsyncGpt(api_key=KEY, server_url=server.url) as client:
        with pytest.raises(errors.RequestValidationError) as info:
            await client.chat.completions.create(**params)
    assert info.value.path.startswith(case.path), info.value.path
    assert "Unicode" in info.value.reason
    str(info.value).encode()  # the message itself can be printed and logged
    assert server.requests == []


# ---------------------------------------------------------------- wrong types anywhere


@attrs.frozen
class WrongType:
    """Client options and create() keywords with a wrong type, and the field the error names."""

    id: str
    params: dict[str, Any]
    field: str
    options: dict[str, Any] = attrs.field(factory=dict)


WRONG_TYPES = (
    WrongType("messages-str", {"messages": "hi"}, "messages"),
    WrongType("message-int", {"messages": [5]}, "messages[0]"),
    WrongType(
        "role-unknown", {"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"
    ),
    WrongType("role-int", {"messages": [{"role": 5, "content": "x"}]}, "messages[0].role"),
    WrongType("content-int", {"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    WrongType("content-missing", {"messages": [{"role": "user"}]}, "messages[0].content"),
    WrongType(
        "image-url-int",
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
        "messages[0].content[0].image_url",
    ),
    WrongType(
        "tool-call-id-int",
        {"messages": [{"role": "assistant", "tool_calls": [{"id": 1, "type": "function"}]}]},
        "messages[0].tool_calls[0]",
    ),
    WrongType("model-int", {"model": 5}, "model"),
    WrongType("temperature-str", {"temperature": "hot"}, "temperature"),
    WrongType("temperature-nan", {"temperature": float("nan")}, "temperature"),
    WrongType("n-float", {"n": 1.5}, "n"),
    WrongType("seed-bool", {"seed": True}, "seed"),
    WrongType("max-tokens-str", {"max_completion_tokens": "10"}, "max_completion_tokens"),
    WrongType("stop-int", {"stop": 5}, "stop"),
    WrongType("tools-str", {"tools": "x"}, "tools"),
    WrongType(
        "tool-name-int",
        {"tools": [{"type": "function", "function": {"name": 5}}]},
        "tools[0].function.name",
    ),
    WrongType("tool-choice-int", {"tool_choice": 5}, "tool_choice"),
    WrongType("response-format-type", {"response_format": {"type": 5}}, "response_format.type"),
    WrongType(
        "stream-options-str",
        {"stream_options": {"include_usage": "yes"}},
        "stream_options.include_usage",
    ),
    WrongType("logit-bias-str", {"logit_bias": {"1": "x"}}, "logit_bias.1"),
    WrongType("metadata-object", {"metadata": {"a": object()}}, "metadata.a"),
    WrongType("extra-body-object", {"extra_body": {"x": object()}}, "x"),
    WrongType("extra-body-int", {"extra_body": 5}, "extra_body"),
    WrongType("extra-headers-int", {"extra_headers": 5}, "headers"),
    WrongType("extra-query-int", {"extra_query": 5}, "extra_query"),
    WrongType("extra-query-value", {"extra_query": {"q": object()}}, "extra_query.q"),
    WrongType("retries-str", {"retries": "3"}, "retries"),
    WrongType("timeout-str", {"timeout": "slow"}, "Timeout.connect"),
    WrongType("stream-str", {"stream": "yes"}, "stream"),
    WrongType("option-api-key-int", {}, "api_key_auth", {"api_key": 5}),
    WrongType("option-retry-config-int", {}, "retry_config", {"retry_config": 3}),
    WrongType("option-max-retries-str", {}, "max_retries", {"max_retries": "2"}),
    WrongType("option-hooks-int", {}, "hooks", {"hooks": 5}),
    WrongType("option-limits-int", {}, "limits", {"limits": 5}),
    WrongType("option-default-headers-int", {}, "default_headers", {"default_headers": 5}),
    WrongType("option-default-query-list", {}, "default_query", {"default_query": ["a"]}),
    WrongType("option-timeout-negative", {}, "Timeout.connect", {"timeout": -1}),
)


@pytest.mark.parametrize("case", WRONG_TYPES, ids=[c.id for c in WRONG_TYPES])
async def test_wrong_type_names_the_field(server: FakeOpenAIServer, case: WrongType) -> None:
    """A wrong type anywhere fails before sending, with an error naming the field."""
    options = {"api_key": KEY, **case.options}
    params = {"model": "m", "messages": USER, **case.params}
    with pytest.raises((TypeError, ValueError)) as info:
        async with AsyncGpt(server_url=server.url, max_retries=0, **options) as client:
            await client.chat.completions.create(**params)
    assert case.field in str(info.value)
    assert server.requests == []


# ---------------------------------------------------------------- a huge request


async def test_hundred_thousand_messages_are_accepted(server: FakeOpenAIServer) -> None:
    """A request of 100k messages (a 3 MB body) is sent and answered, with no helper thread."""
    threads_before = {t.name for t in threading.enumerate()}
    messages = [{"role": "user", "content": f"m{i}"} for i in range(100_000)]
    async with AsyncGpt(api_key=KEY, server_url=server.url) as client:
        completion = await client.chat.completions.create(model="m", messages=messages)
    assert completion.choices[0].message.content == "m99999"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 100_000
    assert len(server.requests[0].json["messages"]) == 100_000
    assert {t.name for t in threading.enumerate()} <= threads_before


# ---------------------------------------------------------------- fuzzing what servers send

FUZZ = settings(max_examples=300, deadline=None)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
sse_pieces = st.lists(
    st.sampled_from(
        [
            b"data: ",
            b"data:",
            b"event: ",
            b"error",
            b"id: ",
            b"retry: ",
            b"99",
            b": ",
            b"\n",
            b"\r",
            b"\r\n",
            b"\n\n",
            b"\xef\xbb\xbf",
            b"\xff",
            b"\x00",
            b"[DONE]",
            b"{",
            b"}",
            b'"',
            b"x",
        ]
    )
    | st.binary(max_size=12),
    max_size=40,
)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@FUZZ
@given(pieces=sse_pieces, cuts=st.lists(st.integers(min_value=0), max_size=8))
def test_sse_decoder_never_raises_and_ignores_chunking(
    pieces: list[bytes], cuts: list[int]
) -> None:
    """Any bytes, split anywhere, decode without error to the same events as in one piece."""
    data = b"".join(pieces)
    whole = SSEDecoder()
    expected = whole.feed(data)
    chunked = SSEDecoder()
    events = [e for part in split_at(data, cuts) for e in chunked.feed(part)]
    assert events == expected
    assert chunked.close() == whole.close() == []
    assert chunked.pending == whole.pending


class BytesResponse:
    """An HTTPResponse whose body is the given pieces, for driving AsyncStream without sockets."""

    status_code = 200
    headers: dict[str, str] = {"content-type": "text/event-stream"}  # noqa: RUF012 - read-only
    url = "http://fuzz.invalid/v1/chat/completions"

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = iter(pieces)

    async def read(self) -> bytes:
        """Unused by streams."""
        return b"".join(self._pieces)

    async def read_chunk(self) -> bytes:
        """The next piece; ``b""`` at the end."""
        return next(self._pieces, b"")

    def close(self) -> None:
        """Nothing to release."""


event_data = st.one_of(
    json_values.map(json.dumps),
    st.builds(
        lambda choices: json.dumps(
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": choices,
            }
        ),
        st.lists(json_values, max_size=2),
    ),
    st.text(max_size=30),
    st.just("[DONE]"),
)


@FUZZ
@given(
    events=st.lists(
        st.tuples(st.sampled_from(["", "event: error\n", "event: ping\n"]), event_data), max_size=5
    ),
    cuts=st.lists(st.integers(min_value=0), max_size=5),
)
async def test_stream_decoding_raises_only_our_errors(
    events: list[tuple[str, str]], cuts: list[int]
) -> None:
    """A stream of arbitrary events yields chunks or raises a GptAsyncError, nothing else."""
    body = "".join(f"{prefix}data: {data}\n\n" for prefix, data in events).encode(
        "utf-8", "surrogatepass"
    )
    stream = AsyncStream.from_response(BytesResponse(split_at(body, cuts)), ChatCompletionChunk)
    try:
        async for chunk in stream:
            assert isinstance(chunk, ChatCompletionChunk)
    except GptAsyncError:
        pass


def mutated_completion() -> st.SearchStrategy[Any]:
    """A valid completion with one field replaced by arbitrary JSON."""
    base = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi", "tool_calls": []},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }

    def mutate(key: str, value: Any) -> Any:
        data = json.loads(json.dumps(base))
        where, _, leaf = key.rpartition(".")
        target = data
        for part in where.split(".") if where else []:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(leaf) if leaf.isdigit() else leaf] = value
        return data

    keys = st.sampled_from(
        [
            "id",
            "created",
            "model",
            "choices",
            "usage",
            "choices.0",
            "choices.0.message",
            "choices.0.index",
            "choices.0.finish_reason",
            "choices.0.logprobs",
            "choices.0.message.role",
            "choices.0.message.content",
            "choices.0.message.tool_calls",
            "usage.prompt_tokens",
            "usage.completion_tokens_details",
        ]
    )
    return st.builds(mutate, keys, json_values)


@FUZZ
@given(data=json_values | mutated_completion())
def test_structure_completion_raises_only_our_errors(data: Any) -> None:
    """Parsing arbitrary JSON as a ChatCompletion gives a completion or a GptAsyncError."""
    try:
        result: object = structure(data, ChatCompletion)
    except GptAsyncError as exc:
        result = exc
    assert isinstance(result, (ChatCompletion, errors.APIResponseValidationError))


@FUZZ
@given(data=json_values)
def test_structure_chunk_raises_only_our_errors(data: Any) -> None:
    """Parsing arbitrary JSON as a ChatCompletionChunk gives a chunk or a GptAsyncError."""
    try:
        result: object = structure(data, ChatCompletionChunk)
    except GptAsyncError as exc:
        result = exc
    assert isinstance(result, (ChatCompletionChunk, errors.APIResponseValidationError))


def test_deeply_nested_json_raises_our_error() -> None:
    """A response nested far beyond the recursion limit is a validation error, not a crash."""
    data: Any = "x"
    for _ in range(5000):
        data = {"content": [data]}
    with pytest.raises(errors.APIResponseValidationError):
        structure({"choices": [{"message": data}]}, ChatCompletion)
