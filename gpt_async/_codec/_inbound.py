"""The inbound half of the codec: responses (parsed JSON) to models, leniently, and back.

:func:`structure` builds a response model: unknown keys are kept in the model's
``extra``, unknown enum values stay plain strings, missing optional fields take
their defaults, and numbers where the spec says string are read as text. A value
that does not fit raises :class:`~gpt_async.APIResponseValidationError` with its
JSON path (``$.choices[0].message.tool_calls[1].function``).

Each model is first tried by its generated fast path (:mod:`._fast`); on any
doubt the detailed hook of the one lenient cattrs converter decides, or explains.
cattrs is loaded on the first such doubt, so reading well-formed responses never
imports it. :func:`to_dict` is the inverse of :func:`structure` (extras included).
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs

from gpt_async._exceptions import APIResponseValidationError
from gpt_async._types import LOCAL_KEY, UNSET, WireModel

from ._codegen import compile_function
from ._fast import fast_structurer
from ._hints import NONE, describe, extra_field, is_enum, is_list, is_union, tag_of, wire_members
from ._json import dumps
from ._primitives import LENIENT, first_error

if TYPE_CHECKING:
    import cattrs

__all__ = ["converter", "from_dict", "make_converter", "structure", "to_dict", "to_json"]

T = TypeVar("T")
_Hook = Callable[[Any, Any], Any]


def structure(data: Any, cls: type[T]) -> T:
    """Build a model from parsed JSON, leniently.

    Raises:
        APIResponseValidationError: The data does not fit ``cls``; ``path`` names where.
    """
    hook = _ENTRY.get(cls)
    if hook is None:
        hook = _ENTRY[cls] = _entry_hook(cls)
    try:
        result: T = hook(data)
    except Exception as exc:  # cattrs raises exception groups and plain errors alike
        path, reason = first_error(exc)
        raise APIResponseValidationError(
            f"response does not fit {cls.__name__}: {reason} at {path}", path=path
        ) from None
    return result


def from_dict(cls: type[T], data: Any) -> T:
    """Build a model from a dict (parsed JSON); the same lenient rules as for responses."""
    return structure(data, cls)


def to_dict(obj: Any) -> Any:
    """The JSON-ready dict of a model: unset fields left out, unknown keys (``extra``) kept.

    A model read from JSON gives back exactly that JSON (nulls stay null, nothing is
    added), with any field set since then.
    """
    return _unstructure_value(obj)


def to_json(obj: Any) -> str:
    """The JSON text of a model: :func:`to_dict`, serialised compactly."""
    return dumps(_unstructure_value(obj)).decode()


_ENTRY: dict[Any, Callable[[Any], Any]] = {}


def _entry_hook(cls: Any) -> Callable[[Any], Any]:
    """A model's fast path first; the converter (built on this first need) on any doubt."""
    if not attrs.has(cls):
        return lambda data: converter().structure(data, cls)
    fast = fast_structurer(cls, fallback=_through_converter)

    def structure_entry(data: Any) -> Any:
        try:
            return fast(data)
        except Exception:  # any doubt: the detailed hook decides, or explains
            return converter().structure(data, cls)

    return structure_entry


def _through_converter(value: Any, tp: Any) -> Any:
    return converter().structure(value, tp)


@cache
def converter() -> cattrs.Converter:
    """The one lenient converter, built on first use."""
    return make_converter()


def make_converter(*, fast: bool = True) -> cattrs.Converter:
    """A lenient converter; ``fast=False`` leaves out the generated code (the tests' reference)."""
    import cattrs  # noqa: PLC0415 - cattrs loads on first need

    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    for tp, hook in LENIENT.items():
        conv.register_structure_hook(tp, hook)
    conv.register_structure_hook_func(is_enum, _structure_open_enum)
    conv.register_structure_hook_factory(is_union, lambda t: _union_structurer(conv, t))
    conv.register_structure_hook_factory(is_list, lambda t: _list_structurer(conv, t))
    conv.register_structure_hook_factory(attrs.has, lambda cl: _class_hook(conv, cl, fast))
    conv.register_unstructure_hook_factory(attrs.has, _class_unstructurer)
    conv.register_unstructure_hook_func(is_enum, lambda v: v.value)
    return conv


