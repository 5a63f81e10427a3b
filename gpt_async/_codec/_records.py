"""The classes a structured output or a tool's arguments may be: their fields, one way.

attrs classes, stdlib dataclasses, ``TypedDict`` s and pydantic v2 ``BaseModel`` s
all read as a list of :class:`RecordField` (the JSON key, the annotation, whether
there is a default, a description), so the schema builder (:mod:`gpt_async._schema`)
and the strict converter (:mod:`._strict`) treat the four alike: same schema rules,
same errors naming the field.

pydantic is never imported here: a class is a pydantic model when one of its bases
is ``pydantic.main.BaseModel``, which is only the case once the user imported it.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from typing import Any

import attrs

from ._hints import class_hints

__all__ = [
    "NO_DEFAULT",
    "RecordField",
    "class_doc",
    "is_pydantic",
    "is_record",
    "is_typeddict",
    "record_fields",
]


NO_DEFAULT: Any = object()
"""The :attr:`RecordField.default` of a field without a constant default."""


def _no_default(value: Any) -> Any:
    return NO_DEFAULT if value is attrs.NOTHING else value


@attrs.frozen
class RecordField:
    """One field of a record class.

    Attributes:
        name: The Python attribute (or ``TypedDict`` key).
        key: The JSON key (a pydantic alias, else ``name``).
        hint: The resolved annotation.
        has_default: Whether the field may be left out (a default, or ``NotRequired``).
        default: The default, for descriptions (``NO_DEFAULT`` when there is none
            or it comes from a factory).
        description: From the field's metadata, if any.
    """

    name: str
    key: str
    hint: Any
    has_default: bool
    default: Any = attrs.field(default=None, converter=_no_default)
    description: str | None = None


def is_pydantic(tp: Any) -> bool:
    """Whether ``tp`` is a pydantic v2 model class (checked without importing pydantic)."""
    if not isinstance(tp, type) or "pydantic" not in sys.modules:
        return False
    return any(
        c.__module__ == "pydantic.main" and c.__name__ == "BaseModel" for c in tp.__mro__[1:]
    ) and hasattr(tp, "model_fields")


def is_typeddict(tp: Any) -> bool:
    """Whether ``tp`` is a ``TypedDict`` class."""
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def is_record(tp: Any) -> bool:
    """Whether ``tp`` is a class of named fields: attrs, dataclass, TypedDict or pydantic."""
    return isinstance(tp, type) and (
        attrs.has(tp) or dataclasses.is_dataclass(tp) or is_typeddict(tp) or is_pydantic(tp)
    )


def class_doc(cls: type[Any]) -> str | None:
    """The class's own docstring; not the signature a dataclass gets in place of none."""
    doc: str | None = cls.__dict__.get("__doc__")
    if doc and dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}("):
        return None
    return doc


def record_fields(cls: type[Any]) -> list[RecordField]:
    """The fields of a record class, in order, with resolved annotations.

    Raises:
        SchemaError: An annotation cannot be resolved.
    """
    if is_pydantic(cls):
        return _pydantic_fields(cls)
    if is_typeddict(cls):
        return _typeddict_fields(cls)
    hints = class_hints(cls)
    if dataclasses.is_dataclass(cls):
        return [_dataclass_field(f, hints) for f in dataclasses.fields(cls) if f.init]
    return [_attrs_field(a, hints) for a in attrs.fields(cls) if a.init]


def _attrs_field(a: attrs.Attribute[Any], hints: dict[str, Any]) -> RecordField:
    default = a.default
    constant = attrs.NOTHING if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]
    return RecordField(
        name=a.name,
        key=a.alias or a.name,
        hint=hints.get(a.name, a.type),
        has_default=default is not attrs.NOTHING,
        default=constant,
        description=a.metadata.get("description"),
    )


def _dataclass_field(f: dataclasses.Field[Any], hints: dict[str, Any]) -> RecordField:
    has_constant = f.default is not dataclasses.MISSING
    return RecordField(
        name=f.name,
        key=f.name,
        hint=hints.get(f.name, f.type),
        has_default=has_constant or f.default_factory is not dataclasses.MISSING,
        default=f.default if has_constant else attrs.NOTHING,
        description=f.metadata.get("description"),
    )


def _typeddict_fields(cls: type[Any]) -> list[RecordField]:
    hints = class_hints(cls)  # NotRequired[...] and Required[...] unwrapped
    return [
        RecordField(name=k, key=k, hint=hint, has_default=_optional(cls, k), default=attrs.NOTHING)
        for k, hint in hints.items()
    ]


def _optional(cls: Any, key: str) -> bool:
    """Whether a ``TypedDict`` key may be left out.

    ``__optional_keys__`` misses a ``NotRequired`` written as a string annotation
    (``from __future__ import annotations``), so the wrapper is looked for as well.
    """
    raw = typing.get_type_hints(cls, include_extras=True)[key]
    wrapper = getattr(typing.get_origin(raw), "_name", None)
    if wrapper in ("NotRequired", "Required"):
        return bool(wrapper == "NotRequired")
    return key in frozenset(cls.__optional_keys__)


def _pydantic_fields(cls: type[Any]) -> list[RecordField]:
    from pydantic_core import PydanticUndefined  # noqa: PLC0415 - pydantic is in use already

    found = []
    for name, info in cls.model_fields.items():
        default = info.default
        found.append(
            RecordField(
                name=name,
                key=info.alias or name,
                hint=info.annotation,
                has_default=not info.is_required(),
                default=attrs.NOTHING if default is PydanticUndefined else default,
                description=info.description,
            )
        )
    return found
