"""The JSON backends: orjson when it is installed, the standard library otherwise.

Both give the same bytes: compact, UTF-8, NaN and the infinities as ``null``, and
orjson's spelling of small floats. A value that cannot be encoded raises a
:class:`~gpt_async.RequestValidationError` naming where it sits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from gpt_async._exceptions import RequestValidationError

__all__ = ["dumps", "loads"]

_orjson_dumps: Callable[[Any], bytes] | None
_orjson_loads: Callable[[bytes | str], Any] | None
try:
    from orjson import dumps as _orjson_dumps
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - exercised by the no-orjson test session
    _orjson_dumps = _orjson_loads = None


# Where the two differ, the stdlib output is rewritten to orjson's: orjson writes 1e-05
# as 0.00001 and 1e-07 as 1e-7 (``repr`` pads the exponent), and NaN and the infinities
# as null. Strings are matched whole, so text that looks like a number is left alone.
@cache
def _orjson_differs() -> re.Pattern[bytes]:
    # Compiled on first need (~0.5 ms): only the stdlib path, and only rare output, uses it.
    return re.compile(rb'"(?:[^"\\]|\\.)*"|(-?)(\d)(?:\.(\d+))?e-(\d+)|(NaN|-?Infinity)')


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
        return _orjson_differs().sub(_as_orjson, out)
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
