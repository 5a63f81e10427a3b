"""The server-sent-events decoder against the WHATWG event stream rules."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_async._sse import DONE, ServerSentEvent, SSEDecoder

Event = ServerSentEvent


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    """Feeds ``chunks`` to a fresh decoder, then closes it."""
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.close()


def pieces(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """Splits ``data`` at the given offsets."""
    bounds = [0, *sorted({min(max(cut, 0), len(data)) for cut in cuts}), len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


# A reference decoder written straight from the spec's wording, line by line
# over the decoded text, for the property tests to compare against.


@attrs.define
class _Reference:
    events: list[ServerSentEvent] = attrs.Factory(list)
    data: str = ""
    event_type: str = ""
    last_id: str | None = None
    retry: int | None = None
    pending: bool = False

    def line(self, line: str) -> None:
        if not line:
            self.dispatch()
        elif not line.startswith(":"):
            self.pending = True
            name, _, value = line.partition(":")
            self.field(name, value[1:] if value.startswith(" ") else value)

    def field(self, name: str, value: str) -> None:
        digits = value.isascii() and value.isdigit()
        if name == "data":
            self.data += value + "\n"
        elif name == "event":
            self.event_type = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and digits and len(value) <= 4300:
            self.retry = int(value)

    def dispatch(self) -> None:
        if self.data:
            event = Event(self.data[:-1], self.event_type or "message", self.last_id, self.retry)
            self.events.append(event)
        self.data, self.event_type, self.retry, self.pending = "", "", None, False


def reference(stream: bytes) -> tuple[list[ServerSentEvent], bool]:
    """Decodes a whole stream the slow, literal way; also says whether it was truncated."""
    text = stream.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ref = _Reference()
    for line in lines[:-1]:
        ref.line(line)
    partial = lines[-1]
    return ref.events, ref.pending or (partial != "" and not partial.startswith(":"))


# Plain rules.


def test_single_data_event() -> None:
    """A data line and a blank line make one message event."""
    assert decode(b"data: hello\n\n") == [Event("hello", "message", None, None)]


def test_done_constant() -> None:
    """DONE is the data of OpenAI's final event."""
    assert decode(b"data: [DONE]\n\n")[0].data == DONE == "[DONE]"


def test_event_is_immutable() -> None:
    """An event's fields cannot be reassigned."""
    event = Event("x")
    with pytest.raises(AttributeError):
        event.data = "y"  # type: ignore[misc]


def test_event_defaults() -> None:
    """An event built from data alone is a message without id or retry."""
    assert (Event("x").event, Event("x").id, Event("x").retry) == ("message", None, None)


def test_multiple_data_lines_join_with_lf() -> None:
    """Several data lines in one event are joined with a newline."""
    assert decode(b"data: a\ndata: b\ndata\ndata: c\n\n")[0].data == "a\nb\n\nc"


def test_several_events_in_one_chunk() -> None:
    """Every complete event in a chunk comes out, in order."""
    assert [e.data for e in decode(b"data: 1\n\ndata: 2\n\n\n\ndata: 3\n\n")] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("line", "value"),
    [(b"data:x", "x"), (b"data: x", "x"), (b"data:  x", " x"), (b"data: ", ""), (b"data", "")],
)
def test_one_leading_space_is_removed(line: bytes, value: str) -> None:
    """Only the first space after the colon is dropped; a bare name has an empty value."""
    assert decode(line + b"\n\n") == [Event(value)]


def test_value_keeps_later_colons() -> None:
    """Only the first colon separates the field name from its value."""
    assert decode(b'data: {"a":"b:c"}\n\n')[0].data == '{"a":"b:c"}'


@pytest.mark.parametrize("end", [b"\n", b"\r", b"\r\n"])
def test_line_ends(end: bytes) -> None:
    """LF, CR and CRLF each end a line."""
    stream = b"event: e" + end + b"data: a" + end + b"data: b" + end + end
    assert decode(stream) == [Event("a\nb", "e")]


def test_mixed_line_ends() -> None:
    """Line ends may change from line to line."""
    stream = b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\r"
    assert decode(stream) == [Event("a\nb\nc"), Event("d")]


def test_cr_then_lf_across_chunks_is_one_line_end() -> None:
    """A CR ending one chunk and an LF starting the next make a single line end."""
    assert decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [Event("a\nb")]


def test_cr_then_lf_after_empty_chunk() -> None:
    """An empty chunk between a CR and its LF does not split the pair."""
    assert decode(b"data: a\r", b"", b"\ndata: b\r\n\r\n") == [Event("a\nb")]


