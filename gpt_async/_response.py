"""``APIResponse``: one reply's HTTP facts beside its parsed result (``with_raw_response``).

``client.chat.completions.with_raw_response.create(...)`` (the resource lives beside
``chat.completions`` in ``_client.py``) returns an
:class:`APIResponse`: status, headers, request id, timing, retries and the typed
rate limits, and :meth:`APIResponse.parse` for the
:class:`~gpt_async.models.components.ChatCompletion` (or, with ``stream=True``,
the stream). A stream's ``response`` is the same kind of object.

An ``APIResponse`` is also an :class:`~gpt_async.HTTPResponse` (it reads and closes
through the transport's response), so a stream reads its body through it.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._exceptions import ClientStateError

if TYPE_CHECKING:
    from ._ratelimit_info import RateLimitInfo
    from ._transport import HTTPResponse

__all__ = ["APIResponse", "stream_response"]

R = TypeVar("R")
_UNPARSED: Any = object()


class APIResponse(Generic[R]):
    """A reply's status, headers, timing and retries, and its parsed result.

    Attributes:
        http_response: The transport's response.
        status_code: The HTTP status.
        headers: The response headers; lookups are case-insensitive.
        elapsed: Seconds from sending the last attempt to the arrival of its headers.
        retries_taken: How many retries the call made before this reply (0: none).
    """

    __slots__ = (
        "_parsed",
        "_rate_limits",
        "elapsed",
        "headers",
        "http_response",
        "retries_taken",
        "status_code",
    )

    def __init__(
        self,
        http_response: HTTPResponse,
        *,
        elapsed: float,
        retries_taken: int,
        parsed: Any = _UNPARSED,
    ) -> None:
        self.http_response = http_response
        self.status_code = http_response.status_code
        self.headers: Mapping[str, str] = http_response.headers
        self.elapsed = elapsed
        self.retries_taken = retries_taken
        self._parsed: Any = parsed
        self._rate_limits: RateLimitInfo | None = None

    def __repr__(self) -> str:
        return f"<APIResponse [{self.status_code}] request_id={self.request_id!r}>"

    @property
    def url(self) -> str:
        """The URL that answered."""
        return self.http_response.url

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` header, when the server sent one."""
        return self.headers.get("x-request-id")

    @property
    def rate_limits(self) -> RateLimitInfo:
        """The ``x-ratelimit-*`` headers, typed; fields are ``None`` where absent."""
        if self._rate_limits is None:
            from ._ratelimit_info import RateLimitInfo  # noqa: PLC0415 - loads on first use

            self._rate_limits = RateLimitInfo.from_headers(self.headers)
        return self._rate_limits

    def parse(self) -> R:
        """The parsed result: the ``ChatCompletion``, or the stream for ``stream=True``.

        Raises:
            ClientStateError: This is a stream's ``response`` and the stream is gone.
        """
        parsed = self._parsed
        if isinstance(parsed, weakref.ref):
            parsed = parsed()
            if parsed is None:
                raise ClientStateError("the stream of this response was garbage-collected")
        if parsed is _UNPARSED:
            raise ClientStateError("this response has no parsed result yet")
        return parsed  # type: ignore[no-any-return]

    def with_parsed(self, parsed: Any, *, weak: bool = False) -> APIResponse[Any]:
        """A copy whose :meth:`parse` gives ``parsed``; held weakly with ``weak=True``.

        A stream's own ``response`` holds its stream weakly, so that the two do not
        keep each other alive past the caller's last reference.
        """
        copy: APIResponse[Any] = APIResponse.__new__(APIResponse)
        for name in APIResponse.__slots__:
            setattr(copy, name, getattr(self, name))
        copy._parsed = weakref.ref(parsed) if weak else parsed
        return copy

    # ------------------------------------------------------------ the HTTPResponse protocol

    async def read(self) -> bytes:
        """Read the whole body and release the connection."""
        return await self.http_response.read()

    async def read_chunk(self) -> bytes:
        """The next piece of the body as the network delivered it; ``b""`` at its end."""
        return await self.http_response.read_chunk()

    def close(self) -> None:
        """Drop the connection at once (the body was not read to the end)."""
        self.http_response.close()


def stream_response(response: HTTPResponse, stream: object) -> APIResponse[Any]:
    """The ``response`` of ``stream``: ``response`` as an :class:`APIResponse` that
    gives ``stream`` (held weakly) from :meth:`~APIResponse.parse`."""
    if not isinstance(response, APIResponse):
        response = APIResponse(response, elapsed=0.0, retries_taken=0)
    return response.with_parsed(stream, weak=True)
