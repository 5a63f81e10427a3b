"""Counts, tokens and cost of a bulk run; the price table; budget caps.

A price table is JSON mapping a model name to USD per million tokens::

    {"gpt-4o-mini": {"input": 0.15, "output": 0.60, "batch_input": 0.075, "batch_output": 0.30}}

``batch_*`` prices apply to the Batch API mode and default to half the live
ones. A completion's model (``gpt-4o-mini-2024-07-18``) takes the price of the
longest name in the table it starts with. None is built in: prices change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from gpt_async._exceptions import RequestValidationError

from ._runner import BulkResult

__all__ = ["BulkSummary", "Prices"]


@attrs.frozen
class _Price:
    input: float
    output: float
    batch_input: float
    batch_output: float


def _price(model: str, entry: object) -> _Price:
    if not isinstance(entry, Mapping):
        raise RequestValidationError(f"prices.{model}", "expected an object")
    values: dict[str, float] = {}
    for key in ("input", "output", "batch_input", "batch_output"):
        live = key.removeprefix("batch_")
        value = entry.get(key, values[live] / 2 if live != key else None)  # batch: half
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise RequestValidationError(f"prices.{model}.{key}", "expected a number >= 0")
        values[key] = float(value)
    return _Price(**values)


class Prices:
    """USD per million tokens, by model.

    Args:
        table: ``{model: {"input": ..., "output": ..., "batch_input": ..., "batch_output": ...}}``.

    Raises:
        RequestValidationError: An entry is malformed (the path names it).
    """

    def __init__(self, table: Mapping[str, Any]) -> None:
        if not isinstance(table, Mapping):
            raise RequestValidationError("prices", "expected an object of models")
        self._table = {str(model): _price(model, entry) for model, entry in table.items()}
        self._names = sorted(self._table, key=len, reverse=True)

    @classmethod
    def load(cls, path: str | Path) -> Prices:
        """Read a JSON price table.

        Raises:
            RequestValidationError: The file is missing, not JSON or malformed.
        """
        try:
            table = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise RequestValidationError("prices", f"cannot read {path}: {exc}") from None
        return cls(table)

    def cost(
        self, model: str, prompt: int, completion: int, *, batch: bool = False
    ) -> float | None:
        """The USD cost of the tokens, or None when the model has no price."""
        name = next((n for n in self._names if model.startswith(n)), None)
        if name is None:
            return None
        price = self._table[name]
        rates = (price.batch_input, price.batch_output) if batch else (price.input, price.output)
        return (prompt * rates[0] + completion * rates[1]) / 1e6


@attrs.define(kw_only=True)
class BulkSummary:
    """What a bulk file run did; the totals cover this run, not earlier ones.

    Attributes:
        succeeded: Requests answered with a completion.
        failed: Requests that failed (written as error lines).
        already_done: Ids skipped because the output already had them.
        prompt_tokens: Input tokens of this run's completions.
        completion_tokens: Output tokens of this run's completions.
        cost: USD, when a price table was given (the priced models only).
        unpriced: Models the price table had no entry for.
        stopped_by: ``"max_tokens_total"`` or ``"max_cost"`` when a cap stopped
            the run early, else None.
        batches: Batch ids the Batch API mode used.
        elapsed: Seconds the run took.
    """

    succeeded: int = 0
    failed: int = 0
    already_done: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    unpriced: set[str] = attrs.field(factory=set)
    stopped_by: str | None = None
    batches: list[str] = attrs.field(factory=list)
    elapsed: float = 0.0

    @property
    def exit_code(self) -> int:
        """The command's status: 0 all succeeded, 1 some failed, 3 a budget cap stopped it."""
        if self.failed:
            return 1
        return 3 if self.stopped_by else 0

    def text(self) -> str:
        """A few lines for the terminal."""
        tokens = f"{self.prompt_tokens:,} in / {self.completion_tokens:,} out"
        lines = [
            f"{self.succeeded:,} succeeded, {self.failed:,} failed, "
            f"{self.already_done:,} already done, in {self.elapsed:.1f} s",
            f"tokens: {tokens}",
        ]
        if self.cost is not None:
            lines.append(f"cost: ${self.cost:.4f}")
        if self.unpriced:
            lines.append(f"no price for: {', '.join(sorted(self.unpriced))}")
        if self.stopped_by:
            lines.append(f"stopped: --{self.stopped_by.replace('_', '-')} reached; rerun to go on")
        return "\n".join(lines)


class Tracker:
    """Adds results to a summary and says when a budget cap is reached."""

    def __init__(
        self,
        *,
        prices: Prices | None = None,
        max_tokens_total: int | None = None,
        max_cost: float | None = None,
        batch: bool = False,
    ) -> None:
        self.summary = BulkSummary(cost=0.0 if prices is not None else None)
        self._prices = prices
        self._max_tokens = max_tokens_total
        self._max_cost = max_cost
        self.batch = batch
        self.started = time.monotonic()

    @property
    def done(self) -> int:
        """Results of this run so far."""
        return self.summary.succeeded + self.summary.failed

    def add(self, result: BulkResult) -> bool:
        """Count one result; True when a budget cap is now reached."""
        summary = self.summary
        if result.error is not None:
            summary.failed += 1
            return False
        summary.succeeded += 1
        usage = result.usage
        if usage is not None:
            self.add_tokens(_model(result), usage.prompt_tokens, usage.completion_tokens)
        return self.over_budget()

    def add_tokens(self, model: str, prompt: int, completion: int) -> None:
        """Count tokens (and their cost) of one completion."""
        summary = self.summary
        summary.prompt_tokens += prompt
        summary.completion_tokens += completion
        if self._prices is not None and summary.cost is not None:
            cost = self._prices.cost(model, prompt, completion, batch=self.batch)
            if cost is None:
                summary.unpriced.add(model)
            else:
                summary.cost += cost

    def over_budget(self) -> bool:
        """Whether a cap is reached; records which one in the summary."""
        summary = self.summary
        tokens = summary.prompt_tokens + summary.completion_tokens
        if self._max_tokens is not None and tokens >= self._max_tokens:
            summary.stopped_by = "max_tokens_total"
        if self._max_cost is not None and (summary.cost or 0.0) >= self._max_cost:
            summary.stopped_by = "max_cost"
        return summary.stopped_by is not None

    def finish(self) -> BulkSummary:
        """The summary, with the elapsed time."""
        self.summary.elapsed = time.monotonic() - self.started
        return self.summary


def _model(result: BulkResult) -> str:
    if result.completion is not None and result.completion.model:
        return result.completion.model
    request = result.request
    model = request.get("model") if isinstance(request, Mapping) else getattr(request, "model", "")
    return str(model or "")
