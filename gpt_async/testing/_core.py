"""What every part of the fake server shares: recording, auth, answering, disconnects.

The server is an ``aiohttp.web`` application put together from *parts*. A part is
a function that adds its routes (and, if it needs them, middlewares or signals) to
the application; it answers through the `ServerCore` it is given, so it gets
request recording, ``x-request-id`` stamping, authentication, the script queue and
disconnect counting for free. The parts are listed in ``_base.PARTS``; a new one
is a new module plus one line there. A part with state of its own keeps it on the
application (under a ``web.AppKey``), or, when the state must outlive one start
and be reachable before it (tests script it), in `ServerCore.part_state`. Any route
no part claims gets an OpenAI-style 404.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol

import anyio
import attrs
from aiohttp import web
from multidict import CIMultiDictProxy

from gpt_async.testing._ratelimit import RateLimitEnforcer
from gpt_async.testing._script import REQUEST_ID_KEY, Reply, ScriptItem

__all__ = [
    "DEFAULT_CREATED",
    "DEFAULT_MODELS",
    "INVALID_JSON",
    "DefaultHandler",
    "Part",
    "PartState",
    "Received",
    "RecordedRequest",
    "ServerCore",
    "default_models",
]

#: Replaces the echo: receives the parsed request JSON, returns the reply.
DefaultHandler = Callable[[Any], ScriptItem]

#: ``created`` of every completion unless a ``clock`` is given.
DEFAULT_CREATED: Final = 1_700_000_000
#: The model ids the testing server lists unless told otherwise.
DEFAULT_MODELS: Final = ("gpt-4o-mini", "gpt-4o", "o3-mini")

#: The parsed body of a request whose body is empty or not JSON.
INVALID_JSON: Final = object()

_MAX_BODY: Final = 64 * 1024 * 1024
_UNAUTHORIZED: Final = Reply.error(401, "Incorrect API key provided.", code="invalid_api_key")


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request as the server received it.

    Attributes:
        method: The HTTP method.
        path: The URL path, e.g. ``/v1/chat/completions``.
        query: The query parameters, e.g. ``{"api-version": "2024-10-21"}``.
        headers: The request headers; lookups are case-insensitive.
        body: The raw body bytes.
        json: The parsed body, or None when it is not JSON.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: CIMultiDictProxy[str]
    body: bytes
    json: Any


@attrs.frozen(kw_only=True)
class Received:
    """A request a part handles: its number (from 1) and its parsed JSON body.

    Attributes:
        seq: The request's number; ``x-request-id`` is ``req_<seq>``.
        data: The parsed body, or `INVALID_JSON`.
    """

    seq: int
    data: Any


class ServerCore:
    """The state and the answering machinery behind one fake server.

    Args:
        api_key: If set, `authorized` wants ``Authorization: Bearer <key>`` or
            ``api-key: <key>``.
        clock: Returns ``created`` for each completion.
        record: Keep every request in `requests`.
    """

    def __init__(
        self, *, api_key: str | None, clock: Callable[[], int] | None, record: bool
    ) -> None:
        self.requests: list[RecordedRequest] = []
        #: What ``GET /models`` lists (model objects as JSON); see ``_model_list``.
        self.models = default_models(DEFAULT_CREATED)
        self.queue: collections.deque[ScriptItem] = collections.deque()
        self.default: DefaultHandler | None = None
        self.clock = clock or (lambda: DEFAULT_CREATED)
        self.disconnects = 0
        self.closing = False
        self._api_key = api_key
        self._record = record
        self._seq = itertools.count(1)
        self._disconnect_event: anyio.Event | None = None
        #: The budgets the chat part enforces, when the server has ``rate_limits``.
        self.rate_limiter: RateLimitEnforcer | None = None
        #: Parts' own state, by part name; `reset` resets each one.
        self.part_state: dict[str, PartState] = {}

    def make_app(self, parts: Iterable[Part]) -> web.Application:
        """The application: every part's routes, then the 404 for the rest."""
        app = web.Application(client_max_size=_MAX_BODY)
        for part in parts:
            part(self, app)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        app.on_response_prepare.append(self._stamp_request_id)
        return app

    def reset(self) -> None:
        """Forgets queued items, recorded requests, disconnects and the default handler."""
        self.queue.clear()
        self.requests.clear()
        self.default = None
        self.disconnects = 0
        for state in self.part_state.values():
            state.reset()

    def next_seq(self) -> int:
        """A new request number, for a request a part answers without receiving it."""
        return next(self._seq)

    async def receive(self, request: web.Request) -> Received:
        """Numbers, reads and records ``request``; every handler starts here."""
        seq = next(self._seq)
        request[REQUEST_ID_KEY] = f"req_{seq}"
        body = await request.read()
        data = _parse(body)
        if self._record:
            self.requests.append(_recorded(request, body, data))
        return Received(seq=seq, data=data)

    def authorized(self, request: web.Request) -> bool:
        """Whether ``request`` carries the key (always, when the server has none)."""
        if self._api_key is None:
            return True
        bearer = request.headers.get("Authorization", "")
        return (
            bearer == f"Bearer {self._api_key}" or request.headers.get("api-key") == self._api_key
        )

    async def unauthorized(self, request: web.Request) -> web.StreamResponse:
        """Answers the OpenAI 401 for a wrong or missing key."""
        return await self.respond(request, _UNAUTHORIZED)

    async def respond(
        self,
        request: web.Request,
        item: ScriptItem,
        fallback: Callable[[], ScriptItem] | None = None,
    ) -> web.StreamResponse:
        """Sends ``item``, counting a client that goes away before it is complete.

        Args:
            request: The request being answered.
            item: What to send.
            fallback: Builds the reply a `Fault` sends after misbehaving
                (default: ``item`` itself).
        """
        try:
            return await item._send(request, fallback or (lambda: item))
        except asyncio.CancelledError:
            self._client_went_away()
            raise
        except ConnectionResetError:
            self._client_went_away()
            # aiohttp's attempt to send this fails too and is dropped silently.
            return web.Response()

    async def wait_for_disconnects(self, n: int, timeout: float) -> int:
        """Waits until ``n`` responses were abandoned; see `FakeOpenAIServer`."""
        try:
            with anyio.fail_after(timeout):
                while self.disconnects < n:
                    if self._disconnect_event is None:
                        self._disconnect_event = anyio.Event()
                    await self._disconnect_event.wait()
        except TimeoutError:
            msg = f"expected {n} client disconnect(s) within {timeout}s, saw {self.disconnects}"
            raise TimeoutError(msg) from None
        return self.disconnects

    def _client_went_away(self) -> None:
        if self.closing:
            return
        self.disconnects += 1
        if self._disconnect_event is not None:
            self._disconnect_event.set()
            self._disconnect_event = None

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        await self.receive(request)
        return await self.respond(
            request, Reply.error(404, f"Invalid URL ({request.method} {request.path})")
        )

    async def _stamp_request_id(self, request: web.Request, response: web.StreamResponse) -> None:
        if REQUEST_ID_KEY not in request:
            request[REQUEST_ID_KEY] = f"req_{next(self._seq)}"
        response.headers.setdefault("x-request-id", request[REQUEST_ID_KEY])


#: A part of the server: adds its routes (middlewares, signals...) to the application.
Part = Callable[[ServerCore, web.Application], None]


class PartState(Protocol):
    """A part's state kept in `ServerCore.part_state`."""

    def reset(self) -> None:
        """Forgets what the part was told and saw, as the server's ``reset`` does."""


def default_models(created: int) -> list[dict[str, Any]]:
    """The model objects of :data:`DEFAULT_MODELS`, as ``GET /models`` lists them."""
    return [
        {"id": model, "object": "model", "created": created, "owned_by": "gpt_async-testing"}
        for model in DEFAULT_MODELS
    ]


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body) if body else INVALID_JSON
    except ValueError:
        return INVALID_JSON


def _recorded(request: web.Request, body: bytes, data: Any) -> RecordedRequest:
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query=request.query,
        headers=request.headers,
        body=body,
        json=None if data is INVALID_JSON else data,
    )
