"""Keyword arguments: run-time signatures from the ``TypedDict`` s, and strict checking.

The keyword methods take ``**params: Unpack[SomeParams]``, which type checkers read
but ``inspect.signature`` shows as ``(**params)``. A :class:`Keywords` built once at
import from the ``TypedDict`` (see ``_params.py``) gives each such function a
``__signature__`` listing every keyword with its annotation and default, for
``help()``, IPython/Jupyter completion and jedi; and it checks the keywords of each
call with one set operation, so a typo (``temprature=``) is a ``TypeError`` naming
the closest valid keyword instead of an unknown field sent to a server that
ignores it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, ForwardRef, TypeVar

from ._types import UNSET

__all__ = ["Keywords", "KeywordsDict", "mirror"]

F = TypeVar("F", bound=Callable[..., Any])
_KW = inspect.Parameter.KEYWORD_ONLY
_REQUIRED = ("Required[", "NotRequired[")


class KeywordsDict:
    """The run-time base of the ``**params`` ``TypedDict`` s of ``_params.py``.

    Type checkers see real ``TypedDict`` s (``_params.py`` imports this only outside
    ``TYPE_CHECKING``). At run time all that is read of them is each key and its
    annotation text (by :class:`Keywords`), and a real ``TypedDict`` compiles every
    annotation string into a ``ForwardRef`` (~70 compiles, about 2 ms of
    ``import gpt_async``). A subclass's ``__annotations__`` holds its bases' keys, then
    its own, as a ``TypedDict``'s does.
    """

    def __init_subclass__(cls, *, total: bool = True) -> None:
        merged: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            merged.update(inspect.get_annotations(klass))
        cls.__annotations__ = merged


class Keywords:
    """The keywords a ``**params`` function accepts, from its ``TypedDict``.

    Args:
        params: The ``TypedDict`` of the keywords.
        defaults: Defaults shown in the signature; a key not named here shows ``UNSET``
            (left out of the request).
        hint: Added to the error when no keyword is close to the unknown one.
    """

    __slots__ = ("_defaults", "_hint", "_names", "_params", "_spelled", "allowed")

    def __init__(
        self, params: type, defaults: Mapping[str, Any] | None = None, hint: str = ""
    ) -> None:
        self._params = params
        self._defaults = defaults or {}
        self._hint = hint
        self.allowed: frozenset[str] = frozenset(params.__annotations__)
        self._names: tuple[str, ...] = tuple(self.allowed)
        self._spelled: list[inspect.Parameter] | None = None  # built once, for every sign

    def sign(self, func: F) -> F:
        """Give ``func`` the signature with ``**params`` spelled out; return ``func``."""
        signature = inspect.signature(func)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        if self._spelled is None:
            self._spelled = self._parameters()
        spelled = [p for p in self._spelled if p.name not in signature.parameters]
        func.__signature__ = signature.replace(parameters=[*own, *spelled])  # type: ignore[attr-defined]
        # Suggestions come from every keyword of every function signed with this set.
        self._names = (*self._names, *(p.name for p in own if p.kind is _KW))
        return func

    def check(self, given: Mapping[str, Any], where: str) -> None:
        """Raise ``TypeError`` unless every key of ``given`` is an accepted keyword.

        Args:
            given: The ``**params`` of a call.
            where: The callable's name for the message, e.g. ``"create()"``.
        """
        if not self.allowed.issuperset(given):
            raise TypeError(self._message(sorted(given.keys() - self.allowed), where))

    def _parameters(self) -> list[inspect.Parameter]:
        parameters = []
        for name, hint in self._params.__annotations__.items():
            text = hint.__forward_arg__ if isinstance(hint, ForwardRef) else hint
            required = isinstance(text, str) and text.startswith(_REQUIRED[0])
            if isinstance(text, str) and text.startswith(_REQUIRED):
                text = text[text.index("[") + 1 : -1]  # the signature says it by its default
            default = inspect.Parameter.empty if required else self._defaults.get(name, UNSET)
            parameters.append(inspect.Parameter(name, _KW, default=default, annotation=text))
        return parameters

    def _message(self, unknown: list[str], where: str) -> str:
        if len(unknown) == 1:
            return f"{where} got an unexpected keyword argument {self._explain(unknown[0], '; ')}"
        listed = ", ".join(self._explain(name, " (", ")") for name in unknown)
        return f"{where} got unexpected keyword arguments {listed}"

    def _explain(self, name: str, before: str, after: str = "") -> str:
        import difflib  # noqa: PLC0415 - only a failing call needs it; keeps import cheap

        close = difflib.get_close_matches(name, self._names, n=1)
        if close:
            return f"{name!r}{before}did you mean {close[0]!r}?{after}"
        return f"{name!r}{before}{self._hint}{after}" if self._hint else repr(name)


def mirror(original: Callable[..., Any]) -> Callable[[F], F]:
    """Give the decorated twin ``original``'s signature, with the twin's own return type.

    The sync facade's methods mirror their async twins, so both list the same
    parameters by construction.
    """

    def apply(func: F) -> F:
        own = inspect.signature(func).return_annotation
        signature = inspect.signature(original).replace(return_annotation=own)
        func.__signature__ = signature  # type: ignore[attr-defined]
        return func

    return apply
