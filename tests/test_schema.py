"""JSON Schemas from attrs classes: every supported type, strict-mode rules, errors."""

from __future__ import annotations

import datetime
import enum
import uuid
from collections.abc import Sequence
from typing import Any, Literal, Optional, Union

import attrs
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

import gpt_async
from gpt_async import SchemaError, json_schema
from gpt_async._codec._strict import structure_output
from gpt_async._schema import parse_docstring

# The keywords OpenAI's strict mode accepts (Structured Outputs, "supported schemas").
ALLOWED_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const",
    "anyOf", "$ref", "$defs", "description", "format", "pattern", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
}  # fmt: skip
ALLOWED_FORMATS = {
    "date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid",
}  # fmt: skip


def assert_strict(schema: Any) -> None:
    """Every object is closed with all properties required; only allowed keywords occur."""
    if isinstance(schema, list):
        for item in schema:
            assert_strict(item)
        return
    if not isinstance(schema, dict):
        return
    assert set(schema) <= ALLOWED_KEYWORDS, set(schema) - ALLOWED_KEYWORDS
    if "$ref" in schema:
        assert list(schema) == ["$ref"], "strict mode takes nothing beside a $ref"
    if schema.get("type") == "object":
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
    if "format" in schema:
        assert schema["format"] in ALLOWED_FORMATS
    for key in ("properties", "$defs"):
        for sub in schema.get(key, {}).values():
            assert_strict(sub)
    for key in ("items", "anyOf"):
        if key in schema:
            assert_strict(schema[key])


def checked(cls: type[Any]) -> dict[str, Any]:
    """The schema of ``cls``, checked as JSON Schema and against the strict rules."""
    schema = json_schema(cls)
    Draft202012Validator.check_schema(schema)
    assert_strict(schema)
    assert schema["type"] == "object"
    return schema


class Color(enum.Enum):
    """A colour."""

    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    """A level."""

    LOW = 1
    HIGH = 2


@attrs.define
class Scalars:
    """Every scalar type."""

    s: str
    i: int
    f: float
    b: bool
    n: None


@attrs.define
class Moments:
    """Dates and ids."""

    at: datetime.datetime
    day: datetime.date
    clock: datetime.time
    id: uuid.UUID


@attrs.define
class Point:
    """A point.

    Attributes:
        x: The abscissa.
        y: The ordinate,
            on two lines.
    """

    x: float
    y: float = attrs.field(default=0.0, metadata={"description": "From metadata."})


@attrs.define
class Tree:
    """A recursive node."""

    value: int
    children: list[Tree]


@attrs.define
class Everything:
    """Containers, unions, literals, enums and nesting."""

    names: list[str]
    seq: Sequence[int]
    many: tuple[int, ...]
    unique: set[str]
    scores: dict[str, float]
    maybe: Optional[int]  # noqa: UP045 - the typing spelling is supported too
    either: Union[int, str]  # noqa: UP007 - the typing spelling is supported too
    pipe: str | None
    kind: Literal["a", "b"]
    mixed: Literal["x", 1, True, None]
    color: Color
    level: Level
    point: Point
    points: list[Point]
    tree: Tree
    me: Everything | None
    point_or_none: Point | None = None
    count: int = 3
    tags: list[str] = attrs.Factory(list)


def test_scalars() -> None:
    """str, int, float, bool and None map to their JSON types."""
    props = checked(Scalars)["properties"]
    assert props == {
        "s": {"type": "string"},
        "i": {"type": "integer"},
        "f": {"type": "number"},
        "b": {"type": "boolean"},
        "n": {"type": "null"},
    }


def test_moments_use_supported_formats() -> None:
    """datetime, date, time and UUID are strings with their formats."""
    props = checked(Moments)["properties"]
    assert [props[k]["format"] for k in ("at", "day", "clock", "id")] == [
        "date-time",
        "date",
        "time",
        "uuid",
    ]


