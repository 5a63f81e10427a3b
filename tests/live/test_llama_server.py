"""Live: AsyncGpt and Gpt against a real llama.cpp llama-server running SmolLM2-135M.

Every test runs through both clients (the ``api`` fixture) and bounds its reply
with a small ``max_tokens``. Comparisons between two calls use greedy decoding
with ``cache_prompt: false``, which llama-server needs to answer the same
request identically every time.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

import anyio
import attrs
import cattrs
import jsonschema  # type: ignore[import-untyped]
import pytest

from gpt_async import AuthenticationError, BadRequestError, NotFoundError, ToolLoopLimitError
from gpt_async.models.components import ChatCompletionMessageToolCall

from .conftest import API_KEY

if TYPE_CHECKING:
    from gpt_async.models.components import ChatCompletion

    from .conftest import Api, LlamaServer, OpenApi

pytestmark = pytest.mark.anyio

MODEL = "smollm2-135m"  # llama-server serves its one model whatever the name
COLOURS = [{"role": "user", "content": "Name three colours."}]
COUNT = [{"role": "user", "content": "Count from one to twenty in words, separated by commas."}]
GREEDY: dict[str, Any] = {"temperature": 0, "seed": 7, "extra_body": {"cache_prompt": False}}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
# The 135M model calls a tool reliably only when asked to repeat the call verbatim.
TOOL_PROMPT = [
    {
        "role": "user",
        "content": "Reply with exactly the following and nothing else:\n"
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    }
]

PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "likes_cats": {"type": "boolean"},
    },
    "required": ["name", "age", "likes_cats"],
    "additionalProperties": False,
}


@attrs.frozen
class Person:
    """The shape ``PERSON_SCHEMA`` describes."""

    name: str
    age: int
    likes_cats: bool


def content_of(completion: ChatCompletion, index: int = 0) -> str:
    """The text of one choice, which must be there."""
    content = completion.choices[index].message.content
    assert isinstance(content, str)
    return content


# ---------------------------------------------------------------- completions


async def test_plain_completion(api: Api) -> None:
    """A plain call returns an assistant message, a finish reason and consistent usage."""
    completion = await api.create(model=MODEL, messages=COLOURS, max_tokens=16)
    assert completion.object == "chat.completion"
    assert completion.id
    [choice] = completion.choices
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert content_of(completion).strip()
    assert choice.finish_reason in {"stop", "length"}
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert 0 < completion.usage.completion_tokens <= 16
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert "timings" in completion.extra  # llama.cpp's own keys stay readable


async def test_stream_folds_into_the_unstreamed_completion(api: Api) -> None:
    """A streamed reply with include_usage folds into what the same call gives unstreamed."""
    params = {"model": MODEL, "messages": COLOURS, "max_tokens": 24, **GREEDY}
    plain = await api.create(**params)
    chunks, folded = await api.stream(**params, stream_options={"include_usage": True})
    assert len(chunks) > 2
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert content_of(folded) == content_of(plain)
    assert folded.choices[0].finish_reason == plain.choices[0].finish_reason
    assert folded.choices[0].message.role == "assistant"
    assert folded.usage is not None
    assert plain.usage is not None
    assert folded.usage.completion_tokens == plain.usage.completion_tokens
    assert folded.usage.prompt_tokens == plain.usage.prompt_tokens


async def test_max_tokens_ends_with_length(api: Api) -> None:
    """max_tokens cuts the reply at that many tokens with finish_reason "length"."""
    completion = await api.create(model=MODEL, messages=COUNT, max_tokens=3, **GREEDY)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3


async def test_stop_sequence_ends_the_reply_before_it(api: Api) -> None:
    """A stop sequence taken from the free reply ends the same reply just before it."""
    params = {"model": MODEL, "messages": COUNT, "max_tokens": 32, **GREEDY}
    free = content_of(await api.create(**params))
    words = free.split()
    assert len(words) >= 4, free
    stop = words[len(words) // 2]
    stopped = await api.create(**params, stop=[stop, "never-generated-XYZ"])
    assert stopped.choices[0].finish_reason == "stop"
    assert content_of(stopped) == free[: free.index(stop)]


async def test_logprobs_with_top_logprobs(api: Api) -> None:
    """logprobs=True with top_logprobs=3 gives one entry per token with three alternatives."""
    completion = await api.create(
        model=MODEL, messages=COLOURS, max_tokens=6, logprobs=True, top_logprobs=3, **GREEDY
    )
    logprobs = completion.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content is not None
    assert completion.usage is not None
    assert len(logprobs.content) == completion.usage.completion_tokens
    assert "".join(entry.token for entry in logprobs.content) == content_of(completion)
    for entry in logprobs.content:
        assert entry.logprob <= 0
        assert len(entry.top_logprobs) == 3
        # Greedy decoding picks the most likely token.
        assert entry.top_logprobs[0].token == entry.token


async def test_streamed_logprobs_fold_like_unstreamed(api: Api) -> None:
    """Streamed logprobs are concatenated into the same tokens as the unstreamed call."""
    params = {"model": MODEL, "messages": COLOURS, "max_tokens": 6, "logprobs": True, **GREEDY}
    plain = await api.create(**params)
    _chunks, folded = await api.stream(**params)
    plain_lp, folded_lp = plain.choices[0].logprobs, folded.choices[0].logprobs
    assert plain_lp is not None
    assert folded_lp is not None
    assert plain_lp.content is not None
    assert folded_lp.content is not None
    assert [e.token for e in folded_lp.content] == [e.token for e in plain_lp.content]


async def test_n_2_gives_two_choices(api: Api) -> None:
    """n=2 returns choices 0 and 1, unstreamed and folded from a stream alike."""
    params = {"model": MODEL, "messages": COLOURS, "max_tokens": 8, "n": 2, "seed": 3}
    completion = await api.create(**params)
    assert [choice.index for choice in completion.choices] == [0, 1]
    assert all(content_of(completion, i) for i in (0, 1))
    _chunks, folded = await api.stream(**params)
    assert [choice.index for choice in folded.choices] == [0, 1]
    assert all(content_of(folded, i) for i in (0, 1))
    assert all(choice.finish_reason in {"stop", "length"} for choice in folded.choices)


async def test_json_schema_response_format(api: Api) -> None:
    """A strict json_schema response format yields JSON valid against the schema."""
    completion = await api.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Describe a person called Ann as JSON."}],
        max_tokens=60,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "strict": True, "schema": PERSON_SCHEMA},
        },
        **GREEDY,
    )
    assert completion.choices[0].finish_reason == "stop"
    data = json.loads(content_of(completion))
    jsonschema.validate(data, PERSON_SCHEMA)
    person = cattrs.structure(data, Person)
    assert 0 <= person.age <= 120


@attrs.frozen
class Pick:
    """A choice the model makes.

    Attributes:
        colour: The colour picked.
        happy: Whether the picker is happy.
    """

    colour: Literal["red", "green", "blue"]
    happy: bool


async def test_parse_into_an_attrs_class(api: Api) -> None:
    """parse() sends the class's strict schema; the reply comes back as an instance."""
    completion = await api.parse(
        model=MODEL,
        messages=[{"role": "user", "content": "Pick a colour and say if you are happy."}],
        response_format=Pick,
        max_tokens=40,
        **GREEDY,
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Pick)
    assert parsed.colour in {"red", "green", "blue"}


