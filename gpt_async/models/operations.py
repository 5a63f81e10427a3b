"""The operation-level types of the original specification: the response wrapper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from gpt_async._types import ResponseFacts
from gpt_async.models._response import ChatCompletion

__all__ = ["CreateChatCompletionResponse", "RawResponse"]


@attrs.frozen(kw_only=True)
class RawResponse:
    """What the HTTP response was: status, headers and URL (never the request's key).

    Attributes:
        status_code: The HTTP status.
        headers: The response headers; lookups are case-insensitive.
        url: The URL that answered.
    """

    status_code: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    url: str

    @classmethod
    def of(cls, response: ResponseFacts) -> RawResponse:
        """The facts of a transport response."""
        return cls(status_code=response.status_code, headers=response.headers, url=response.url)


@attrs.define(kw_only=True)
class CreateChatCompletionResponse:
    """The result of ``chat.create_chat_completion``: the HTTP facts and the completion.

    Attributes:
        content_type: The response's ``Content-Type``.
        status_code: The HTTP status.
        raw_response: Status, headers and URL of the response.
        create_chat_completion_response: The parsed completion (``None`` for a stream).
        stream: The chunk stream, when the request had ``stream=True``: an
            ``AsyncStream`` from ``AsyncGpt``, a ``Stream`` from ``Gpt`` (typed
            loosely: the wire models know no client).
    """

    content_type: str
    status_code: int
    raw_response: RawResponse
    create_chat_completion_response: ChatCompletion | None = None
    stream: Any = None
