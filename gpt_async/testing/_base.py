"""What the async server and the threaded runner share: the parts, the state, binding.

Both public servers are a `ServerBase`: the same script queue, recording and
counters (read from any thread), and the same ``aiohttp.web`` runner; they differ
only in whose event loop runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

from gpt_async.testing._batches import BatchStore, add_batch_routes, batch_store
from gpt_async.testing._chat import add_chat_routes
from gpt_async.testing._core import DefaultHandler, Part, RecordedRequest, ServerCore
from gpt_async.testing._model_list import add_model_routes
from gpt_async.testing._ratelimit import RateLimitEnforcer, RateLimits, add_rate_limit_headers
from gpt_async.testing._script import ScriptItem

__all__ = ["PARTS", "ServerBase"]

#: The parts every fake server is made of, in routing order; add new ones here.
PARTS: Final[tuple[Part, ...]] = (
    add_chat_routes,
    add_model_routes,
    add_batch_routes,
    add_rate_limit_headers,
)


class ServerBase:
    """The state and the synchronous surface of a fake OpenAI server."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        clock: Callable[[], int] | None = None,
        record: bool = True,
        shutdown_timeout: float = 0.5,
        rate_limits: RateLimits | None = None,
    ) -> None:
        """Configures the server; starting it binds the port.

        Args:
            host: The interface to bind.
            port: The port; 0 picks a free ephemeral one.
            api_key: If set, requests need ``Authorization: Bearer <key>``
                or ``api-key: <key>``; others get 401.
            clock: Returns ``created`` for each completion (default: the
                constant `DEFAULT_CREATED`); pass ``lambda: int(time.time())``
                for real time.
            record: Keep every request in `requests`; turn off for load tests.
            shutdown_timeout: Seconds closing lets in-flight handlers finish
                before cancelling them.
            rate_limits: Requests and tokens per window to enforce, with
                ``x-ratelimit-*`` headers and 429s (see `RateLimits`).
        """
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._shutdown_timeout = shutdown_timeout
        self._core = ServerCore(api_key=api_key, clock=clock, record=record)
        if rate_limits is not None:
            self._core.rate_limiter = RateLimitEnforcer(rate_limits)
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        name = type(self).__name__
        return f"<{name} {where} requests={len(self.requests)} queued={self.queued}>"

    @property
    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first."""
        return self._core.requests

    @property
    def rate_limiter(self) -> RateLimitEnforcer | None:
        """The live budgets when ``rate_limits`` was given (``.accepted``, ``.refused``)."""
        return self._core.rate_limiter

    @property
    def models(self) -> list[dict[str, Any]]:
        """What ``GET /models`` lists (model objects as JSON); change the list freely."""
        return self._core.models

    @property
    def batches(self) -> BatchStore:
        """The Files and Batches API (``/files``, ``/batches``): its files, batches, scripts."""
        return batch_store(self._core)

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: The server is not started.
        """
        if self._port is None:
            msg = f"{type(self).__name__} is not started; use it with `async with` or `with`"
            raise RuntimeError(msg)
        return self._port

    @property
    def origin(self) -> str:
        """``http://host:port``, e.g. the Azure endpoint."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL clients use: ``http://host:port/v1``."""
        return f"{self.origin}/v1"

    @property
    def queued(self) -> int:
        """How many scripted items are still waiting for a request."""
        return len(self._core.queue)

    @property
    def disconnects(self) -> int:
        """How many responses the client abandoned before they were complete.

        Counted when a client closes its connection while the server waits
        (a ``delay``, a gap between events) or writes; never for connections
        the server cuts itself (`Fault`) or closes at shutdown.
        """
        return self._core.disconnects

    @property
    def active_connections(self) -> int:
        """How many TCP connections are open now (idle keep-alive ones included)."""
        server = self._runner.server if self._runner is not None else None
        return len(server.connections) if server is not None else 0

    def enqueue(self, *items: ScriptItem) -> None:
        """Queues replies for the next requests, one item per request (thread-safe).

        Args:
            *items: `Reply`, `StreamReply` or `Fault` items, in answer order.
        """
        self._core.queue.extend(items)

    def set_default(self, handler: DefaultHandler | None) -> None:
        """Replaces the echo for unscripted requests (None restores it).

        Args:
            handler: Receives the validated request JSON, returns the item to send.
        """
        self._core.default = handler

    async def _bind(self) -> None:
        """Binds the port and starts serving on the running loop."""
        if self._runner is not None:
            msg = f"{type(self).__name__} is already started"
            raise RuntimeError(msg)
        runner = web.AppRunner(
            self._core.make_app(PARTS),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self._requested_port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._core.closing = False
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def _unbind(self) -> None:
        """Stops serving and closes every connection (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            self._core.closing = True
            await runner.cleanup()
