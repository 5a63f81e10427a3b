"""The one private converter between the attrs wire models and JSON.

Two directions, each built once per class and cached:

* **Out** (``to_wire``): a request model, or plain dicts in its place, becomes the
  JSON-ready value that is sent. Every value is checked against its annotation on
  the way, so bad input fails here, before any I/O, with a
  :class:`~gpt_async.RequestValidationError` naming the field
  (``messages[2].content``). Unset fields are left out; an explicit ``None`` is
  sent as ``null``; enum members are sent as their plain string values; dicts are
  dispatched on their ``role``/``type`` tag; keys a dict carries beyond the
  model's fields pass through untouched, for servers that accept more than the
  spec. The checks live in ``_wire.py``.
* **In** (``structure``): the cattrs converter builds response models leniently:
  unknown keys are kept in the model's ``extra``, unknown enum values stay plain
  strings, missing optional fields take their defaults. A value that does not fit
  raises :class:`~gpt_async.APIResponseValidationError` with the JSON path
  (``$.choices[0].message.tool_calls[1].function``).

Both directions run per request and per stream chunk, so each attrs class gets
functions generated once from its fields (straight-line code, exact-type tests,
direct slot stores). In, the generated function covers the shapes servers send;
on anything else it gives up and cattrs' detailed hook for that class takes over,
which either accepts the value leniently (a number where a string belongs) or
raises the error with its path. Both are the hook of the one converter.

``to_dict`` is the inverse of ``structure`` (extras included), and ``dumps`` /
``loads`` use orjson when it is installed, the standard library otherwise, with
the same bytes either way.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn, override

from ._exceptions import APIResponseValidationError, RequestValidationError
from ._types import EXTRA_KEY, UNSET, _UnsetType
from ._wire import Invalid, checker, describe, field_type, register_adapter, tag_of
from .models._response import ChatCompletionMessage

__all__ = [
    "dumps",
    "from_dict",
    "loads",
    "register_adapter",
    "structure",
    "to_dict",
    "to_wire",
]

T = TypeVar("T")
_Hook = Callable[[Any, Any], Any]
_NONE = type(None)
_UNSET_LITERAL: Any = Literal[UNSET]

_orjson_dumps: Callable[[Any], bytes] | None
_orjson_loads: Callable[[bytes | str], Any] | None
try:
    from orjson import dumps as _orjson_dumps
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - exercised by the no-orjson test session
    _orjson_dumps = _orjson_loads = None


# --------------------------------------------------------------------------- JSON

# Where the two differ, the stdlib output is rewritten to orjson's: orjson writes 1e-05
# as 0.00001 and 1e-07 as 1e-7 (``repr`` pads the exponent), and NaN and the infinities
# as null. Strings are matched whole, so text that looks like a number is left alone.
_ORJSON_DIFFERS = re.compile(rb'"(?:[^"\\]|\\.)*"|(-?)(\d)(?:\.(\d+))?e-(\d+)|(NaN|-?Infinity)')


def _as_orjson(m: re.Match[bytes]) -> bytes:
    if m.group(5) is not None:
        return b"null"
    if m.group(2) is None:
        return m.group(0)
    sign, digit, frac, exp = m.group(1), m.group(2), m.group(3) or b"", int(m.group(4))
    if exp <= 5:
        return b"%s0.%s%s%s" % (sign, b"0" * (exp - 1), digit, frac)
    return b"%s%s%se-%d" % (sign, digit, b"." + frac if frac else b"", exp)


def _std_dumps(value: Any) -> bytes:
    out = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if b"e-" in out or b"NaN" in out or b"Infinity" in out:
        return _ORJSON_DIFFERS.sub(_as_orjson, out)
    return out


def dumps(value: Any) -> bytes:
    """Serialise a JSON-ready value to compact UTF-8 bytes.

    NaN and the infinities are written as ``null`` (orjson's rule); ``to_wire`` has
    already refused them in every field the spec types as a number.

    Raises:
        RequestValidationError: A string holds text UTF-8 cannot encode (a lone
            surrogate), or a value is not JSON (an arbitrary object, a key that is
            not a string, an integer beyond 64 bits).
    """
    try:
        if _orjson_dumps is not None:
            return _orjson_dumps(value)
        return _std_dumps(value)
    except (TypeError, ValueError) as exc:
        path, reason = _find_unencodable(value, "")
        raise RequestValidationError(path, reason or f"cannot be sent as JSON: {exc}") from None


def loads(data: bytes | str) -> Any:
    """Parse JSON text; raises ``ValueError`` (a ``json.JSONDecodeError`` or orjson's)."""
    if _orjson_loads is not None:
        return _orjson_loads(data)
    return json.loads(data)


def _find_unencodable(value: Any, path: str) -> tuple[str, str]:
    """Locate the first value that cannot be JSON-encoded (the slow path of a failure)."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            return path, f"text is not valid Unicode (lone surrogate at index {exc.start})"
        return "", ""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return path, "integer out of the 64-bit range"
    items: Any = ()
    if isinstance(value, Mapping):
        for key in value:
            if isinstance(key, str) and _find_unencodable(key, "")[1]:
                return f"{path}[{key!r}]", "the key is not valid Unicode (lone surrogate)"
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    elif not isinstance(value, (int, float, bool, type(None))):
        return path, f"{type(value).__name__} is not JSON-serialisable"
    for sub_path, sub in items:
        found = _find_unencodable(sub, sub_path)
        if found[1]:
            return found
    return "", ""


# ----------------------------------------------------------------- out: to the wire


def to_wire(value: Any, cls: type[Any], *, path: str = "") -> Any:
    """Check ``value`` (a ``cls`` instance or a dict shaped like one) and make it JSON-ready.

    Raises:
        RequestValidationError: Naming the field, e.g. ``messages[0].role``.
    """
    try:
        return checker(cls)(value)
    except Invalid as exc:
        raise RequestValidationError(exc.path(path), exc.reason) from None


def _response_message_as_request(message: ChatCompletionMessage) -> dict[str, Any]:
    """A response message, ready to be sent back as the assistant turn of the next request.

    Only what the request's assistant message takes is kept: annotations and unknown
    keys are response-only, and a previous audio answer is referenced by its id.
    """
    out: dict[str, Any] = {"role": "assistant", "content": message.content}
    if message.refusal is not None:
        out["refusal"] = message.refusal
    if message.tool_calls:
        out["tool_calls"] = message.tool_calls
    if message.function_call is not None:
        out["function_call"] = message.function_call
    if message.audio is not None:
        out["audio"] = {"id": message.audio.id}
    return out


register_adapter(ChatCompletionMessage, _response_message_as_request)


# ------------------------------------------------------- in: the detailed hooks


def _structure_str(v: Any, _: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)  # servers send numeric codes where the spec says string
    raise TypeError(f"expected a string, got {describe(v)}")


def _structure_int(v: Any, _: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise TypeError(f"expected an integer, got {describe(v)}")


def _structure_float(v: Any, _: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    raise TypeError(f"expected a number, got {describe(v)}")


def _structure_bool(v: Any, _: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise TypeError(f"expected a boolean, got {describe(v)}")


def _structure_any(v: Any, _: Any) -> Any:
    return v


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _union_members(tp: Any) -> list[Any]:
    """The members of a union that a JSON value can be (``Unset`` is never on the wire)."""
    return [m for m in typing.get_args(tp) if m is not _UnsetType and m != _UNSET_LITERAL]


def _make_converter(*, fast: bool = True) -> cattrs.Converter:
    """The converter; ``fast=False`` leaves out the generated code (the tests' reference)."""
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(Any, _structure_any)
    conv.register_structure_hook_func(_is_enum, _structure_open_enum)
    conv.register_structure_hook_factory(_is_union, lambda t: _union_structurer(conv, t))
    conv.register_structure_hook_factory(_is_list, lambda t: _list_structurer(conv, t))
    conv.register_structure_hook_factory(attrs.has, lambda cl: _class_hook(conv, cl, fast))
    conv.register_unstructure_hook_factory(attrs.has, _class_unstructurer)
    conv.register_unstructure_hook_func(_is_enum, lambda v: v.value)
    return conv


def _is_list(tp: Any) -> bool:
    return tp is list or typing.get_origin(tp) is list


def _list_structurer(conv: cattrs.Converter, tp: Any) -> _Hook:
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
    fast = _fast_structurer(cl) if fast_path else _detailed_only
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


def _class_structurer(conv: cattrs.Converter, cl: type[Any]) -> _Hook:
    extra = _extra_field(cl)
    overrides = {extra: override(omit=True)} if extra else {}
    base = make_dict_structure_fn(cl, conv, **overrides)  # type: ignore[arg-type]
    known = frozenset(a.name for a in attrs.fields(cl) if a.name != extra)

    def structure_cl(v: Any, _: Any) -> Any:
        if not isinstance(v, dict):
            raise TypeError(f"expected an object, got {describe(v)}")
        obj = base(v, cl)
        if extra is not None and not known.issuperset(v):
            setattr(obj, extra, {k: x for k, x in v.items() if k not in known})
        return obj

    return structure_cl


def _extra_field(cl: type[Any]) -> str | None:
    return next((a.name for a in attrs.fields(cl) if a.metadata.get(EXTRA_KEY)), None)


def _union_structurer(conv: cattrs.Converter, tp: Any) -> _Hook:
    members = _union_members(tp)
    allow_none = _NONE in members
    members = [m for m in members if m is not _NONE]
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
    return tp is str or _is_enum(tp) or typing.get_origin(tp) is Literal


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
        if _is_enum(m):
            try:
                return m(v)
            except ValueError:
                continue
        if typing.get_origin(m) is Literal and v in typing.get_args(m):
            return v
    return v  # an open string: ``str`` itself, or a value newer than this SDK


# ---------------------------------------------------------- in: the fast path


class _Mismatch(Exception):
    """The fast path met a value it leaves to the detailed hook."""


def _mismatch() -> typing.NoReturn:
    raise _Mismatch


# One namespace for every generated structure function: they call each other by name,
# so a model that (indirectly) contains itself needs no special case.
_FAST_NS: dict[str, Any] = {"_mm": _mismatch, "_M": object(), "_new": object.__new__}
_FAST_NAMES: dict[Any, str] = {}


def _fast_structurer(cl: type[Any]) -> Callable[[Any], Any]:
    name = _fast_name(cl)

    def structure_fast(d: Any) -> Any:
        return _FAST_NS[name](d)  # looked up per call: the code is generated on the first

    return structure_fast


def _fast_name(cl: type[Any]) -> str:
    """The name generated code calls ``cl``'s structurer by; the code is made on first call.

    Generating lazily keeps the first request cheap: a response's optional branches
    (moderation, audio, annotations...) cost nothing until a server sends them.
    """
    name = _FAST_NAMES.get(cl)
    if name is None:
        name = _FAST_NAMES[cl] = f"s{len(_FAST_NAMES)}_{cl.__name__}"

        def generate_then_structure(d: Any) -> Any:
            fn = _FAST_NS[name] = _generate_structurer(cl, name)
            return fn(d)

        _FAST_NS[name] = generate_then_structure
    return name


def _ns_name(value: Any) -> str:
    """Put a constant into the generated code's namespace; returns the name to use."""
    name = f"k{len(_FAST_NS)}"
    _FAST_NS[name] = value
    return name


def _sets_slots_directly(cl: type[Any]) -> bool:
    """Whether a model can be built by storing its fields: nothing runs in its ``__init__``."""
    own_setattr: Any = cl.__setattr__  # attrs adds one when a field validates or converts
    return (
        own_setattr is object.__setattr__
        and "__slots__" in vars(cl)
        and not hasattr(cl, "__attrs_post_init__")
        and not hasattr(cl, "__attrs_pre_init__")
        and all(a.validator is None and a.converter is None for a in attrs.fields(cl))
    )


def _generate_structurer(cl: type[Any], name: str) -> Callable[[Any], Any]:
    """``def f(d)``: a model from a dict of exactly the expected JSON types, else ``_Mismatch``."""
    extra = _extra_field(cl)
    fields = [a for a in attrs.fields(cl) if a.name != extra]
    hints = {a.name: field_type(cl, a.name) for a in fields}
    direct = _sets_slots_directly(cl)
    cls = _ns_name(cl)
    lines = [f"def {name}(d):", "    if type(d) is not dict: _mm()"]
    if direct:
        lines.append(f"    o = _new({cls})")
    targets = []
    for a in fields:
        if isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            if a.default.takes_self:
                return _detailed_only
            missing = f"{_ns_name(a.default.factory)}()"
        elif a.default is attrs.NOTHING:
            missing = "_mm()"
        else:
            missing = _ns_name(a.default)
        target = f"o.{a.name}" if direct else f"f_{a.name}"
        targets.append(target)
        expr = _fast_expr(hints[a.name], "v", 0)
        if a.default is None and _NONE in _union_members(hints[a.name]):
            # Missing and null mean the same here; ``expr`` already takes None.
            lines += [f"    v = d.get({a.name!r})", f"    {target} = {expr}"]
        else:
            lines += [
                f"    v = d.get({a.name!r}, _M)",
                f"    {target} = {missing} if v is _M else {expr}",
            ]
    if extra is not None:
        known = _ns_name(frozenset(a.name for a in fields))
        unknown = f"{{k: x for k, x in d.items() if k not in {known}}}"
        extra_expr = f"{{}} if {known}.issuperset(d) else {unknown}"
        target = f"o.{extra}" if direct else f"f_{extra}"
        lines.append(f"    {target} = {extra_expr}")
        fields = [*fields, attrs.fields_dict(cl)[extra]]
        targets.append(target)
    if direct:
        lines.append("    return o")
    else:
        args = ", ".join(f"{a.name}={t}" for a, t in zip(fields, targets, strict=True))
        lines.append(f"    return {cls}({args})")
    exec("\n".join(lines), _FAST_NS)  # noqa: S102 - source built from field names and types
    fn: Callable[[Any], Any] = _FAST_NS.pop(name)
    return fn


def _detailed_only(_: Any) -> typing.NoReturn:
    raise _Mismatch


_EXACT = {
    str: "({v} if type({v}) is str else _mm())",
    int: "({v} if type({v}) is int else _mm())",
    float: "({v} if type({v}) is float or type({v}) is int else _mm())",
    bool: "({v} if {v} is True or {v} is False else _mm())",
}


def _fast_expr(tp: Any, v: str, depth: int) -> str:
    """An expression that structures the JSON value in variable ``v`` as ``tp``, or mismatches.

    ``v`` may be evaluated more than once, so it is always a plain name.
    """
    if tp in _EXACT:
        return _EXACT[tp].format(v=v)
    if tp in (Any, object):
        return v
    if attrs.has(tp):
        return f"{_fast_name(tp)}({v})"
    if _is_enum(tp):
        lookup = _ns_name(tp._value2member_map_.get)
        return f"({lookup}({v}, {v}) if type({v}) is str else _mm())"
    origin = typing.get_origin(tp)
    if origin is list:
        x = f"x{depth}"
        item = _fast_expr(typing.get_args(tp)[0], x, depth + 1)
        return f"([{item} for {x} in {v}] if type({v}) is list else _mm())"
    if origin is dict and typing.get_args(tp)[0] is str:
        k, x = f"k{depth}", f"x{depth}"
        item = _fast_expr(typing.get_args(tp)[1], x, depth + 1)
        key = f"({k} if type({k}) is str else _mm())"
        return f"({{{key}: {item} for {k}, {x} in {v}.items()}} if type({v}) is dict else _mm())"
    if origin is Literal and all(type(a) is str for a in typing.get_args(tp)):
        allowed = _ns_name(frozenset(typing.get_args(tp)))
        return f"({v} if type({v}) is str and {v} in {allowed} else _mm())"
    if origin in (Union, types.UnionType):
        return _fast_union_expr(tp, v, depth)
    return f"_conv({v}, {_ns_name(tp)})"  # anything else: through the converter's hook


def _fast_union_expr(tp: Any, v: str, depth: int) -> str:
    members = _union_members(tp)
    rest = [m for m in members if m is not _NONE]
    inner = _fast_members_expr(tp, rest, v, depth)
    return f"(None if {v} is None else {inner})" if _NONE in members else inner


def _fast_members_expr(tp: Any, rest: list[Any], v: str, depth: int) -> str:
    if len(rest) == 1:
        return _fast_expr(rest[0], v, depth)
    enums = [m for m in rest if _is_enum(m)]
    if len(enums) == 1 and set(rest) == {str, enums[0]}:  # an open enum: the detailed rule too
        return _fast_expr(enums[0], v, depth)
    if set(rest) == {str, int}:
        return f"({v} if type({v}) is str or type({v}) is int else _mm())"
    tags = [tag_of(m) if attrs.has(m) else None for m in rest]
    if all(tags) and len({t[0] for t in tags if t}) == 1:
        t = f"t{depth}"
        tag_field = tags[0][0]  # type: ignore[index]
        branches = " ".join(
            f"{_fast_name(m)}({v}) if {t} == {tag[1]!r} else"
            for m, tag in zip(rest, tags, strict=True)
            if tag
        )
        # An unknown kind stays the dict it is, as in the detailed hook.
        keep = f"{v} if {t} is None or type({t}) is str else _mm()"
        pick = f"({branches} {keep})"
        return f"({pick} if type({v}) is dict and ({t} := {v}.get({tag_field!r}), 1) else _mm())"
    return f"_conv({v}, {_ns_name(tp)})"


# ----------------------------------------------------------------- to_dict


def _class_unstructurer(cl: type[Any]) -> Callable[[Any], Any]:
    """``def u(o)``: the JSON-ready dict of a model, generated once per class.

    Unset request fields and response fields that are ``None`` by default are left out.
    """
    extra = _extra_field(cl)
    lines = ["def u(o):", "    out = {}"]
    for a in attrs.fields(cl):
        if a.name != extra:
            # A None that is also the default is left out, as servers leave it out: the
            # dict stays small (streams relayed to browsers) and structures back equal.
            skip = "None" if a.default is None else "UNSET"
            lines += [
                f"    v = o.{a.name}",
                f"    if v is not {skip}:",
                f"        out[{a.name!r}] = v if type(v) in _S else _uv(v)",
            ]
    if extra is not None:
        lines += [f"    for k, x in o.{extra}.items():", "        out.setdefault(k, x)"]
    lines.append("    return out")
    namespace: dict[str, Any] = {"UNSET": UNSET, "_S": _SCALARS, "_uv": _unstructure_value}
    exec("\n".join(lines), namespace)  # noqa: S102 - source built from field names only
    fn: Callable[[Any], Any] = namespace["u"]
    return fn


_SCALARS = frozenset({str, int, float, bool, _NONE})
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
        hook = _UNSTRUCTURE_HOOKS[t] = _CONVERTER.get_unstructure_hook(t)
    return hook(v)


# ----------------------------------------------------------------- entry points

_CONVERTER = _make_converter()
_FAST_NS["_conv"] = _CONVERTER.structure
_HOOKS: dict[Any, _Hook] = {}


def structure(data: Any, cls: type[T]) -> T:
    """Build a model from parsed JSON, leniently.

    Raises:
        APIResponseValidationError: The data does not fit ``cls``; ``path`` names where.
    """
    hook = _HOOKS.get(cls)
    if hook is None:
        hook = _HOOKS[cls] = _CONVERTER.get_structure_hook(cls)
    try:
        result: T = hook(data, cls)
    except Exception as exc:  # cattrs raises exception groups and plain errors alike
        path, reason = _first_error(exc)
        raise APIResponseValidationError(
            f"response does not fit {cls.__name__}: {reason} at {path}", path=path
        ) from None
    return result


def _first_error(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, cattrs.BaseValidationError):
        messages = cattrs.transform_error(exc, path="$")
        if messages:
            reason, _, path = messages[0].rpartition(" @ ")
            return path or "$", reason
    return "$", str(exc)


def from_dict(cls: type[T], data: Any) -> T:
    """Build a model from a dict (parsed JSON); the same lenient rules as for responses."""
    return structure(data, cls)


def to_dict(obj: Any) -> Any:
    """The JSON-ready dict of a model: unset fields left out, unknown keys (``extra``) kept."""
    return _unstructure_value(obj)
