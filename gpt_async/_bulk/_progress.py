"""Progress on stderr: a tqdm bar when the ``progress`` extra is installed, else a status line.

Either shows done, failed and in flight, requests and tokens per second, and
the ETA. ``auto`` shows something only when stderr is a terminal.
"""

from __future__ import annotations

import importlib
import sys
import time
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from ._totals import Tracker

__all__ = ["Display", "ProgressMode", "make_display"]

ProgressMode = Literal["auto", "bar", "plain", "none"]


class Display(Protocol):
    """Shows a run's progress; ``refresh`` is called every ``interval`` seconds."""

    interval: float

    def refresh(self, tracker: Tracker, in_flight: int) -> None: ...

    def close(self, tracker: Tracker, in_flight: int) -> None: ...


def _rates(tracker: Tracker) -> tuple[float, float, float]:
    elapsed = max(time.monotonic() - tracker.started, 1e-9)
    summary = tracker.summary
    tokens = summary.prompt_tokens + summary.completion_tokens
    return elapsed, tracker.done / elapsed, tokens / elapsed


def _eta(total: int | None, tracker: Tracker, per_second: float) -> str:
    if total is None or per_second <= 0:
        return "?"
    seconds = int(max(total - tracker.done, 0) / per_second)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class StatusLine:
    """One line on stderr every few seconds, for when tqdm is not installed."""

    def __init__(self, total: int | None, stream: IO[str], interval: float = 5.0) -> None:
        self._total = total
        self._stream = stream
        self.interval = interval

    def refresh(self, tracker: Tracker, in_flight: int) -> None:
        _elapsed, per_second, tokens = _rates(tracker)
        summary = tracker.summary
        of = f"/{self._total:,}" if self._total is not None else ""
        print(
            f"gpt-async batch: {tracker.done:,}{of} done, {summary.failed:,} failed, "
            f"{in_flight} in flight, {per_second:.1f} req/s, {tokens:,.0f} tok/s, "
            f"ETA {_eta(self._total, tracker, per_second)}",
            file=self._stream,
            flush=True,
        )

    def close(self, tracker: Tracker, in_flight: int) -> None:
        self.refresh(tracker, in_flight)


class Bar:
    """A tqdm bar: requests done of the total, with failed, in flight and tokens/s."""

    def __init__(self, total: int | None, stream: IO[str]) -> None:
        # The optional ``progress`` extra, imported by name: it ships no type hints.
        tqdm = importlib.import_module("tqdm").tqdm
        self._bar: Any = tqdm(total=total, unit="req", file=stream, dynamic_ncols=True)
        self._shown = 0
        self.interval = 0.5

    def refresh(self, tracker: Tracker, in_flight: int) -> None:
        _elapsed, _per_second, tokens = _rates(tracker)
        self._bar.set_postfix(
            failed=tracker.summary.failed,
            in_flight=in_flight,
            tok_s=f"{tokens:,.0f}",
            refresh=False,
        )
        self._bar.update(tracker.done - self._shown)
        self._shown = tracker.done

    def close(self, tracker: Tracker, in_flight: int) -> None:
        self.refresh(tracker, in_flight)
        self._bar.close()


def make_display(
    mode: ProgressMode, total: int | None, stream: IO[str] | None = None
) -> Display | None:
    """The display for ``mode`` (``auto``: a bar or status line, only on a terminal)."""
    stream = stream or sys.stderr
    if mode == "none" or (mode == "auto" and not stream.isatty()):
        return None
    if mode in ("auto", "bar"):
        try:
            return Bar(total, stream)
        except ImportError:
            if mode == "bar":
                raise
    return StatusLine(total, stream)
