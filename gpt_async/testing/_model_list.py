"""The testing server's ``GET /models`` and ``GET /models/{model}`` answers.

The server lists :attr:`FakeOpenAIServer.models <gpt_async.testing.FakeOpenAIServer.models>`,
a plain list of model objects tests may change; by default the models in
:data:`DEFAULT_MODELS`, owned by ``gpt_async-testing``, created at ``DEFAULT_CREATED``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

from aiohttp import web

from gpt_async.testing._core import DEFAULT_MODELS, ServerCore, default_models
from gpt_async.testing._script import Reply

__all__ = ["DEFAULT_MODELS", "add_model_routes", "default_models", "models_reply"]

_MODEL_PATHS: Final = ("/v1/models", "/models", "/v1/models/{model:.+}", "/models/{model:.+}")


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


def add_model_routes(core: ServerCore, app: web.Application) -> None:
    """Adds ``GET /models`` and ``GET /models/{model}``, answered from ``core.models``."""
    handler = functools.partial(_models, core)
    for path in _MODEL_PATHS:
        app.router.add_get(path, handler)


async def _models(core: ServerCore, request: web.Request) -> web.StreamResponse:
    await core.receive(request)
    if not core.authorized(request):
        return await core.unauthorized(request)
    reply = models_reply(core.models, request.match_info.get("model"))
    item = core.queue.popleft() if core.queue else reply
    return await core.respond(request, item, lambda: reply)
