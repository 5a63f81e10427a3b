"""Small shared types: the ``UNSET`` sentinel and the open string enum base."""

from __future__ import annotations

import enum
from typing import Any, Final, Literal, TypeAlias

import attrs

__all__ = ["EXTRA_KEY", "UNSET", "StrEnum", "Unset", "extra_field"]


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


class StrEnum(str, enum.Enum):
    """A string enum whose members compare equal to, and print as, their values."""

    def __str__(self) -> str:
        return str(self.value)


def extra_field() -> Any:
    """The ``extra`` field of a response model: JSON keys the model does not declare.

    Unknown keys a server sends (``timings`` from llama.cpp, fields newer than this SDK)
    are kept here, readable and written back by ``to_dict``; they take no part in ``==``.
    """
    return attrs.field(factory=dict, repr=False, eq=False, metadata={EXTRA_KEY: True})


EXTRA_KEY: Final = "gpt_async.extra"
