"""The one private converter between the attrs wire models and JSON.

Two directions, each built once per class and cached:

* **Out** (``to_wire``): a request model, or plain dicts in its place, becomes the
  JSON-ready value that is sent. Every value is checked against its annotation on
  the way, so bad input fails here, before any I/O, with a
  :class:`~gpt_async.RequestValidationError` naming the field
  (``messages[2].content``). Unset fields are left out; an explicit ``None`` is
  sent as ``null``; dicts are dispatched on their ``role``/``type`` tag; keys a dict
  carries beyond the model's fields pass through untouched, for servers that
  accept more than the spec.
* **In** (``structure``): the cattrs converter builds response models leniently:
  unknown keys are kept in the model's ``extra``, unknown enum values stay plain
  strings, missing optional fields take their defaults. A value that does not fit
  raises :class:`~gpt_async.APIResponseValidationError` with the JSON path
  (``$.choices[0].message.tool_calls[1].function``).

``to_dict`` is the inverse of ``structure`` (extras included), and ``dumps`` /
``loads`` use orjson when it is installed, the standard library otherwise, with
the same bytes either way.
"""

from __future__ import annotations

import enum
import json
import math
import types
import typing
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal, TypeVar, Union

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from ._exceptions import APIResponseValidationError, RequestValidationError
from ._types import EXTRA_KEY, UNSET, _UnsetType

__all__ = ["dumps", "from_dict", "loads", "structure", "to_dict", "to_wire"]

T = TypeVar("T")
_Check = Callable[[Any], Any]
_NONE = type(None)
_TAGS = ("role", "type")

try:
    import orjson
except ImportError:  # pragma: no cover - exercised by the no-orjson test session
    orjson = None  # type: ignore[assignment]


# --------------------------------------------------------------------------- JSON


def _std_dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def dumps(value: Any) -> bytes:
    """Serialise a JSON-ready value to compact UTF-8 bytes.

    Raises:
        RequestValidationError: A string holds text UTF-8 cannot encode (a lone
            surrogate), or a value is not JSON (NaN, an arbitrary object).
    """
    try:
        if orjson is not None:
            return orjson.dumps(value)
        return _std_dumps(value)
    except (TypeError, ValueError) as exc:
        path, reason = _find_unencodable(value, "")
        raise RequestValidationError(path, reason or f"cannot be sent as JSON: {exc}") from None


def loads(data: bytes | str) -> Any:
    """Parse JSON text; raises ``ValueError`` (a ``json.JSONDecodeError`` or orjson's)."""
    if orjson is not None:
        return orjson.loads(data)
    return json.loads(data)


def _find_unencodable(value: Any, path: str) -> tuple[str, str]:
    """Locate the first value that cannot be JSON-encoded (the slow path of a failure)."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            return path, f"text is not valid Unicode (lone surrogate at index {exc.start})"
        return "", ""
    if isinstance(value, float) and not math.isfinite(value):
        return path, f"{value!r} is not a JSON number"
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


class _Invalid(Exception):
    """Internal: a value failed its check; ``parts`` collects the path while unwinding."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.parts: list[str] = []


def _fail(value: Any, expected: str) -> typing.NoReturn:
    raise _Invalid(f"expected {expected}, got {_describe(value)}")


def _describe(value: Any) -> str:
    if isinstance(value, (str, int, float, bool, type(None))) and len(repr(value)) <= 40:
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


def to_wire(value: Any, cls: type[Any], *, path: str = "") -> Any:
    """Check ``value`` (a ``cls`` instance or a dict shaped like one) and make it JSON-ready.

    Raises:
        RequestValidationError: Naming the field, e.g. ``messages[0].role``.
    """
    try:
        return _checker(cls)(value)
    except _Invalid as exc:
        parts = [path, *reversed(exc.parts)] if path else list(reversed(exc.parts))
        raise RequestValidationError("".join(parts).lstrip("."), exc.reason) from None


def _check_str(v: Any) -> Any:
    if isinstance(v, str):
        return v
    _fail(v, "a string")


def _check_int(v: Any) -> Any:
    if isinstance(v, int) and v is not True and v is not False:
        return v
    _fail(v, "an integer")


def _check_float(v: Any) -> Any:
    if isinstance(v, (int, float)) and v is not True and v is not False:
        if v != v or v in (math.inf, -math.inf):
            _fail(v, "a finite number")
        return v
    _fail(v, "a number")


def _check_bool(v: Any) -> Any:
    if v is True or v is False:
        return v
    _fail(v, "a boolean")


