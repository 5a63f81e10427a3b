"""The threaded runner: a test service (the fake server, a proxy) on its own loop, for sync code.

The ``in_thread()`` forms of the testing services all run on this one runner: an
anyio ``BlockingPortal`` in a daemon thread of our own (`start_daemon_portal`, the
same runner as the sync facade's, where the reason for a daemon thread is), so a
service never closed simply stops with the process. ``start`` returns once the
service is bound (re-raising its startup error in the caller's thread), calls go
through the portal, and ``close`` stops the service and joins the thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from anyio.from_thread import BlockingPortal

from gpt_async._portal import start_daemon_portal

__all__ = ["PortalThread"]


class PortalThread:
    """A portal in a daemon thread named ``name``; errors name the service ``owner``."""

    def __init__(self, owner: str, name: str) -> None:
        self._owner = owner
        self._name = name
        self._portal: BlockingPortal | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    @property
    def running(self) -> bool:
        """Whether the thread is started and not yet closed."""
        return self._portal is not None

    def start(self, bind: Callable[[], Awaitable[object]]) -> None:
        """Starts the thread and runs ``bind`` on its loop; returns once it is done.

        Raises:
            RuntimeError: Already started.
            BaseException: Whatever ``bind`` raised (the thread is stopped first).
        """
        if self._thread is not None:
            raise RuntimeError(f"{self._owner} is already started")
        portal, thread = start_daemon_portal(self._name)
        try:
            portal.call(bind)
        except BaseException:
            _stop(portal, thread)
            raise
        self._portal, self._thread, self._pid = portal, thread, os.getpid()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs ``fn(*args)`` on the thread's loop and returns its result (awaited if a coroutine).

        Raises:
            RuntimeError: Not started.
        """
        if self._portal is None:
            raise RuntimeError(f"{self._owner} is not started")
        return self._portal.call(fn, *args)

    def close(self, unbind: Callable[[], Awaitable[object]]) -> None:
        """Runs ``unbind`` on the thread's loop, then stops the loop and its thread (idempotent)."""
        portal, thread = self._portal, self._thread
        self._portal = self._thread = None
        # In a forked child the parent's thread does not exist: nothing to stop.
        if portal is not None and thread is not None and self._pid == os.getpid():
            try:
                portal.call(unbind)
            finally:
                _stop(portal, thread)


def _stop(portal: BlockingPortal, thread: threading.Thread) -> None:
    portal.call(portal.stop, True)
    thread.join()