def test_descriptions_from_docstring_and_metadata() -> None:
    """The summary describes the object; Attributes: and metadata describe the fields."""
    schema = checked(Point)
    assert schema["description"] == "A point."
    assert schema["properties"]["x"]["description"] == "The abscissa."
    assert schema["properties"]["y"]["description"] == "From metadata. (null for the default: 0.0)"


def test_defaults_become_nullable_and_required() -> None:
    """A field with a default is required and nullable; no default keyword appears."""
    schema = checked(Everything)
    assert schema["properties"]["count"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert schema["properties"]["point_or_none"] == {
        "anyOf": [{"$ref": "#/$defs/Point"}, {"type": "null"}]
    }
    assert "default" not in str(schema["properties"]["names"])


def test_containers_unions_literals_enums() -> None:
    """Each container, union, literal and enum has its strict shape."""
    p = checked(Everything)["properties"]
    assert p["names"] == {"type": "array", "items": {"type": "string"}}
    assert p["seq"] == p["many"] == {"type": "array", "items": {"type": "integer"}}
    assert p["unique"] == {"type": "array", "items": {"type": "string"}}
    assert p["scores"]["type"] == "array"
    assert p["scores"]["items"]["properties"] == {
        "key": {"type": "string"},
        "value": {"type": "number"},
    }
    assert p["maybe"] == p["pipe"] | {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert p["either"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert p["kind"] == {"type": "string", "enum": ["a", "b"]}
    assert p["mixed"] == {
        "anyOf": [
            {"type": "string", "enum": ["x"]},
            {"type": "integer", "enum": [1]},
            {"type": "boolean", "enum": [True]},
            {"type": "null"},
        ]
    }
    assert p["color"] == {"type": "string", "enum": ["red", "blue"]}
    assert p["level"] == {"type": "integer", "enum": [1, 2]}


def test_nested_and_recursive_classes_use_defs() -> None:
    """Nested classes are $defs once each; recursion refers to the def or to the root."""
    schema = checked(Everything)
    assert set(schema["$defs"]) == {"Point", "Tree"}
    assert schema["properties"]["point"] == {"$ref": "#/$defs/Point"}
    assert schema["properties"]["points"]["items"] == {"$ref": "#/$defs/Point"}
    assert schema["$defs"]["Tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    assert schema["properties"]["me"] == {"anyOf": [{"$ref": "#"}, {"type": "null"}]}


def test_field_description_beside_ref_wraps_it() -> None:
    """A described reference is wrapped in anyOf: strict mode allows nothing beside $ref."""

    @attrs.define
    class Holder:
        point: Point = attrs.field(metadata={"description": "Where."})

    assert checked(Holder)["properties"]["point"] == {
        "anyOf": [{"$ref": "#/$defs/Point"}],
        "description": "Where.",
    }


def test_schema_is_a_fresh_copy() -> None:
    """Changing a returned schema does not change the next one."""
    json_schema(Point)["properties"].clear()
    assert json_schema(Point)["properties"]


@attrs.define
class HasBytes:
    data: bytes


@attrs.define
class HasAny:
    value: Any


@attrs.define
class HasIntKeys:
    table: dict[int, str]


@attrs.define
class HasPair:
    pair: tuple[int, str]


@attrs.define
class Inner:
    blob: set[bytes]


@attrs.define
class Outer:
    inner: Inner


@pytest.mark.parametrize(
    ("cls", "path"),
    [
        (HasBytes, "HasBytes.data"),
        (HasAny, "HasAny.value"),
        (HasIntKeys, "HasIntKeys.table"),
        (HasPair, "HasPair.pair"),
        (Outer, "Inner.blob[]"),
    ],
)
def test_unsupported_types_name_the_field(cls: type[Any], path: str) -> None:
    """An unsupported type raises SchemaError whose path names the field."""
    with pytest.raises(SchemaError) as info:
        json_schema(cls)
    assert info.value.path == path
    assert path in str(info.value)
    assert isinstance(info.value, gpt_async.RequestValidationError)


def test_root_must_be_an_attrs_class() -> None:
    """A non-attrs root raises SchemaError."""
    with pytest.raises(SchemaError, match="attrs class"):
        json_schema(dict)


def test_round_trip_structures_every_type() -> None:
    """A value that follows the schema structures back into the class."""
    tree = {"value": 1, "children": [{"value": 2, "children": []}]}
    data = {
        "names": ["a"],
        "seq": [1, 2],
        "many": [3],
        "unique": ["u", "u"],
        "scores": [{"key": "k", "value": 1.5}],
        "maybe": None,
        "either": "s",
        "pipe": "p",
        "kind": "b",
        "mixed": True,
        "color": "blue",
        "level": 2,
        "point": {"x": 1, "y": None},
        "points": [],
        "tree": tree,
        "me": None,
        "point_or_none": None,
        "count": None,
        "tags": ["t"],
    }
    value = structure_output(data, Everything)
    assert value.unique == {"u"}
    assert value.many == (3,)
    assert value.scores == {"k": 1.5}
    assert value.either == "s"
    assert value.mixed is True
    assert value.color is Color.BLUE
    assert value.level is Level.HIGH
    assert value.point == Point(x=1.0, y=0.0)
    assert value.tree.children[0].value == 2
    assert value.count == 3


def test_structure_moments() -> None:
    """ISO strings (a trailing Z included) become datetime, date, time and UUID."""
    uid = "12345678-1234-5678-1234-567812345678"
    value = structure_output(
        {"at": "2024-05-01T10:00:00Z", "day": "2024-05-01", "clock": "10:30", "id": uid}, Moments
    )
    assert value.at == datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.timezone.utc)
    assert value.clock == datetime.time(10, 30)
    assert value.id == uuid.UUID(uid)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"s": 1, "i": 1, "f": 1, "b": True, "n": None}, "$.s"),
        ({"s": "", "i": True, "f": 1, "b": True, "n": None}, "$.i"),
        ({"s": "", "i": 1, "f": "1", "b": True, "n": None}, "$.f"),
        ({"s": "", "i": 1, "f": 1, "b": 1, "n": None}, "$.b"),
        ({"s": "", "i": 1, "f": 1, "b": True, "n": 0}, "$.n"),
        ({"s": "", "i": 1, "f": 1, "b": True}, "$.n"),
    ],
)
def test_structure_is_strict_about_json_types(data: dict[str, Any], path: str) -> None:
    """A value of the wrong JSON type raises OutputValidationError at its path."""
    with pytest.raises(gpt_async.OutputValidationError) as info:
        structure_output(data, Scalars)
    assert info.value.path == path


