"""``Hooks``: the callables a client runs around every HTTP attempt."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._exceptions import GptAsyncError
    from ._transport import HTTPRequest
    from .models.operations import RawResponse

__all__ = ["Hooks", "run_hooks"]


@attrs.define(kw_only=True)
class Hooks:
    """Callables run around every HTTP attempt; each may be sync or async.

    Attributes:
        before_request: ``f(request)``, before each attempt; may change
            ``request.headers``, ``request.params`` or ``request.url``.
        after_success: ``f(request, response)`` after a 2xx response's headers arrived.
        after_error: ``f(request, error)`` after each failed attempt, with the
            gpt_async exception it raised (retried or not).
    """

    before_request: list[Callable[[HTTPRequest], Any]] = attrs.field(factory=list)
    after_success: list[Callable[[HTTPRequest, RawResponse], Any]] = attrs.field(factory=list)
    after_error: list[Callable[[HTTPRequest, GptAsyncError], Any]] = attrs.field(factory=list)

    def __bool__(self) -> bool:
        return bool(self.before_request or self.after_success or self.after_error)


async def run_hooks(hooks: list[Callable[..., Any]], *args: Any) -> None:
    for hook in hooks:
        result = hook(*args)
        if inspect.isawaitable(result):
            await result
