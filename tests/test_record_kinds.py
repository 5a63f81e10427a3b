"""Structured outputs and tools from dataclasses, TypedDicts and pydantic models, as from attrs."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal, TypedDict

import attrs
import pydantic
import pytest
from typing_extensions import NotRequired

import gpt_async
from gpt_async import AsyncGpt, json_schema
from gpt_async.testing import FakeOpenAIServer, Reply, StreamReply

pytestmark = pytest.mark.anyio

KEY = "sk-kinds"
USER = [{"role": "user", "content": "Tell me about Ada"}]
DOC = """A person.

    Attributes:
        name: The full name.
        tags: Labels.
    """


class Mood(enum.Enum):
    """How someone feels."""

    HAPPY = "happy"
    SAD = "sad"


# The same two classes in each kind: every field kind of the attrs schema tests.
@attrs.define
class Place:
    """A place."""

    city: str
    zip: str | None = None


@attrs.define
class Person:
    __doc__ = DOC
    name: str
    age: int
    height: float
    alive: bool
    mood: Mood
    kind: Literal["human", "robot"]
    born: datetime.date
    seen: datetime.datetime
    id: uuid.UUID
    home: Place
    places: list[Place]
    scores: dict[str, int]
    either: int | str
    nothing: None
    tags: list[str] = attrs.Factory(list)


@dataclasses.dataclass
class DPlace:
    """A place."""

    city: str
    zip: str | None = None


@dataclasses.dataclass
class DPerson:
    __doc__ = DOC
    name: str
    age: int
    height: float
    alive: bool
    mood: Mood
    kind: Literal["human", "robot"]
    born: datetime.date
    seen: datetime.datetime
    id: uuid.UUID
    home: DPlace
    places: list[DPlace]
    scores: dict[str, int]
    either: int | str
    nothing: None
    tags: list[str] = dataclasses.field(default_factory=list)


class TPlace(TypedDict):
    """A place."""

    city: str
    zip: NotRequired[str | None]


class TPerson(TypedDict):
    __doc__ = DOC  # type: ignore[misc]
    name: str
    age: int
    height: float
    alive: bool
    mood: Mood
    kind: Literal["human", "robot"]
    born: datetime.date
    seen: datetime.datetime
    id: uuid.UUID
    home: TPlace
    places: list[TPlace]
    scores: dict[str, int]
    either: int | str
    nothing: None
    tags: NotRequired[list[str]]


class PPlace(pydantic.BaseModel):
    """A place."""

    city: str
    zip: str | None = None


class PPerson(pydantic.BaseModel):
    __doc__ = DOC
    name: str
    age: int
    height: float
    alive: bool
    mood: Mood
    kind: Literal["human", "robot"]
    born: datetime.date
    seen: datetime.datetime
    id: uuid.UUID
    home: PPlace
    places: list[PPlace]
    scores: dict[str, int]
    either: int | str
    nothing: None
    tags: list[str] = pydantic.Field(default_factory=list)


KINDS = [DPerson, TPerson, PPerson]
IDS = ["dataclass", "TypedDict", "pydantic"]
ADA: dict[str, Any] = {
    "name": "Ada",
    "age": 36,
    "height": 1.6,
    "alive": False,
    "mood": "happy",
    "kind": "human",
    "born": "1815-12-10",
    "seen": "1852-11-27T12:00:00Z",
    "id": "12345678-1234-5678-1234-567812345678",
    "home": {"city": "London", "zip": None},
    "places": [{"city": "Paris", "zip": "75001"}],
    "scores": [{"key": "math", "value": 10}],
    "either": "x",
    "nothing": None,
    "tags": None,
}


def _renamed(schema: Any, prefix: str) -> Any:
    """The schema with ``prefix`` taken off the class names (``DPlace`` -> ``Place``)."""
    return json.loads(
        json.dumps(schema)
        .replace(f'"{prefix}Place"', '"Place"')
        .replace(f"/{prefix}Place", "/Place")
    )


@pytest.mark.parametrize("cls", KINDS, ids=IDS)
def test_schema_is_the_attrs_schema(cls: type[Any]) -> None:
    """Each kind gives the very schema of the same attrs class: strict, with descriptions."""
    assert _renamed(json_schema(cls), cls.__name__[0]) == json_schema(Person)


@pytest.mark.parametrize("cls", KINDS, ids=IDS)
def test_built_instance_is_of_the_class(cls: type[Any]) -> None:
    """The strict converter (pydantic: its own validation) builds the class from strict JSON."""
    tool = gpt_async.function_tool(cls)
    built = tool.parse_arguments(json.dumps(ADA))
    get = built.get if isinstance(built, dict) else lambda k, d=None: getattr(built, k, d)
    if cls is TPerson:
        assert isinstance(built, dict)
        assert "tags" not in built  # a NotRequired key sent as null is left out
    else:
        assert isinstance(built, cls)
        assert get("tags") == []
    assert get("born") == datetime.date(1815, 12, 10)
    assert get("mood") is Mood.HAPPY
    assert get("scores") == {"math": 10}
    assert get("id") == uuid.UUID(ADA["id"])
    home = get("home")
    assert (home["city"] if isinstance(home, dict) else home.city) == "London"


@dataclasses.dataclass
class DBytes:
    photo: bytes


class TBytes(TypedDict):
    photo: bytes


class PBytes(pydantic.BaseModel):
    photo: bytes


@pytest.mark.parametrize("cls", [DBytes, TBytes, PBytes], ids=IDS)
def test_unsupported_field_is_named(cls: type[Any]) -> None:
    """A field strict mode cannot express raises SchemaError naming it, as for attrs."""
    with pytest.raises(gpt_async.SchemaError) as caught:
        json_schema(cls)
    assert caught.value.path == f"{cls.__name__}.photo"


def test_other_types_are_refused_with_every_kind_named() -> None:
    """A plain class is refused; the message lists the four kinds."""
    with pytest.raises(gpt_async.SchemaError, match="dataclass, a TypedDict or a pydantic"):
        json_schema(int)


@pytest.mark.parametrize("cls", KINDS, ids=IDS)
@pytest.mark.parametrize(
    ("change", "path"),
    [({"age": "36"}, "$.age"), ({"home": {"city": 5}}, "$.home.city"), ({"mood": "meh"}, "$.mood")],
)
def test_mismatch_names_the_path(cls: type[Any], change: dict[str, Any], path: str) -> None:
    """JSON that does not fit raises OutputValidationError with its path."""
    tool = gpt_async.function_tool(cls)
    with pytest.raises(gpt_async.OutputValidationError) as caught:
        tool.parse_arguments(json.dumps({**ADA, **change}))
    assert caught.value.path == path


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """A testing server."""
    async with FakeOpenAIServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
async def client(server: FakeOpenAIServer) -> AsyncIterator[AsyncGpt]:
    """A client of ``server`` without retries."""
    async with AsyncGpt(api_key_auth=KEY, server_url=server.url, max_retries=0) as c:
        yield c


def _reply(content: str | None, finish: str = "stop", refusal: str | None = None) -> Reply:
    message = {"role": "assistant", "content": content, "refusal": refusal}
    choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
    return Reply(json={"id": "c", "object": "chat.completion", "model": "m", "choices": [choice]})


@pytest.mark.parametrize("cls", KINDS, ids=IDS)
async def test_parse_sends_the_schema_and_parses(
    client: AsyncGpt, server: FakeOpenAIServer, cls: type[Any]
) -> None:
    """parse() sends the strict schema and ``parsed`` is an instance of the class."""
    server.enqueue(_reply(json.dumps(ADA)))
    completion = await client.chat.completions.parse(model="m", messages=USER, response_format=cls)
    sent = server.requests[0].json["response_format"]
    assert sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"] == json_schema(cls)
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, dict if cls is TPerson else cls)
    assert "parsed" not in gpt_async.to_dict(completion)["choices"][0]["message"]


@pytest.mark.parametrize("cls", KINDS, ids=IDS)
async def test_refusal_and_cut_off(
    client: AsyncGpt, server: FakeOpenAIServer, cls: type[Any]
) -> None:
    """A refusal leaves ``parsed`` None; a length cut-off raises, for every kind."""
    server.enqueue(_reply(None, refusal="I can't"))
    server.enqueue(_reply('{"name": "A', finish="length"))
    refused = await client.chat.completions.parse(model="m", messages=USER, response_format=cls)
    assert refused.choices[0].message.parsed is None
    with pytest.raises(gpt_async.LengthFinishReasonError):
        await client.chat.completions.parse(model="m", messages=USER, response_format=cls)


@pytest.mark.parametrize("cls", KINDS, ids=IDS)
async def test_mismatch_over_http_names_the_path(
    client: AsyncGpt, server: FakeOpenAIServer, cls: type[Any]
) -> None:
    """A reply that does not fit the class raises OutputValidationError with the path."""
    server.enqueue(_reply(json.dumps({**ADA, "places": [{"city": None}]})))
    with pytest.raises(gpt_async.OutputValidationError) as caught:
        await client.chat.completions.parse(model="m", messages=USER, response_format=cls)
    assert caught.value.path == "$.places[0].city"


@pytest.mark.parametrize("cls", KINDS, ids=IDS)
async def test_parse_stream_parses(
    client: AsyncGpt, server: FakeOpenAIServer, cls: type[Any]
) -> None:
    """parse_stream() folds the chunks and parses the class."""
    text = json.dumps(ADA)
    server.enqueue(StreamReply.of_content([text[:20], text[20:]]))
    async with client.chat.completions.parse_stream(
        model="m", messages=USER, response_format=cls
    ) as stream:
        final = await stream.get_final_completion()
    assert isinstance(final.choices[0].message.parsed, dict if cls is TPerson else cls)


@pytest.mark.parametrize(
    "fmt",
    [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
    ],
)
async def test_dict_response_format_is_passed_through(
    client: AsyncGpt, server: FakeOpenAIServer, fmt: dict[str, Any]
) -> None:
    """A dict ``response_format`` is sent as it is; ``parsed`` is the decoded JSON."""
    server.enqueue(_reply('{"a": [1, null]}'))
    completion = await client.chat.completions.parse(model="m", messages=USER, response_format=fmt)
    assert server.requests[0].json["response_format"] == fmt
    assert completion.choices[0].message.parsed == {"a": [1, None]}


def test_pydantic_is_loaded_only_when_used() -> None:
    """``import gpt_async`` and an attrs structured output never import pydantic."""
    code = (
        "import sys, attrs, gpt_async\n"
        "@attrs.define\nclass A:\n    x: int\n"
        "gpt_async.json_schema(A); gpt_async.function_tool(A).parse_arguments('{\"x\": 1}')\n"
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
