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

Rate limits: ``FakeOpenAIServer(rate_limits=RateLimits(requests_per_minute=60,
tokens_per_minute=10_000, period=1.0))`` enforces both budgets with OpenAI's
``x-ratelimit-*`` headers and 429s (see `RateLimits`).

Proxies: `ForwardProxy` (``async with``, or ``ForwardProxy.in_thread()``) is a
real HTTP forward proxy on 127.0.0.1 that records each `ProxiedRequest`, to
prove ``proxy=`` and ``HTTPS_PROXY`` settings. The server also answers
``GET /v1/models`` from ``server.models`` (`DEFAULT_MODELS` by default), and the
Files and Batches API from ``server.batches`` (a `BatchStore`).

Unscripted requests get a deterministic echo of the last user message; see
``gpt_async.testing._echo`` for the exact rules (tokens are whitespace-separated
words). The server is made of parts, each its own module: the shared core
(``_core``: recording, auth, disconnects), the chat-completions routes
(``_chat``), request validation (``_validation``), the echo model (``_echo``),
rate limits (``_ratelimit``: enforced by the chat routes, headers stamped by its own
part), the Files and Batches API (``_batches``), the async server (``_server``), the
threaded runner (``_thread``, shared with the proxy) and the threaded server
(``_threaded``); a new part adds its routes in ``_base.PARTS``.
"""

from __future__ import annotations

from gpt_async.testing._batches import BatchStore
from gpt_async.testing._core import DEFAULT_CREATED, DefaultHandler, RecordedRequest
from gpt_async.testing._echo import SYSTEM_FINGERPRINT
from gpt_async.testing._model_list import DEFAULT_MODELS
from gpt_async.testing._proxy import ForwardProxy, ProxiedRequest, ThreadedForwardProxy
from gpt_async.testing._ratelimit import RateLimitEnforcer, RateLimits
from gpt_async.testing._script import Fault, RawBytes, Reply, ScriptItem, StreamEvent, StreamReply
from gpt_async.testing._server import FakeOpenAIServer
from gpt_async.testing._threaded import ThreadedFakeOpenAIServer

__all__ = [
    "BatchStore",
    "DEFAULT_CREATED",
    "DEFAULT_MODELS",
    "DefaultHandler",
    "FakeOpenAIServer",
    "Fault",
    "ForwardProxy",
    "ProxiedRequest",
    "RateLimitEnforcer",
    "RateLimits",
    "RawBytes",
    "RecordedRequest",
    "Reply",
    "SYSTEM_FINGERPRINT",
    "ScriptItem",
    "StreamEvent",
    "StreamReply",
    "ThreadedFakeOpenAIServer",
    "ThreadedForwardProxy",
]
