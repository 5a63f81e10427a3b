"""gpt_async: an async-first, typed client for the OpenAI Chat Completions API.

>>> import gpt_async
>>> async with gpt_async.AsyncGpt() as client:  # doctest: +SKIP
...     completion = await client.chat.completions.create(
...         model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
...     )
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import models
from ._client import AsyncGpt, Hooks
from ._codec import from_dict, to_dict, to_json
from ._config import Limits, Timeout
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientStateError,
    ConflictError,
    ContentFilterFinishReasonError,
    CorruptOutputError,
    FinishReasonError,
    GptAsyncError,
    IncompleteStreamError,
    InternalServerError,
    LengthFinishReasonError,
    NotFoundError,
    OutputValidationError,
    PermissionDeniedError,
    RateLimiterError,
    RateLimitError,
    RequestValidationError,
    SchemaError,
    SDKError,
    StreamDecodeError,
    ToolLoopLimitError,
    UnprocessableEntityError,
)
from ._response import APIResponse
from ._retry import RetryConfig
from ._streaming import AsyncStream
from ._transport import AiohttpTransport, AsyncTransport, HTTPRequest, HTTPResponse
from ._types import UNSET, Unset
from ._version import __version__
from .models.operations import RawResponse

if TYPE_CHECKING:
    from ._bulk import (
        BulkRequest,
        BulkResult,
        BulkRun,
        BulkSummary,
        Prices,
        Shard,
        bulk,
        bulk_file,
        bulk_sync,
    )
    from ._parse import (
        AsyncParseStream,
        ParsedChatCompletion,
        ParsedChatCompletionMessage,
        ParsedChoice,
    )
    from ._ratelimit import RateLimiter
    from ._ratelimit_info import RateLimitInfo
    from ._schema import json_schema
    from ._sync import Gpt, ParseStream, Stream
    from ._tools import FunctionTool, ToolResult, ToolRunResult, ToolStep, function_tool

# Loaded on first use, so that `import gpt_async` costs only what AsyncGpt needs: the
# sync facade (its portal thread machinery), the structured-output helpers and bulk runs.
_LAZY = {
    "AsyncParseStream": "_parse",
    "BulkRequest": "_bulk",
    "BulkResult": "_bulk",
    "BulkRun": "_bulk",
    "BulkSummary": "_bulk",
    "Prices": "_bulk",
    "Shard": "_bulk",
    "bulk": "_bulk",
    "bulk_file": "_bulk",
    "bulk_sync": "_bulk",
    "FunctionTool": "_tools",
    "Gpt": "_sync",
    "ParseStream": "_sync",
    "ParsedChatCompletion": "_parse",
    "ParsedChatCompletionMessage": "_parse",
    "ParsedChoice": "_parse",
    "RateLimiter": "_ratelimit",
    "RateLimitInfo": "_ratelimit_info",
    "Stream": "_sync",
    "ToolResult": "_tools",
    "ToolRunResult": "_tools",
    "ToolStep": "_tools",
    "function_tool": "_tools",
    "json_schema": "_schema",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gpt_async' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gpt_async.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APITimeoutError",
    "AiohttpTransport",
    "AsyncGpt",
    "AsyncParseStream",
    "AsyncStream",
    "AsyncTransport",
    "AuthenticationError",
    "BadRequestError",
    "BulkRequest",
    "BulkResult",
    "BulkRun",
    "BulkSummary",
    "ClientStateError",
    "ConflictError",
    "ContentFilterFinishReasonError",
    "CorruptOutputError",
    "FinishReasonError",
    "FunctionTool",
    "Gpt",
    "GptAsyncError",
    "HTTPRequest",
    "HTTPResponse",
    "Hooks",
    "IncompleteStreamError",
    "InternalServerError",
    "LengthFinishReasonError",
    "Limits",
    "NotFoundError",
    "OutputValidationError",
    "ParseStream",
    "ParsedChatCompletion",
    "ParsedChatCompletionMessage",
    "ParsedChoice",
    "PermissionDeniedError",
    "Prices",
    "RateLimitError",
    "RateLimitInfo",
    "RateLimiter",
    "RateLimiterError",
    "RawResponse",
    "RequestValidationError",
    "RetryConfig",
    "SDKError",
    "SchemaError",
    "Shard",
    "Stream",
    "StreamDecodeError",
    "Timeout",
    "ToolLoopLimitError",
    "ToolResult",
    "ToolRunResult",
    "ToolStep",
    "UNSET",
    "UnprocessableEntityError",
    "Unset",
    "__version__",
    "bulk",
    "bulk_file",
    "bulk_sync",
    "from_dict",
    "function_tool",
    "json_schema",
    "models",
    "to_dict",
    "to_json",
]
