"""The strict converter: structured outputs and tool arguments, from JSON to Python values.

Stricter than the response converter (:mod:`._inbound`): a value must have the
JSON type its schema names (no numbers for strings, enums and literals closed);
``null`` for a field with a default takes the default; ``dict[str, T]`` accepts
the key/value pairs of its schema or a plain object. It builds back exactly the
types :func:`gpt_async.json_schema` describes; the two share the type table.
"""

from __future__ import annotations

import datetime
import enum
import typing
import uuid
from collections import abc
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs

from gpt_async._exceptions import OutputValidationError

from ._hints import ARRAYS, MAPPINGS, admits_none, is_union, type_name
from ._json import dumps
from ._primitives import STRICT, first_error, wrong
from ._records import is_pydantic, is_record, is_typeddict, record_fields

if TYPE_CHECKING:
    import cattrs

__all__ = ["structure_output", "unstructure_output"]

T = TypeVar("T")
_BODY_LIMIT = 64 * 1024


def structure_output(data: Any, tp: type[T], *, body: str = "") -> T:
    """Build a ``tp`` from JSON that follows its :func:`~gpt_async.json_schema`.

    Raises:
        OutputValidationError: ``path`` names the first value that does not fit,
            e.g. ``$.address.zip``.
    """
    if is_pydantic(tp):
        return _validate_pydantic(data, tp, body)  # type: ignore[no-any-return]
    try:
        return _converter().structure(data, tp)
    except Exception as exc:  # cattrs raises exception groups and plain errors alike
        path, reason = first_error(exc)
        name = getattr(tp, "__name__", repr(tp))
        raise OutputValidationError(
            f"the JSON does not fit {name}: {reason} at {path}",
            path=path,
            body=body[:_BODY_LIMIT],
        ) from None


def _validate_pydantic(data: Any, tp: Any, body: str) -> Any:
    """pydantic's own validation, of the JSON with strict mode's nulls-for-defaults taken out.

    Strict, on JSON text: JSON types as the schema says (no ``"36"`` for an int), as
    the strict converter does; dates, UUIDs and enums from their strings.
    """
    from pydantic import ValidationError  # noqa: PLC0415 - the class given is pydantic's

    try:
        return tp.model_validate_json(dumps(for_pydantic(data, tp)), strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = "$" + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in first["loc"])
        raise OutputValidationError(
            f"the JSON does not fit {tp.__name__}: {first['msg']} at {path}",
            path=path,
            body=body[:_BODY_LIMIT],
        ) from None


def for_pydantic(v: Any, tp: Any) -> Any:
    """``v`` as pydantic takes it: nulls of defaulted fields dropped, key/value pairs as dicts."""
    if is_record(tp) and isinstance(v, dict):
        return _record_for_pydantic(v, tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in ARRAYS and args and isinstance(v, list):
        return [for_pydantic(x, args[0]) for x in v]
    if origin in MAPPINGS and len(args) == 2:
        if isinstance(v, list) and all(isinstance(p, dict) and "key" in p for p in v):
            v = {p["key"]: p.get("value") for p in v}
        return {k: for_pydantic(x, args[1]) for k, x in v.items()} if isinstance(v, dict) else v
    if is_union(tp) and v is not None:
        members = [m for m in args if m is not type(None)]
        fitting = [m for m in members if _fits_record(m, v)] or members
        return for_pydantic(v, fitting[0]) if len(fitting) == 1 or fitting != members else v
    return v


def _record_for_pydantic(v: dict[str, Any], tp: Any) -> dict[str, Any]:
    out = dict(v)
    for f in record_fields(tp):
        if f.key in out:
            x = out[f.key]
            if x is None and f.has_default and not admits_none(f.hint):
                del out[f.key]  # strict mode's null for "the default"
            else:
                out[f.key] = for_pydantic(x, f.hint)
    return out


def _fits_record(tp: Any, v: Any) -> bool:
    return is_record(tp) and isinstance(v, dict) and v.keys() <= {f.key for f in record_fields(tp)}


def unstructure_output(value: Any) -> Any:
    """The JSON-ready form of a value of a supported type (attrs instances as dicts)."""
    return _converter().unstructure(value)


def _from_iso(parse: Callable[[str], Any], what: str) -> Callable[[Any, Any], Any]:
    def structure(v: Any, _: Any) -> Any:
        if isinstance(v, str):
            try:
                # fromisoformat takes a trailing "Z" only from Python 3.11 on
                return parse(v[:-1] + "+00:00" if v.endswith(("Z", "z")) else v)
            except ValueError:
                pass
        raise wrong(v, what)

    return structure


def _literal_hook(tp: Any) -> Callable[[Any, Any], Any]:
    values = typing.get_args(tp)

    def structure_literal(v: Any, _: Any) -> Any:
        for value in values:
            plain = value.value if isinstance(value, enum.Enum) else value
            if plain == v and type(plain) is type(v):
                return value
        raise wrong(v, "one of " + ", ".join(repr(x) for x in values))

    return structure_literal


def _union_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    """Members are tried in order; the first that takes the value wins."""
    members = typing.get_args(tp)
    fields = {m: {f.key for f in record_fields(m)} for m in members if _is_class(m)}
    expected = " | ".join(type_name(m) for m in members)

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
        raise wrong(v, expected)

    return structure_union


def _array_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    origin = typing.get_origin(tp)
    from cattrs.cols import list_structure_factory  # noqa: PLC0415 - cattrs loads on first need

    items = list_structure_factory(list[typing.get_args(tp)[0]], conv)  # type: ignore[arg-type,misc]
    build: Callable[[list[Any]], Any] = list
    if origin in (tuple, set, frozenset, abc.Set):
        build = frozenset if origin is abc.Set else origin

    def structure_array(v: Any, t: Any) -> Any:
        if not isinstance(v, list):
            raise wrong(v, "an array")
        return build(items(v, t))

    return structure_array


def _mapping_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    value_tp = typing.get_args(tp)[1]
    from cattrs.gen import make_mapping_structure_fn  # noqa: PLC0415 - cattrs is loaded by now

    # Not conv.gen_structure_mapping: it registers its function for the type, in our place.
    as_dict = make_mapping_structure_fn(dict[str, value_tp], conv)  # type: ignore[valid-type]

    def structure_mapping(v: Any, t: Any) -> Any:
        if isinstance(v, list):  # the key/value pairs of the strict schema
            if not all(isinstance(p, dict) and isinstance(p.get("key"), str) for p in v):
                raise wrong(v, 'an array of {"key": string, "value": ...} pairs')
            v = {p["key"]: p.get("value") for p in v}
        if not isinstance(v, dict):
            raise wrong(v, "an array of key/value pairs")
        return as_dict(v, t)

    return structure_mapping


def _class_hook(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any, Any], Any]:
    base = _record_structurer(conv, cls)
    defaulted = frozenset(
        f.key for f in record_fields(cls) if f.has_default and not admits_none(f.hint)
    )

    def structure_class(v: Any, _: Any) -> Any:
        if not isinstance(v, dict):
            raise wrong(v, "an object")
        if defaulted and not defaulted.isdisjoint(v):
            v = {k: x for k, x in v.items() if x is not None or k not in defaulted}
        return base(v, cls)

    return structure_class


