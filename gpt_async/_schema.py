"""Strict JSON Schemas from attrs classes, and values of those classes from JSON.

Both directions cover the same types, so whatever :func:`json_schema` describes,
:func:`structure_output` builds back:

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
attrs classes                closed ``object`` s in ``$defs`` (``#`` for the root),
                             recursion included
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
import types
import typing
import uuid
from collections import abc
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal, TypeVar, Union

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.v import format_exception

from ._exceptions import OutputValidationError, SchemaError

__all__ = [
    "Docstring",
    "json_schema",
    "parse_docstring",
    "schema_name",
    "structure_output",
    "unstructure_output",
]

T = TypeVar("T")
_NONE = type(None)
_BODY_LIMIT = 64 * 1024

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    _NONE: {"type": "null"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    uuid.UUID: {"type": "string", "format": "uuid"},
}
_ARRAYS = (list, tuple, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set)
_MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)
_UNIONS = (Union, types.UnionType)
_FACTORY: type[Any] = type(attrs.Factory(list))


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
    if not (isinstance(cls, type) and attrs.has(cls)):
        name = getattr(cls, "__name__", repr(cls))
        raise SchemaError(name, "a structured output or tool must be an attrs class")
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
        hints = type_hints(cls)
        doc = parse_docstring(cls.__dict__.get("__doc__"))
        properties = {}
        for a in attrs.fields(cls):
            if a.init:
                path = f"{cls.__name__}.{a.name}"
                described = a.metadata.get("description") or doc.attributes.get(a.name)
                properties[a.name] = self.field_schema(
                    hints.get(a.name, a.type), a.default, path, described
                )
        schema: dict[str, Any] = {"type": "object"}
        if doc.summary:
            schema["description"] = doc.summary
        schema.update(properties=properties, required=list(properties), additionalProperties=False)
        return schema

    def field_schema(
        self, tp: Any, default: Any, path: str, description: str | None
    ) -> dict[str, Any]:
        """A property's schema: nullable when it has a default, with its description."""
        schema = self.schema_for(tp, path)
        if default is not attrs.NOTHING and not admits_none(tp):
            schema = _nullable(schema)
            note = "null for the default"
            if not isinstance(default, _FACTORY):
                note = f"{note}: {_default_repr(default)}"
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
        if origin in _UNIONS:
            return {"anyOf": [s for m in args for s in _members(self.schema_for(m, path))]}
        if origin is Literal:
            return _enum_schema(args, path)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise SchemaError(path, "only tuple[T, ...] is supported; use an attrs class")
        if origin in _ARRAYS and args:
            return {"type": "array", "items": self.schema_for(args[0], f"{path}[]")}
        if origin in _MAPPINGS and args:
            return self.mapping_schema(args, path)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum_schema(tuple(tp), path)
        if isinstance(tp, type) and attrs.has(tp):
            return {"$ref": self.ref(tp)}
        raise SchemaError(path, f"{_type_name(tp)} {_UNSUPPORTED_HINT}")

    def mapping_schema(self, args: tuple[Any, ...], path: str) -> dict[str, Any]:
        if args[0] is not str:
            raise SchemaError(path, f"dict keys must be str, not {_type_name(args[0])}")
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


_UNSUPPORTED_HINT = (
    "has no strict JSON Schema; use str, int, float, bool, None, datetime, date, time, "
    "UUID, list, dict[str, T], Literal, an enum, a union or an attrs class"
)


def type_hints(cls: Any) -> dict[str, Any]:
    """The resolved annotations of a class or function.

    Raises:
        SchemaError: An annotation names something that cannot be imported here.
    """
    try:
        return typing.get_type_hints(cls)
    except Exception as exc:  # NameError, or a TypeError from a bad annotation
        name = getattr(cls, "__qualname__", repr(cls))
        raise SchemaError(name, f"cannot resolve the annotations: {exc}") from None


def admits_none(tp: Any) -> bool:
    """Whether ``None`` is a value of ``tp``."""
    if tp is _NONE or tp is None:
        return True
    origin = typing.get_origin(tp)
    if origin in _UNIONS or origin is Literal:
        return any(a is None or admits_none(a) for a in typing.get_args(tp))
    return False


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
    (_NONE, "null"),
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


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is not None or isinstance(tp, (str, TypeVar)):
        return repr(tp)
    return getattr(tp, "__qualname__", None) or repr(tp)


