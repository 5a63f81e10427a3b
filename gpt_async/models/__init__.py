"""The wire models: ``components`` (request, messages, tools, response, chunk),
``operations`` (the response wrapper) and ``errors`` (the exception tree)."""

from __future__ import annotations

from gpt_async.models import components, errors, operations

__all__ = ["components", "errors", "operations"]
