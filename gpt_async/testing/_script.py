"""Scripted replies and faults for the fake OpenAI server.

Each item answers exactly one request. The server pops items in FIFO order
(``FakeOpenAIServer.enqueue``) and falls back to its default reply when the
queue is empty::

    server.enqueue(
        Reply.error(429, "Slow down", code="rate_limit_exceeded",
                    headers={"retry-after-ms": "10"}),
        Fault.drop(),
        StreamReply(events=[{"choices": []}], done=False),
    )

Item kinds:

- `Reply`: any status, headers and body (JSON, bytes or text), optionally late.
- `StreamReply`: a server-sent-events body built from dicts (``data: <json>``),
  strings (``data: <str>``) and `RawBytes` (sent verbatim), with or without
  the final ``data: [DONE]``, optionally cut off mid-stream.
- `Fault`: transport-level misbehaviour that ``aiohttp.web`` cannot express
  with a normal response (closed or reset connections, truncated bodies,
  slow headers, trickling bodies). See each factory for what a client sees.
"""

from __future__ import annotations

import asyncio
import http
import json
import socket
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, TypeAlias

import attrs
from aiohttp import hdrs, web

__all__ = [
    "REQUEST_ID_KEY",
    "Fault",
    "RawBytes",
    "Reply",
    "ScriptItem",
    "StreamEvent",
    "StreamReply",
    "dump_json",
]

#: The ``x-request-id`` value of the request being answered, set by the server.
REQUEST_ID_KEY = web.RequestKey("request_id", str)

_JSON = "application/json"
_EVENT_STREAM = "text/event-stream; charset=utf-8"
_DONE_FRAME = b"data: [DONE]\n\n"


# Built once: json.dumps with non-default options builds a new encoder per call.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dump_json(value: object) -> bytes:
    """Serialises ``value`` as compact UTF-8 JSON, the way the API sends it."""
    return _ENCODER.encode(value).encode()


