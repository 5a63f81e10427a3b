"""The inbound fast path: a structure function generated per model class.

Responses and stream chunks are read per request and per chunk, so each attrs class
gets a function generated once from its fields: straight-line code, exact-type
tests, direct slot stores. It covers the shapes servers send; on anything else it
raises :class:`Mismatch` and the converter's detailed hook for the class takes over
(see :mod:`._inbound`), which either accepts the value leniently or explains it.

Every function has its own namespace (:func:`~._codegen.compile_function`). A
nested model is called through a name in that namespace, bound first to a stub
that generates the nested function on its first call and then rebinds the name:
a response's optional branches (moderation, audio, annotations...) cost nothing
until a server sends them, and a model that contains itself needs no special case.
"""

from __future__ import annotations

import enum
import importlib
import typing
from collections.abc import Callable
from typing import Any, Literal

import attrs

from gpt_async._types import WireModel

from ._codegen import compile_function
from ._hints import NONE, extra_field, field_type, is_enum, is_union, tag_of, wire_members
from ._prebuilt import PREBUILT
from ._primitives import MISSING, detailed_only, mismatch

__all__ = ["Namespace", "fast_structurer", "sets_slots_directly", "structure_source"]

_Structure = Callable[[Any], Any]


_FAST: dict[Any, _Structure] = {}

LAZY_PREBUILT = {"gpt_async.models._chunk": "gpt_async._codec._prebuilt_chunk"}
"""Model modules whose prebuilt functions live apart, loaded with their first use."""


def _prebuilt(cl: type[Any]) -> _Structure | None:
    found = PREBUILT.get(cl)
    if found is None and cl.__module__ in LAZY_PREBUILT:  # a stream's chunk, the first time
        PREBUILT.update(importlib.import_module(LAZY_PREBUILT[cl.__module__]).PREBUILT)
        found = PREBUILT.get(cl)
    return found


def fast_structurer(cl: type[Any], *, fallback: Callable[[Any, Any], Any]) -> _Structure:
    """``cl``'s generated structure function (made once), or one that always mismatches.

    The response models' functions are generated ahead of time (``_prebuilt.py``);
    any other class's are generated here on first use.

    Args:
        cl: The model class.
        fallback: ``structure(value, type)`` of the converter, for the rare field
            types the generated code does not handle itself.
    """
    found = _FAST.get(cl)
    if found is None:
        found = _FAST[cl] = _prebuilt(cl) or _generate(cl, fallback)
    return found


class Namespace:
    """The names one generated function uses: helpers, constants and nested models."""

    def __init__(
        self, constant_prefix: str = "k", models: dict[str, type[Any]] | None = None
    ) -> None:
        self.prefix = constant_prefix
        self.constants: dict[str, Any] = {}
        self.enum_lookups: dict[str, type[enum.Enum]] = {}
        self.models: dict[str, type[Any]] = {} if models is None else models

    def constant(self, value: Any) -> str:
        """Bind ``value`` to a fresh name; returns the name."""
        name = f"{self.prefix}{len(self.constants)}"
        self.constants[name] = value
        return name

    def enum_lookup(self, tp: type[enum.Enum]) -> str:
        """Bind ``tp``'s value-to-member lookup to a fresh name; returns the name."""
        name = self.constant(None)
        self.enum_lookups[name] = tp
        return name

    def structurer(self, cl: type[Any]) -> str:
        """The name the code calls ``cl``'s structure function by."""
        name = f"structure_{cl.__name__}"
        while self.models.get(name, cl) is not cl:  # two models of one name
            name = f"{name}_"
        self.models[name] = cl
        return name


def _generate(cl: type[Any], fallback: Callable[[Any, Any], Any]) -> _Structure:
    """Compile ``cl``'s structure function, in a namespace of its own."""
    ns = Namespace()
    lines = structure_source(cl, ns)
    if lines is None:
        return detailed_only
    names: dict[str, Any] = {
        "_mm": mismatch,
        "_M": MISSING,
        "_new": object.__new__,
        "_conv": fallback,
        **ns.constants,
        **{name: tp._value2member_map_.get for name, tp in ns.enum_lookups.items()},
    }
    for name, model in ns.models.items():
        if model is not cl:
            names[name] = (
                _FAST.get(model) or _prebuilt(model) or _stub(names, name, model, fallback)
            )
    fn_name = f"structure_{cl.__name__}"
    return compile_function(fn_name, lines, names, about=f"structure {cl.__qualname__}")


def _stub(
    names: dict[str, Any], name: str, cl: type[Any], fallback: Callable[[Any, Any], Any]
) -> _Structure:
    """A nested model's function: generated on its first call, then bound in its place."""

    def generate_then_structure(d: Any) -> Any:
        fn = names[name] = fast_structurer(cl, fallback=fallback)
        return fn(d)

    return generate_then_structure


def sets_slots_directly(cl: type[Any]) -> bool:
    """Whether a model can be built by storing its fields: nothing runs in its ``__init__``."""
    own_setattr: Any = cl.__setattr__  # attrs adds one when a field validates or converts
    return (
        own_setattr is object.__setattr__
        and "__slots__" in vars(cl)
        and not hasattr(cl, "__attrs_post_init__")
        and not hasattr(cl, "__attrs_pre_init__")
        and all(a.validator is None and a.converter is None for a in attrs.fields(cl))
    )


