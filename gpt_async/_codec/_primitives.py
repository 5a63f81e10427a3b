"""The primitive values, in each of the codec's three tempers, and its error vocabulary.

* **Outbound checks** (``check_*``): a request value is checked and made plain
  JSON (an enum member becomes its value, a ``str`` subclass plain text); a
  failure raises :class:`Invalid`, whose path is collected while it unwinds.
* **Lenient hooks** (``LENIENT``): responses, where servers bend the spec (a
  number where a string belongs, ``2.0`` for an integer) and are still read.
* **Strict hooks** (``STRICT``): structured outputs, where the value must have
  the JSON type its schema names (enums and literals closed).

Every hook raises ``TypeError("expected ..., got ...")``; :func:`first_error`
turns cattrs' exception groups into the first path and reason.
"""

from __future__ import annotations

import enum
import math
import typing
from collections.abc import Callable
from typing import Any

from ._hints import NONE, describe, plain_str

__all__ = [
    "LENIENT",
    "MISSING",
    "OUTBOUND",
    "STRICT",
    "Invalid",
    "Mismatch",
    "as_is",
    "detailed_only",
    "invalid",
    "mismatch",
    "first_error",
    "structure_enum_strictly",
    "wrong",
]

_Hook = Callable[[Any, Any], Any]


class Invalid(Exception):
    """A request value failed its check; ``parts`` collects the path while unwinding."""

    def __init__(self, reason: str, part: str = "") -> None:
        self.reason = reason
        self.parts: list[str] = [part] if part else []

    def path(self, prefix: str = "") -> str:
        """The dotted path from the checked root to the failing value."""
        return "".join([prefix, *reversed(self.parts)]).lstrip(".")


def invalid(value: Any, expected: str) -> Invalid:
    """The error rejecting a request value that is not what ``expected`` says."""
    return Invalid(f"expected {expected}, got {describe(value)}")


def wrong(value: Any, expected: str) -> TypeError:
    """The error a structure hook raises for a value that is not ``expected``."""
    return TypeError(f"expected {expected}, got {describe(value)}")


# ------------------------------------------------------------------ outbound


def _check_str(v: Any) -> Any:
    if type(v) is str:
        return v
    if isinstance(v, str):
        return plain_str(v)
    raise invalid(v, "a string")


def _check_int(v: Any) -> Any:
    if type(v) is int:
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return int(v)
    raise invalid(v, "an integer")


def _check_float(v: Any) -> Any:
    if type(v) is int or (type(v) is float and v - v == 0.0):  # v - v is NaN for inf and NaN
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if not math.isfinite(v):
            raise invalid(v, "a finite number")
        return int(v) if isinstance(v, int) else float(v)
    raise invalid(v, "a number")


def _check_bool(v: Any) -> Any:
    if v is True or v is False:
        return v
    raise invalid(v, "a boolean")


def as_is(v: Any, _: Any = None) -> Any:
    return v


OUTBOUND: dict[Any, Callable[[Any], Any]] = {
    str: _check_str,
    int: _check_int,
    float: _check_float,
    bool: _check_bool,
    Any: as_is,
    object: as_is,
}


# ------------------------------------------------------------------ inbound


def _integer(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise wrong(v, "an integer")


def _boolean(v: Any, _: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise wrong(v, "a boolean")


def _lenient_str(v: Any, _: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)  # servers send numeric codes where the spec says string
    raise wrong(v, "a string")


def _lenient_float(v: Any, _: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    raise wrong(v, "a number")


def _lenient_int(v: Any, _: Any) -> int:
    return _integer(v)


LENIENT: dict[Any, _Hook] = {
    str: _lenient_str,
    int: _lenient_int,
    float: _lenient_float,
    bool: _boolean,
    Any: as_is,
}


def structure_enum_strictly(v: Any, tp: type[enum.Enum]) -> Any:
    """The member of ``tp`` whose value is ``v``, with the same JSON type."""
    for member in tp:
        if member.value == v and type(member.value) is type(v):
            return member
    raise wrong(v, "one of " + ", ".join(repr(m.value) for m in tp))


def _strict_str(v: Any, tp: Any) -> Any:
    if tp is not str:  # a str-based enum dispatches here
        return structure_enum_strictly(v, tp)
    if isinstance(v, str):
        return v
    raise wrong(v, "a string")


def _strict_int(v: Any, tp: Any) -> Any:
    if tp is not int:  # an IntEnum
        return structure_enum_strictly(v, tp)
    return _integer(v)


def _strict_float(v: Any, _: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    raise wrong(v, "a number")


def _strict_none(v: Any, _: Any) -> None:
    if v is not None:
        raise wrong(v, "null")


STRICT: dict[Any, _Hook] = {
    str: _strict_str,
    int: _strict_int,
    float: _strict_float,
    bool: _boolean,
    NONE: _strict_none,
    enum.Enum: structure_enum_strictly,
}


# ------------------------------------------------------------------ errors


class Mismatch(Exception):
    """The inbound fast path met a value it leaves to the detailed hook."""


def mismatch() -> typing.NoReturn:
    """Give up on the fast path (generated code calls this as ``_mm()``)."""
    raise Mismatch


def detailed_only(_: Any) -> typing.NoReturn:
    """The fast path of a model it cannot cover (a factory that takes ``self``)."""
    raise Mismatch


MISSING: Any = object()
"""What generated code reads for a key the dict does not have (``_M``)."""


def first_error(exc: BaseException) -> tuple[str, str]:
    """The JSON path (``$.choices[0].message``) and reason of the first failure in ``exc``."""
    import cattrs  # noqa: PLC0415 - only failures get here; cattrs is loaded by then

    if isinstance(exc, cattrs.BaseValidationError):
        messages = cattrs.transform_error(exc, path="$", format_exception=_format_exception)
        if messages:
            reason, _, path = messages[0].rpartition(" @ ")
            return path or "$", reason
    return "$", str(exc)


def _format_exception(exc: BaseException, tp: Any) -> str:
    if isinstance(exc, TypeError) and str(exc).startswith("expected "):
        return str(exc)  # one of ours, which says what came
    from cattrs.v import format_exception  # noqa: PLC0415 - as above

    return format_exception(exc, tp)
