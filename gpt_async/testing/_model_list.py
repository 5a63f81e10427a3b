"""The testing server's ``GET /models`` and ``GET /models/{model}`` answers.

The server lists :attr:`FakeOpenAIServer.models <gpt_async.testing.FakeOpenAIServer.models>`,
a plain list of model objects tests may change; by default the models in
:data:`DEFAULT_MODELS`, owned by ``gpt_async-testing``, created at ``DEFAULT_CREATED``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from gpt_async.testing._script import Reply

__all__ = ["DEFAULT_MODELS", "default_models", "models_reply"]

#: The model ids the testing server lists unless told otherwise.
DEFAULT_MODELS: Final = ("gpt-4o-mini", "gpt-4o", "o3-mini")


def default_models(created: int) -> list[dict[str, Any]]:
    """The model objects of :data:`DEFAULT_MODELS`."""
    return [
        {"id": model, "object": "model", "created": created, "owned_by": "gpt_async-testing"}
        for model in DEFAULT_MODELS
    ]


def models_reply(models: Sequence[dict[str, Any]], model: str | None) -> Reply:
    """The list (``model`` is None), the one model, or OpenAI's 404 for an unknown id."""
    if model is None:
        return Reply(json={"object": "list", "data": list(models)})
    found = next((m for m in models if m.get("id") == model), None)
    if found is None:
        return Reply.error(
            404, f"The model '{model}' does not exist", param="model", code="model_not_found"
        )
    return Reply(json=found)