def test_lone_crs_across_chunks() -> None:
    """A CR at a chunk end followed by a non-LF byte is a line end of its own."""
    assert decode(b"data: a\r", b"\r") == [Event("a")]


def test_comments_are_ignored() -> None:
    """Lines starting with a colon change nothing."""
    assert decode(b": ping\ndata: a\n:data: b\n\n") == [Event("a")]


def test_comments_only_stream_yields_nothing() -> None:
    """A stream of keep-alive comments dispatches no event and is not pending."""
    decoder = SSEDecoder()
    assert decoder.feed(b": ping\n\n: ping\r\n\r\n:\n\n: tail") == []
    assert decoder.close() == []
    assert not decoder.pending


def test_event_without_data_is_skipped() -> None:
    """An event with fields but no data line is not dispatched."""
    assert decode(b"event: x\nid: 1\n\ndata: y\n\n") == [Event("y", "message", "1", None)]


def test_event_type_resets_between_events() -> None:
    """An event type applies to its own event only, even an undispatched one."""
    assert decode(b"event: a\n\ndata: 1\n\nevent: b\ndata: 2\n\ndata: 3\n\n") == [
        Event("1"),
        Event("2", "b"),
        Event("3"),
    ]


def test_empty_event_type_means_message() -> None:
    """An empty event field leaves the type at message."""
    assert decode(b"event: a\nevent:\ndata: 1\n\n")[0].event == "message"


def test_unknown_fields_are_ignored() -> None:
    """Fields the spec does not define change nothing, and names are case-sensitive."""
    assert decode(b"foo: bar\nData: no\nDATA: no\ndata: yes\n\n") == [Event("yes")]


def test_id_carries_over_to_later_events() -> None:
    """The last event ID stays set until the stream changes it."""
    events = decode(b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
    assert [e.id for e in events] == ["7", "7", ""]


def test_id_with_nul_is_ignored() -> None:
    """An id field containing NUL does not change the last event ID."""
    decoder = SSEDecoder()
    events = decoder.feed(b"id: 1\n\nid: 2\x003\ndata: a\n\n")
    assert events[0].id == "1"
    assert decoder.last_event_id == "1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"1500", 1500), (b"0", 0), (b"", None), (b"1.5", None), (b"-1", None), (b" 15", None)],
)
def test_retry_accepts_digits_only(value: bytes, expected: int | None) -> None:
    """A retry field sets the event's retry only when its value is all ASCII digits."""
    assert decode(b"retry: " + value + b"\ndata: a\n\n")[0].retry == expected


def test_retry_with_non_ascii_digits_is_ignored() -> None:
    """Unicode digits that are not ASCII do not count."""
    assert decode("retry: ١٢\ndata: a\n\n".encode())[0].retry is None


def test_retry_is_per_event_and_remembered() -> None:
    """Retry belongs to its event; the decoder keeps the latest value."""
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: 10\n\ndata: a\n\nretry: 20\ndata: b\n\n")
    assert [e.retry for e in events] == [None, 20]
    assert decoder.retry == 20


def test_huge_retry_is_ignored() -> None:
    """A retry value too long for int() is ignored instead of raising."""
    assert decode(b"retry: " + b"9" * 10_000 + b"\ndata: a\n\n")[0].retry is None


# Byte-level robustness.


def test_bom_at_stream_start_is_stripped() -> None:
    """A UTF-8 BOM before the first line is not part of the field name."""
    assert decode(b"\xef\xbb\xbfdata: a\n\n") == [Event("a")]


def test_bom_split_across_chunks_is_stripped() -> None:
    """A BOM arriving one byte per chunk is still stripped."""
    assert decode(b"\xef", b"\xbb", b"\xbfdata: a\n\n") == [Event("a")]


def test_only_the_first_bom_is_stripped() -> None:
    """A second BOM is part of the first field name, so the line is an unknown field."""
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [Event("b")]


def test_bom_later_in_stream_is_kept() -> None:
    """A BOM inside a value is ordinary data."""
    assert decode(b"data: \xef\xbb\xbfa\n\n")[0].data == "\ufeffa"


def test_utf8_split_inside_character() -> None:
    """A multi-byte character cut between chunks decodes whole."""
    stream = "data: héllo €\n\n".encode()
    cut = stream.index(b"\xe2") + 1
    assert decode(stream[:cut], stream[cut : cut + 1], stream[cut + 1 :]) == [Event("héllo €")]


def test_invalid_utf8_is_replaced() -> None:
    """Bytes that are not UTF-8 become U+FFFD instead of raising."""
    assert decode(b"data: a\xffb\xc3\n\n") == [Event("a\ufffdb\ufffd")]


