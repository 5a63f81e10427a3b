"""The threaded runner: the fake server behind an anyio ``BlockingPortal``, for sync code.

The portal runs in a daemon thread of our own (as the sync facade's does), not in
``anyio.from_thread.start_blocking_portal``'s: older anyio releases run that one on
an executor worker, which the interpreter joins at exit, and in any release its
generator, when finalized at interpreter shutdown (a server never closed), calls
into a loop whose daemon thread can no longer run, so the process would hang. With
our own daemon thread a server left open simply stops with the process. Binding,
closing, `reset` and waiting go through the portal; the rest is the shared state of
`ServerBase`, safe to read from the caller's thread.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from types import TracebackType

import anyio
from anyio.from_thread import BlockingPortal

from gpt_async.testing._base import ServerBase

__all__ = ["ThreadedFakeOpenAIServer"]

_THREAD_NAME = "gpt_async-fake-openai"


class ThreadedFakeOpenAIServer(ServerBase):
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

    _portal: BlockingPortal | None = None
    _thread: threading.Thread | None = None
    _pid = 0

    def reset(self) -> None:
        """Forgets queued items, recorded requests, disconnects and the default handler."""
        if self._portal is None:
            self._core.reset()
        else:
            self._portal.call(self._core.reset)

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
        if self._portal is None:
            msg = "ThreadedFakeOpenAIServer is not started"
            raise RuntimeError(msg)
        return self._portal.call(self._core.wait_for_disconnects, n, timeout)

    def start(self) -> None:
        """Starts the thread and waits until the port is bound.

        Raises:
            RuntimeError: The server is already started.
            OSError: The port cannot be bound.
        """
        if self._thread is not None:
            msg = "ThreadedFakeOpenAIServer is already started"
            raise RuntimeError(msg)
        ready: concurrent.futures.Future[BlockingPortal] = concurrent.futures.Future()
        thread = threading.Thread(target=anyio.run, args=(_serve, ready), name=_THREAD_NAME)
        thread.daemon = True
        thread.start()
        portal = ready.result()
        try:
            portal.call(self._bind)
        except BaseException:
            _stop(portal, thread)
            raise
        self._portal, self._thread, self._pid = portal, thread, os.getpid()

    def close(self) -> None:
        """Stops the server, its loop and its thread (idempotent)."""
        portal, thread = self._portal, self._thread
        self._portal = self._thread = None
        # In a forked child the parent's thread does not exist: nothing to stop.
        if portal is not None and thread is not None and self._pid == os.getpid():
            try:
                portal.call(self._unbind)
            finally:
                _stop(portal, thread)

    def __enter__(self) -> ThreadedFakeOpenAIServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _serve(ready: concurrent.futures.Future[BlockingPortal]) -> None:
    async with BlockingPortal() as portal:
        ready.set_result(portal)
        await portal.sleep_until_stopped()


def _stop(portal: BlockingPortal, thread: threading.Thread) -> None:
    portal.call(portal.stop, True)
    thread.join()
