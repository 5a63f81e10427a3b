"""Strict JSON Schemas from record classes (Structured Outputs and tool parameters).

A record class is an attrs class, a stdlib dataclass, a ``TypedDict`` or a pydantic
v2 model (:mod:`gpt_async._codec._records` reads their fields alike).

Building the values back from JSON is the codec's strict converter
(:mod:`gpt_async._codec._strict`), which covers the same types:

===========================  ==================================================
Python                       JSON Schema (OpenAI strict mode)
===========================  ==================================================
``str`` ``int`` ``float``    ``string`` ``integer`` ``number`` ``boolean``
``bool`` ``None``            ``null``
``datetime`` ``date``        ``string`` with ``format`` ``date-time``, ``date``,
``time`` ``uuid.UUID``       ``time``, ``uuid``
``list[T]`` ``tuple[T,...]`` ``array`` of ``T``
``set[T]`` ``Sequence[T]``
``dict[str, T]``             ``array`` of ``{"key": ..., "value": T}`` pairs
                             (strict mode forbids open objects)
``Literal[...]``, enums      ``enum`` (grouped by JSON type under ``anyOf``)
``A | B``, ``T | None``      ``anyOf``
record classes               closed ``object`` s in ``$defs`` (``#`` for the root),
                             recursion included; a ``TypedDict`` 's
                             ``NotRequired`` keys count as defaulted
===========================  ==================================================

Strict mode wants every property required and no ``default`` keyword, so a field
with a default becomes nullable: the model sends ``null`` to take the default.
Descriptions come from ``attrs.field(metadata={"description": ...})``, else from
the class docstring's Google-style ``Attributes:`` section; the docstring's summary
describes the object. A type outside the table raises
:class:`~gpt_async.SchemaError` naming the field.
"""

from __future__ import annotations

import copy
import datetime
import enum
import inspect
import re
import typing
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import attrs

from ._codec._hints import ARRAYS, MAPPINGS, NONE, admits_none, is_union, type_name
from ._codec._records import NO_DEFAULT, RecordField, class_doc, is_record, record_fields
from ._exceptions import SchemaError

__all__ = ["Docstring", "json_schema", "parse_docstring", "schema_name"]

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    NONE: {"type": "null"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    uuid.UUID: {"type": "string", "format": "uuid"},
}


# ------------------------------------------------------------------ docstrings


@attrs.frozen
class Docstring:
    """The parts of a Google-style docstring that become descriptions.

    Attributes:
        summary: The text before the first section, paragraphs unwrapped.
        args: ``Args:`` (or ``Arguments:``, ``Parameters:``) entries by name.
        attributes: ``Attributes:`` entries by name.
    """

    summary: str = ""
    args: Mapping[str, str] = attrs.field(factory=dict)
    attributes: Mapping[str, str] = attrs.field(factory=dict)


_SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")
_ENTRY = re.compile(r"^\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SECTION_KEYS = {"args": "args", "arguments": "args", "parameters": "args", "params": "args"}


def parse_docstring(doc: str | None) -> Docstring:
    """Split a Google-style docstring into its summary and its named entries."""
    summary: list[str] = []
    sections: dict[str, dict[str, str]] = {"args": {}, "attributes": {}}
    entries: dict[str, str] | None = None
    in_section = False
    indent = key = None
    for line in inspect.cleandoc(doc or "").splitlines():
        header = _SECTION.match(line)
        if header:
            name = header.group(1).lower()
            entries = sections.get(_SECTION_KEYS.get(name, name))
            in_section, indent, key = True, None, None
        elif not in_section:
            summary.append(line.strip())
        elif line.strip() and entries is not None:
            depth = len(line) - len(line.lstrip())
            indent = depth if indent is None else indent
            entry = _ENTRY.match(line.strip()) if depth == indent else None
            if entry:
                key = entry.group(1)
                entries[key] = entry.group(2)
            elif key is not None:
                entries[key] = f"{entries[key]} {line.strip()}".strip()
    return Docstring(_unwrap(summary), sections["args"], sections["attributes"])


def _unwrap(lines: list[str]) -> str:
    paragraphs = " ".join(line or "\n\n" for line in lines).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


# ------------------------------------------------------------------ out: schemas


def schema_name(cls: type[Any]) -> str:
    """A name OpenAI accepts for a schema or a tool (``^[a-zA-Z0-9_-]{1,64}$``)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", cls.__name__)[:64]


def json_schema(cls: type[Any]) -> dict[str, Any]:
    """The strict JSON Schema of an attrs class, for Structured Outputs and tools.

    Args:
        cls: An attrs class; nested classes go to ``$defs``.

    Returns:
        A new dict: ``{"type": "object", "properties": ..., "required": [...],
        "additionalProperties": false, "$defs": ...}``.

    Raises:
        SchemaError: ``cls`` is not an attrs class, or a field has a type strict
            mode cannot express; ``path`` names the field, e.g. ``Person.photo``.
    """
    return copy.deepcopy(_cached_schema(cls))  # type: ignore[arg-type]


@lru_cache(maxsize=256)
def _cached_schema(cls: Any) -> dict[str, Any]:
    if not is_record(cls):
        name = getattr(cls, "__name__", repr(cls))
        raise SchemaError(name, f"a structured output or tool must be {_RECORD_KINDS}")
    builder = _SchemaBuilder(cls)
    schema = builder.object_schema(cls)
    if builder.defs:
        schema["$defs"] = builder.defs
    return schema


class _SchemaBuilder:
    """Builds one root schema; nested classes are collected in ``defs`` once each."""

    def __init__(self, root: type[Any]) -> None:
        self.root = root
        self.defs: dict[str, dict[str, Any]] = {}
        self.refs: dict[type[Any], str] = {root: "#"}

    def object_schema(self, cls: type[Any]) -> dict[str, Any]:
        doc = parse_docstring(class_doc(cls))
        properties = {}
        for f in record_fields(cls):
            path = f"{cls.__name__}.{f.name}"
            described = f.description or doc.attributes.get(f.name)
            properties[f.key] = self.field_schema(f, path, described)
        schema: dict[str, Any] = {"type": "object"}
        if doc.summary:
            schema["description"] = doc.summary
        schema.update(properties=properties, required=list(properties), additionalProperties=False)
        return schema

    def field_schema(self, f: RecordField, path: str, description: str | None) -> dict[str, Any]:
        """A property's schema: nullable when it has a default, with its description."""
        schema = self.schema_for(f.hint, path)
        if f.has_default and not admits_none(f.hint):
            schema = _nullable(schema)
            note = "null for the default"
            if f.default is not NO_DEFAULT:
                note = f"{note}: {_default_repr(f.default)}"
            description = f"{description} ({note})" if description else note.capitalize()
        if not description:
            return schema
        if "$ref" in schema:  # strict mode takes no keywords beside a $ref
            return {"anyOf": [schema], "description": description}
        return {**schema, "description": description}

    def schema_for(self, tp: Any, path: str) -> dict[str, Any]:
        """The schema of one annotation."""
        if tp in _SCALARS:
            return dict(_SCALARS[tp])
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if is_union(tp):
            return {"anyOf": [s for m in args for s in _members(self.schema_for(m, path))]}
        if origin is Literal:
            return _enum_schema(args, path)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise SchemaError(path, "only tuple[T, ...] is supported; use an attrs class")
        if origin in ARRAYS and args:
            return {"type": "array", "items": self.schema_for(args[0], f"{path}[]")}
        if origin in MAPPINGS and args:
            return self.mapping_schema(args, path)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum_schema(tuple(tp), path)
        if is_record(tp):
            return {"$ref": self.ref(tp)}
        raise SchemaError(path, f"{type_name(tp)} {_UNSUPPORTED_HINT}")

    def mapping_schema(self, args: tuple[Any, ...], path: str) -> dict[str, Any]:
        if args[0] is not str:
            raise SchemaError(path, f"dict keys must be str, not {type_name(args[0])}")
        pair = {
            "type": "object",
            "properties": {"key": {"type": "string"}, "value": self.schema_for(args[1], path)},
            "required": ["key", "value"],
            "additionalProperties": False,
        }
        return {"type": "array", "items": pair}

    def ref(self, cls: type[Any]) -> str:
        found = self.refs.get(cls)
        if found is not None:
            return found
        name = schema_name(cls)
        while name in self.defs:
            name = f"{name}_"
        self.refs[cls] = ref = f"#/$defs/{name}"
        self.defs[name] = {}  # reserved first: the class may refer to itself
        self.defs[name] = self.object_schema(cls)
        return ref


_RECORD_KINDS = "an attrs class, a dataclass, a TypedDict or a pydantic model"
_UNSUPPORTED_HINT = (
    "has no strict JSON Schema; use str, int, float, bool, None, datetime, date, time, "
    f"UUID, list, dict[str, T], Literal, an enum, a union or {_RECORD_KINDS}"
)


def _members(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A union member's alternatives (nested unions and literals flatten into one anyOf)."""
    return schema["anyOf"] if list(schema) == ["anyOf"] else [schema]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [*_members(schema), {"type": "null"}]}


def _default_repr(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    return repr(value) if len(repr(value)) <= 40 else type(value).__name__


_JSON_TYPES: tuple[tuple[type[Any], str], ...] = (
    (bool, "boolean"),  # before int: True is an int too
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (NONE, "null"),
)


def _enum_schema(values: tuple[Any, ...], path: str) -> dict[str, Any]:
    """``enum`` schemas for literal values or enum members, one per JSON type."""
    groups: dict[str, list[Any]] = {}
    for value in values:
        plain = value.value if isinstance(value, enum.Enum) else value
        kind = next((name for t, name in _JSON_TYPES if isinstance(plain, t)), None)
        if kind is None:
            raise SchemaError(path, f"{plain!r} is not a JSON string, number, boolean or null")
        groups.setdefault(kind, [])
        if plain not in groups[kind]:
            groups[kind].append(plain)
    schemas = [
        {"type": "null"} if kind == "null" else {"type": kind, "enum": plain}
        for kind, plain in groups.items()
    ]
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
