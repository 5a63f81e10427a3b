"""The exceptions of gpt_async.

Every error the SDK raises derives from :class:`GptAsyncError`::

    GptAsyncError
    ├── RequestValidationError          bad input, raised before any network I/O
    │   └── SchemaError                 a type no strict JSON Schema describes
    ├── ClientStateError                a closed client, or one bound to another loop
    ├── CorruptOutputError              a bulk run's output has a broken line before its last
    ├── FinishReasonError               the model stopped before its structured answer ended
    │   ├── LengthFinishReasonError     ... at the token limit (``finish_reason: length``)
    │   └── ContentFilterFinishReasonError ... at the content filter
    ├── ToolLoopLimitError              ``run_tools`` reached ``max_steps``
    ├── RateLimiterError                a shared limiter's Redis failed (``on_redis_error="raise"``)
    └── APIError                        anything that went wrong talking to the server
        ├── SDKError                    a non-2xx answer (or an error event in a stream)
        │   ├── BadRequestError         400
        │   ├── AuthenticationError     401
        │   ├── PermissionDeniedError   403
        │   ├── NotFoundError           404
        │   ├── ConflictError           409
        │   ├── UnprocessableEntityError 422
        │   ├── RateLimitError          429
        │   └── InternalServerError     5xx
        ├── APIConnectionError          the connection failed, reset or closed early
        │   ├── APITimeoutError         a connect, read or total timeout
        │   └── IncompleteStreamError   a stream ended without ``data: [DONE]``
        └── APIResponseValidationError  a 2xx body that is not the promised JSON
            ├── StreamDecodeError       a stream event whose data is not the promised JSON
            └── OutputValidationError   structured output or tool arguments that do not fit

aiohttp, json, orjson and cattrs exceptions are mapped to these in exactly one
place each (``_transport.py`` and ``_codec``) and chained with ``from``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._ratelimit_info import RateLimitInfo
    from .models.operations import RawResponse

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConflictError",
    "ContentFilterFinishReasonError",
    "CorruptOutputError",
    "FinishReasonError",
    "GptAsyncError",
    "IncompleteStreamError",
    "InternalServerError",
    "LengthFinishReasonError",
    "NotFoundError",
    "OutputValidationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterError",
    "RequestValidationError",
    "SDKError",
    "SchemaError",
    "StreamDecodeError",
    "ToolLoopLimitError",
    "UnprocessableEntityError",
    "status_error",
]


class GptAsyncError(Exception):
    """The root of every exception raised by gpt_async."""


class RequestValidationError(GptAsyncError, TypeError, ValueError):
    """The request is malformed; raised before anything is sent.

    Attributes:
        path: Where the problem is, e.g. ``messages[2].content``.
        reason: What is wrong there.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


class ClientStateError(GptAsyncError, RuntimeError):
    """The client cannot be used here: it is closed, or bound to another event loop."""


class CorruptOutputError(GptAsyncError, ValueError):
    """A bulk run's output file has a line that is not a result, before its last line.

    A torn last line is what a killed run leaves, and is redone; a broken line
    elsewhere is not ours to repair, so the run refuses to resume over it.
    """


