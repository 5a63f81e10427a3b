"""Static typing of structured outputs and tools: checked by mypy, never run."""

from __future__ import annotations

import dataclasses
from typing import Any, TypedDict

import attrs
import pydantic
from typing_extensions import assert_type

import gpt_async


@attrs.define
class Answer:
    text: str


async def parse_is_generic(client: gpt_async.AsyncGpt) -> None:
    completion = await client.chat.completions.parse(
        model="m", messages=[{"role": "user", "content": "hi"}], response_format=Answer
    )
    assert_type(completion, gpt_async.ParsedChatCompletion[Answer])
    assert_type(completion.choices[0].message.parsed, Answer | None)
    stream = client.chat.completions.parse_stream(model="m", messages=[], response_format=Answer)
    final = await stream.get_final_completion()
    assert_type(final.choices[0].message.parsed, Answer | None)
    result = await client.chat.completions.run_tools(model="m", messages=[], tools=[len])
    assert_type(result, gpt_async.ToolRunResult)


def sync_parse_is_generic(client: gpt_async.Gpt) -> None:
    completion = client.chat.completions.parse(model="m", messages=[], response_format=Answer)
    assert_type(completion.choices[0].message.parsed, Answer | None)
    with client.chat.completions.parse_stream(
        model="m", messages=[], response_format=Answer
    ) as stream:
        assert_type(stream.get_final_completion().choices[0].message.parsed, Answer | None)


def tools_are_typed() -> None:
    assert_type(gpt_async.function_tool(Answer), gpt_async.FunctionTool[Answer])
    assert_type(gpt_async.function_tool(Answer).parse_arguments("{}"), Answer)
    tool = gpt_async.function_tool(sync_parse_is_generic)
    assert_type(tool.parse_arguments("{}"), dict[str, Any])


@dataclasses.dataclass
class DataAnswer:
    text: str


class DictAnswer(TypedDict):
    text: str


class PydanticAnswer(pydantic.BaseModel):
    text: str


async def every_kind_is_typed(client: gpt_async.AsyncGpt) -> None:
    a = await client.chat.completions.parse(model="m", messages=[], response_format=DataAnswer)
    assert_type(a.choices[0].message.parsed, DataAnswer | None)
    b = await client.chat.completions.parse(model="m", messages=[], response_format=DictAnswer)
    assert_type(b.choices[0].message.parsed, DictAnswer | None)
    c = await client.chat.completions.parse(model="m", messages=[], response_format=PydanticAnswer)
    assert_type(c.choices[0].message.parsed, PydanticAnswer | None)
    d = await client.chat.completions.parse(
        model="m", messages=[], response_format={"type": "json_object"}
    )
    assert_type(d.choices[0].message.parsed, Any | None)
    assert_type(gpt_async.function_tool(PydanticAnswer), gpt_async.FunctionTool[PydanticAnswer])


def sync_every_kind_is_typed(client: gpt_async.Gpt) -> None:
    c = client.chat.completions.parse(model="m", messages=[], response_format=PydanticAnswer)
    assert_type(c.choices[0].message.parsed, PydanticAnswer | None)
    d = client.chat.completions.parse(model="m", messages=[], response_format={"type": "text"})
    assert_type(d.choices[0].message.parsed, Any | None)
