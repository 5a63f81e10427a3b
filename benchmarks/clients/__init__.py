"""The measured clients behind one small interface, and their registry.

Each client family lives in its own module and imports its library lazily, in
``preload()``, so a worker process can time or weigh the import separately
from construction and requests.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from benchmarks.payloads import Message


class ClientUnavailable(Exception):
    """The client's library is missing or lacks the API the adapter needs."""


class AsyncClient(Protocol):
    """An async client adapter: one method per request kind."""

    async def complete(self, model: str, messages: list[Message]) -> str:
        """Send one chat completion and return the assistant content."""
        ...

    async def stream(self, model: str, messages: list[Message]) -> int:
        """Stream one chat completion and return the number of chunks parsed."""
        ...

    async def aclose(self) -> None:
        """Release the client's connections."""
        ...


class SyncClient(Protocol):
    """A blocking client adapter: one method per request kind."""

    def complete(self, model: str, messages: list[Message]) -> str:
        """Send one chat completion and return the assistant content."""
        ...

    def stream(self, model: str, messages: list[Message]) -> int:
        """Stream one chat completion and return the number of chunks parsed."""
        ...

    def close(self) -> None:
        """Release the client's connections."""
        ...


@dataclass(frozen=True)
class ClientSpec:
    """How to find, import and build one measured client.

    Attributes:
        name: Identifier used on the command line and in results.
        label: Human-readable name for the report.
        module: Module implementing ``preload`` and ``open_async``/``open_sync``.
        requires: Top-level modules that must be importable.
        import_name: The package whose cold import is timed for this client.
        is_async: Whether the adapter is an :class:`AsyncClient`.
        only: The scenarios this client runs (None: every one that admits it).
        variant: Passed as ``variant=`` to the module's factory, when one module
            builds several configurations.
    """

    name: str
    label: str
    module: str
    requires: tuple[str, ...]
    import_name: str
    is_async: bool
    only: tuple[str, ...] | None = None
    variant: str | None = None

    def missing(self) -> str | None:
        """Name a required module that is not installed, or ``None``."""
        for name in self.requires:
            try:
                found = importlib.util.find_spec(name)
            except ModuleNotFoundError:  # a dotted name whose parent package is missing
                found = None
            if found is None:
                return name
        return None

    def preload(self) -> None:
        """Import the client's library (what a user's ``import`` line costs)."""
        importlib.import_module(self.module).preload()

    def async_factory(self) -> Callable[[str], Awaitable[AsyncClient]]:
        """The coroutine function building the async adapter for a base URL."""
        factory: Callable[[str], Awaitable[AsyncClient]]
        factory = importlib.import_module(self.module).open_async
        return functools.partial(factory, variant=self.variant) if self.variant else factory

    def sync_factory(self) -> Callable[[str], SyncClient]:
        """The function building the blocking adapter for a base URL."""
        factory: Callable[[str], SyncClient] = importlib.import_module(self.module).open_sync
        return factory


_OPENAI = ("openai",)
_OTEL = "benchmarks.clients.gpt_async_otel"
_OTEL_REQUIRES = ("gpt_async", "opentelemetry.sdk")
CLIENTS: tuple[ClientSpec, ...] = (
    ClientSpec("raw_aiohttp", "raw aiohttp", "benchmarks.clients.raw_aiohttp",
               ("aiohttp",), "aiohttp", is_async=True),
    ClientSpec("gpt_async", "gpt_async AsyncGpt", "benchmarks.clients.gpt_async_client",
               ("gpt_async",), "gpt_async", is_async=True),
    ClientSpec("gpt_async_sync", "gpt_async Gpt (sync)", "benchmarks.clients.gpt_async_client",
               ("gpt_async",), "gpt_async", is_async=False),
    ClientSpec("gpt_async_bulk", "gpt_async bulk()", "benchmarks.clients.gpt_async_bulk",
               ("gpt_async",), "gpt_async", is_async=True, only=("bulk", "bulk_memory")),
    ClientSpec("gpt_async_otel_off", "gpt_async, OTel installed, tracing=False", _OTEL,
               _OTEL_REQUIRES, "gpt_async", is_async=True, variant="off"),
    ClientSpec("gpt_async_otel_api", "gpt_async, OTel API, no SDK", _OTEL,
               _OTEL_REQUIRES, "gpt_async", is_async=True, variant="api"),
    ClientSpec("gpt_async_otel_sdk", "gpt_async, OTel SDK + in-memory export", _OTEL,
               _OTEL_REQUIRES, "gpt_async", is_async=True, variant="sdk"),
    ClientSpec("openai", "openai AsyncOpenAI", "benchmarks.clients.openai_client",
               _OPENAI, "openai", is_async=True),
    ClientSpec("openai_aiohttp", "openai AsyncOpenAI+aiohttp",
               "benchmarks.clients.openai_aiohttp_client", (*_OPENAI, "aiohttp"), "openai",
               is_async=True),
    ClientSpec("openai_sync", "openai OpenAI (sync)", "benchmarks.clients.openai_client",
               _OPENAI, "openai", is_async=False),
)  # fmt: skip
BASELINE = "raw_aiohttp"
API_KEY = "sk-bench-not-a-real-key"


def by_name(name: str) -> ClientSpec:
    """Look a client up by its identifier.

    Raises:
        KeyError: No client has that name.
    """
    for spec in CLIENTS:
        if spec.name == name:
            return spec
    raise KeyError(name)
