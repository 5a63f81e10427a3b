"""The one process-wide event-loop thread behind the synchronous facade.

Only this module starts event-loop threads (`start_daemon_portal` also runs the
testing kit's threaded servers). The portal is an anyio ``BlockingPortal``
running an asyncio loop in a daemon thread, started on first use. Every sync
call hands its coroutine to it and blocks until the result is back:

* any ``BaseException`` in the calling thread while it waits (Ctrl-C's
  ``KeyboardInterrupt`` above all) cancels the coroutine in the portal, waits
  briefly for it to unwind (closing its connection), then propagates;
* a call from the portal's own thread raises instead of deadlocking;
* after ``os.fork()`` the child starts a fresh portal on first use (the parent's
  thread does not exist in the child, and its sockets must not be reused);
* at interpreter exit the clients a script left open are closed and the portal is
  stopped, so the process exits cleanly and never hangs.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from ._exceptions import ClientStateError

__all__ = ["cleanup", "run", "start_daemon_portal", "track"]

T = TypeVar("T")


class _Closable(Protocol):
    async def aclose(self) -> None: ...


_lock = threading.Lock()
_portal: BlockingPortal | None = None
_loop: asyncio.AbstractEventLoop | None = None
_portal_pid = 0
_portal_thread: int | None = None
_fork_orphans: list[object] = []
_clients: weakref.WeakSet[_Closable] = weakref.WeakSet()
_CANCEL_GRACE = 5.0
_EXIT_GRACE = 2.0


def _get_loop() -> asyncio.AbstractEventLoop:
    global _portal, _loop, _portal_pid, _portal_thread  # noqa: PLW0603
    loop = _loop
    if loop is not None and _portal_pid == os.getpid():
        return loop
    with _lock:
        if _loop is None or _portal_pid != os.getpid():
            _portal, thread = start_daemon_portal("gpt_async-portal")
            _loop = _portal.call(asyncio.get_running_loop)
            _portal_pid = os.getpid()
            _portal_thread = thread.ident
        return _loop


def start_daemon_portal(name: str) -> tuple[BlockingPortal, threading.Thread]:
    """Start an anyio ``BlockingPortal`` in a new daemon thread named ``name``.

    The one portal runner of the package: the sync facade's portal and the testing
    kit's threaded servers all run on one. A daemon thread of our own, not anyio's
    ``start_blocking_portal``: older anyio releases run that one on an executor
    worker, which the interpreter joins at exit, and in any release its generator,
    finalized at interpreter shutdown, calls into a loop whose thread can no longer
    run; either way a portal left running would hang the process. A daemon thread
    simply stops with it.

    Returns:
        The running portal and its thread.
    """
    ready: concurrent.futures.Future[BlockingPortal] = concurrent.futures.Future()
    thread = threading.Thread(target=anyio.run, args=(_serve, ready), name=name, daemon=True)
    thread.start()
    return ready.result(), thread


async def _serve(ready: concurrent.futures.Future[BlockingPortal]) -> None:
    async with BlockingPortal() as portal:
        ready.set_result(portal)
        await portal.sleep_until_stopped()


def run(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` on the portal's loop and return its result.

    One hop each way and nothing else: the call is handed over with one
    ``call_soon_threadsafe`` and the result comes back through a bare lock that
    the task releases as it ends (no future chained to a future, no callback
    scheduled after the task). An interrupt can only land while waiting for the
    lock, where it is handled: the task is cancelled and given a moment to unwind
    before the interrupt goes on.

    Raises:
        ClientStateError: Called from the portal's own thread (e.g. from a hook).
    """
    loop = _get_loop()
    if threading.get_ident() == _portal_thread:
        raise ClientStateError(
            "a synchronous gpt_async call was made from inside its own event-loop thread "
            "(e.g. from a hook); use the AsyncGpt client there"
        )
    # The caller's contextvars (its current OpenTelemetry span above all) go with the
    # call: call_soon_threadsafe copies this thread's context into the callback that
    # creates the task, and the task runs in that copy. tests/test_tracing.py checks it.
    call = _Call(fn, args, kwargs)
    loop.call_soon_threadsafe(call.start, loop)
    try:
        call.done.acquire()
    except BaseException:
        loop.call_soon_threadsafe(call.cancel)
        call.done.acquire(timeout=_CANCEL_GRACE)
        raise
    result: T = call.outcome()
    return result


class _Call:
    """One sync call's coroutine on the portal: its task, and the lock its end releases."""

    __slots__ = ("args", "done", "error", "fn", "kwargs", "result", "task")

    def __init__(self, fn: Callable[..., Awaitable[Any]], args: Any, kwargs: Any) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.done = threading.Lock()
        self.done.acquire()  # released by the task as it ends
        self.result: Any = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the portal's loop: run the coroutine in a task of its own."""
        self.task = loop.create_task(self._run())

    def cancel(self) -> None:
        """On the portal's loop: cancel the task (it exists: ``start`` was scheduled first)."""
        if self.task is not None:
            self.task.cancel()

    async def _run(self) -> None:
        try:
            self.result = await self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # handed to the calling thread, which raises it
            self.error = exc
        finally:
            self.done.release()

    def outcome(self) -> Any:
        """The result in the calling thread, or the coroutine's exception raised there."""
        error, self.error = self.error, None
        if error is not None:
            raise error
        return self.result


def cleanup(fn: Callable[[], object]) -> None:
    """Run the non-blocking ``fn`` on the portal's loop and wait for it, from any thread.

    For cleanup that a finalizer starts (a generator that a ``for`` loop dropped):
    on the portal's own thread ``fn`` runs inline; when no live portal exists (at
    interpreter exit, in a forked child) its loop and the sockets ``fn`` would close
    are gone, and nothing is scheduled.
    """
    loop = _loop
    if _portal is None or loop is None or loop.is_closed() or _portal_pid != os.getpid():
        return
    if threading.get_ident() == _portal_thread:
        fn()
    else:
        run(_call_sync, fn)


async def _call_sync(fn: Callable[[], object]) -> None:
    fn()


def _reset_after_fork() -> None:
    global _lock, _portal, _loop, _portal_pid, _portal_thread  # noqa: PLW0603
    _lock = threading.Lock()  # another thread may have held it at the fork
    # The parent's portal and loop stay referenced: collecting them in the child would
    # touch the epoll instance and sockets it shares with the parent.
    _fork_orphans.append((_portal, _loop))
    _portal, _loop, _portal_pid, _portal_thread = None, None, 0, None


def track(client: _Closable) -> None:
    """Remember a client whose session lives on the portal, to close it at exit."""
    _clients.add(client)


async def _close_clients() -> None:
    for client in list(_clients):
        with contextlib.suppress(Exception):
            await client.aclose()


def _shutdown() -> None:
    """At exit: close the clients left open, stop the portal; bounded, never hangs."""
    global _portal
    portal, _portal = _portal, None
    if portal is not None and _portal_pid == os.getpid():
        with contextlib.suppress(Exception):
            portal.start_task_soon(_close_clients).result(timeout=_EXIT_GRACE)
        with contextlib.suppress(Exception):
            portal.start_task_soon(portal.stop, True).result(timeout=_EXIT_GRACE)


os.register_at_fork(after_in_child=_reset_after_fork)
atexit.register(_shutdown)
