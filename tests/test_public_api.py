"""The public surface: explicit, sorted ``__all__`` lists whose names all exist."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

MODULES = [
    "gpt_async",
    "gpt_async.models",
    "gpt_async.models.components",
    "gpt_async.models.errors",
    "gpt_async.models.operations",
    "gpt_async.testing",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    """Each public module's __all__ is sorted, unique, and every name is defined."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), attr


def test_exceptions_share_one_root() -> None:
    """Every exception gpt_async exports derives from GptAsyncError."""
    import gpt_async

    for name in gpt_async.__all__:
        obj = getattr(gpt_async, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, gpt_async.GptAsyncError), name


def test_py_typed_is_shipped() -> None:
    """The package carries its py.typed marker."""
    import gpt_async

    assert (Path(gpt_async.__file__).parent / "py.typed").exists()


def test_import_is_light() -> None:
    """Importing gpt_async imports no testing server, FastAPI, portal thread or cattrs."""
    code = (
        "import sys, threading, gpt_async; "
        "extras = ('fastapi', 'gpt_async.testing', 'orjson', 'cattrs'); "
        "print(sorted(m for m in extras if m in sys.modules)); "
        "print(threading.active_count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert "fastapi" not in out[0]
    assert "gpt_async.testing" not in out[0]
    assert "cattrs" not in out[0]  # loaded on the first response off the common shape
    assert out[1] == "1"
