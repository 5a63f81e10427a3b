"""Write ``_prebuilt.py``: the response models' structure functions, ahead of time.

Run ``python -m gpt_async._codec._generate`` after changing a response or chunk
model; ``tests/test_converter.py`` checks that the committed file is exactly what
this writes. The source of each function is the one the codec generates at run
time (:func:`._fast.structure_source`), so both paths behave alike; compiled with
the package, they spare the first response the code generation.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Any

from gpt_async._types import UNSET
from gpt_async.models._chunk import ChatCompletionChunk
from gpt_async.models._response import ChatCompletion

from ._fast import Namespace, structure_source

__all__ = ["ROOTS", "TARGET", "render"]

ROOTS: tuple[type[Any], ...] = (ChatCompletion, ChatCompletionChunk)
"""The classes the client structures; every model they contain is prebuilt too."""
TARGET = Path(__file__).with_name("_prebuilt.py")

_HEADER = '''"""The response models' structure functions, generated ahead of time: do not edit.

Written by ``python -m gpt_async._codec._generate`` from the source the codec
generates at run time (``_fast.structure_source``); a test checks this file is
what the generator writes.
"""

# mypy: ignore-errors
# ruff: noqa
# fmt: off
'''


class _Module:
    """The pieces of the generated module: imports, constants, functions."""

    def __init__(self) -> None:
        self.models: dict[str, type[Any]] = {}
        self.imports: dict[tuple[str, str], str] = {}
        self.constants: list[str] = []
        self.functions: list[str] = []
        self.table: list[tuple[str, str]] = []

    def name_of(self, obj: Any) -> str:
        """The local name of an importable object (a class, or a builtin)."""
        if obj.__module__ == "builtins":
            return str(obj.__qualname__)
        key = (obj.__module__, obj.__qualname__)
        if key not in self.imports:
            taken = set(self.imports.values())
            alias = obj.__qualname__
            while alias in taken:
                alias = f"{alias}_"
            self.imports[key] = alias
        return self.imports[key]

    def source_of(self, value: Any) -> str:
        """A source expression for a constant of generated code."""
        if value is UNSET:
            return f"{self.name_of(type(UNSET))}.UNSET"
        if isinstance(value, enum.Enum):
            return f"{self.name_of(type(value))}.{value.name}"
        if value is None or type(value) in (bool, int, float, str):
            return repr(value)
        if type(value) is frozenset:
            return f"frozenset({tuple(sorted(value))!r})"
        if isinstance(value, type):
            return self.name_of(value)
        raise TypeError(f"no source for the constant {value!r}: extend _generate.source_of")

    def add(self, cl: type[Any]) -> list[type[Any]]:
        """Generate ``cl``'s function; returns the models it calls."""
        ns = Namespace(f"_k_{cl.__name__}_", self.models)
        lines = structure_source(cl, ns)
        own = ns.structurer(cl)
        self.table.append((self.name_of(cl), own))
        if lines is None:
            self.functions.append(f"{own} = detailed_only")
            return []
        if any("_conv(" in line for line in lines):
            raise TypeError(f"{cl.__qualname__} needs the converter's hooks: not prebuilt")
        for name, value in ns.constants.items():
            if name not in ns.enum_lookups:
                self.constants.append(f"{name} = {self.source_of(value)}")
        for name, tp in ns.enum_lookups.items():
            self.constants.append(f"{name} = {self.name_of(tp)}._value2member_map_.get")
        self.functions.append("\n".join(lines))
        return [m for m in ns.models.values() if m is not cl]

    def render(self) -> str:
        imports = sorted(self.imports.items())
        lines = [_HEADER]
        lines.append("from gpt_async._codec._primitives import MISSING as _M")
        lines.append("from gpt_async._codec._primitives import detailed_only")
        lines.append("from gpt_async._codec._primitives import mismatch as _mm")
        for (module, qualname), alias in imports:
            suffix = "" if alias == qualname else f" as {alias}"
            lines.append(f"from {module} import {qualname}{suffix}")
        lines += ["", "_new = object.__new__", *self.constants, ""]
        for function in self.functions:
            lines += ["", function, ""]
        lines += ["", "PREBUILT = {"]
        lines += [f"    {cls}: {fn}," for cls, fn in self.table]
        lines.append("}")
        return "\n".join(lines) + "\n"


def render() -> str:
    """The text of ``_prebuilt.py`` for the current models."""
    module = _Module()
    todo, done = list(ROOTS), set()
    while todo:
        cl = todo.pop(0)
        if cl not in done:
            done.add(cl)
            todo += module.add(cl)
    return module.render()


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET}\n")