# ------------------------------------------------------------------ in: values


def structure_output(data: Any, tp: type[T], *, body: str = "") -> T:
    """Build a ``tp`` from JSON that follows its :func:`json_schema`.

    Stricter than the response converter: a value must have the JSON type its
    schema names (no numbers for strings, enums and literals closed); ``null``
    for a field with a default takes the default; ``dict[str, T]`` accepts the
    key/value pairs of its schema or a plain object.

    Raises:
        OutputValidationError: ``path`` names the first value that does not fit,
            e.g. ``$.address.zip``.
    """
    try:
        return _OUTPUT.structure(data, tp)
    except Exception as exc:  # cattrs raises exception groups and plain errors alike
        path, reason = _first_error(exc)
        name = getattr(tp, "__name__", repr(tp))
        raise OutputValidationError(
            f"the JSON does not fit {name}: {reason} at {path}",
            path=path,
            body=body[:_BODY_LIMIT],
        ) from None


def unstructure_output(value: Any) -> Any:
    """The JSON-ready form of a value of a supported type (attrs instances as dicts)."""
    return _OUTPUT.unstructure(value)


def _first_error(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, cattrs.BaseValidationError):
        messages = cattrs.transform_error(exc, path="$", format_exception=_format_exception)
        if messages:
            reason, _, path = messages[0].rpartition(" @ ")
            return path or "$", reason
    return "$", str(exc)


def _format_exception(exc: BaseException, tp: Any) -> str:
    if isinstance(exc, TypeError) and str(exc).startswith("expected "):
        return str(exc)  # one of ours, which says what came
    return format_exception(exc, tp)


def _describe(v: Any) -> str:
    text = repr(v)
    return f"{type(v).__name__} {text}" if len(text) <= 40 else type(v).__name__


def _wrong(v: Any, expected: str) -> TypeError:
    return TypeError(f"expected {expected}, got {_describe(v)}")


def _structure_str(v: Any, tp: Any) -> Any:
    if tp is not str:  # a str-based enum dispatches here
        return _structure_enum(v, tp)
    if isinstance(v, str):
        return v
    raise _wrong(v, "a string")


def _structure_int(v: Any, tp: Any) -> Any:
    if tp is not int:  # an IntEnum
        return _structure_enum(v, tp)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise _wrong(v, "an integer")


