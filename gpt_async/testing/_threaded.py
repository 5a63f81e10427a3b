"""The threaded fake server: `ServerBase` behind the testing kit's threaded runner, for sync code.

The server runs on the portal of ``_thread.PortalThread`` (a daemon thread of our
own, so a server never closed stops with the process). Binding, closing, `reset`
and waiting go through the portal; the rest is the shared state of `ServerBase`,
safe to read from the caller's thread.
"""

from __future__ import annotations

import functools

from gpt_async._types import Closing
from gpt_async.testing._base import ServerBase
from gpt_async.testing._thread import PortalThread

__all__ = ["ThreadedFakeOpenAIServer"]

_THREAD_NAME = "gpt_async-fake-openai"


class ThreadedFakeOpenAIServer(Closing, ServerBase):
    """A `FakeOpenAIServer` on its own event loop in a daemon thread, for sync code.

    `enqueue`, `set_default` and the recording attributes are safe to use from
    the caller's thread. `close` (or leaving the ``with`` block) stops the server,
    its loop and its thread; a server never closed does not keep the process alive.
    The arguments are those of `FakeOpenAIServer`.

    Example::

        with FakeOpenAIServer.in_thread() as server:
            server.enqueue(Reply(status=500, body="oops"))
            urllib.request.urlopen(...)  # against server.url
    """

    @functools.cached_property
    def _loop_thread(self) -> PortalThread:
        return PortalThread(type(self).__name__, _THREAD_NAME)

    def reset(self) -> None:
        """Forgets queued items, recorded requests, disconnects and the default handler."""
        if self._loop_thread.running:
            self._loop_thread.call(self._core.reset)
        else:
            self._core.reset()

    def wait_for_disconnects(self, n: int = 1, *, timeout: float = 5.0) -> int:
        """Blocks until the server has seen ``n`` abandoned responses in total.

        Args:
            n: The count to reach.
            timeout: Seconds to wait.

        Returns:
            The current count (at least ``n``).

        Raises:
            RuntimeError: The server is not started.
            TimeoutError: The count stays below ``n`` for ``timeout`` seconds.
        """
        count: int = self._loop_thread.call(self._core.wait_for_disconnects, n, timeout)
        return count

    def start(self) -> None:
        """Starts the thread and waits until the port is bound.

        Raises:
            RuntimeError: The server is already started.
            OSError: The port cannot be bound.
        """
        self._loop_thread.start(self._bind)

    def close(self) -> None:
        """Stops the server, its loop and its thread (idempotent)."""
        self._loop_thread.close(self._unbind)

    def __enter__(self) -> ThreadedFakeOpenAIServer:
        self.start()
        return self