def structure_source(cl: type[Any], ns: Namespace) -> list[str] | None:
    """``def structure_X(d)``: a model from a dict of exactly the expected JSON types.

    Returns None when a field rules the fast path out.
    """
    extra = extra_field(cl)
    fields = [a for a in attrs.fields(cl) if a.name != extra]
    direct = sets_slots_directly(cl)
    cls = ns.constant(cl)
    lines = [f"def {ns.structurer(cl)}(d):", "    if type(d) is not dict: _mm()"]
    if direct:
        lines.append(f"    o = _new({cls})")
    targets = []
    for a in fields:
        target = f"o.{a.name}" if direct else f"f_{a.name}"
        field_lines = _field_source(cl, a, target, ns)
        if field_lines is None:
            return None
        lines += field_lines
        targets.append(target)
    if extra is not None:
        target = f"o.{extra}" if direct else f"f_{extra}"
        lines.append(f"    {target} = {_extra_source(fields, ns)}")
        fields = [*fields, attrs.fields_dict(cl)[extra]]
        targets.append(target)
    if not direct:
        args = ", ".join(f"{a.name}={t}" for a, t in zip(fields, targets, strict=True))
        lines.append(f"    o = {cls}({args})")
    if issubclass(cl, WireModel):
        lines.append("    o._wire = d")  # what ``to_dict`` writes back (see WireModel)
    lines.append("    return o")
    return lines


def _field_source(
    cl: type[Any], a: attrs.Attribute[Any], target: str, ns: Namespace
) -> list[str] | None:
    hint = field_type(cl, a.name)
    default: Any = a.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            return None
        missing = f"{ns.constant(default.factory)}()"
    elif default is attrs.NOTHING:
        missing = "_mm()"
    else:
        missing = ns.constant(default)
    expr = _expr(hint, "v", 0, ns)
    if default is None and NONE in wire_members(hint):
        # Missing and null mean the same here; ``expr`` already takes None.
        return [f"    v = d.get({a.name!r})", f"    {target} = {expr}"]
    return [f"    v = d.get({a.name!r}, _M)", f"    {target} = {missing} if v is _M else {expr}"]


def _extra_source(fields: list[attrs.Attribute[Any]], ns: Namespace) -> str:
    known = ns.constant(frozenset(a.name for a in fields))
    unknown = f"{{k: x for k, x in d.items() if k not in {known}}}"
    return f"{{}} if {known}.issuperset(d) else {unknown}"


_EXACT = {
    str: "({v} if type({v}) is str else _mm())",
    int: "({v} if type({v}) is int else _mm())",
    float: "({v} if type({v}) is float or type({v}) is int else _mm())",
    bool: "({v} if {v} is True or {v} is False else _mm())",
}


def _expr(tp: Any, v: str, depth: int, ns: Namespace) -> str:
    """An expression that structures the JSON value in variable ``v`` as ``tp``, or mismatches.

    ``v`` may be evaluated more than once, so it is always a plain name.
    """
    if tp in _EXACT:
        return _EXACT[tp].format(v=v)
    if tp in (Any, object):
        return v
    if attrs.has(tp):
        return f"{ns.structurer(tp)}({v})"
    if is_enum(tp):
        lookup = ns.enum_lookup(tp)
        return f"({lookup}({v}, {v}) if type({v}) is str else _mm())"
    origin = typing.get_origin(tp)
    if origin is list:
        x = f"x{depth}"
        item = _expr(typing.get_args(tp)[0], x, depth + 1, ns)
        return f"([{item} for {x} in {v}] if type({v}) is list else _mm())"
    if origin is dict and typing.get_args(tp)[0] is str:
        k, x = f"k{depth}", f"x{depth}"
        item = _expr(typing.get_args(tp)[1], x, depth + 1, ns)
        key = f"({k} if type({k}) is str else _mm())"
        return f"({{{key}: {item} for {k}, {x} in {v}.items()}} if type({v}) is dict else _mm())"
    if origin is Literal and all(type(a) is str for a in typing.get_args(tp)):
        allowed = ns.constant(frozenset(typing.get_args(tp)))
        return f"({v} if type({v}) is str and {v} in {allowed} else _mm())"
    if is_union(tp):
        return _union_expr(tp, v, depth, ns)
    return f"_conv({v}, {ns.constant(tp)})"  # anything else: through the converter's hook


def _union_expr(tp: Any, v: str, depth: int, ns: Namespace) -> str:
    members = wire_members(tp)
    rest = [m for m in members if m is not NONE]
    inner = _members_expr(tp, rest, v, depth, ns)
    return f"(None if {v} is None else {inner})" if NONE in members else inner


def _members_expr(tp: Any, rest: list[Any], v: str, depth: int, ns: Namespace) -> str:
    if len(rest) == 1:
        return _expr(rest[0], v, depth, ns)
    enums = [m for m in rest if is_enum(m)]
    if len(enums) == 1 and set(rest) == {str, enums[0]}:  # an open enum: the detailed rule too
        return _expr(enums[0], v, depth, ns)
    if set(rest) == {str, int}:
        return f"({v} if type({v}) is str or type({v}) is int else _mm())"
    tags = [tag_of(m) if attrs.has(m) else None for m in rest]
    if all(tags) and len({t[0] for t in tags if t}) == 1:
        return _tagged_expr(rest, tags, v, depth, ns)
    return f"_conv({v}, {ns.constant(tp)})"


def _tagged_expr(
    rest: list[Any], tags: list[tuple[str, str] | None], v: str, depth: int, ns: Namespace
) -> str:
    t = f"t{depth}"
    tag_field = tags[0][0]  # type: ignore[index]
    branches = " ".join(
        f"{ns.structurer(m)}({v}) if {t} == {tag[1]!r} else"
        for m, tag in zip(rest, tags, strict=True)
        if tag
    )
    # An unknown kind stays the dict it is, as in the detailed hook.
    keep = f"{v} if {t} is None or type({t}) is str else _mm()"
    pick = f"({branches} {keep})"
    return f"({pick} if type({v}) is dict and ({t} := {v}.get({tag_field!r}), 1) else _mm())"