def _structure_float(v: Any, _: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    raise _wrong(v, "a number")


def _structure_bool(v: Any, _: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise _wrong(v, "a boolean")


def _structure_none(v: Any, _: Any) -> None:
    if v is not None:
        raise _wrong(v, "null")


def _structure_enum(v: Any, tp: type[enum.Enum]) -> Any:
    for member in tp:
        if member.value == v and type(member.value) is type(v):
            return member
    allowed = ", ".join(repr(m.value) for m in tp)
    raise _wrong(v, f"one of {allowed}")


def _from_iso(parse: Callable[[str], Any], what: str) -> Callable[[Any, Any], Any]:
    def structure(v: Any, _: Any) -> Any:
        if isinstance(v, str):
            try:
                # fromisoformat takes a trailing "Z" only from Python 3.11 on
                return parse(v[:-1] + "+00:00" if v.endswith(("Z", "z")) else v)
            except ValueError:
                pass
        raise _wrong(v, what)

    return structure


def _literal_hook(tp: Any) -> Callable[[Any, Any], Any]:
    values = typing.get_args(tp)

    def structure_literal(v: Any, _: Any) -> Any:
        for value in values:
            plain = value.value if isinstance(value, enum.Enum) else value
            if plain == v and type(plain) is type(v):
                return value
        raise _wrong(v, "one of " + ", ".join(repr(x) for x in values))

    return structure_literal


def _union_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    """Members are tried in order; the first that takes the value wins."""
    members = typing.get_args(tp)
    fields = {m: {a.name for a in attrs.fields(m)} for m in members if _is_class(m)}
    expected = " | ".join(_type_name(m) for m in members)

    def fits(member: Any, v: Any) -> bool:
        names = fields.get(member)
        return type(v) is member or (
            names is not None and isinstance(v, dict) and v.keys() <= names
        )

    def structure_union(v: Any, _: Any) -> Any:
        # exact JSON types first, and classes that name every key, then the rest
        for member in sorted(members, key=lambda m: not fits(m, v)):
            try:
                return conv.structure(v, member)
            except Exception:  # noqa: S112 - the next member may take it
                continue
        raise _wrong(v, expected)

    return structure_union


def _array_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    origin = typing.get_origin(tp)
    items = list_structure_factory(list[typing.get_args(tp)[0]], conv)  # type: ignore[arg-type,misc]
    build: Callable[[list[Any]], Any] = list
    if origin in (tuple, set, frozenset, abc.Set):
        build = frozenset if origin is abc.Set else origin

    def structure_array(v: Any, t: Any) -> Any:
        if not isinstance(v, list):
            raise _wrong(v, "an array")
        return build(items(v, t))

    return structure_array


def _mapping_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    value_tp = typing.get_args(tp)[1]
    as_dict = conv.gen_structure_mapping(dict[str, value_tp])  # type: ignore[valid-type]

    def structure_mapping(v: Any, t: Any) -> Any:
        if isinstance(v, list):  # the key/value pairs of the strict schema
            if not all(isinstance(p, dict) and isinstance(p.get("key"), str) for p in v):
                raise _wrong(v, 'an array of {"key": string, "value": ...} pairs')
            v = {p["key"]: p.get("value") for p in v}
        if not isinstance(v, dict):
            raise _wrong(v, "an array of key/value pairs")
        return as_dict(v, t)

    return structure_mapping


def _class_hook(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any, Any], Any]:
    base = conv.gen_structure_attrs_fromdict(cls)
    hints = type_hints(cls)
    defaulted = frozenset(
        a.name
        for a in attrs.fields(cls)
        if a.default is not attrs.NOTHING and not admits_none(hints.get(a.name, a.type))
    )

    def structure_class(v: Any, _: Any) -> Any:
        if not isinstance(v, dict):
            raise _wrong(v, "an object")
        if defaulted and not defaulted.isdisjoint(v):
            v = {k: x for k, x in v.items() if x is not None or k not in defaulted}
        return base(v, cls)

    return structure_class


def _is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is Literal


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in _UNIONS


def _is_class(tp: Any) -> bool:
    return isinstance(tp, type) and attrs.has(tp)


def _is_array(tp: Any) -> bool:
    return typing.get_origin(tp) in _ARRAYS and bool(typing.get_args(tp))


def _is_mapping(tp: Any) -> bool:
    return typing.get_origin(tp) in _MAPPINGS and len(typing.get_args(tp)) == 2


def _make_output_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(_NONE, _structure_none)
    conv.register_structure_hook(enum.Enum, _structure_enum)
    conv.register_structure_hook(
        datetime.datetime, _from_iso(datetime.datetime.fromisoformat, "an ISO 8601 date-time")
    )
    conv.register_structure_hook(
        datetime.date, _from_iso(datetime.date.fromisoformat, "an ISO 8601 date")
    )
    conv.register_structure_hook(
        datetime.time, _from_iso(datetime.time.fromisoformat, "an ISO 8601 time")
    )
    conv.register_structure_hook(uuid.UUID, _from_iso(uuid.UUID, "a UUID"))
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(_is_union, lambda t: _union_hook(conv, t))
    conv.register_structure_hook_factory(_is_array, lambda t: _array_hook(conv, t))
    conv.register_structure_hook_factory(_is_mapping, lambda t: _mapping_hook(conv, t))
    conv.register_structure_hook_factory(attrs.has, lambda cl: _class_hook(conv, cl))
    for moment in (datetime.datetime, datetime.date, datetime.time):
        conv.register_unstructure_hook(moment, lambda v: v.isoformat())
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, (set, frozenset)),
        lambda v: [conv.unstructure(x) for x in v],
    )
    return conv


_OUTPUT = _make_output_converter()