def _check_any(v: Any) -> Any:
    return v


_PRIMITIVE_CHECKS: dict[Any, _Check] = {
    str: _check_str,
    int: _check_int,
    float: _check_float,
    bool: _check_bool,
    Any: _check_any,
    object: _check_any,
}


@lru_cache(maxsize=None)
def _checker(tp: Any) -> _Check:
    """Build (once per type) the function that checks a value of ``tp`` and returns its JSON."""
    if tp in _PRIMITIVE_CHECKS:
        return _PRIMITIVE_CHECKS[tp]
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return _union_checker(tp)
    if origin is Literal:
        return _literal_checker(typing.get_args(tp))
    if origin in (list, typing.Sequence, tuple):
        return _list_checker(typing.get_args(tp)[0])
    if origin in (dict, Mapping):
        return _dict_checker(typing.get_args(tp)[1])
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_checker(tp)
    if attrs.has(tp):
        return _class_checker(tp)
    if tp is _NONE:
        return _union_checker(typing.Optional[Any])  # only reached via unions
    raise TypeError(f"no wire checker for {tp!r}")  # a bug in the models, not user input


def _literal_checker(values: tuple[Any, ...]) -> _Check:
    allowed = frozenset(values)
    expected = " or ".join(repr(v) for v in values)

    def check(v: Any) -> Any:
        if isinstance(v, str) and v in allowed:
            return str(v)
        _fail(v, expected)

    return check


def _enum_checker(enum_cls: type[enum.Enum]) -> _Check:
    # Request enums stay open: a server may accept values newer than this SDK.
    def check(v: Any) -> Any:
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, str):
            return v
        _fail(v, f"a {enum_cls.__name__} or string")

    return check


def _list_checker(item_tp: Any) -> _Check:
    item = _checker(item_tp)

    def check(v: Any) -> Any:
        if not isinstance(v, (list, tuple)):
            _fail(v, "a list")
        out = []
        for i, x in enumerate(v):
            try:
                out.append(item(x))
            except _Invalid as exc:
                exc.parts.append(f"[{i}]")
                raise
        return out

    return check


def _dict_checker(value_tp: Any) -> _Check:
    item = _checker(value_tp)

    def check(v: Any) -> Any:
        if not isinstance(v, Mapping):
            _fail(v, "an object (dict)")
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                _fail(k, "string keys")
            try:
                out[k] = item(x)
            except _Invalid as exc:
                exc.parts.append(f".{k}")
                raise
        return out

    return check


def _union_checker(tp: Any) -> _Check:
    members = [m for m in typing.get_args(tp) if m is not _UnsetType and m != _unset_literal()]
    allow_none = _NONE in members
    members = [m for m in members if m is not _NONE]
    classes = [m for m in members if attrs.has(m)]
    others = [(_predicate(m), _checker(m)) for m in members if not attrs.has(m)]
    dispatch = _class_dispatch(classes) if classes else None
    expected = " or ".join(_type_name(m) for m in [*members, *([_NONE] if allow_none else [])])

    def check(v: Any) -> Any:
        if v is None:
            if allow_none:
                return None
            _fail(v, expected)
        if dispatch is not None and (attrs.has(type(v)) or isinstance(v, Mapping)):
            return dispatch(v)
        for accepts, checker in others:
            if accepts(v):
                return checker(v)
        _fail(v, expected)

    return check


@lru_cache(maxsize=1)
def _unset_literal() -> Any:
    return Literal[UNSET]


def _predicate(tp: Any) -> Callable[[Any], bool]:
    """A cheap test of whether a value is meant as ``tp`` inside a union."""
    origin = typing.get_origin(tp)
    if origin in (list, typing.Sequence, tuple):
        return lambda v: isinstance(v, (list, tuple))
    if origin in (dict, Mapping):
        return lambda v: isinstance(v, Mapping)
    if tp is float:
        return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    if tp is int:
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if tp is bool:
        return lambda v: isinstance(v, bool)
    if tp in (Any, object):
        return lambda v: True
    # str, enums and string literals
    return lambda v: isinstance(v, str)


def _type_name(tp: Any) -> str:
    if tp is _NONE:
        return "None"
    if typing.get_origin(tp) is Literal:
        return " or ".join(repr(v) for v in typing.get_args(tp))
    origin = typing.get_origin(tp)
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return getattr(tp, "__name__", str(tp))


def _tag_of(cls: type[Any]) -> tuple[str, str] | None:
    """The discriminator of a model: its ``role`` or ``type`` field and that field's value."""
    for a in attrs.fields(cls):
        if a.name in _TAGS and isinstance(a.default, str):
            value = a.default.value if isinstance(a.default, enum.Enum) else a.default
            return a.name, value
    return None


