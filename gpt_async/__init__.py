"""gpt_async: an async-first, typed client for the OpenAI Chat Completions API.

>>> import gpt_async
>>> async with gpt_async.AsyncGpt() as client:  # doctest: +SKIP
...     completion = await client.chat.completions.create(
...         model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
...     )
"""

from __future__ import annotations

from . import models
from ._client import AsyncGpt, Hooks
from ._config import Limits, Timeout
from ._converter import from_dict, to_dict
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientStateError,
    ConflictError,
    GptAsyncError,
    IncompleteStreamError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    SDKError,
    StreamDecodeError,
    UnprocessableEntityError,
)
from ._retry import RetryConfig
from ._streaming import AsyncStream
from ._sync import Gpt, Stream
from ._transport import AiohttpTransport, AsyncTransport, HTTPRequest, HTTPResponse
from ._types import UNSET, Unset
from ._version import __version__
from .models.operations import RawResponse

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APITimeoutError",
    "AiohttpTransport",
    "AsyncGpt",
    "AsyncStream",
    "AsyncTransport",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConflictError",
    "Gpt",
    "GptAsyncError",
    "HTTPRequest",
    "HTTPResponse",
    "Hooks",
    "IncompleteStreamError",
    "InternalServerError",
    "Limits",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RequestValidationError",
    "RetryConfig",
    "SDKError",
    "Stream",
    "StreamDecodeError",
    "Timeout",
    "UNSET",
    "UnprocessableEntityError",
    "Unset",
    "__version__",
    "from_dict",
    "models",
    "to_dict",
]
