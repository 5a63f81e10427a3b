"""What the helpers on top of the client need of it, as small protocols.

Structured outputs (``_parse.py``) and the tool loop (``_tools.py``) call the
completions resource; they name this protocol rather than the concrete
``AsyncCompletions``, so they do not import the client, and the client can
import them without a circle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._streaming import AsyncStream
    from .models._chunk import ChatCompletionChunk

__all__ = ["CompletionsAPI"]


class CompletionsAPI(Protocol):
    """The calls of ``chat.completions`` the helpers make (``AsyncCompletions`` has them)."""

    @property
    def create(self) -> Callable[..., Awaitable[Any]]:
        """``create(**params)``: a ``ChatCompletion`` (a stream with ``stream=True``)."""

    @property
    def stream(self) -> Callable[..., AsyncStream[ChatCompletionChunk]]:
        """``stream(**params)``: the chunks, sent when entered or first iterated."""
