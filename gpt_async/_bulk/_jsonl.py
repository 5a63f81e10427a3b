"""The Batch API's JSONL formats, read lazily and written crash-safely.

Input lines are ``{"custom_id": ..., "method": "POST", "url":
"/v1/chat/completions", "body": {...}}``, or a bare request body whose id is
its 1-based line number. Output lines are ``{"id": ..., "custom_id": ...,
"response": {"status_code": ..., "request_id": ..., "body": {...}} | null,
"error": null | {"code": ..., "message": ...}}``.

The output is append-only: each result is one ``write`` of one whole line, and
the file is fsync'd about once a second and at the end. A killed run therefore
leaves complete lines plus, at worst, one torn last line; :func:`scan_output`
drops that line (it is redone) and collects the ids already done.
"""

from __future__ import annotations

import os
import secrets
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

import attrs

from gpt_async import _codec
from gpt_async._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    CorruptOutputError,
    GptAsyncError,
    RequestValidationError,
    SDKError,
)

from ._runner import BulkRequest, BulkResult, failed

__all__ = [
    "CHAT_URL",
    "OutputWriter",
    "Resumed",
    "Shard",
    "encode_result",
    "parse_line",
    "read_input",
    "scan_output",
]

CHAT_URL: Final = "/v1/chat/completions"
_FSYNC_EVERY: Final = 1.0


@attrs.frozen
class Shard:
    """Shard ``index`` of ``count``: the ids whose CRC-32 is ``index`` modulo ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"I/N"`` with ``0 <= I < N``.

        Raises:
            RequestValidationError: The text is not of that form (path ``shard``).
        """
        index, _, count = text.partition("/")
        if not (index.isdigit() and count.isdigit()) or not 0 <= int(index) < int(count):
            raise RequestValidationError("shard", f"expected I/N with 0 <= I < N, got {text!r}")
        return cls(int(index), int(count))

    def __contains__(self, custom_id: str) -> bool:
        return zlib.crc32(custom_id.encode()) % self.count == self.index


def _bad_line(lineno: int, reason: str, custom_id: str | None = None) -> BulkResult:
    error = RequestValidationError(f"line {lineno}", reason)
    return failed(custom_id or str(lineno), None, error)


def parse_line(line: bytes, lineno: int, model: str | None = None) -> BulkRequest | BulkResult:
    """One input line as a request, or as a failed result naming what is wrong with it."""
    try:
        data = _codec.loads(line)
    except ValueError:
        return _bad_line(lineno, "not valid JSON")
    if not isinstance(data, dict):
        return _bad_line(lineno, "expected a JSON object")
    body: Any = data
    custom_id = str(lineno)
    if "body" in data:
        given, body = data.get("custom_id"), data["body"]
        if not isinstance(given, str) or not given:
            return _bad_line(lineno, "custom_id: expected a non-empty string")
        custom_id = given
        reason = _envelope_problem(data)
        if reason is not None:
            return _bad_line(lineno, reason, custom_id)
    if not isinstance(body, dict):
        return _bad_line(lineno, "body: expected a JSON object", custom_id)
    if model is not None and "model" not in body:
        body = {**body, "model": model}
    return BulkRequest(custom_id=custom_id, body=body)


def _envelope_problem(data: dict[str, Any]) -> str | None:
    if data.get("method", "POST") != "POST":
        return f"method: only POST is supported, got {data['method']!r}"
    if data.get("url", CHAT_URL) not in (CHAT_URL, "/chat/completions"):
        return f"url: only {CHAT_URL} is supported, got {data['url']!r}"
    return None


def read_input(
    path: Path, model: str | None = None
) -> Iterator[tuple[int, BulkRequest | BulkResult]]:
    """``(line number, request)`` for every non-blank line, read one line at a time."""
    with path.open("rb") as lines:
        for lineno, line in enumerate(lines, 1):
            if line.strip():
                yield lineno, parse_line(line, lineno, model)


def batch_line(request: BulkRequest) -> bytes:
    """The request as a Batch API input line."""
    line = {"custom_id": request.custom_id, "method": "POST", "url": CHAT_URL}
    return _codec.dumps({**line, "body": request.body}) + b"\n"


_ERROR_CODES: Final = (
    (APITimeoutError, "timeout"),
    (APIConnectionError, "connection_error"),
    (APIResponseValidationError, "invalid_response"),
    (RequestValidationError, "invalid_request"),
)