class APIError(GptAsyncError):
    """Something went wrong talking to the server.

    Attributes:
        message: A human-readable description.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class SDKError(APIError):
    """The server answered with a 4xx or 5xx status, or sent an error event in a stream.

    Attributes:
        status_code: The HTTP status (for an error event in a stream, the code it carries,
            or the stream's own status).
        body: The response body as text (bounded).
        raw_response: Status, headers and URL of the response.
        request_id: The ``x-request-id`` header, when the server sent one.
        error: The parsed ``error`` object of an OpenAI-style body, or ``None``.
        type: ``error.type`` when present.
        code: ``error.code`` as a string, when present (servers send strings or integers).
        param: ``error.param`` when present.
        rate_limits: The ``x-ratelimit-*`` headers as a :class:`~gpt_async.RateLimitInfo`.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str = "",
        raw_response: RawResponse | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.raw_response = raw_response
        self.request_id = raw_response.headers.get("x-request-id") if raw_response else None
        self.error = error
        self.type = _str_or_none(error, "type")
        self.code = _str_or_none(error, "code")
        self.param = _str_or_none(error, "param")
        super().__init__(message)

    def __str__(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.status_code}: {self.message}{rid}"

    @property
    def rate_limits(self) -> RateLimitInfo:
        """The response's ``x-ratelimit-*`` headers, typed; fields are ``None`` where absent."""
        from ._ratelimit_info import RateLimitInfo  # noqa: PLC0415 - loads on first use

        return RateLimitInfo.from_headers(self.raw_response.headers if self.raw_response else {})


class BadRequestError(SDKError):
    """400 Bad Request."""


class AuthenticationError(SDKError):
    """401 Unauthorized: the API key is missing, wrong or revoked."""


class PermissionDeniedError(SDKError):
    """403 Forbidden."""


class NotFoundError(SDKError):
    """404 Not Found: a wrong base URL, model or deployment."""


class ConflictError(SDKError):
    """409 Conflict."""


class UnprocessableEntityError(SDKError):
    """422 Unprocessable Entity."""


class RateLimitError(SDKError):
    """429 Too Many Requests: a rate limit or an exhausted quota."""


class RateLimiterError(GptAsyncError):
    """A :class:`~gpt_async.RateLimiter` could not reach its Redis (``on_redis_error="raise"``)."""


class InternalServerError(SDKError):
    """A 5xx status."""


class APIConnectionError(APIError):
    """The connection could not be made, or broke before the response was complete."""


class APITimeoutError(APIConnectionError):
    """A connect, read (idle) or total timeout expired."""


class IncompleteStreamError(APIConnectionError):
    """A stream's body ended before ``data: [DONE]``."""


class APIResponseValidationError(APIError):
    """A 2xx response whose body is not the promised JSON or does not fit the model.

    Attributes:
        path: The JSON path of the offending value (``$.choices[0].message``), or ``$``.
        body: The offending body text (bounded), when there is one.
    """

    def __init__(self, message: str, *, path: str = "$", body: str = "") -> None:
        self.path = path
        self.body = body
        super().__init__(message)


class StreamDecodeError(APIResponseValidationError):
    """A stream event whose data is not valid JSON or not a chunk."""


class SchemaError(RequestValidationError):
    """A type that no strict JSON Schema describes (``set[bytes]``, ``Any``, ``*args``).

    ``path`` names the field or parameter, e.g. ``Person.photo``.
    """


class OutputValidationError(APIResponseValidationError):
    """A message's structured content, or a tool call's arguments, do not fit the type.

    ``path`` is the JSON path inside the content (``$.address.zip``); ``body`` is the
    content itself (bounded).
    """


class FinishReasonError(GptAsyncError):
    """The model stopped before its structured answer was complete.

    Attributes:
        completion: The completion as it came, for its usage and partial content.
    """

    def __init__(self, message: str, *, completion: Any) -> None:
        self.completion = completion
        super().__init__(message)


class LengthFinishReasonError(FinishReasonError):
    """The answer was cut off at ``max_completion_tokens`` or the context length."""


class ContentFilterFinishReasonError(FinishReasonError):
    """The answer was cut off by the content filter."""


class ToolLoopLimitError(GptAsyncError):
    """``run_tools`` made ``max_steps`` requests and the model still asked for tools.

    Attributes:
        completion: The last completion, whose tool calls were not run.
        messages: The conversation up to (not including) that completion's message.
        steps: Every step taken.
    """

    def __init__(self, message: str, *, completion: Any, messages: list[Any], steps: list[Any]):
        self.completion = completion
        self.messages = messages
        self.steps = steps
        super().__init__(message)


_STATUS_CLASSES: dict[int, type[SDKError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(status_code: int) -> type[SDKError]:
    """Return the :class:`SDKError` subclass for an HTTP status."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, SDKError)


def _str_or_none(error: Mapping[str, Any] | None, key: str) -> str | None:
    value = error.get(key) if error else None
    return None if value is None else str(value)