# ---------------------------------------------------------------- tools


async def test_tool_call(api: Api) -> None:
    """A reply that calls a tool comes back as a parsed tool call with finish "tool_calls"."""
    completion = await api.create(
        model=MODEL, messages=TOOL_PROMPT, tools=[WEATHER_TOOL], max_tokens=40, **GREEDY
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content in {None, ""}  # llama-server sends "" where OpenAI sends null
    [call] = choice.message.tool_calls or []
    assert isinstance(call, ChatCompletionMessageToolCall)
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


async def test_streamed_tool_call_is_assembled(api: Api) -> None:
    """A streamed tool call is assembled from its fragments into the unstreamed call."""
    params = {"model": MODEL, "messages": TOOL_PROMPT, "tools": [WEATHER_TOOL], "max_tokens": 40}
    plain = await api.create(**params, **GREEDY)
    chunks, folded = await api.stream(**params, **GREEDY)
    fragments = [
        call
        for chunk in chunks
        for choice in chunk.choices
        for call in choice.delta.tool_calls or ()
    ]
    assert fragments
    choice = folded.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    [expected] = plain.choices[0].message.tool_calls or []
    assert isinstance(call, ChatCompletionMessageToolCall)
    assert isinstance(expected, ChatCompletionMessageToolCall)
    assert call.id
    assert call.function.name == expected.function.name == "get_weather"
    assert json.loads(call.function.arguments) == json.loads(expected.function.arguments)


def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: The city's name.
    """
    return f"It is sunny in {city}."


async def test_tool_loop_round(api: Api) -> None:
    """run_tools runs the model's tool call and sends the result back in a second request."""
    try:
        result = await api.run_tools(
            model=MODEL,
            messages=TOOL_PROMPT,
            tools=[get_weather],
            max_steps=2,
            max_tokens=40,
            **GREEDY,
        )
        steps, history = result.steps, result.messages
    except ToolLoopLimitError as exc:  # the tiny model may ask again: one round is enough
        steps, history = exc.steps, exc.messages
    first = steps[0]
    assert [r.content for r in first.results] == ["It is sunny in Paris."]
    assert any(_role(m) == "tool" for m in history)
    assert len(steps) >= 1


def _role(message: Any) -> str:
    return str(message["role"] if isinstance(message, dict) else message.role)


# ---------------------------------------------------------------- models


async def test_models_list_and_retrieve(api: Api) -> None:
    """llama-server lists its one model; retrieve() finds it or is a typed 404."""
    listed = await api.list_models()
    assert listed.object == "list"
    [model] = listed.data
    assert model.id
    assert model.owned_by == "llamacpp"
    assert model.object == "model"
    assert "meta" in model.extra  # llama.cpp's own details, kept
    outcome: object
    try:
        outcome = (await api.retrieve_model(model.id)).id
    except NotFoundError as exc:  # llama-server may have no GET /v1/models/{id} route
        outcome = exc.status_code
    assert outcome in {model.id, 404}


# ---------------------------------------------------------------- errors


async def test_invalid_request_is_bad_request_with_the_servers_message(api: Api) -> None:
    """A request llama-server rejects raises BadRequestError carrying its message."""
    with pytest.raises(BadRequestError) as caught:
        # Valid for OpenAI (and so for the SDK); llama-server allows n <= 4.
        await api.create(model=MODEL, messages=COLOURS, max_tokens=4, n=5)
    error = caught.value
    assert error.status_code == 400
    assert "Field 'n'" in error.message
    assert error.error is not None
    assert error.message == error.error["message"]
    assert error.code == "400"  # llama-server sends an integer code


async def test_wrong_key_is_authentication_error(
    open_api: OpenApi, llama_with_key: LlamaServer
) -> None:
    """The --api-key server answers a wrong key with 401, raised as AuthenticationError."""
    async with open_api(llama_with_key.url, "sk-live-wrong-key") as wrong:
        with pytest.raises(AuthenticationError) as caught:
            await wrong.create(model=MODEL, messages=COLOURS, max_tokens=2)
    assert caught.value.status_code == 401
    assert "invalid api key" in caught.value.message.lower()
    async with open_api(llama_with_key.url, API_KEY) as right:
        completion = await right.create(model=MODEL, messages=COLOURS, max_tokens=2)
    assert completion.choices


# ---------------------------------------------------------------- load


async def test_twenty_concurrent_requests(api: Api) -> None:
    """Twenty requests sent at once are all answered."""
    results: dict[int, ChatCompletion] = {}

    async def ask(i: int) -> None:
        messages = [{"role": "user", "content": f"What is {i} plus {i}?"}]
        results[i] = await api.create(model=MODEL, messages=messages, max_tokens=8)

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(ask, i)
    assert sorted(results) == list(range(20))
    assert all(content_of(completion) for completion in results.values())
    assert len({completion.id for completion in results.values()}) == 20
