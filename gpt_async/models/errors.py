"""The error types of the original specification (``errors.SDKError``) and the rest of the tree."""

from __future__ import annotations

from gpt_async._exceptions import (
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

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConflictError",
    "GptAsyncError",
    "IncompleteStreamError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "SDKError",
    "StreamDecodeError",
    "UnprocessableEntityError",
]
