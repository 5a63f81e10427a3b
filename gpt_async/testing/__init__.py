"""A real fake OpenAI-compatible server for tests: scripted replies and faults.

Async tests (anyio)::

    from gpt_async.testing import FakeOpenAIServer, Fault, Reply

    async def test_retries_after_429() -> None:
        async with FakeOpenAIServer(api_key="sk-test") as server:
            server.enqueue(Reply.error(429, "Slow down", headers={"retry-after-ms": "1"}))
            client = AsyncGpt(api_key_auth="sk-test", server_url=server.url)
            ...
            assert len(server.requests) == 2

Sync code::

    with FakeOpenAIServer.in_thread() as server:
        server.enqueue(Fault.drop())
        ...

pytest fixtures (``openai_server``, ``openai_server_thread``): add
``pytest_plugins = ["gpt_async.testing.pytest_plugin"]`` to your root
``conftest.py``.

Unscripted requests get a deterministic echo of the last user message; see
`FakeOpenAIServer` for the exact rules (tokens are whitespace-separated words).
"""

from __future__ import annotations

from gpt_async.testing._batches import BatchStore
from gpt_async.testing._script import Fault, RawBytes, Reply, ScriptItem, StreamEvent, StreamReply
from gpt_async.testing._server import (
    DEFAULT_CREATED,
    SYSTEM_FINGERPRINT,
    DefaultHandler,
    FakeOpenAIServer,
    RecordedRequest,
    ThreadedFakeOpenAIServer,
)

__all__ = [
    "BatchStore",
    "DEFAULT_CREATED",
    "DefaultHandler",
    "FakeOpenAIServer",
    "Fault",
    "RawBytes",
    "RecordedRequest",
    "Reply",
    "SYSTEM_FINGERPRINT",
    "ScriptItem",
    "StreamEvent",
    "StreamReply",
    "ThreadedFakeOpenAIServer",
]