def test_one_byte_at_a_time() -> None:
    """Feeding a byte per call gives the same events as one call."""
    stream = b"\xef\xbb\xbfid: 1\r\nevent: e\r\ndata: \xc3\xa9\r\n\r\ndata: x\rdata: y\r\r"
    assert decode(*[stream[i : i + 1] for i in range(len(stream))]) == decode(stream)


def test_long_line_in_small_pieces() -> None:
    """A 1 MB data line fed in 1 KB pieces arrives intact as one event."""
    payload = bytes(range(32, 127)) * (1_048_576 // 95 + 1)
    stream = b"data: " + payload + b"\n\n"
    events = decode(*[stream[i : i + 1024] for i in range(0, len(stream), 1024)])
    assert events == [Event(payload.decode())]


def test_empty_feed() -> None:
    """An empty chunk yields nothing and leaves nothing pending."""
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert not decoder.pending


# Truncation.


def test_unterminated_event_is_not_dispatched() -> None:
    """Close drops an event missing its blank line and reports it pending."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: b\n") == [Event("a")]
    assert decoder.close() == []
    assert decoder.pending


def test_partial_line_is_pending() -> None:
    """A stream cut in the middle of a line is pending."""
    decoder = SSEDecoder()
    decoder.feed(b'data: {"a"')
    assert decoder.pending


def test_complete_stream_is_not_pending() -> None:
    """A stream that ends on a blank line has nothing pending."""
    decoder = SSEDecoder()
    decoder.feed(b"data: a\r\n\r\n")
    assert not decoder.pending


# Properties.

_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)


@st.composite
def _events(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[ServerSentEvent]]:
    """Draws events as field lists, with the events the spec says they make."""
    fields: list[tuple[str, str]] = []
    expected: list[ServerSentEvent] = []
    last_id: str | None = None
    for _ in range(draw(st.integers(0, 5))):
        data = draw(st.lists(_text, max_size=3))
        event_type = draw(st.none() | _text.filter(bool))
        new_id = draw(st.none() | _text.filter(lambda s: "\0" not in s))
        retry = draw(st.none() | st.integers(0, 10**6))
        lines = [("data", value) for value in data]
        lines += [("event", event_type)] if event_type is not None else []
        lines += [("id", new_id)] if new_id is not None else []
        lines += [("retry", str(retry))] if retry is not None else []
        lines += [(":", draw(_text))] if draw(st.booleans()) else []
        lines = draw(st.permutations(lines))
        fields += [*lines, ("", "")]
        last_id = last_id if new_id is None else new_id
        if data:
            text = "\n".join(value for name, value in lines if name == "data")
            expected.append(Event(text, event_type or "message", last_id, retry))
    return fields, expected


def _serialize(fields: Sequence[tuple[str, str]], ends: Sequence[bytes]) -> bytes:
    """Writes field lines with the given line ends; name ``:`` is a comment, ``""`` a blank line."""
    out = bytearray()
    for (name, value), end in zip(fields, ends, strict=False):
        if name:
            out += f"{name}{value}".encode() if name == ":" else f"{name}: {value}".encode()
        # An LF right after a CR would merge with it into one line end.
        out += b"\r" if out.endswith(b"\r") and end != b"\r" else end
    return bytes(out)


@settings(max_examples=200, deadline=None)
@given(st.data(), _events())
def test_any_split_gives_the_spec_events(
    data: st.DataObject, case: tuple[list[tuple[str, str]], list[ServerSentEvent]]
) -> None:
    """Serialized events come back unchanged however the stream is cut."""
    fields, expected = case
    ends = data.draw(st.lists(st.sampled_from([b"\n", b"\r", b"\r\n"]), min_size=len(fields)))
    stream = data.draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + _serialize(fields, ends)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    assert decode(stream) == expected
    assert decode(*pieces(stream, cuts)) == expected


_tokens = st.sampled_from(
    [b"\n", b"\r", b"\r\n", b":", b" ", b"data", b"event", b"id", b"retry", b"12", b"x"]
)
_awkward_bytes = st.sampled_from([b"\xef\xbb\xbf", b"\xe2\x82", b"\xac", b"\xff", b"\0"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_tokens | _awkward_bytes | st.binary(max_size=4), max_size=40),
    st.lists(st.integers(0, 200)),
)
def test_arbitrary_bytes_match_the_reference(chunks: list[bytes], cuts: list[int]) -> None:
    """Any bytes, cut anywhere, decode without raising exactly as the literal spec reading does."""
    stream = b"".join(chunks)
    decoder = SSEDecoder()
    events = [event for piece in pieces(stream, cuts) for event in decoder.feed(piece)]
    events += decoder.close()
    assert (events, decoder.pending) == reference(stream)