def _record_structurer(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any, Any], Any]:
    """cattrs' own structure function of an attrs class, a dataclass or a TypedDict."""
    if is_pydantic(cls):
        return lambda v, _: _validate_pydantic(v, cls, "")
    if is_typeddict(cls):
        return _typeddict_structurer(conv, cls)
    from cattrs.gen import make_dict_structure_fn as make_fn  # noqa: PLC0415

    return make_fn(cls, conv)


_ABSENT: Any = object()


def _typeddict_structurer(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any, Any], Any]:
    """A ``TypedDict`` through an attrs class of the same fields: the same hooks and paths."""
    from cattrs.gen import make_dict_structure_fn  # noqa: PLC0415 - cattrs loads on first need

    fields = {
        f.key: attrs.field(type=f.hint, default=_ABSENT if f.has_default else attrs.NOTHING)
        for f in record_fields(cls)
    }
    shadow = attrs.make_class(cls.__name__, fields, kw_only=True)
    base: Callable[[Any, Any], Any] = make_dict_structure_fn(shadow, conv)

    def structure_typeddict(v: Any, _: Any) -> Any:
        o = base(v, shadow)
        return {k: x for k in fields if (x := getattr(o, k)) is not _ABSENT}

    return structure_typeddict


def _is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is Literal


def _is_class(tp: Any) -> bool:
    return is_record(tp)


def _is_array(tp: Any) -> bool:
    return typing.get_origin(tp) in ARRAYS and bool(typing.get_args(tp))


def _is_mapping(tp: Any) -> bool:
    return typing.get_origin(tp) in MAPPINGS and len(typing.get_args(tp)) == 2


@cache
def _converter() -> cattrs.Converter:
    """The strict converter, built on first use (the first structured output or tool call)."""
    import cattrs  # noqa: PLC0415 - cattrs loads on first need

    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    for tp, hook in STRICT.items():
        conv.register_structure_hook(tp, hook)
    for moment, what in _MOMENTS.items():
        conv.register_structure_hook(moment, _from_iso(moment.fromisoformat, what))
    conv.register_structure_hook(uuid.UUID, _from_iso(uuid.UUID, "a UUID"))
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(is_union, lambda t: _union_hook(conv, t))
    conv.register_structure_hook_factory(_is_array, lambda t: _array_hook(conv, t))
    conv.register_structure_hook_factory(_is_mapping, lambda t: _mapping_hook(conv, t))
    conv.register_structure_hook_factory(is_record, lambda cl: _class_hook(conv, cl))
    for moment in _MOMENTS:
        conv.register_unstructure_hook(moment, lambda v: v.isoformat())
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_unstructure_hook_func(
        is_pydantic, lambda v: v.model_dump(mode="json", by_alias=True)
    )
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, (set, frozenset)),
        lambda v: [conv.unstructure(x) for x in v],
    )
    return conv


_MOMENTS: dict[Any, str] = {
    datetime.datetime: "an ISO 8601 date-time",
    datetime.date: "an ISO 8601 date",
    datetime.time: "an ISO 8601 time",
}
