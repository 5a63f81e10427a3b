"""Shared fixtures: the anyio backend."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Runs async tests on asyncio, the loop aiohttp needs."""
    return "asyncio"