_ADAPTERS: dict[type[Any], Callable[[Any], Any]] = {}


def register_adapter(cls: type[Any], adapt: Callable[[Any], Any]) -> None:
    """Accept instances of ``cls`` wherever a union expects a model (e.g. a response
    message appended to the next request's ``messages``): ``adapt`` turns one into a
    dict that the union then checks."""
    _ADAPTERS[cls] = adapt
    _checker.cache_clear()


def _class_dispatch(classes: list[type[Any]]) -> _Check:
    by_type = {c: _checker(c) for c in classes}
    tags = {c: _tag_of(c) for c in classes}
    tag_field = next((t[0] for t in tags.values() if t), None)
    by_tag = {t[1]: by_type[c] for c, t in tags.items() if t}
    single = by_type[classes[0]] if len(classes) == 1 else None
    names = " or ".join(repr(t[1]) for t in tags.values() if t)

    def check(v: Any) -> Any:
        checker = by_type.get(type(v))
        if checker is not None:
            return checker(v)
        adapt = _ADAPTERS.get(type(v))
        if adapt is not None:
            v = adapt(v)
        if single is not None:
            return single(v)
        if not isinstance(v, Mapping):
            _fail(v, " or ".join(c.__name__ for c in classes))
        tag = v.get(tag_field) if tag_field else None
        checker = by_tag.get(tag.value if isinstance(tag, enum.Enum) else tag)  # type: ignore[arg-type]
        if checker is None:
            exc = _Invalid(
                f"missing {tag_field!r}; expected one of {names}"
                if tag is None
                else f"unknown {tag_field} {tag!r}; expected one of {names}"
            )
            exc.parts.append(f".{tag_field}")
            raise exc
        return checker(v)

    return check


def _class_checker(cls: type[Any]) -> _Check:
    hints = typing.get_type_hints(cls)
    fields = [
        (a.name, _FieldCheck(hints[a.name]), a.default is attrs.NOTHING)
        for a in attrs.fields(cls)
        if not a.metadata.get(EXTRA_KEY)
    ]
    tag = _tag_of(cls)
    known = frozenset(name for name, _, _ in fields)

    def from_instance(v: Any) -> dict[str, Any]:
        out = {}
        for name, check, _ in fields:
            x = getattr(v, name)
            if x is not UNSET:
                out[name] = check(x, name)
        return out

    def from_mapping(v: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: x for k, x in v.items() if k not in known}  # passed through as given
        for name, check, required in fields:
            x = v.get(name, UNSET)
            if x is UNSET:
                if required and not (tag and name == tag[0]):
                    exc = _Invalid("is required")
                    exc.parts.append(f".{name}")
                    raise exc
                if tag and name == tag[0]:
                    out[name] = tag[1]
                continue
            out[name] = check(x, name)
        return out

    def check(v: Any) -> Any:
        if isinstance(v, cls):
            out = from_instance(v)
        elif isinstance(v, Mapping):
            out = from_mapping(v)
        else:
            _fail(v, f"a {cls.__name__} or a dict")
        if tag is not None and out.get(tag[0]) != tag[1]:
            exc = _Invalid(f"must be {tag[1]!r} for {cls.__name__}")
            exc.parts.append(f".{tag[0]}")
            raise exc
        return out

    return check


class _FieldCheck:
    """A field's checker that adds the field's name to the path of a failure."""

    __slots__ = ("_check", "_tp")

    def __init__(self, tp: Any) -> None:
        self._tp = tp
        self._check: _Check | None = None

    def __call__(self, v: Any, name: str) -> Any:
        check = self._check
        if check is None:  # built lazily: models refer to each other recursively
            check = self._check = _checker(self._tp)
        try:
            return check(v)
        except _Invalid as exc:
            exc.parts.append(f".{name}")
            raise


# ------------------------------------------------------------ in: from the wire


def _structure_str(v: Any, _: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)  # servers send numeric codes where the spec says string
    raise TypeError(f"expected a string, got {_describe(v)}")


