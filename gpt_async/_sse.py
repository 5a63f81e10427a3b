"""A sans-I/O server-sent-events decoder: bytes in, events out.

The decoder follows the WHATWG *event stream interpretation* rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html) and does no
I/O: the transport feeds it whatever each network read returned, split at any
byte, and gets back the events those bytes completed.

Design, for the streaming hot path (one ``data: {json}\\n\\n`` event per read):

* Work on bytes. Line ends are normalised to LF with C-level
  ``bytes.replace``, and only when the chunk holds a CR at all; a CR that ends
  a chunk is remembered so that an LF opening the next chunk is not counted
  as a second line end.
* Cut each chunk into *event blocks* at blank lines with one
  ``split(b"\\n\\n")``, not into lines. A block that is a single ``data: ``
  line, which is every event OpenAI sends, becomes an event with a prefix
  compare, an ``in`` test and one UTF-8 decode; any other block goes through
  the general field parser.
* Decode UTF-8 once per event, with replacement: separators are ASCII, so
  decoding each field on its own equals decoding the whole stream.
* Keep the bytes of an unfinished event in a ``bytearray`` and remember how
  far it was searched, so a 1 MB line arriving in 1 KB pieces costs linear
  time, not quadratic.
* Events are ``NamedTuple`` instances built with ``tuple.__new__``: immutable,
  and about three times cheaper to create than a frozen attrs class (which
  would cost more than all the decoding above).

``[DONE]`` is not special here; the caller compares ``event.data`` with
:data:`DONE`.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["DONE", "SSEDecoder", "ServerSentEvent"]

DONE: Final = "[DONE]"
"""The data of the event that ends an OpenAI stream."""

_BOM: Final = b"\xef\xbb\xbf"
_LF: Final = 10
_CR: Final = 13
# int() refuses longer digit strings (CPython's int_max_str_digits); such a
# retry value is ignored rather than raised.
_MAX_RETRY_DIGITS: Final = 4300


class ServerSentEvent(NamedTuple):
    """One dispatched server-sent event.

    Attributes:
        data: The event's data lines joined with ``"\\n"``.
        event: The event type; ``"message"`` when the stream names none.
        id: The last event ID seen in the stream so far (it carries over to
            later events, per the spec), or ``None`` if there was none.
        retry: The reconnection time in milliseconds set by this event's
            ``retry`` field, or ``None``.
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


_new_event: Final = tuple.__new__


class SSEDecoder:
    """Turns a byte stream into :class:`ServerSentEvent` objects.

    Feed it every chunk as it arrives, then call :meth:`close` at the end of
    the stream and check :attr:`pending` to detect a truncated stream.

    Example:
        >>> decoder = SSEDecoder()
        >>> decoder.feed(b'data: {"a": 1}\\n\\nda')
        [ServerSentEvent(data='{"a": 1}', event='message', id=None, retry=None)]
        >>> decoder.feed(b"ta: [DONE]\\n\\n")[0].data
        '[DONE]'
    """

    __slots__ = ("_at_start", "_buf", "_last_id", "_retry", "_scanned", "_skip_lf")

    def __init__(self) -> None:
        """Creates a decoder at the start of a stream."""
        self._buf = bytearray()  # an unfinished event, from the start of its first line
        self._scanned = 0  # where to resume the blank-line search in _buf
        self._skip_lf = False  # the last chunk ended with CR
        self._at_start = True  # a BOM may still come
        self._last_id: str | None = None
        self._retry: int | None = None

    @property
    def pending(self) -> bool:
        """Whether the bytes fed so far end inside an event.

        True when a field line (complete or not) came after the last blank
        line: at the end of the stream that event is lost, so the stream was
        truncated. Comments and blank lines do not count.
        """
        return any(line and line[0] != 0x3A for line in self._buf.split(b"\n"))

    @property
    def last_event_id(self) -> str | None:
        """The last event ID the stream set, for a ``Last-Event-ID`` header."""
        return self._last_id

    @property
    def retry(self) -> int | None:
        """The last reconnection time, in milliseconds, the stream set."""
        return self._retry

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decodes one more chunk of the stream.

        Args:
            data: The next bytes, split anywhere from the previous ones.

        Returns:
            The events completed by these bytes, in stream order.
        """
        if self._skip_lf or _CR in data:
            data = self._normalize_line_ends(data)
        if self._at_start:
            data = self._strip_bom(data)
        if self._buf:
            data = self._join_buffered(data)
            if not data:
                return []
        # The hot path, kept in one function: a call costs as much as a step here.
        blocks = data.split(b"\n\n")
        rest = blocks.pop()
        if rest:
            self._buf += rest
            self._scanned = len(rest) - 1
        events: list[ServerSentEvent] = []
        for block in blocks:
            if block[:6] == b"data: " and _LF not in block:
                try:
                    text = block[6:].decode()
                except UnicodeDecodeError:
                    text = block[6:].decode("utf-8", "replace")
                events.append(_new_event(ServerSentEvent, (text, "message", self._last_id, None)))
            else:
                event = self._parse_block(block)
                if event is not None:
                    events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """Ends the stream.

        An unfinished trailing event is discarded, as the spec requires;
        :attr:`pending` still tells whether there was one.

        Returns:
            The events the end of the stream completes: always none, since a
            blank line, not the end of the stream, dispatches an event.
        """
        return []

    def _normalize_line_ends(self, data: bytes) -> bytes:
        """Rewrites CRLF and CR to LF, pairing a CR and LF split across chunks."""
        if not data:
            return data
        if self._skip_lf and data[0] == _LF:
            data = data[1:]
        self._skip_lf = data.endswith(b"\r")
        data = data.replace(b"\r\n", b"\n")
        return data.replace(b"\r", b"\n") if _CR in data else data

    def _strip_bom(self, data: bytes) -> bytes:
        """Removes a UTF-8 BOM at the start of the stream, holding back a partial one."""
        head = bytes(self._buf) + data
        self._buf.clear()
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._buf += head
            return b""
        self._at_start = False
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _join_buffered(self, data: bytes) -> bytes:
        """Appends ``data`` to the unfinished event; all of it once it is finished.

        Returns:
            The buffered bytes and ``data`` when they hold a blank line, else
            nothing: only the new bytes are searched, so a long line arriving
            in pieces costs linear time.
        """
        buf = self._buf
        buf += data
        if buf.find(b"\n\n", self._scanned) < 0:
            self._scanned = len(buf) - 1
            return b""
        data = bytes(buf)
        buf.clear()
        return data

    def _parse_block(self, block: bytes) -> ServerSentEvent | None:
        """Interprets the field lines of one event; ``None`` when it has no data."""
        data: list[bytes] = []
        event_type = "message"
        retry = None
        for line in block.split(b"\n"):
            name, _, value = line.partition(b":")  # no colon: the value is empty
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event_type = value.decode("utf-8", "replace") or "message"
            elif name == b"id":
                if b"\0" not in value:
                    self._last_id = value.decode("utf-8", "replace")
            elif name == b"retry" and value.isdigit() and len(value) <= _MAX_RETRY_DIGITS:
                retry = self._retry = int(value)
        if not data:
            return None
        text = b"\n".join(data).decode("utf-8", "replace")
        return _new_event(ServerSentEvent, (text, event_type, self._last_id, retry))
