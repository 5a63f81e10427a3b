"""Run an async test service (a server, a proxy) on its own event loop in a daemon thread.

Sync tests and scripts use the ``in_thread()`` forms of the testing services; this
is the one runner behind them: the thread starts the service's loop, ``start``
returns once the service is bound (re-raising its startup error in the caller's
thread), and ``close`` stops the service and joins the thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Protocol

__all__ = ["LoopThread"]


class _Service(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LoopThread:
    """Runs ``service`` on a private event loop in a daemon thread named ``name``."""

    def __init__(self, service: _Service, name: str) -> None:
        self._service = service
        self._name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is started and not yet closed."""
        return self._thread is not None

    def start(self) -> None:
        """Starts the thread; returns once the service is started.

        Raises:
            RuntimeError: Already started.
            BaseException: Whatever the service's ``start`` raised.
        """
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already started")
        self._ready.clear()
        thread = threading.Thread(target=asyncio.run, args=(self._serve(),), name=self._name)
        thread.daemon = True
        thread.start()
        self._ready.wait()
        if self._error is not None:
            thread.join()
            raise self._error
        self._thread = thread

    def close(self) -> None:
        """Stops the service, its loop and its thread (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        thread.join()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._error = None
        try:
            await self._service.start()
        except BaseException as exc:  # handed to the starting thread, which re-raises it
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._service.close()
