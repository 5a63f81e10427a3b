"""Bulk runs: many chat completions from a script or a JSONL file, live or via the Batch API.

``_runner`` holds the worker pool and the library API (:func:`bulk`,
:func:`bulk_sync`); ``_jsonl`` the file formats, resume and the crash-safe
writer; ``_totals`` counts, prices and budgets; ``_progress`` the terminal
display; ``_job`` a file run; ``_batch`` the Batch API mode; ``_cli`` the
``gpt-async batch`` command.
"""

from __future__ import annotations

from ._job import bulk_file
from ._jsonl import Shard
from ._runner import BulkRequest, BulkResult, BulkRun, bulk, bulk_sync
from ._totals import BulkSummary, Prices

__all__ = [
    "BulkRequest",
    "BulkResult",
    "BulkRun",
    "BulkSummary",
    "Prices",
    "Shard",
    "bulk",
    "bulk_file",
    "bulk_sync",
]
