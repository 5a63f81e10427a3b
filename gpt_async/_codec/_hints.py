"""The vocabulary every half of the codec reads type hints with.

One place answers what an annotation is (a union, an enum, a list...), which union
members can be on the wire (``Unset`` never is), what a model's discriminator and
``extra`` field are, how a field's annotation is evaluated, and how a type or a
value is named in an error message.
"""

from __future__ import annotations

import enum
import sys
import types
import typing
from collections import abc
from collections.abc import Callable
from typing import Any, Literal, Union

import attrs

from gpt_async._exceptions import SchemaError
from gpt_async._types import EXTRA_KEY, UNSET, _UnsetType

from ._prebuilt_hints import HINTS

__all__ = [
    "ARRAYS",
    "MAPPINGS",
    "NONE",
    "admits_none",
    "class_hints",
    "describe",
    "extra_field",
    "field_type",
    "is_enum",
    "is_list",
    "is_union",
    "plain_str",
    "strip_unset",
    "tag_of",
    "type_name",
    "wire_members",
]

NONE = type(None)
_UNSET_LITERAL: Any = Literal[UNSET]
_UNIONS = (Union, types.UnionType)
_TAGS = ("role", "type")
ARRAYS = (list, tuple, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set)
"""The origins of the annotations read as JSON arrays (``list[T]``, ``set[T]``...)."""
MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)
"""The origins of the annotations read as JSON objects (``dict[str, T]``...)."""


def is_union(tp: Any) -> bool:
    """Whether ``tp`` is ``A | B`` (either spelling)."""
    return typing.get_origin(tp) in _UNIONS


def is_enum(tp: Any) -> bool:
    """Whether ``tp`` is an enum class."""
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def is_list(tp: Any) -> bool:
    """Whether ``tp`` is ``list`` or ``list[T]``."""
    return tp is list or typing.get_origin(tp) is list


def wire_members(tp: Any) -> list[Any]:
    """The members of a union that a JSON value can be (``Unset`` is never on the wire)."""
    return [m for m in typing.get_args(tp) if m is not _UnsetType and m != _UNSET_LITERAL]


def strip_unset(tp: Any) -> Any:
    """``str | Unset`` is ``str``: an unset field is skipped before its check."""
    if is_union(tp):
        rest = wire_members(tp)
        if len(rest) == 1:
            return rest[0]
    return tp


def plain_str(v: str) -> str:
    """An exact ``str``: an enum member's value, or a subclass instance's text."""
    if isinstance(v, enum.Enum) and type(v.value) is str:
        return v.value
    return str.__str__(v)


def describe(value: Any) -> str:
    """A short description of a value for an error message: its type, and itself if short."""
    text = repr(value)
    return f"{type(value).__name__} {text}" if len(text) <= 40 else type(value).__name__


def type_name(tp: Any) -> str:
    """How an error message names a type: ``str``, ``list[Part]``, ``'a' or 'b'``, ``None``."""
    if tp is NONE or tp is None:
        return "None"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return " or ".join(repr(v) for v in args)
    if origin in _UNIONS:
        return " | ".join(type_name(m) for m in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_name(a) for a in args)}]" if args else name
    if isinstance(tp, (str, typing.TypeVar)):
        return repr(tp)
    return getattr(tp, "__qualname__", None) or repr(tp)


def admits_none(tp: Any) -> bool:
    """Whether ``None`` is a value of ``tp``."""
    if tp is NONE or tp is None:
        return True
    origin = typing.get_origin(tp)
    if origin in _UNIONS or origin is Literal:
        return any(a is None or admits_none(a) for a in typing.get_args(tp))
    return False


def class_hints(cls: Any) -> dict[str, Any]:
    """The resolved annotations of a user's class or function (structured outputs, tools).

    Raises:
        SchemaError: An annotation names something that cannot be imported here.
    """
    try:
        return typing.get_type_hints(cls)
    except Exception as exc:  # NameError, or a TypeError from a bad annotation
        name = getattr(cls, "__qualname__", repr(cls))
        raise SchemaError(name, f"cannot resolve the annotations: {exc}") from None


def tag_of(cls: type[Any]) -> tuple[str, str] | None:
    """The discriminator of a model: its ``role`` or ``type`` field and that field's value."""
    for a in attrs.fields(cls):
        if a.name in _TAGS and isinstance(a.default, str):
            return a.name, plain_str(a.default)
    return None


def extra_field(cls: type[Any]) -> str | None:
    """The name of a response model's ``extra`` field (unknown keys), if it has one."""
    return next((a.name for a in attrs.fields(cls) if a.metadata.get(EXTRA_KEY)), None)


class _Unresolved:
    """A field annotation not evaluated yet (matches no type)."""


_FIELD_TYPES: dict[tuple[type[Any], str], Any] = {}


def field_type(cls: type[Any], name: str) -> Any:
    """The evaluated annotation of one field of ``cls`` (not the whole class's hints)."""
    found = _FIELD_TYPES.get((cls, name), _Unresolved)
    if found is _Unresolved:
        found = _FIELD_TYPES[cls, name] = _evaluate(cls, name)
    return found


def _evaluate(cls: type[Any], name: str) -> Any:
    table: dict[tuple[str, str], Callable[[], Any]] = HINTS.get(cls.__module__, {})
    prebuilt = table.get((cls.__qualname__, name))
    if prebuilt is not None:  # a wire model's: compiled ahead of time, no eval
        return prebuilt()
    annotation: Any = attrs.fields_dict(cls)[name].type
    if not isinstance(annotation, str):
        return annotation
    try:  # our models' own annotations, in their own module
        return eval(annotation, vars(sys.modules[cls.__module__]))  # noqa: S307
    except NameError:  # inherited from a class in another module
        return typing.get_type_hints(cls)[name]