# ------------------------------------------------------------ the detailed hooks


def _list_structurer(conv: cattrs.Converter, tp: Any) -> _Hook:
    from cattrs.cols import list_structure_factory  # noqa: PLC0415 - cattrs loads on first need

    base = list_structure_factory(tp, conv)

    def structure_list(v: Any, _: Any) -> Any:
        if not isinstance(v, list):  # cattrs alone would take a string or an object's keys
            raise TypeError(f"expected a list, got {describe(v)}")
        return base(v, _)

    return structure_list


def _structure_open_enum(v: Any, tp: type[enum.Enum]) -> Any:
    try:
        return tp(v)
    except ValueError:
        if isinstance(v, str):
            return v  # an enum value newer than this SDK: kept as the plain string
        raise TypeError(f"expected a {tp.__name__} string, got {describe(v)}") from None


def _class_hook(conv: cattrs.Converter, cl: type[Any], fast_path: bool) -> _Hook:
    """The converter's hook for a model: the generated fast path, else the detailed one."""
    fast = fast_structurer(cl, fallback=_through_converter) if fast_path else _never
    detailed: _Hook | None = None  # built on first need: cattrs builds a whole model graph

    def structure_cl(v: Any, _: Any) -> Any:
        nonlocal detailed
        try:
            return fast(v)
        except Exception:  # any doubt: the detailed hook decides, or explains
            if detailed is None:
                detailed = _class_structurer(conv, cl)
            return detailed(v, _)

    return structure_cl


def _never(_: Any) -> typing.NoReturn:
    raise TypeError("no fast path")


def _class_structurer(conv: cattrs.Converter, cl: type[Any]) -> _Hook:
    from cattrs.gen import make_dict_structure_fn, override  # noqa: PLC0415 - cattrs loads on first need

    extra = extra_field(cl)
    overrides = {extra: override(omit=True)} if extra else {}
    base = make_dict_structure_fn(cl, conv, **overrides)  # type: ignore[arg-type]
    known = frozenset(a.name for a in attrs.fields(cl) if a.name != extra)
    wire = issubclass(cl, WireModel)

    def structure_cl(v: Any, _: Any) -> Any:
        if not isinstance(v, dict):
            raise TypeError(f"expected an object, got {describe(v)}")
        obj = base(v, cl)
        if wire:
            obj._wire = v
        if extra is not None and not known.issuperset(v):
            setattr(obj, extra, {k: x for k, x in v.items() if k not in known})
        return obj

    return structure_cl


def _union_structurer(conv: cattrs.Converter, tp: Any) -> _Hook:
    members = wire_members(tp)
    allow_none = NONE in members
    members = [m for m in members if m is not NONE]
    classes = [m for m in members if attrs.has(m)]
    tags = {c: tag_of(c) for c in classes}
    tag_field = next((t[0] for t in tags.values() if t), None)
    by_tag = {t[1]: c for c, t in tags.items() if t}
    strings = [m for m in members if _is_stringish(m)]
    others = [m for m in members if not attrs.has(m) and m not in strings]
    expected = " or ".join(getattr(m, "__name__", str(m)) for m in members)

    def structure_union(v: Any, _: Any) -> Any:
        if v is None:
            if allow_none:
                return None
            raise TypeError(f"expected {expected}, got None")
        if isinstance(v, str) and strings:
            return _structure_string_member(strings, v)
        if isinstance(v, dict) and classes:
            if len(classes) == 1:
                return conv.structure(v, classes[0])
            cls = by_tag.get(v.get(tag_field))  # type: ignore[arg-type]
            return v if cls is None else conv.structure(v, cls)  # unknown kinds stay dicts
        for m in others:
            if _accepts(m, v):
                return conv.structure(v, m)
        raise TypeError(f"expected {expected}, got {describe(v)}")

    return structure_union


def _is_stringish(tp: Any) -> bool:
    return tp is str or is_enum(tp) or typing.get_origin(tp) is Literal


