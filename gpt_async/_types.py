"""Small shared types: the ``UNSET`` and ``DEFAULT`` sentinels and the open string enum base."""

from __future__ import annotations

import enum
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeAlias, TypeVar

import attrs
from typing_extensions import dataclass_transform

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

__all__ = [
    "DEFAULT",
    "AsyncClosing",
    "Closing",
    "EXTRA_KEY",
    "LOCAL_KEY",
    "LazyModule",
    "UNSET",
    "ResponseFacts",
    "StrEnum",
    "Unset",
    "WireModel",
    "extra_field",
    "wire_model",
]


class _UnsetType(enum.Enum):
    """The type of :data:`UNSET`; an enum so that ``Literal`` can name it."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> Literal[False]:
        return False


UNSET: Final = _UnsetType.UNSET
"""Marks a request field the caller did not set: it is left out of the JSON body.

``None`` is different: a field set to ``None`` is sent as JSON ``null``.
"""

Unset: TypeAlias = Literal[_UnsetType.UNSET]
"""The type of :data:`UNSET`, for annotations such as ``float | None | Unset``."""


class _Default:
    """Marks an option the caller did not pass (``None`` is a meaningful value for some)."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()
"""The default of a per-call option that falls back to the client's setting."""


class StrEnum(str, enum.Enum):
    """A string enum whose members compare equal to, and print as, their values."""

    def __str__(self) -> str:
        return str(self.value)


class AsyncClosing:
    """``async with x:`` gives ``x`` and awaits ``x.aclose()`` on the way out.

    The one ``__aexit__`` of the package's async resources (clients, streams, runs,
    the testing servers); a class whose entering does work overrides ``__aenter__``.
    """

    __slots__ = ()

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Closing:
    """``with x:`` gives ``x`` and calls ``x.close()`` on the way out: the sync twin."""

    __slots__ = ()

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LazyModule:
    """A module imported when one of its attributes is first read.

    For a module of wire models that few calls need (``models._tools``: tools,
    response formats and the other request options): a module that names its
    classes in annotations holds one of these, so that ``typing.get_type_hints``,
    cattrs and the codec resolve ``_tools.ChatCompletionToolUnion`` as before, and
    ``import gpt_async`` skips building ~50 classes a plain chat call never uses.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def module_name(self) -> str:
        """The dotted name of the module it stands for."""
        return self._name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def extra_field() -> Any:
    """The ``extra`` field of a response model: JSON keys the model does not declare.

    Unknown keys a server sends (``timings`` from llama.cpp, fields newer than this SDK)
    are kept here, readable and written back by ``to_dict``; they take no part in ``==``.
    """
    return attrs.field(factory=dict, repr=False, eq=False, metadata={EXTRA_KEY: True})


EXTRA_KEY: Final = "gpt_async.extra"
LOCAL_KEY: Final = "gpt_async.local"
"""Field metadata marking a field that is no part of the JSON (``parsed``): ``to_dict`` skips it."""


class WireModel:
    """The base of the wire models: one ``__repr__`` and ``__eq__`` shared by all of them.

    attrs would compile a repr and an eq for each of the ~80 model classes at import
    time; sharing two generic ones keeps ``import gpt_async`` cheap. They behave like
    attrs' own: fields in order, ``repr=False`` / ``eq=False`` fields left out.
    """

    # ``_wire``: the JSON object a model was read from, when it was read from one (unset
    # otherwise). ``to_dict`` writes back exactly the keys it had: a null stays null, a
    # key that was absent stays absent. The dict is what the reader built anyway; keeping
    # it costs one slot store, and the values are the model's own.
    __slots__ = ("_wire",)

    def __repr__(self) -> str:
        shown = _repr_fields(type(self))
        return f"{type(self).__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _eq_fields(type(self)))

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: unhashable

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """pydantic's hook (FastAPI bodies, responses): read by the codec, sent as ``to_json``."""
        return PYDANTIC_SCHEMA[0](cls, handler)  # the codec's (gpt_async._codec._pydantic)


PYDANTIC_SCHEMA: list[Any] = []
"""Where the codec puts its pydantic core-schema builder: the models know no codec."""


_REPR_FIELDS: dict[type, tuple[str, ...]] = {}
_EQ_FIELDS: dict[type, tuple[str, ...]] = {}


def _repr_fields(cls: type) -> tuple[str, ...]:
    names = _REPR_FIELDS.get(cls)
    if names is None:
        names = _REPR_FIELDS[cls] = tuple(a.name for a in attrs.fields(cls) if a.repr)
    return names


def _eq_fields(cls: type) -> tuple[str, ...]:
    names = _EQ_FIELDS.get(cls)
    if names is None:
        names = _EQ_FIELDS[cls] = tuple(a.name for a in attrs.fields(cls) if a.eq)
    return names


T = TypeVar("T")


@dataclass_transform(kw_only_default=True, field_specifiers=(attrs.field, attrs.Factory))
def wire_model(cls: type[T]) -> type[T]:
    """Make ``cls`` (a :class:`WireModel`) an attrs class: keyword-only, slotted, mutable."""
    return attrs.define(cls, kw_only=True, repr=False, eq=False)


class ResponseFacts(Protocol):
    """The facts of an HTTP response that the models record (``RawResponse``).

    The transport's ``HTTPResponse`` extends it; the models name only this, so they
    know no transport.
    """

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def url(self) -> str: ...
