"""The public surface: explicit, sorted ``__all__`` lists whose names all exist."""

from __future__ import annotations

import importlib
import json
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


_LAZY_TOOLS_SCRIPT = """
import json, sys, typing
import gpt_async
from gpt_async import RequestValidationError, _codec
from gpt_async.models import components
lazy = ("gpt_async.models._tools", "gpt_async.models._chunk", "gpt_async.models._listing",
        "gpt_async._codec._prebuilt_chunk", "gpt_async._ratelimit_info", "gpt_async._accumulate",
        "gpt_async._proxies")
out = {"loaded_at_import": [m for m in lazy if m in sys.modules]}
out["in_dir"] = "ChatCompletionTool" in dir(components)
out["after_dir"] = "gpt_async.models._tools" in sys.modules
body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
_codec.to_wire(body, components.CreateChatCompletionRequest)
out["after_plain_request"] = "gpt_async.models._tools" in sys.modules
tool = {"type": "function", "function": {"name": 3}}
try:
    _codec.to_wire({**body, "tools": [tool]}, components.CreateChatCompletionRequest)
except RequestValidationError as exc:
    out["bad_tool"] = exc.path
out["after_tools"] = "gpt_async.models._tools" in sys.modules
hints = typing.get_type_hints(components.CreateChatCompletionRequest)
from gpt_async.models.components import ChatCompletionTool
from gpt_async.models._tools import ChatCompletionTool as Own
out["same_class"] = ChatCompletionTool is Own is components.ChatCompletionTool
out["hint"] = repr(hints["tools"])
print(json.dumps(out))
"""


def test_request_options_load_on_first_use() -> None:
    """``import gpt_async`` skips the tool and response-format models, the chunk, the model
    listing, the rate-limit headers and the proxy support. A plain request never loads
    the tool models; the first tool does, and every way of naming them still works."""
    out = subprocess.run(
        [sys.executable, "-c", _LAZY_TOOLS_SCRIPT], capture_output=True, text=True, check=True
    ).stdout
    seen = json.loads(out)
    assert seen["loaded_at_import"] == []
    assert seen["in_dir"] is True
    assert seen["after_dir"] is False  # listing names loads nothing
    assert seen["after_plain_request"] is False
    assert seen["bad_tool"] == "tools[0].function.name"
    assert seen["after_tools"] is True
    assert seen["same_class"] is True
    assert "gpt_async.models._tools.ChatCompletionTool" in seen["hint"]


def test_py_typed_is_shipped() -> None:
    """The package carries its py.typed marker."""
    import gpt_async

    assert (Path(gpt_async.__file__).parent / "py.typed").exists()


def test_import_is_light() -> None:
    """Importing gpt_async imports no testing server, FastAPI, portal thread, cattrs,
    rate limiter, tracing, pydantic, redis or OpenTelemetry."""
    code = (
        "import sys, threading, gpt_async; "
        "extras = ('fastapi', 'gpt_async.testing', 'orjson', 'cattrs', 'gpt_async._ratelimit',"
        " 'gpt_async._tracing', 'pydantic', 'redis', 'opentelemetry'); "
        "print(sorted(m for m in extras if m in sys.modules)); "
        "print(threading.active_count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert "fastapi" not in out[0]
    assert "gpt_async.testing" not in out[0]
    assert "cattrs" not in out[0]  # loaded on the first response off the common shape
    for module in ("_ratelimit", "_tracing", "pydantic", "redis", "opentelemetry"):
        assert module not in out[0]
    assert out[1] == "1"


def test_lazy_names_resolve_and_unknown_ones_fail() -> None:
    """A LazyModule stands for its module (and says which); ``components`` refuses a name it
    does not have with AttributeError, as any module does, so ``hasattr`` stays truthful."""
    from gpt_async._types import LazyModule
    from gpt_async.models import _tools, components

    lazy = LazyModule("gpt_async.models._tools")
    assert repr(lazy) == "<lazy module 'gpt_async.models._tools'>"
    assert lazy.ChatCompletionTool is _tools.ChatCompletionTool
    with pytest.raises(AttributeError, match="NoSuchModel"):
        components.NoSuchModel  # noqa: B018
    assert not hasattr(components, "NoSuchModel")


@pytest.mark.anyio
async def test_a_closable_without_its_close_says_so() -> None:
    """``AsyncClosing``/``Closing`` call the subclass's close on exit; one that forgot to
    write it fails loudly rather than leaving the resource open in silence."""
    from gpt_async._types import AsyncClosing, Closing

    class Forgot(AsyncClosing):
        pass

    class ForgotSync(Closing):
        pass

    with pytest.raises(NotImplementedError):
        async with Forgot():
            pass
    with pytest.raises(NotImplementedError), ForgotSync():
        pass
