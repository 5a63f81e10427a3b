"""The fake OpenAI-compatible HTTP server, on the caller's event loop.

The server is put together from parts (``_base.PARTS``): the chat-completions
routes (``_chat``) answer scripted items first, then validate the request
(``_validation``) and answer with the echo model (``_echo``, where the exact
rules are). What every part shares (recording, auth, disconnect counting) is in
``_core``; `ThreadedFakeOpenAIServer` (``_threaded``) runs the same server in a
thread of its own, for sync code.

``id`` is ``chatcmpl-<n>`` and the ``x-request-id`` header ``req_<n>``, where
``n`` numbers the requests the server received, from 1.
"""

from __future__ import annotations

from typing import ClassVar

from gpt_async._types import AsyncClosing
from gpt_async.testing._base import ServerBase
from gpt_async.testing._threaded import ThreadedFakeOpenAIServer

__all__ = ["FakeOpenAIServer"]


class FakeOpenAIServer(AsyncClosing, ServerBase):
    """A real ``aiohttp.web`` server speaking the Chat Completions API.

    Serves ``POST /v1/chat/completions``, ``/chat/completions`` and Azure's
    ``/openai/deployments/{deployment}/chat/completions?api-version=...``
    (where ``model`` may be omitted), ``GET /models``, and the Files and Batches
    API (see `batches`); any other route gets an OpenAI-style 404.
    Scripted items (`enqueue`) answer requests first, one each, in order;
    they skip validation but not authentication. With an empty queue the
    request is validated (400 with an OpenAI error naming ``param``) and
    answered by the default handler: the echo of ``gpt_async.testing._echo``.

    The arguments are those of `ServerBase`: ``host``, ``port`` (0: a free one),
    ``api_key``, ``clock``, ``record``, ``shutdown_timeout`` and ``rate_limits``
    (requests and tokens per window, enforced with ``x-ratelimit-*`` headers and
    429s; the live budgets are then `rate_limiter`).

    Example::

        async with FakeOpenAIServer(api_key="sk-test") as server:
            server.enqueue(Reply.error(429, "Slow down"))
            ...  # point the client at server.url
            assert server.requests[-1].json["model"] == "gpt-4o-mini"
    """

    #: The same server to run on its own loop in a daemon thread, for synchronous code:
    #: ``with FakeOpenAIServer.in_thread() as server:``. The arguments are those of
    #: `FakeOpenAIServer` (this is `ThreadedFakeOpenAIServer` itself).
    in_thread: ClassVar[type[ThreadedFakeOpenAIServer]] = ThreadedFakeOpenAIServer

    def reset(self) -> None:
        """Forgets queued items, recorded requests, disconnects and the default handler."""
        self._core.reset()

    async def wait_for_disconnects(self, n: int = 1, *, timeout: float = 5.0) -> int:
        """Waits until the server has seen ``n`` abandoned responses in total.

        Args:
            n: The count to reach.
            timeout: Seconds to wait.

        Returns:
            The current count (at least ``n``).

        Raises:
            TimeoutError: The count stays below ``n`` for ``timeout`` seconds.
        """
        return await self._core.wait_for_disconnects(n, timeout)

    async def start(self) -> None:
        """Binds the port and starts serving.

        Raises:
            RuntimeError: The server is already started.
        """
        await self._bind()

    async def close(self) -> None:
        """Stops serving and closes every connection (idempotent)."""
        await self._unbind()

    aclose = close  # what AsyncClosing.__aexit__ awaits

    async def __aenter__(self) -> FakeOpenAIServer:
        await self.start()
        return self
