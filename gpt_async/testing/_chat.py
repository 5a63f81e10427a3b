"""The chat-completions part of the fake server: its routes and how it answers.

Serves ``POST /v1/chat/completions``, ``/chat/completions`` and Azure's
``/openai/deployments/{deployment}/chat/completions?api-version=...`` (where
``model`` may be omitted). A scripted item answers first; with an empty queue the
request is validated and answered by the default handler, or by the echo model.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from aiohttp import web

from gpt_async.testing._core import ServerCore
from gpt_async.testing._echo import echo_reply
from gpt_async.testing._ratelimit import admit
from gpt_async.testing._script import Reply, ScriptItem
from gpt_async.testing._validation import validate

__all__ = ["add_chat_routes", "default_reply"]

_CHAT_PATHS: Final = (
    "/v1/chat/completions",
    "/chat/completions",
    "/openai/deployments/{deployment}/chat/completions",
)
_NO_API_VERSION: Final = Reply.error(
    404, "Resource not found: api-version is required.", code="404"
)


def add_chat_routes(core: ServerCore, app: web.Application) -> None:
    """Adds the chat-completions routes, answered through ``core``."""
    handler = functools.partial(_chat, core)
    for path in _CHAT_PATHS:
        app.router.add_post(path, handler)


async def _chat(core: ServerCore, request: web.Request) -> web.StreamResponse:
    received = await core.receive(request)
    if not core.authorized(request):
        return await core.unauthorized(request)
    refused = admit(core.rate_limiter, request, received.data)
    if refused is not None:
        return await core.respond(request, refused)
    deployment = request.match_info.get("deployment")
    if deployment is not None and "api-version" not in request.query:
        return await core.respond(request, _NO_API_VERSION)
    fallback = functools.partial(default_reply, core, received.seq, received.data, deployment)
    item = core.queue.popleft() if core.queue else fallback()
    return await core.respond(request, item, fallback)


def default_reply(core: ServerCore, seq: int, data: Any, deployment: str | None) -> ScriptItem:
    """The unscripted answer: a validation error, the default handler's item or the echo."""
    invalid = validate(data, require_model=deployment is None)
    if invalid is not None:
        return invalid
    if core.default is not None:
        return core.default(data)
    model = data.get("model") or deployment or ""
    return echo_reply(data, seq=seq, created=core.clock(), model=model)
