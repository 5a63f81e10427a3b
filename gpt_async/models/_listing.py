"""The models a server offers: ``GET /models`` and ``GET /models/{model}``.

Not to be confused with :class:`~gpt_async.models.components.Model`, the enum of
known model ids sent in requests: a :class:`ModelObject` is what a server answers
about a model it serves. Both are lenient like every response model: unknown keys
(llama.cpp's ``meta``, LiteLLM's extras) are kept in ``extra``.
"""

# extra_field() returns an attrs field definition, not a shared mutable default.

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from gpt_async._types import WireModel, extra_field, wire_model

__all__ = ["ListModelsResponse", "ModelList", "ModelObject"]


@wire_model
class ModelObject(WireModel):
    """A model the server serves, as listed by ``client.models.list()``.

    Attributes:
        id: The model id, the ``model`` to send in requests.
        created: Unix time (seconds) when the model was created (``0`` if not sent).
        owned_by: The organization that owns the model.
        object: Always ``model``.
        shutdown_date: The date the model will shut down (``YYYY-MM-DD``), if announced.
        extra: JSON keys this model does not declare.
    """

    id: str
    created: int = 0
    owned_by: str = ""
    object: str = "model"
    shutdown_date: str | None = None
    extra: dict[str, Any] = extra_field()


@wire_model
class ModelList(WireModel):
    """The answer of ``GET /models``; iterating it yields its :class:`ModelObject` s.

    Attributes:
        data: The models.
        object: Always ``list``.
        extra: JSON keys this model does not declare.
    """

    data: list[ModelObject] = attrs.field(factory=list)
    object: str = "list"
    extra: dict[str, Any] = extra_field()

    def __iter__(self) -> Iterator[ModelObject]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


ListModelsResponse = ModelList
