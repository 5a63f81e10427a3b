"""The outbound half of the codec: request models (or dicts) to checked JSON-ready data.

Every request passes through here, so the common shapes take a fast path: a plain
``{"role": "user", "content": "..."}`` message is accepted as it is (no copy), a
dict is walked key by key (not field by field: a request sets a few of its ~40
fields), and each attrs class gets a function generated once from its fields that
reads them in straight-line code. Anything off the common shape falls to the
detailed checks below, which either accept it (enum members, subclasses,
tuples) or raise :class:`Invalid`; the path (``messages[2].content``) is
collected while the error unwinds, so the fast path pays nothing for it.

Bad input fails in :func:`to_wire`, before any I/O, with a
:class:`~gpt_async.RequestValidationError` naming the field. Unset fields are left
out; an explicit ``None`` is sent as ``null``; keys a dict carries beyond the
model's fields pass through untouched, for servers that accept more than the spec.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from gpt_async._exceptions import RequestValidationError
from gpt_async._types import EXTRA_KEY, UNSET
from gpt_async.models._response import ChatCompletionMessage

from ._codegen import compile_function
from ._hints import (
    NONE,
    field_type,
    is_enum,
    is_union,
    plain_str,
    strip_unset,
    tag_of,
    type_name,
    wire_members,
)
from ._primitives import OUTBOUND, Invalid, as_is, invalid

__all__ = ["checker", "register_adapter", "to_wire"]

_Check = Callable[[Any], Any]


def to_wire(value: Any, cls: type[Any], *, path: str = "") -> Any:
    """Check ``value`` (a ``cls`` instance or a dict shaped like one) and make it JSON-ready.

    Raises:
        RequestValidationError: Naming the field, e.g. ``messages[0].role``.
    """
    try:
        return checker(cls)(value)
    except Invalid as exc:
        raise RequestValidationError(exc.path(path), exc.reason) from None


# ------------------------------------------------------------------ per type

_CHECKERS: dict[Any, _Check] = {}


def checker(tp: Any) -> _Check:
    """The function (built once per type) that checks a value of ``tp`` and returns its JSON."""
    found = _CHECKERS.get(tp)
    if found is None:
        if attrs.has(tp):
            # Recursive models reach themselves while building: they get a forwarder.
            _CHECKERS[tp] = lambda v: _CHECKERS[tp](v)  # noqa: PLW0108 - looked up when called
        try:
            found = _CHECKERS[tp] = _build_checker(tp)
        except BaseException:
            _CHECKERS.pop(tp, None)
            raise
    return found


def _build_checker(tp: Any) -> _Check:
    if tp in OUTBOUND:
        return OUTBOUND[tp]
    origin = typing.get_origin(tp)
    if is_union(tp):
        return _union_checker(tp)
    if origin is Literal:
        return _literal_checker(typing.get_args(tp))
    if origin in (list, typing.Sequence, tuple):
        return _list_checker(checker(typing.get_args(tp)[0]))
    if origin in (dict, Mapping):
        return _dict_checker(checker(typing.get_args(tp)[1]))
    if is_enum(tp):
        return _enum_checker(tp)
    if attrs.has(tp):
        return _ClassChecker(tp).check
    raise TypeError(f"no wire checker for {tp!r}")  # a bug in the models, not user input


def _literal_checker(values: tuple[Any, ...]) -> _Check:
    allowed = frozenset(values)
    expected = " or ".join(repr(v) for v in values)

    def check_literal(v: Any) -> Any:
        if isinstance(v, str) and v in allowed:
            return plain_str(v)
        raise invalid(v, expected)

    return check_literal


def _enum_checker(enum_cls: type[enum.Enum]) -> _Check:
    # Request enums stay open: a server may accept values newer than this SDK.
    def check_enum(v: Any) -> Any:
        if type(v) is str:
            return v
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, str):
            return plain_str(v)
        raise invalid(v, f"a {enum_cls.__name__} or string")

    return check_enum


def _list_checker(item: _Check) -> _Check:
    def check_list(v: Any) -> Any:
        if type(v) is not list and not isinstance(v, (list, tuple)):
            raise invalid(v, "a list")
        try:
            return [item(x) for x in v]
        except Invalid:
            pass
        for i, x in enumerate(v):  # the failure again, this time counting, for the path
            try:
                item(x)
            except Invalid as exc:
                exc.parts.append(f"[{i}]")
                raise
        raise AssertionError("unreachable: a check failed once, then passed")  # pragma: no cover

    return check_list


def _dict_checker(item: _Check) -> _Check:
    def check_dict(v: Any) -> Any:
        if not isinstance(v, Mapping):
            raise invalid(v, "an object (dict)")
        out = {}
        for k, x in v.items():
            if type(k) is not str:
                if not isinstance(k, str):
                    raise invalid(k, "string keys")
                k = plain_str(k)  # noqa: PLW2901 - the key as it is sent
            try:
                out[k] = item(x)
            except Invalid as exc:
                exc.parts.append(f".{k}")
                raise
        return out

    return check_dict


# ------------------------------------------------------------------ unions


def _union_checker(tp: Any) -> _Check:
    members = wire_members(tp)
    allow_none = NONE in members
    members = [m for m in members if m is not NONE]
    classes = [m for m in members if attrs.has(m)]
    others = [(_predicate(m), checker(m)) for m in members if not attrs.has(m)]
    dispatch = _class_dispatch(classes) if classes else None
    expected = " or ".join(type_name(m) for m in [*members, *([NONE] if allow_none else [])])

    def slow(v: Any) -> Any:
        if v is None:
            if allow_none:
                return None
            raise invalid(v, expected)
        if dispatch is not None and (attrs.has(type(v)) or isinstance(v, Mapping)):
            return dispatch(v)
        for accepts, check in others:
            if accepts(v):
                return check(v)
        raise invalid(v, expected)

    if dispatch is not None and not others and not allow_none:
        return dispatch  # models only (the messages, the content parts): no lookup first
    by_type = _exact_type_table(others, dispatch, classes, allow_none)

    def check_union(v: Any) -> Any:
        fast = by_type.get(type(v))
        return slow(v) if fast is None else fast(v)

    return check_union


def _exact_type_table(
    others: list[tuple[Callable[[Any], bool], _Check]],
    dispatch: _Check | None,
    classes: list[type[Any]],
    allow_none: bool,
) -> dict[type[Any], _Check]:
    """Which check handles a value of each exact JSON type (the union's fast lookup)."""
    table: dict[type[Any], _Check] = {}
    samples: tuple[Any, ...] = ("", 0, 0.5, True, [], {})
    for sample in samples:
        for accepts, check in others:
            if accepts(sample):
                table.setdefault(type(sample), check)
                break
    if dispatch is not None:
        table[dict] = dispatch
        for cls in classes:
            table[cls] = dispatch
    if allow_none:
        table[NONE] = as_is
    return table


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
    return lambda v: isinstance(v, str)  # str, enums and string literals


_ADAPTERS: dict[type[Any], Callable[[Any], Any]] = {}


def register_adapter(cls: type[Any], adapt: Callable[[Any], Any]) -> None:
    """Accept instances of ``cls`` wherever a union expects a model.

    ``adapt`` turns one into a dict that the union then checks, e.g. a response
    message appended to the next request's ``messages``.
    """
    _ADAPTERS[cls] = adapt


def _simple_tags(tags: dict[type[Any], tuple[str, str] | None]) -> frozenset[str]:
    """Tags whose class takes ``{tag: ..., "content": "text"}`` as complete and valid.

    Such a dict (the bulk of any conversation history) is sent as it is.
    """
    simple = set()
    for cls, tag in tags.items():
        names = attrs.fields_dict(cls)
        required = {a.name for a in names.values() if a.default is attrs.NOTHING}
        if tag and "content" in names and required <= {"content"}:
            content = field_type(cls, "content")
            if content is str or str in typing.get_args(content):
                simple.add(tag[1])
    return frozenset(simple)


def _deferred(tp: Any) -> _Check:
    """``checker(tp)``, built when first called (a union's members are rarely all used)."""
    found: _Check | None = None

    def check_deferred(v: Any) -> Any:
        nonlocal found
        if found is None:
            found = checker(tp)
        return found(v)

    return check_deferred


def _class_dispatch(classes: list[type[Any]]) -> _Check:
    by_type = {c: _deferred(c) for c in classes}
    tags = {c: tag_of(c) for c in classes}
    tag_field = next((t[0] for t in tags.values() if t), "")
    by_tag = {t[1]: by_type[c] for c, t in tags.items() if t}
    single = by_type[classes[0]] if len(classes) == 1 else None
    simple = _simple_tags(tags) if tag_field else frozenset()
    names = " or ".join(repr(t[1]) for t in tags.values() if t)

    def slow(v: Any) -> Any:
        adapt = _ADAPTERS.get(type(v))
        if adapt is not None:
            v = adapt(v)
        if single is not None:
            return single(v)
        if not isinstance(v, Mapping):
            raise invalid(v, f"an object (a dict or a model) with {tag_field} {names}")
        tag = v.get(tag_field)
        check = by_tag.get(plain_str(tag)) if isinstance(tag, str) else None
        if check is None:
            missing = f"missing {tag_field!r}" if tag is None else f"unknown {tag_field} {tag!r}"
            raise Invalid(f"{missing}; expected one of {names}", f".{tag_field}")
        return check(v)

    def check_dispatch(v: Any) -> Any:
        if type(v) is dict:
            tag = v.get(tag_field)
            if len(v) == 2 and type(tag) is str and tag in simple and type(v.get("content")) is str:
                return v
            check = by_tag.get(tag) if type(tag) is str else single
        else:
            check = by_type.get(type(v))
        return slow(v) if check is None else check(v)

    return check_dispatch


# ------------------------------------------------------------------ classes


class _ClassChecker:
    """Checks one attrs class: instances by generated code, dicts key by key."""

    def __init__(self, cls: type[Any]) -> None:
        fields = [a for a in attrs.fields(cls) if not a.metadata.get(EXTRA_KEY)]
        self.cls = cls
        self.tag = tag_of(cls)
        # Each field's check is made when a value for it first comes: a request sets a
        # few of its ~40 fields, and the first request should not pay for the rest.
        self.by_key: dict[str, _Check] = {}
        self.names = frozenset(a.name for a in fields)
        self.required = [
            a.name
            for a in fields
            if a.default is attrs.NOTHING and (self.tag is None or a.name != self.tag[0])
        ]
        self.required_set = frozenset(self.required)
        self._fields = fields
        self._from_instance: Callable[[Any], dict[str, Any]] | None = None
        self.check = self._make_check()

    def from_instance(self, v: Any) -> dict[str, Any]:
        """An instance of the model: generated code (made on the first instance) reads it."""
        if self._from_instance is None:
            self._from_instance = _instance_function(
                self.cls,
                self._fields,
                {a.name: field_type(self.cls, a.name) for a in self._fields},
                {a.name: self.check_of(a.name) for a in self._fields},
                self.tag,
            )
        return self._from_instance(v)

    def _make_check(self) -> _Check:
        cls, from_instance, from_mapping = self.cls, self.from_instance, self.from_mapping

        def check_class(v: Any) -> Any:
            if type(v) is dict:
                return from_mapping(v)
            if isinstance(v, cls):
                return from_instance(v)
            if isinstance(v, Mapping):
                return from_mapping(v)
            raise invalid(v, f"a {cls.__name__} or a dict")

        return check_class

    def check_of(self, name: str) -> _Check:
        """The check of field ``name``, made on first use."""
        check = self.by_key.get(name)
        if check is None:
            check = self.by_key[name] = _field_check(self.cls, name)
        return check

    def from_mapping(self, v: Mapping[str, Any]) -> dict[str, Any]:
        """A dict in the model's place: known keys checked, others passed through as given."""
        by_key, names = self.by_key, self.names
        out = {}
        for k, x in v.items():
            if x is not UNSET:
                check = by_key.get(k)
                if check is None and k in names:
                    check = self.check_of(k)
                out[k] = x if check is None else check(x)
        if not self.required_set.issubset(out):
            missing = next(name for name in self.required if name not in out)
            raise Invalid("is required", f".{missing}")
        if self.tag is not None:
            name, value = self.tag
            found = out.setdefault(name, value)
            if found != value:
                raise Invalid(f"must be {value!r} for {self.cls.__name__}", f".{name}")
        return out


def _field_check(cls: type[Any], name: str) -> _Check:
    """A field's check that adds ``.name`` to the path of a failure.

    The field's type is resolved and its check built on first use: most fields of a
    request are never set, and evaluating every annotation up front would make the
    first request pay for the whole model graph.
    """
    check: _Check | None = None
    exact: Any = _Unresolved
    part = f".{name}"

    def check_field(v: Any) -> Any:
        nonlocal check, exact
        if type(v) is exact:
            return v
        if check is None:
            tp = field_type(cls, name)
            exact = strip_unset(tp)
            exact = exact if exact in (str, int) else None  # common scalars: tested first
            check = checker(tp)
        try:
            return check(v)
        except Invalid as exc:
            exc.parts.append(part)
            raise

    return check_field


_EXACT_TYPE_TEST = {
    str: "type(v) is str",
    int: "type(v) is int",
    bool: "v is True or v is False",
    Any: "True",
}


def _instance_function(
    cls: type[Any],
    fields: list[attrs.Attribute[Any]],
    hints: dict[str, Any],
    by_key: dict[str, _Check],
    tag: tuple[str, str] | None,
) -> Callable[[Any], dict[str, Any]]:
    """Generate ``def wire(o)`` that reads each field of ``cls`` in straight-line code.

    A field whose value has the exact primitive type is stored as it is; any other
    value goes through the field's full check.
    """
    lines = ["def wire(o):", "    out = {}"]
    namespace: dict[str, Any] = {"UNSET": UNSET}
    for i, a in enumerate(fields):
        namespace[f"c{i}"] = by_key[a.name]
        lines += [f"    v = o.{a.name}", "    if v is not UNSET:"]
        if tag is not None and a.name == tag[0]:
            namespace[f"t{i}"] = a.default
            lines += [
                f"        if v is not t{i} and c{i}(v) != {tag[1]!r}:",
                f"            bad_tag(o, {a.name!r}, {tag[1]!r})",
                f"        out[{a.name!r}] = {tag[1]!r}",
            ]
            continue
        test = _EXACT_TYPE_TEST.get(strip_unset(hints[a.name]))
        expr = f"c{i}(v)" if test is None else f"v if {test} else c{i}(v)"
        lines.append(f"        out[{a.name!r}] = {expr}")
    lines.append("    return out")
    namespace["bad_tag"] = _bad_tag
    wire: Callable[[Any], dict[str, Any]]
    wire = compile_function("wire", lines, namespace, about=f"to_wire {cls.__qualname__}")
    return wire


def _bad_tag(obj: Any, name: str, value: str) -> typing.NoReturn:
    raise Invalid(f"must be {value!r} for {type(obj).__name__}", f".{name}")


class _Unresolved:
    """The exact type of a field whose check is not built yet (no value has it)."""


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
