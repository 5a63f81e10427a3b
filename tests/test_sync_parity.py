"""Sync parity: every public method of AsyncGpt and its resources has a sync twin on Gpt
that returns nothing async, called against the testing server.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from gpt_async import APIResponse, AsyncGpt, AsyncStream, Gpt, Stream
from gpt_async.models import components
from gpt_async.testing import ThreadedFakeOpenAIServer

KEY = "sk-parity"
USER = [{"role": "user", "content": "hello there"}]
_SYNC_NAMES = {"aclose": "close"}


@attrs.define
class Echo:
    """What the testing server's echo answers in JSON mode."""

    echo: str


def add(a: int, b: int) -> int:
    """Add two numbers (a tool for run_tools)."""
    return a + b


def _request(*, stream: bool | None = None) -> components.CreateChatCompletionRequest:
    request = components.CreateChatCompletionRequest(
        messages=[components.ChatCompletionRequestUserMessage(content="hello there")], model="m"
    )
    if stream is not None:
        request.stream = stream
    return request


# Each public method's calls, by its path from the client; a new method without an
# entry here fails test_every_public_method_has_calls.
CALLS: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "aclose": [((), {})],
    "azure": [((), {"deployment": "d", "api_version": "2024-10-21", "api_key": KEY})],
    "pool_size": [((), {})],
    "models.list": [((), {})],
    "models.retrieve": [(("gpt-4o",), {})],
    "with_options": [((), {"timeout": 5.0})],
    "chat.create_chat_completion": [((_request(),), {}), ((_request(stream=True),), {})],
    "chat.completions.create": [
        ((), {"model": "m", "messages": USER}),
        ((), {"model": "m", "messages": USER, "stream": True}),
        ((), {"model": "m", "messages": USER, "stream": False}),
    ],
    "chat.completions.stream": [((), {"model": "m", "messages": USER})],
    "chat.completions.with_raw_response.create": [
        ((), {"model": "m", "messages": USER}),
        ((), {"model": "m", "messages": USER, "stream": True}),
    ],
    "chat.completions.parse": [((), {"model": "m", "messages": USER, "response_format": Echo})],
    "chat.completions.parse_stream": [
        ((), {"model": "m", "messages": USER, "response_format": Echo})
    ],
    "chat.completions.run_tools": [((), {"model": "m", "messages": USER, "tools": [add]})],
}


def _is_resource(value: object) -> bool:
    cls = type(value)
    return cls.__module__.startswith("gpt_async.") and cls.__name__.startswith("Async")


def public_methods(obj: object, prefix: str = "") -> Iterator[str]:
    """The dotted paths of ``obj``'s public methods, and of its resources' methods."""
    for name in dir(type(obj)):
        static = inspect.getattr_static(type(obj), name)
        method = inspect.isfunction(static) or isinstance(static, (classmethod, staticmethod))
        if method and not name.startswith("_"):
            yield prefix + name
        elif isinstance(static, functools.cached_property) and not name.startswith("_"):
            getattr(obj, name)  # a resource made on first use, such as with_raw_response
    for name, value in vars(obj).items():
        if not name.startswith("_") and _is_resource(value):
            yield from public_methods(value, f"{prefix}{name}.")


def _resolve(root: object, path: str) -> Callable[..., Any]:
    *resources, name = path.split(".")
    for resource in resources:
        root = getattr(root, resource)
    return getattr(root, _SYNC_NAMES.get(name, name))  # type: ignore[no-any-return]


def assert_nothing_async(value: object, where: str) -> None:
    """Fail when ``value`` (or an attrs field or item of it) is an async object."""
    assert not inspect.isawaitable(value), where
    assert not isinstance(value, AsyncStream), where
    for method in ("__aiter__", "__anext__", "__aenter__", "aclose"):
        assert not hasattr(value, method), f"{where} has {method}"
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            assert_nothing_async(getattr(value, field.name), f"{where}.{field.name}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            assert_nothing_async(item, f"{where}[{i}]")


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedFakeOpenAIServer]:
    """A testing server on its own thread."""
    with ThreadedFakeOpenAIServer() as srv:
        yield srv


def test_every_public_method_has_calls() -> None:
    """The walk finds every public method of AsyncGpt and its resources, and each has calls."""
    methods = set(public_methods(AsyncGpt(api_key=KEY)))
    assert "chat.completions.parse_stream" in methods
    assert methods == set(CALLS)


@pytest.mark.parametrize("path", sorted(CALLS))
def test_sync_twin_returns_nothing_async(server: ThreadedFakeOpenAIServer, path: str) -> None:
    """The sync twin of each AsyncGpt method, called for real, returns only sync objects."""
    server.reset()
    for args, kwargs in CALLS[path]:
        with Gpt(api_key=KEY, server_url=server.url) as client:
            where = {"endpoint": server.origin} if path == "azure" else {}
            result = _resolve(client, path)(*args, **kwargs, **where)
            assert_nothing_async(result, path)
            _consume(result, path)


def _consume(result: object, path: str) -> None:
    if isinstance(result, APIResponse):
        assert result.status_code == 200
        result = result.parse()
        assert_nothing_async(result, f"{path} parse()")
    stream = getattr(result, "stream", result)
    if isinstance(result, Gpt):
        result.close()
    elif isinstance(stream, Stream):
        assert stream.response is None or stream.response.status_code == 200
        for chunk in stream:
            assert_nothing_async(chunk, f"{path} chunk")
        assert_nothing_async(stream.get_final_completion(), f"{path} final")
        assert stream.response is not None
        assert stream.response.headers["content-type"].startswith("text/event-stream")


def test_sync_client_has_every_twin() -> None:
    """Gpt has a sync method for each public AsyncGpt method (``aclose`` is ``close``)."""
    client = Gpt(api_key=KEY)
    missing = []
    for path in public_methods(client._async):
        try:
            _resolve(client, path)
        except AttributeError:
            missing.append(path)
    client.close()
    assert missing == []
