"""Write the codec's ahead-of-time modules: ``_prebuilt.py`` and ``_prebuilt_hints.py``.

* ``_prebuilt.py``: the response models' structure functions. Their source is the
  one the codec generates at run time (:func:`._fast.structure_source`), so both
  paths behave alike; compiled with the package, they spare the first response
  the code generation.
* ``_prebuilt_hints.py``: every wire model field's annotation as compiled code
  (a lambda per field), so that the first request does not ``eval`` the
  annotation strings of the fields it sets.

Run ``python -m gpt_async._codec._generate`` after changing a model;
``tests/test_converter.py`` checks that the committed files are what this writes.
"""

from __future__ import annotations

import ast
import builtins
import enum
import inspect
import sys
from pathlib import Path
from typing import Any

import attrs

from gpt_async._types import UNSET, LazyModule, Unset
from gpt_async.models import _chunk, _messages, _request, _response, _tools
from gpt_async.models._chunk import ChatCompletionChunk
from gpt_async.models._response import ChatCompletion

from ._fast import Namespace, structure_source

__all__ = [
    "CHUNK_TARGET",
    "HINTS_TARGET",
    "ROOTS",
    "TARGET",
    "render",
    "render_chunk",
    "render_hints",
]

ROOTS: tuple[type[Any], ...] = (ChatCompletion, ChatCompletionChunk)
"""The classes the client structures; every model they contain is prebuilt too."""
TARGET = Path(__file__).with_name("_prebuilt.py")
CHUNK_TARGET = Path(__file__).with_name("_prebuilt_chunk.py")
"""The chunk's functions: they load with the first stream (``_fast.LAZY_PREBUILT``)."""
HINTS_TARGET = Path(__file__).with_name("_prebuilt_hints.py")
MODEL_MODULES = (_messages, _tools, _request, _response, _chunk)
"""The modules whose models' annotations are prebuilt."""
LAZY_MODULES = frozenset({_tools.__name__, _chunk.__name__})
"""The model modules ``import gpt_async`` does not load: the hints name them lazily."""

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

    def __init__(self, base: _Module | None = None) -> None:
        # A module built on ``base`` calls base's functions for the models base has.
        self.base = base
        self.models: dict[str, type[Any]] = {} if base is None else dict(base.models)
        self.imports: dict[tuple[str, str], str] = {}
        self.constants: list[str] = []
        self.functions: list[str] = []
        self.table: list[tuple[str, str]] = []
        self.generated: dict[type[Any], str] = {}
        self.reused: list[str] = []

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
        """Generate ``cl``'s function (or take base's); returns the models it calls."""
        if self.base is not None and cl in self.base.generated:
            self.reused.append(self.base.generated[cl])
            return []
        ns = Namespace(f"_k_{cl.__name__}_", self.models)
        lines = structure_source(cl, ns)
        own = self.generated[cl] = ns.structurer(cl)
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
        called = "\n".join(self.functions)
        reused = sorted(fn for fn in self.reused if f"{fn}(" in called)
        lines += [f"from gpt_async._codec._prebuilt import {fn}" for fn in reused]
        lines += ["", "_new = object.__new__", *self.constants, ""]
        for function in self.functions:
            lines += ["", function, ""]
        lines += ["", "PREBUILT = {"]
        lines += [f"    {cls}: {fn}," for cls, fn in self.table]
        lines.append("}")
        return "\n".join(lines) + "\n"


def _build(roots: tuple[type[Any], ...], base: _Module | None = None) -> _Module:
    module = _Module(base)
    todo, done = list(roots), set()
    while todo:
        cl = todo.pop(0)
        if cl not in done:
            done.add(cl)
            todo += module.add(cl)
    return module


def render() -> str:
    """The text of ``_prebuilt.py``: the completion and the models inside it."""
    return _build(ROOTS[:1]).render()


def render_chunk() -> str:
    """The text of ``_prebuilt_chunk.py``: the chunk's models the completion lacks."""
    return _build(ROOTS[1:], base=_build(ROOTS[:1])).render()