def _structure_int(v: Any, _: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise TypeError(f"expected an integer, got {_describe(v)}")


def _structure_float(v: Any, _: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    raise TypeError(f"expected a number, got {_describe(v)}")


def _structure_bool(v: Any, _: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise TypeError(f"expected a boolean, got {_describe(v)}")


def _structure_any(v: Any, _: Any) -> Any:
    return v


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(Any, _structure_any)
    conv.register_structure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _structure_open_enum
    )
    conv.register_structure_hook_factory(_is_union, lambda t: _union_structurer(conv, t))
    conv.register_structure_hook_factory(attrs.has, lambda cl: _class_structurer(conv, cl))
    conv.register_unstructure_hook_factory(attrs.has, lambda cl: _class_unstructurer(conv, cl))
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda v: v.value
    )
    return conv


def _structure_open_enum(v: Any, tp: type[enum.Enum]) -> Any:
    try:
        return tp(v)
    except ValueError:
        if isinstance(v, str):
            return v  # an enum value newer than this SDK: kept as the plain string
        raise TypeError(f"expected a {tp.__name__} string, got {_describe(v)}") from None


def _class_structurer(conv: cattrs.Converter, cl: type[Any]) -> Callable[[Any, Any], Any]:
    extra = next((a.name for a in attrs.fields(cl) if a.metadata.get(EXTRA_KEY)), None)
    overrides = {extra: override(omit=True)} if extra else {}
    base = make_dict_structure_fn(cl, conv, **overrides)  # type: ignore[arg-type]
    known = frozenset(a.name for a in attrs.fields(cl) if a.name != extra)

    def structure_cl(v: Any, _: Any) -> Any:
        if not isinstance(v, dict):
            raise TypeError(f"expected an object, got {_describe(v)}")
        obj = base(v, cl)
        if extra is not None and not known.issuperset(v):
            setattr(obj, extra, {k: x for k, x in v.items() if k not in known})
        return obj

    return structure_cl


def _union_structurer(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    members = [m for m in typing.get_args(tp) if m is not _UnsetType and m != _unset_literal()]
    allow_none = _NONE in members
    members = [m for m in members if m is not _NONE]
    classes = [m for m in members if attrs.has(m)]
    tags = {c: _tag_of(c) for c in classes}
    tag_field = next((t[0] for t in tags.values() if t), None)
    by_tag = {t[1]: c for c, t in tags.items() if t}
    strings = [m for m in members if _predicate(m)("") and m not in (Any, object)]
    others = [m for m in members if not attrs.has(m) and m not in strings]
    expected = " or ".join(_type_name(m) for m in members)

    def structure_union(v: Any, _: Any) -> Any:
        if v is None:
            if allow_none:
                return None
            raise TypeError(f"expected {expected}, got None")
        if isinstance(v, str) and strings:
            return _structure_string_member(conv, strings, v)
        if isinstance(v, dict) and classes:
            if len(classes) == 1:
                return conv.structure(v, classes[0])
            cls = by_tag.get(v.get(tag_field))  # type: ignore[arg-type]
            return v if cls is None else conv.structure(v, cls)  # unknown kinds stay dicts
        for m in others:
            if _predicate(m)(v):
                return conv.structure(v, m)
        raise TypeError(f"expected {expected}, got {_describe(v)}")

    return structure_union


def _structure_string_member(conv: cattrs.Converter, members: list[Any], v: str) -> Any:
    for m in members:
        if isinstance(m, type) and issubclass(m, enum.Enum):
            try:
                return m(v)
            except ValueError:
                continue
        if typing.get_origin(m) is Literal and v in typing.get_args(m):
            return v
    return v  # an open string: ``str`` itself, or a value newer than this SDK


def _class_unstructurer(conv: cattrs.Converter, cl: type[Any]) -> Callable[[Any], Any]:
    names = [a.name for a in attrs.fields(cl) if not a.metadata.get(EXTRA_KEY)]
    extra = next((a.name for a in attrs.fields(cl) if a.metadata.get(EXTRA_KEY)), None)
    unstructure = conv.unstructure

    def unstructure_cl(obj: Any) -> dict[str, Any]:
        out = {}
        for name in names:
            v = getattr(obj, name)
            if v is not UNSET:
                out[name] = unstructure(v)
        if extra is not None:
            for k, v in getattr(obj, extra).items():
                out.setdefault(k, v)
        return out

    return unstructure_cl


_CONVERTER = _make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """Build a model from parsed JSON, leniently.

    Raises:
        APIResponseValidationError: The data does not fit ``cls``; ``path`` names where.
    """
    try:
        return _CONVERTER.structure(data, cls)
    except Exception as exc:  # cattrs raises exception groups and plain errors alike
        path, reason = _first_error(exc)
        raise APIResponseValidationError(
            f"response does not fit {cls.__name__}: {reason} at {path}", path=path
        ) from None


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
    return _CONVERTER.unstructure(obj)