def _error_code(error: GptAsyncError) -> str:
    if isinstance(error, SDKError):
        return error.code or error.type or f"http_{error.status_code}"
    for cls, code in _ERROR_CODES:
        if isinstance(error, cls):
            return code
    return type(error).__name__


def _error_response(error: GptAsyncError) -> dict[str, Any] | None:
    if not isinstance(error, SDKError):
        return None
    try:
        body = _codec.loads(error.body) if error.body else None
    except ValueError:
        body = {"error": {"message": error.body}}
    return {"status_code": error.status_code, "request_id": error.request_id, "body": body}


def encode_result(result: BulkResult) -> bytes:
    """The result as one output line (the server's own body bytes when it has them)."""
    head = {"id": f"batch_req_{secrets.token_hex(12)}", "custom_id": result.custom_id}
    if result.error is not None:
        message = result.error.message if isinstance(result.error, SDKError) else result.error
        error = {"code": _error_code(result.error), "message": str(message)}
        line = {**head, "response": _error_response(result.error), "error": error}
        return _codec.dumps(line) + b"\n"
    body = result.body
    if body is None or b"\n" in body or b"\r" in body:
        body = _codec.dumps(_codec.loads(body) if body else None)
    response = {"status_code": 200, "request_id": result.request_id}
    return (
        _codec.dumps({**head, "response": response})[:-2]  # reopen "response"
        + b',"body":'
        + body
        + b'},"error":null}\n'
    )


def line_failed(line: dict[str, Any]) -> bool:
    """Whether an output line records a failure (an error, or a non-2xx response)."""
    if line.get("error") is not None:
        return True
    response = line.get("response")
    status = response.get("status_code", 200) if isinstance(response, dict) else None
    return not isinstance(status, int) or status >= 300


@attrs.define
class Resumed:
    """What an earlier run left in the output file.

    Attributes:
        done: The ids with a line in the output.
        failed: How many of those lines record a failure.
        torn: Whether a torn last line was found (and cut off).
    """

    done: set[str] = attrs.field(factory=set)
    failed: int = 0
    torn: bool = False


def scan_output(path: Path, *, drop_failed: bool = False) -> Resumed:
    """Read the ids already done; cut off a torn last line; optionally drop failed lines.

    With ``drop_failed`` the kept lines are streamed into a new file that then
    replaces the output (atomically), so memory stays flat either way.

    Raises:
        CorruptOutputError: A line other than the last is not a JSON result line.
    """
    if not path.exists():
        return Resumed()
    if not drop_failed:
        resumed, good = _scan(path, None)
        if resumed.torn:
            os.truncate(path, good)
        return resumed
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("wb") as kept:
            resumed, _good = _scan(path, kept)
            kept.flush()
            os.fsync(kept.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    temporary.replace(path)
    fsync_dir(path)
    return resumed


def _scan(path: Path, kept: BinaryIO | None) -> tuple[Resumed, int]:
    """The ids in the output and the byte offset after its last whole line."""
    resumed, good = Resumed(), 0
    with path.open("rb") as lines:
        for lineno, line in enumerate(lines, 1):
            parsed = _result_line(line)
            if parsed is None:
                if lines.read(1):
                    raise CorruptOutputError(f"{path}: line {lineno} is not a result line")
                resumed.torn = True
                break
            good += len(line)
            is_failure = line_failed(parsed)
            if kept is not None:
                if is_failure:
                    continue  # dropped: its id runs again
                kept.write(line)
            resumed.done.add(parsed["custom_id"])
            resumed.failed += is_failure
    return resumed, good


def _result_line(line: bytes) -> dict[str, Any] | None:
    if not line.endswith(b"\n"):
        return None
    try:
        parsed = _codec.loads(line)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("custom_id"), str):
        return None
    return parsed


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path``'s directory durable."""
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OutputWriter:
    """Appends whole lines with one ``write`` each; fsyncs about once a second and on close."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._synced = time.monotonic()
        self.path = path

    def write(self, line: bytes) -> None:
        """Append one line (it ends with a newline)."""
        view = memoryview(line)
        while view:
            view = view[os.write(self._fd, view) :]
        if time.monotonic() - self._synced > _FSYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        """Flush what was written to the disk."""
        os.fsync(self._fd)
        self._synced = time.monotonic()

    def close(self) -> None:
        """Fsync and close. Idempotent."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