def _accepts(tp: Any, v: Any) -> bool:
    """Whether a (non-string) union member is the one meant for ``v``."""
    origin = typing.get_origin(tp)
    if origin in (list, typing.Sequence, tuple):
        return isinstance(v, list)
    if origin in (dict, Mapping):
        return isinstance(v, dict)
    if tp in (int, float):
        return isinstance(v, (int, float) if tp is float else int) and not isinstance(v, bool)
    if tp is bool:
        return isinstance(v, bool)
    return tp in (Any, object)


def _structure_string_member(members: list[Any], v: str) -> Any:
    for m in members:
        if is_enum(m):
            try:
                return m(v)
            except ValueError:
                continue
        if typing.get_origin(m) is Literal and v in typing.get_args(m):
            return v
    return v  # an open string: ``str`` itself, or a value newer than this SDK


# ----------------------------------------------------------------- to_dict


def _class_unstructurer(cl: type[Any]) -> Callable[[Any], Any]:
    """``def unstructure_X(o)``: the JSON-ready dict of a model, generated once per class.

    A model read from JSON (its ``_wire``, see :class:`~gpt_async._types.WireModel`)
    gives back the keys it arrived with, nulls included, plus any field since set to
    a value other than its default. A model built in code leaves out unset request
    fields and the ``None`` of a response field the spec does not require.
    """
    extra = extra_field(cl)
    name = f"unstructure_{cl.__name__}"
    required = ", ".join(repr(n) for n in _required_nulls(cl))
    lines = [
        f"def {name}(o):",
        "    out = {}",
        "    try:",
        "        w = o._wire",
        "    except AttributeError:",
        "        w = None",
        f"    keep = ({required}{',' if required else ''}) if w is None else w",
    ]
    namespace: dict[str, Any] = {"UNSET": UNSET, "_S": _SCALARS, "_uv": _unstructure_value}
    for a in attrs.fields(cl):
        if a.name != extra and not a.metadata.get(LOCAL_KEY):
            lines += [
                f"    v = o.{a.name}",
                f"    if {_emit_test(a, namespace)}:",
                f"        out[{a.name!r}] = v if type(v) in _S else _uv(v)",
            ]
    if extra is not None:
        lines += [f"    for k, x in o.{extra}.items():", "        out.setdefault(k, x)"]
    lines.append("    return out")
    return compile_function(name, lines, namespace, about=f"to_dict {cl.__qualname__}")


def _emit_test(a: attrs.Attribute[Any], namespace: dict[str, Any]) -> str:
    """When field ``a`` goes into the dict (``w``: the JSON read, ``keep``: it or the required)."""
    default: Any = a.default
    if default is UNSET:  # a request field: unset is absent, whatever was read
        return "v is not UNSET"
    if default is None:
        return f"v is not None or {a.name!r} in keep"
    if default is attrs.NOTHING:
        return "True"
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            return "True"
        default = default.factory()  # compared with, never handed out
    const = f"_d_{a.name}"
    namespace[const] = default
    return f"w is None or {a.name!r} in w or v != {const}"


def _required_nulls(cl: type[Any]) -> tuple[str, ...]:
    """The fields the spec requires though they may be null (``REQUIRED_NULLABLE``)."""
    return tuple(getattr(cl, "REQUIRED_NULLABLE", ()))


_SCALARS = frozenset({str, int, float, bool, NONE})
_UNSTRUCTURE_HOOKS: dict[type[Any], Callable[[Any], Any]] = {}


def _unstructure_value(v: Any) -> Any:
    t = type(v)
    if t in _SCALARS:
        return v
    if t is list:
        return [_unstructure_value(x) for x in v]
    if t is dict:
        return {k: _unstructure_value(x) for k, x in v.items()}
    if isinstance(v, enum.Enum):  # before the converter: its ``str`` hook takes StrEnums as is
        return v.value
    hook = _UNSTRUCTURE_HOOKS.get(t)
    if hook is None:
        hook = _UNSTRUCTURE_HOOKS[t] = _unstructurer(t)
    return hook(v)


def _unstructurer(t: type[Any]) -> Callable[[Any], Any]:
    if attrs.has(t):
        return _class_unstructurer(t)
    return converter().get_unstructure_hook(t)