_HINTS_HEADER = '''"""Every wire model field's annotation as compiled code: generated, do not edit.

Written by ``python -m gpt_async._codec._generate``; ``_hints.field_type`` calls
the lambda of a field instead of evaluating its annotation string.
"""

# mypy: ignore-errors
# ruff: noqa
# fmt: off
'''


class _Qualify(ast.NodeTransformer):
    """Rewrites the names of an annotation as attributes of its module's alias.

    ``Unset`` (``Literal[UNSET]``, for type checkers) becomes the sentinel's class:
    the codec reads both alike, and ``X | _UnsetType`` is a C-level union, where
    ``X | Literal[...]`` builds a ``typing.Union`` (~100 us each, on first use).
    """

    def __init__(self, alias: str, module: Any, aliases: dict[str, str]) -> None:
        self.alias, self.names, self.aliases = alias, vars(module), aliases

    def visit_Name(self, node: ast.Name) -> ast.AST:
        value = self.names.get(node.id)
        if value is Unset:
            return ast.Name("_UnsetType", ast.Load())
        if isinstance(value, LazyModule) and value.module_name in self.aliases:
            return ast.Name(self.aliases[value.module_name], ast.Load())  # ``_tools.X``
        if node.id in self.names:
            return ast.Attribute(ast.Name(self.alias, ast.Load()), node.id, ast.Load())
        return node


def _hint_source(
    cls: type[Any], a: attrs.Attribute[Any], alias: str, aliases: dict[str, str]
) -> str | None:
    """``a``'s annotation as source in terms of ``alias`` (None: names from elsewhere)."""
    module = sys.modules[cls.__module__]
    # The class's own annotation text: cattrs resolves ``a.type`` in place once it has
    # built a detailed hook, so that may be a type object by now.
    owners = (inspect.get_annotations(c) for c in cls.__mro__)
    annotation = next((own[a.name] for own in owners if a.name in own), None)
    if not isinstance(annotation, str):
        return None
    tree = ast.parse(annotation, mode="eval")
    found = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if not found <= vars(module).keys() | vars(builtins).keys():
        return None
    return ast.unparse(_Qualify(alias, module, aliases).visit(tree))


def render_hints() -> str:
    """The text of ``_prebuilt_hints.py`` for the current models.

    ``HINTS`` maps a module's name to ``{(class qualname, field): lambda}``: keyed by
    names, so a lazy module's classes need not exist until a hint names them.
    """
    lines = [_HINTS_HEADER, "from gpt_async._types import LazyModule, _UnsetType"]
    aliases = {m.__name__: f"_{m.__name__.rsplit('.', 1)[-1].lstrip('_')}" for m in MODEL_MODULES}
    for module in MODEL_MODULES:
        alias, (package, name) = aliases[module.__name__], module.__name__.rsplit(".", 1)
        if module.__name__ in LAZY_MODULES:
            lines.append(f"{alias} = LazyModule({module.__name__!r})")
        else:
            lines.append(f"from {package} import {name} as {alias}")
    lines += ["", "HINTS = {"]
    for module in MODEL_MODULES:
        lines.append(f"    {module.__name__!r}: {{")
        for cls in _models_of(module):
            for a in attrs.fields(cls):
                source = _hint_source(cls, a, aliases[module.__name__], aliases)
                if source is not None:
                    lines.append(f"        ({cls.__qualname__!r}, {a.name!r}): lambda: {source},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _models_of(module: Any) -> list[type[Any]]:
    """The module's own attrs classes, once each (an alias names a class twice)."""
    found = {
        id(v): v
        for v in vars(module).values()
        if isinstance(v, type) and attrs.has(v) and v.__module__ == module.__name__
    }
    return list(found.values())


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    CHUNK_TARGET.write_text(render_chunk(), encoding="utf-8")
    HINTS_TARGET.write_text(render_hints(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET}, {CHUNK_TARGET} and {HINTS_TARGET}\n")
