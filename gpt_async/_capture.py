"""Facts about one call that its return value does not carry, for the bulk runner.

A bulk worker sets :data:`CURRENT` to a :class:`CallRecord` in its own task's
context; the client's request loop then counts its attempts there and keeps the
raw body of the answer, so that the runner can report attempts and write the
server's own JSON without encoding the parsed completion again. Outside a bulk
run the variable is ``None`` and the client does nothing more than read it.
"""

from __future__ import annotations

from contextvars import ContextVar

import attrs

__all__ = ["CURRENT", "CallRecord"]


@attrs.define(repr=False, eq=False)  # internal bookkeeping: no generated repr or eq
class CallRecord:
    """What the request loop saw during one call.

    Attributes:
        attempts: HTTP attempts made (1 when no retry happened).
        body: The raw body of the 2xx answer that was parsed.
        request_id: Its ``x-request-id`` header.
    """

    attempts: int = 0
    body: bytes | None = None
    request_id: str | None = None

    def reset(self) -> None:
        """Forget the previous call."""
        self.attempts, self.body, self.request_id = 0, None, None


CURRENT: ContextVar[CallRecord | None] = ContextVar("gpt_async_call_record", default=None)