def test_structure_rejects_unknown_enum_value() -> None:
    """Enums and literals are closed when parsing structured output."""
    with pytest.raises(gpt_async.OutputValidationError) as info:
        structure_output({"x": 1, "y": 2, "c": "green"}, ColorPoint)
    assert info.value.path == "$.c"


@attrs.define
class ColorPoint:
    x: int
    y: int
    c: Color


@attrs.define
class Cat:
    name: str
    lives: int


@attrs.define
class Dog:
    name: str
    good: bool


@attrs.define
class Pet:
    pet: Cat | Dog


def test_union_of_classes_picks_the_class_with_those_keys() -> None:
    """A union of classes builds the member whose fields name the keys."""
    assert structure_output({"pet": {"name": "Rex", "good": True}}, Pet).pet == Dog("Rex", True)
    assert structure_output({"pet": {"name": "Tom", "lives": 9}}, Pet).pet == Cat("Tom", 9)
    assert checked(Pet)["properties"]["pet"] == {
        "anyOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]
    }


def test_parse_google_docstring() -> None:
    """The summary, Args and Attributes sections are read; other sections are skipped."""
    doc = parse_docstring(
        """Do a thing.

        More detail
        here.

        Args:
            a (int): First,
                continued.
            b: Second.

        Returns:
            c: not an argument.
        """
    )
    assert doc.summary == "Do a thing.\n\nMore detail here."
    assert doc.args == {"a": "First, continued.", "b": "Second."}
    assert doc.attributes == {}
