"""The checked options of one bulk file run, and how it reads its input.

Apart from `_job`, so that the Batch API mode (which `_job` loads) can use them
without importing `_job` back.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

from gpt_async._config import check_option
from gpt_async._exceptions import RequestValidationError

from ._jsonl import Shard, read_input
from ._progress import ProgressMode
from ._runner import BulkRequest, BulkResult, _check_concurrency

__all__ = ["JobOptions"]


class JobOptions:
    """The checked options of one file run (see :func:`bulk_file`)."""

    def __init__(
        self,
        *,
        input: str | Path,
        output: str | Path,
        concurrency: int,
        model: str | None,
        shard: Shard | str | None,
        retry_failed: bool,
        progress: ProgressMode,
    ) -> None:
        self.input = Path(input)
        self.output = Path(output)
        if not self.input.is_file():
            raise RequestValidationError("input", f"no such file: {self.input}")
        if self.output.exists() and self.output.samefile(self.input):
            raise RequestValidationError("output", "must not be the input file")
        if not self.output.parent.is_dir():
            raise RequestValidationError("output", f"no such directory: {self.output.parent}")
        _check_concurrency(concurrency)
        check_option(model, str, "model")
        self.concurrency = concurrency
        self.model = model
        self.shard = Shard.parse(shard) if isinstance(shard, str) else shard
        check_option(self.shard, Shard, "shard")
        self.retry_failed = retry_failed
        if progress not in ("auto", "bar", "plain", "none"):
            raise RequestValidationError("progress", "expected auto, bar, plain or none")
        if progress == "bar" and importlib.util.find_spec("tqdm") is None:
            raise RequestValidationError(
                "progress", "bar needs tqdm: pip install gpt_async[progress]"
            )
        self.progress: ProgressMode = progress

    def pending(self, done: set[str]) -> Iterator[BulkRequest | BulkResult]:
        """The input's requests not yet done and in this shard, read lazily."""
        for _lineno, item in self.numbered(done):
            yield item

    def numbered(
        self, done: set[str], start: int = 1
    ) -> Iterator[tuple[int, BulkRequest | BulkResult]]:
        """``(line number, request)`` of :meth:`pending`, from line ``start`` on."""
        for lineno, item in read_input(self.input, self.model):
            if lineno < start or item.custom_id in done:
                continue
            if self.shard is None or item.custom_id in self.shard:
                yield lineno, item

    def total(self, done: int) -> int | None:
        """The requests left to run, for the ETA (unknown with a shard)."""
        if self.shard is not None:
            return None
        with self.input.open("rb") as lines:
            return max(sum(1 for line in lines if line.strip()) - done, 0)