def _headers(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return dict(value or {})


def _events(value: Iterable[StreamEvent]) -> tuple[StreamEvent, ...]:
    return tuple(value)


@attrs.frozen
class RawBytes:
    """Bytes written to a stream verbatim: comments, ``event:`` lines, garbage.

    Example: ``RawBytes(b": keep-alive\\n\\n")`` or
    ``RawBytes(b"event: error\\ndata: {...}\\n\\n")``.

    Attributes:
        data: The exact bytes to send.
    """

    data: bytes


#: One stream item: a dict (sent as ``data: <json>\\n\\n``), a str (sent as
#: ``data: <str>\\n\\n``) or raw bytes (`RawBytes` or plain ``bytes``, verbatim).
StreamEvent: TypeAlias = Mapping[str, Any] | str | bytes | RawBytes


@attrs.frozen(kw_only=True)
class Reply:
    """A complete HTTP response with any status, headers and body.

    At most one of ``json`` and ``body`` may be given; with neither the body
    is empty. The content type defaults to ``application/json`` unless
    ``content_type`` or a ``Content-Type`` entry in ``headers`` says otherwise.
    Bodies are sent as given: pass pre-compressed bytes together with
    ``headers={"content-encoding": "gzip"}`` to test decoding.

    Attributes:
        status: HTTP status code.
        json: A JSON-serialisable value sent as the body.
        body: Raw body bytes (str is UTF-8 encoded): HTML pages, truncated JSON.
        headers: Extra response headers, e.g. ``{"retry-after-ms": "20"}``.
        content_type: The ``Content-Type`` header value.
        delay: Seconds to wait before sending anything.
    """

    status: int = 200
    json: Any = None
    body: bytes | str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    content_type: str | None = None
    delay: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.json is not None and self.body is not None:
            msg = "Reply takes json= or body=, not both"
            raise ValueError(msg)

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Builds an OpenAI-style error response.

        Args:
            status: HTTP status code, e.g. 429.
            message: ``error.message``.
            type: ``error.type``.
            code: ``error.code``.
            param: ``error.param``.
            headers: Extra headers, e.g. ``{"retry-after": "1"}``.

        Returns:
            A `Reply` whose body is ``{"error": {...}}``.
        """
        error = {"message": message, "type": type, "param": param, "code": code}
        return cls(status=status, json={"error": error}, headers=headers)

    def encode(self) -> bytes:
        """Returns the body bytes this reply sends."""
        if self.json is not None:
            return dump_json(self.json)
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body or b""

    async def _send(self, request: web.Request, fallback: _Fallback) -> web.StreamResponse:
        if self.delay:
            await asyncio.sleep(self.delay)
        response = web.Response(status=self.status, body=self.encode(), headers=self.headers)
        if hdrs.CONTENT_TYPE not in response.headers:
            response.headers[hdrs.CONTENT_TYPE] = self.content_type or _JSON
        await response.prepare(request)
        await response.write_eof()
        return response


@attrs.frozen(kw_only=True)
class StreamReply:
    """A server-sent-events response, one event per item of ``events``.

    Attributes:
        events: The events in order; see `StreamEvent` for how each is framed.
        done: Whether ``data: [DONE]`` follows the events.
        delay_between: Seconds to wait before every event after the first
            (and before ``[DONE]``).
        headers: Extra response headers.
        status: HTTP status code.
        abort_after: If set, close the connection abruptly after that many
            events: no ``[DONE]`` and no terminating zero-length chunk, so the
            client sees a broken chunked body (aiohttp: ``ClientPayloadError``).
    """

    events: Sequence[StreamEvent] = attrs.field(converter=_events)
    done: bool = True
    delay_between: float = 0.0
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    status: int = 200
    abort_after: int | None = None

    @classmethod
    def of_content(
        cls,
        pieces: Sequence[str],
        *,
        model: str = "gpt-4o-mini",
        finish_reason: str | None = "stop",
        done: bool = True,
        delay_between: float = 0.0,
        abort_after: int | None = None,
    ) -> StreamReply:
        """Builds a well-formed chunk stream whose content deltas are ``pieces``.

        Args:
            pieces: The content deltas; joined they form the message.
            model: The ``model`` of every chunk.
            finish_reason: The final chunk's ``finish_reason`` (None: no final chunk).
            done: Whether ``data: [DONE]`` follows.
            delay_between: Seconds between events.
            abort_after: Close the connection abruptly after that many events.

        Returns:
            The `StreamReply`; its first event carries ``role: "assistant"``.
        """
        base = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "system_fingerprint": "fp_gpt_async_testing",
        }
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": piece} for piece in pieces]
        events: list[StreamEvent] = [
            {**base, "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}]}
            for d in deltas
        ]
        if finish_reason is not None:
            final = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish_reason}
            events.append({**base, "choices": [final]})
        return cls(events=events, done=done, delay_between=delay_between, abort_after=abort_after)

    async def _send(self, request: web.Request, fallback: _Fallback) -> web.StreamResponse:
        response = web.StreamResponse(status=self.status, headers=self.headers)
        if hdrs.CONTENT_TYPE not in response.headers:
            response.headers[hdrs.CONTENT_TYPE] = _EVENT_STREAM
        await response.prepare(request)
        for position, event in enumerate(self.events):
            if position == self.abort_after:
                _close(request)
                return response
            if position and self.delay_between:
                await asyncio.sleep(self.delay_between)
            await response.write(_frame(event))
        if self.abort_after is not None:
            _close(request)
            return response
        if self.done:
            if self.events and self.delay_between:
                await asyncio.sleep(self.delay_between)
            await response.write(_DONE_FRAME)
        await response.write_eof()
        return response


def _frame(event: StreamEvent) -> bytes:
    if isinstance(event, RawBytes):
        return event.data
    if isinstance(event, bytes):
        return event
    if isinstance(event, str):
        return b"data: " + event.encode() + b"\n\n"
    return b"data: " + dump_json(event) + b"\n\n"


@attrs.frozen(kw_only=True, repr=False)
class Fault:
    """Transport-level misbehaviour; build one with the factory classmethods.

    Faults that cut the connection write bytes straight to the socket and then
    close it, bypassing aiohttp's response writer. A cut made by a fault is
    never counted in ``FakeOpenAIServer.disconnects``.
    """

    _factory: ClassVar[str] = "fault"

    @classmethod
    def drop(cls, *, reset: bool = False) -> Fault:
        """Closes the connection before sending any byte of a response.

        What a client sees: the connection ends while it waits for the status
        line. aiohttp raises ``ServerDisconnectedError`` (a
        ``ClientConnectionError``); with ``reset=True`` the socket is closed
        with ``SO_LINGER`` 0, so the peer gets a TCP RST and aiohttp raises
        ``ClientOSError`` (errno ``ECONNRESET``) or ``ServerDisconnectedError``.

        Args:
            reset: Send a TCP RST instead of a FIN.
        """
        return _Drop(reset=reset)

    @classmethod
    def reset_after_headers(
        cls,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str = _JSON,
    ) -> Fault:
        """Sends the status line and headers (chunked encoding), then closes.

        What a client sees: the response starts normally (status and headers
        are readable) and reading the body fails because the chunked body
        never terminates. aiohttp raises ``ClientPayloadError``.

        Args:
            status: HTTP status code.
            headers: Extra response headers.
            content_type: The ``Content-Type``; pass ``"text/event-stream"``
                to break a stream before its first event.
        """
        return _ResetAfterHeaders(status=status, headers=headers, content_type=content_type)

    @classmethod
    def partial_body(
        cls,
        *,
        status: int = 200,
        body: bytes = b'{"id": "x", "choi',
        declared_length: int | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str = _JSON,
    ) -> Fault:
        """Declares a longer ``Content-Length`` than it sends, then closes.

        What a client sees: status and headers, then the body ends early.
        aiohttp raises ``ClientPayloadError`` (``ContentLengthError``) when
        reading it.

        Args:
            status: HTTP status code.
            body: The bytes actually sent.
            declared_length: The ``Content-Length`` (default ``len(body) + 64``);
                must exceed ``len(body)``.
            headers: Extra response headers.
            content_type: The ``Content-Type``.

        Raises:
            ValueError: ``declared_length`` does not exceed ``len(body)``.
        """
        length = len(body) + 64 if declared_length is None else declared_length
        if length <= len(body):
            msg = f"declared_length {length} must exceed the {len(body)} bytes sent"
            raise ValueError(msg)
        return _PartialBody(
            status=status,
            body=body,
            declared_length=length,
            headers=headers,
            content_type=content_type,
        )

    @classmethod
    def delay_headers(cls, seconds: float, *, then: Reply | StreamReply | None = None) -> Fault:
        """Waits ``seconds`` before responding at all, then sends ``then``.

        What a client sees: nothing for ``seconds`` (a read timeout shorter
        than that fires), then a normal response: ``then`` or, when None,
        the server's default reply for the request.

        Args:
            seconds: The delay before the status line.
            then: The response sent after the delay.
        """
        return _DelayHeaders(seconds=seconds, then=then)

    @classmethod
    def trickle(
        cls,
        body: bytes,
        *,
        chunk_size: int = 1,
        interval: float = 0.05,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str = _JSON,
    ) -> Fault:
        """Sends a complete, correct body slowly: ``chunk_size`` bytes per ``interval``.

        What a client sees: headers at once (with the first chunk), then the
        body in pieces; an idle-read timeout shorter than ``interval`` fires,
        otherwise the body arrives intact. A complete response, not a broken one.

        Args:
            body: The full body (``Content-Length`` is its length).
            chunk_size: Bytes per write.
            interval: Seconds between writes.
            status: HTTP status code.
            headers: Extra response headers.
            content_type: The ``Content-Type``.
        """
        return _Trickle(
            body=body,
            chunk_size=chunk_size,
            interval=interval,
            status=status,
            headers=headers,
            content_type=content_type,
        )

    def __repr__(self) -> str:
        fields = attrs.fields(type(self))
        args = ", ".join(f"{field.name}={getattr(self, field.name)!r}" for field in fields)
        return f"Fault.{self._factory}({args})"

    async def _send(self, request: web.Request, fallback: _Fallback) -> web.StreamResponse:
        raise NotImplementedError


@attrs.frozen(kw_only=True, repr=False)
class _Drop(Fault):
    _factory: ClassVar[str] = "drop"
    reset: bool

    async def _send(self, request: web.Request, fallback: _Fallback) -> web.StreamResponse:
        transport = request.transport
        if transport is not None and self.reset:
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            _close(request)
        return _abandoned()


@attrs.frozen(kw_only=True, repr=False)
class _ResetAfterHeaders(Fault):
    _factory: ClassVar[str] = "reset_after_headers"
    status: int
    headers: Mapping[str, str] = attrs.field(converter=_headers)
    content_type: str

    async def _send(self, request: web.Request, fallback: _Fallback) -> web.StreamResponse:
        chunked = {"Transfer-Encoding": "chunked"}
        _write_raw(request, _head(request, self.status, self.content_type, self.headers, chunked))
        _close(request)
        return _abandoned()


@attrs.frozen(kw_only=True, repr=False)
class _PartialBody(Fault):
    _factory: ClassVar[str] = "partial_body"
    status: int
    body: bytes
    declared_length: int
    headers: Mapping[str, str] = attrs.field(converter=_headers)
    content_type: str

    async def _send(self, request: web.Request, fallback: _Fallback) -> web.StreamResponse:
        length = {"Content-Length": str(self.declared_length)}
        head = _head(request, self.status, self.content_type, self.headers, length)
        _write_raw(request, head + self.body)
        _close(request)
        return _abandoned()


@attrs.frozen(kw_only=True, repr=False)
class _DelayHeaders(Fault):
    _factory: ClassVar[str] = "delay_headers"
    seconds: float
    then: Reply | StreamReply | None

    async def _send(self, request: web.Request, fallback: _Fallback) -> web.StreamResponse:
        await asyncio.sleep(self.seconds)
        item = self.then if self.then is not None else fallback()
        return await item._send(request, fallback)


@attrs.frozen(kw_only=True, repr=False)
class _Trickle(Fault):
    _factory: ClassVar[str] = "trickle"
    body: bytes
    chunk_size: int
    interval: float
    status: int
    headers: Mapping[str, str] = attrs.field(converter=_headers)
    content_type: str

    async def _send(self, request: web.Request, fallback: _Fallback) -> web.StreamResponse:
        response = web.StreamResponse(status=self.status, headers=self.headers)
        response.headers[hdrs.CONTENT_TYPE] = self.content_type
        response.content_length = len(self.body)
        await response.prepare(request)
        size = max(1, self.chunk_size)
        for start in range(0, len(self.body), size):
            if start:
                await asyncio.sleep(self.interval)
            await response.write(self.body[start : start + size])
        await response.write_eof()
        return response


#: Anything the server can answer one request with.
ScriptItem: TypeAlias = Reply | StreamReply | Fault
#: Builds the server's default reply for the request being answered.
_Fallback: TypeAlias = Callable[[], ScriptItem]


def _abandoned() -> web.Response:
    # Returned once the socket is closed: aiohttp's attempt to send it fails
    # with a ConnectionError, which it treats as a silent client disconnect.
    return web.Response()


def _close(request: web.Request) -> None:
    # close() flushes what is buffered, then sends FIN: the bytes written so
    # far reach the client, the rest of the response never does.
    if request.transport is not None:
        request.transport.close()


def _write_raw(request: web.Request, data: bytes) -> None:
    if request.transport is not None:
        request.transport.write(data)


def _head(
    request: web.Request,
    status: int,
    content_type: str,
    headers: Mapping[str, str],
    framing: Mapping[str, str],
) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    fields = {
        "Content-Type": content_type,
        "x-request-id": request.get(REQUEST_ID_KEY, "req_0"),
        **headers,
        **framing,
    }
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in fields.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
