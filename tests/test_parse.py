"""Structured outputs and the tool loop against the testing server: parse, tools, streams."""

from __future__ import annotations

import datetime
import enum
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import anyio
import attrs
import pytest

import gpt_async
from gpt_async import AsyncGpt, Gpt
from gpt_async.models import components
from gpt_async.testing import FakeOpenAIServer, Reply, StreamReply, ThreadedFakeOpenAIServer

pytestmark = pytest.mark.anyio

KEY = "sk-test"
USER = [{"role": "user", "content": "Tell me about Ada"}]


class Mood(enum.Enum):
    """How someone feels."""

    HAPPY = "happy"
    SAD = "sad"


@attrs.define
class Address:
    """A postal address.

    Attributes:
        city: The city.
    """

    city: str
    zip: str | None = None


@attrs.define
class Person:
    """A person.

    Attributes:
        name: The full name.
        age: Age in years.
    """

    name: str
    age: int
    mood: Mood
    born: datetime.date
    address: Address
    tags: list[str] = attrs.Factory(list)


ADA = {
    "name": "Ada",
    "age": 36,
    "mood": "happy",
    "born": "1815-12-10",
    "address": {"city": "London", "zip": None},
    "tags": None,
}


def completion(
    content: str | None = None,
    *,
    finish_reason: str = "stop",
    refusal: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A chat completion body with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if tool_calls:
        message["tool_calls"] = tool_calls
    choice = {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "m", "choices": [choice]}


def tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    """A function tool call as a reply carries it."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


def calls_reply(*calls: dict[str, Any]) -> Reply:
    """A reply asking for tool calls."""
    return Reply(json=completion(tool_calls=list(calls), finish_reason="tool_calls"))


def answer(text: str) -> Reply:
    """A final text reply."""
    return Reply(json=completion(text))


def chunk_events(content: str, *, finish_reason: str = "stop") -> StreamReply:
    """A stream whose content arrives in three pieces."""
    third = len(content) // 3
    pieces = [content[:third], content[third : 2 * third], content[2 * third :]]
    return StreamReply.of_content(pieces, finish_reason=finish_reason)


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server that requires ``KEY``."""
    async with FakeOpenAIServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
async def client(server: FakeOpenAIServer) -> AsyncIterator[AsyncGpt]:
    """An async client of ``server`` without retries."""
    async with AsyncGpt(api_key_auth=KEY, server_url=server.url, max_retries=0) as c:
        yield c


@pytest.fixture
def thread_server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A testing server on its own thread, for the sync client."""
    with FakeOpenAIServer.in_thread(api_key=KEY) as srv:
        yield srv


@pytest.fixture
def sync_client(thread_server: ThreadedFakeOpenAIServer) -> Iterator[Gpt]:
    """A sync client of ``thread_server``."""
    with Gpt(api_key_auth=KEY, server_url=thread_server.url, max_retries=0) as c:
        yield c


# ---------------------------------------------------------------- parse


async def test_parse_sends_strict_schema_and_parses(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """parse sends the strict json_schema format and returns the instance in ``parsed``."""
    server.enqueue(Reply(json=completion(json.dumps(ADA))))
    result = await client.chat.completions.parse(model="m", messages=USER, response_format=Person)
    person = result.choices[0].message.parsed
    assert person == Person(
        name="Ada",
        age=36,
        mood=Mood.HAPPY,
        born=datetime.date(1815, 12, 10),
        address=Address(city="London"),
    )
    assert isinstance(result, gpt_async.ParsedChatCompletion)
    assert isinstance(result, gpt_async.models.components.ChatCompletion)
    sent = server.requests[-1].json["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Person"
    assert sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"] == gpt_async.json_schema(Person)


async def test_parse_refusal_leaves_parsed_none(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A refusal is exposed as ``message.refusal`` and ``parsed`` stays None."""
    server.enqueue(Reply(json=completion(refusal="I can't help with that.")))
    result = await client.chat.completions.parse(model="m", messages=USER, response_format=Person)
    assert result.choices[0].message.parsed is None
    assert result.choices[0].message.refusal == "I can't help with that."


async def test_parse_length_cutoff_raises(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A reply cut off at the token limit raises LengthFinishReasonError with the completion."""
    server.enqueue(Reply(json=completion('{"name": "A', finish_reason="length")))
    with pytest.raises(gpt_async.LengthFinishReasonError) as info:
        await client.chat.completions.parse(model="m", messages=USER, response_format=Person)
    assert isinstance(info.value, gpt_async.FinishReasonError)
    assert isinstance(info.value, gpt_async.GptAsyncError)
    assert info.value.completion.choices[0].message.content == '{"name": "A'


async def test_parse_content_filter_raises(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A reply stopped by the content filter raises ContentFilterFinishReasonError."""
    server.enqueue(Reply(json=completion(None, finish_reason="content_filter")))
    with pytest.raises(gpt_async.ContentFilterFinishReasonError):
        await client.chat.completions.parse(model="m", messages=USER, response_format=Person)


async def test_parse_schema_mismatch_names_the_path(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """Content that does not fit the class raises OutputValidationError naming the path."""
    wrong = {**ADA, "address": {"city": 7, "zip": None}}
    server.enqueue(Reply(json=completion(json.dumps(wrong))))
    with pytest.raises(gpt_async.OutputValidationError) as info:
        await client.chat.completions.parse(model="m", messages=USER, response_format=Person)
    assert info.value.path == "$.address.city"
    assert "expected a string" in str(info.value)
    assert info.value.body == json.dumps(wrong)
    assert isinstance(info.value, gpt_async.APIResponseValidationError)


async def test_parse_invalid_json_raises(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """Content that is not JSON raises OutputValidationError at ``$``."""
    server.enqueue(Reply(json=completion("not json")))
    with pytest.raises(gpt_async.OutputValidationError) as info:
        await client.chat.completions.parse(model="m", messages=USER, response_format=Person)
    assert info.value.path == "$"


async def test_parse_missing_field_names_it(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A missing required field is reported with its path."""
    server.enqueue(Reply(json=completion(json.dumps({k: v for k, v in ADA.items() if k != "age"}))))
    with pytest.raises(gpt_async.OutputValidationError) as info:
        await client.chat.completions.parse(model="m", messages=USER, response_format=Person)
    assert info.value.path == "$.age"


async def test_parse_unsupported_type_fails_before_sending(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """A class strict mode cannot express raises SchemaError and sends nothing."""

    @attrs.define
    class Blob:
        data: bytes

    with pytest.raises(gpt_async.SchemaError) as info:
        await client.chat.completions.parse(model="m", messages=USER, response_format=Blob)
    assert info.value.path.endswith("Blob.data")
    assert server.requests == []


async def test_parsed_message_goes_back_into_messages(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """A parsed message can be appended to the next request's messages."""
    server.enqueue(Reply(json=completion(json.dumps(ADA))), answer("ok"))
    first = await client.chat.completions.parse(model="m", messages=USER, response_format=Person)
    history: list[Any] = [*USER, first.choices[0].message, {"role": "user", "content": "thanks"}]
    await client.chat.completions.create(model="m", messages=history)
    assert server.requests[-1].json["messages"][1] == {
        "role": "assistant",
        "content": json.dumps(ADA),
    }


def test_sync_parse(sync_client: Gpt, thread_server: ThreadedFakeOpenAIServer) -> None:
    """The sync client's parse returns the parsed instance too."""
    thread_server.enqueue(Reply(json=completion(json.dumps(ADA))))
    result = sync_client.chat.completions.parse(model="m", messages=USER, response_format=Person)
    assert result.choices[0].message.parsed is not None
    assert result.choices[0].message.parsed.address.city == "London"


def test_sync_parse_length_raises(
    sync_client: Gpt, thread_server: ThreadedFakeOpenAIServer
) -> None:
    """The sync client raises the same typed finish-reason error."""
    thread_server.enqueue(Reply(json=completion("{", finish_reason="length")))
    with pytest.raises(gpt_async.LengthFinishReasonError):
        sync_client.chat.completions.parse(model="m", messages=USER, response_format=Person)


# ---------------------------------------------------------------- streaming parse


async def test_parse_stream_yields_chunks_then_parsed(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """parse_stream yields the chunks and ends with the parsed completion."""
    server.enqueue(chunk_events(json.dumps(ADA)))
    async with client.chat.completions.parse_stream(
        model="m", messages=USER, response_format=Person
    ) as stream:
        pieces = [c.choices[0].delta.content async for c in stream if c.choices]
        final = await stream.get_final_completion()
    assert "".join(p or "" for p in pieces) == json.dumps(ADA)
    assert final.choices[0].message.parsed is not None
    assert final.choices[0].message.parsed.name == "Ada"
    body = server.requests[-1].json
    assert body["stream"] is True
    assert body["response_format"]["json_schema"]["name"] == "Person"


async def test_parse_stream_length_raises(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A streamed reply cut off at the token limit raises at get_final_completion."""
    server.enqueue(chunk_events('{"name": "Ada", "ag', finish_reason="length"))
    stream = await client.chat.completions.parse_stream(
        model="m", messages=USER, response_format=Person
    )
    with pytest.raises(gpt_async.LengthFinishReasonError):
        await stream.get_final_completion()


def test_sync_parse_stream(sync_client: Gpt, thread_server: ThreadedFakeOpenAIServer) -> None:
    """The sync parse stream iterates chunks and returns the parsed completion."""
    thread_server.enqueue(chunk_events(json.dumps(ADA)))
    with sync_client.chat.completions.parse_stream(
        model="m", messages=USER, response_format=Person
    ) as stream:
        chunks = list(stream)
        final = stream.get_final_completion()
    assert len(chunks) >= 4
    assert final.choices[0].message.parsed is not None
    assert final.choices[0].message.parsed.mood is Mood.HAPPY


# ---------------------------------------------------------------- tools


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Get the current weather in a city.

    Args:
        city: The city's name.
        unit: The temperature unit.
    """
    return f"18 degrees {unit} in {city}"


async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"boom: {reason}")


@attrs.define
class Lookup:
    """Look a word up.

    Attributes:
        word: The word.
    """

    word: str


def test_function_tool_definition() -> None:
    """function_tool reads the name, docstring, annotations and defaults into a strict tool."""
    tool = gpt_async.function_tool(get_weather)
    assert tool.name == "get_weather"
    assert tool.description == "Get the current weather in a city."
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name."},
            "unit": {
                "anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}],
                "description": "The temperature unit. (null for the default: 'c')",
            },
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    }
    wire = gpt_async.to_dict(tool.definition)
    assert wire["type"] == "function"
    assert wire["function"]["strict"] is True


def test_function_tool_parses_arguments() -> None:
    """parse_arguments gives keyword arguments with defaults filled in for nulls."""
    tool = gpt_async.function_tool(get_weather)
    call = gpt_async.from_dict(
        components.ChatCompletionMessageToolCall, tool_call("c1", "get_weather", {"city": "Oslo"})
    )
    assert tool.parse_arguments(call) == {"city": "Oslo", "unit": "c"}
    assert tool.parse_arguments('{"city": "Oslo", "unit": null}') == {"city": "Oslo", "unit": "c"}
    with pytest.raises(gpt_async.OutputValidationError) as info:
        tool.parse_arguments('{"city": "Oslo", "unit": "k"}')
    assert info.value.path == "$.unit"


def test_function_tool_from_attrs_class() -> None:
    """An attrs class becomes a tool whose arguments parse to an instance."""
    tool = gpt_async.function_tool(Lookup)
    assert tool.name == "Lookup"
    assert tool.description == "Look a word up."
    assert tool.function is None
    word: Lookup = tool.parse_arguments('{"word": "ox"}')
    assert word == Lookup(word="ox")


def test_function_tool_rejects_unannotated_and_variadic() -> None:
    """A parameter without annotation, or *args, raises SchemaError naming it."""

    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    def variadic(*names: str) -> None:
        return None

    with pytest.raises(gpt_async.SchemaError, match=r"untyped\.x"):
        gpt_async.function_tool(untyped)
    with pytest.raises(gpt_async.SchemaError, match=r"variadic\.names"):
        gpt_async.function_tool(variadic)


async def test_function_tool_in_create_tools(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """A FunctionTool may be passed in ``tools`` of parse as its definition."""
    server.enqueue(Reply(json=completion(json.dumps(ADA))))
    tool = gpt_async.function_tool(get_weather)
    await client.chat.completions.parse(
        model="m", messages=USER, response_format=Person, tools=[tool]
    )
    sent = server.requests[-1].json["tools"][0]
    assert sent["function"]["name"] == "get_weather"
    assert sent["function"]["parameters"] == tool.parameters


async def test_run_tools_loop(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """run_tools runs sync and async tools, sends results back and returns the answer."""
    server.enqueue(
        calls_reply(
            tool_call("c1", "get_weather", {"city": "Oslo", "unit": None}),
            tool_call("c2", "add", {"a": 2, "b": 3}),
        ),
        answer("It is 18 degrees; 2 + 3 = 5."),
    )
    seen: list[gpt_async.ToolStep] = []
    result = await client.chat.completions.run_tools(
        model="m", messages=USER, tools=[get_weather, add], on_step=seen.append
    )
    assert result.content == "It is 18 degrees; 2 + 3 = 5."
    assert [s.index for s in seen] == [0, 1]
    assert [r.content for r in seen[0].results] == ["18 degrees c in Oslo", "5"]
    assert seen[0].results[1].value == 5
    second = server.requests[1].json
    assert [t["function"]["name"] for t in second["tools"]] == ["get_weather", "add"]
    assert second["messages"][1]["role"] == "assistant"
    assert second["messages"][1]["tool_calls"][0]["id"] == "c1"
    assert second["messages"][2:] == [
        {"role": "tool", "tool_call_id": "c1", "content": "18 degrees c in Oslo"},
        {"role": "tool", "tool_call_id": "c2", "content": "5"},
    ]
    assert len(result.messages) == 5
    assert result.steps == seen


async def test_run_tools_reports_tool_errors_to_model(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """A failing tool, bad arguments and an unknown tool come back as error content."""
    server.enqueue(
        calls_reply(
            tool_call("c1", "explode", {"reason": "why"}),
            tool_call("c2", "add", {"a": "two", "b": 3}),
            tool_call("c3", "nope", {}),
        ),
        answer("sorry"),
    )
    result = await client.chat.completions.run_tools(model="m", messages=USER, tools=[explode, add])
    results = result.steps[0].results
    assert results[0].content == "Error: ValueError: boom: why"
    assert isinstance(results[0].error, ValueError)
    assert results[1].content.startswith("Error: OutputValidationError:")
    assert "$.a" in results[1].content
    assert results[2].content.startswith("Error: LookupError: no tool is named 'nope'")
    sent = [m["content"] for m in server.requests[1].json["messages"] if m["role"] == "tool"]
    assert sent == [r.content for r in results]


async def test_run_tools_step_limit(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """The loop stops after max_steps requests with ToolLoopLimitError carrying the history."""
    server.set_default(lambda _body: calls_reply(tool_call("c", "add", {"a": 1, "b": 1})))
    with pytest.raises(gpt_async.ToolLoopLimitError) as info:
        await client.chat.completions.run_tools(model="m", messages=USER, tools=[add], max_steps=3)
    assert len(server.requests) == 3
    assert len(info.value.steps) == 3
    assert info.value.messages[-1].content == "2"


async def test_run_tools_runs_async_calls_concurrently(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """The async tool calls of one reply run at the same time, in a task group."""
    running = 0
    peak = 0
    both_started = anyio.Event()

    async def slow(n: int) -> int:
        """Wait for the other call."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 2:
            both_started.set()
        with anyio.fail_after(5):
            await both_started.wait()
        running -= 1
        return n

    server.enqueue(
        calls_reply(tool_call("a", "slow", {"n": 1}), tool_call("b", "slow", {"n": 2})),
        answer("done"),
    )
    result = await client.chat.completions.run_tools(model="m", messages=USER, tools=[slow])
    assert peak == 2
    assert [r.content for r in result.steps[0].results] == ["1", "2"]


async def test_run_tools_runs_sync_tools_off_the_loop(
    client: AsyncGpt, server: FakeOpenAIServer
) -> None:
    """Sync tools run in worker threads, not on the event loop's thread."""
    threads: list[int] = []

    def where() -> str:
        """Report nothing."""
        threads.append(threading.get_ident())
        return "ok"

    server.enqueue(calls_reply(tool_call("a", "where", {})), answer("done"))
    await client.chat.completions.run_tools(model="m", messages=USER, tools=[where])
    assert threads
    assert threads[0] != threading.get_ident()


async def test_run_tools_async_on_step(client: AsyncGpt, server: FakeOpenAIServer) -> None:
    """An async on_step callback is awaited for every step."""
    seen: list[int] = []

    async def on_step(step: gpt_async.ToolStep) -> None:
        seen.append(len(step.results))

    server.enqueue(calls_reply(tool_call("a", "add", {"a": 1, "b": 2})), answer("3"))
    await client.chat.completions.run_tools(model="m", messages=USER, tools=[add], on_step=on_step)
    assert seen == [1, 0]


async def test_run_tools_rejects_tool_without_function(client: AsyncGpt) -> None:
    """A tool built from an attrs class cannot run and is rejected before sending."""
    with pytest.raises(gpt_async.RequestValidationError, match=r"tools\[0\]"):
        await client.chat.completions.run_tools(
            model="m", messages=USER, tools=[gpt_async.function_tool(Lookup)]
        )


def test_sync_run_tools(sync_client: Gpt, thread_server: ThreadedFakeOpenAIServer) -> None:
    """The sync client's run_tools runs the same loop."""
    thread_server.enqueue(
        calls_reply(tool_call("c1", "get_weather", {"city": "Rome", "unit": "f"})),
        answer("warm"),
    )
    steps: list[gpt_async.ToolStep] = []
    result = sync_client.chat.completions.run_tools(
        model="m", messages=USER, tools=[get_weather], on_step=steps.append
    )
    assert result.content == "warm"
    assert steps[0].results[0].content == "18 degrees f in Rome"
    assert thread_server.requests[1].json["messages"][-1]["content"] == "18 degrees f in Rome"


def test_sync_run_tools_step_limit(
    sync_client: Gpt, thread_server: ThreadedFakeOpenAIServer
) -> None:
    """The sync loop raises ToolLoopLimitError too."""
    thread_server.set_default(lambda _body: calls_reply(tool_call("c", "add", {"a": 1, "b": 1})))
    with pytest.raises(gpt_async.ToolLoopLimitError):
        sync_client.chat.completions.run_tools(model="m", messages=USER, tools=[add], max_steps=2)
    assert len(thread_server.requests) == 2
