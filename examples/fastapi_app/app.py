"""A small chat backend on FastAPI and gpt_async: one page, one streaming endpoint.

Run it from the repository root (``pip install "gpt_async[fastapi]" uvicorn``)::

    uvicorn examples.fastapi_app.app:app

then open http://127.0.0.1:8000/. With ``OPENAI_API_KEY`` set it talks to
OpenAI (or to ``OPENAI_BASE_URL``); without one it answers from the embedded
testing server, which echoes the prompt word by word, and logs that it does.
``GPT_ASYNC_MODEL`` picks the model (default ``gpt-4o-mini``).

Endpoints:

- ``GET /``: the chat page (``static/index.html``).
- ``POST /api/chat`` ``{"prompt": "..."}``: the reply as ``text/event-stream``;
  ``?format=openai`` (default) relays the API's chunk frames and ``data: [DONE]``,
  ``?format=text`` sends the text deltas only. Closing the connection stops the
  upstream request.
- ``POST /api/chat/sync`` ``{"prompt": "..."}``: ``{"text": "..."}``, from a plain
  ``def`` endpoint using the synchronous ``Gpt`` in FastAPI's threadpool.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from gpt_async.fastapi import (
    ChatStreamResponse,
    GptClient,
    StreamFormat,
    SyncGptClient,
    gpt_lifespan,
    install_error_handlers,
    stream_response,
)
from gpt_async.testing import FakeOpenAIServer

__all__ = ["ChatReply", "ChatRequest", "app", "create_app"]

MODEL = os.environ.get("GPT_ASYNC_MODEL", "gpt-4o-mini")
STATIC = Path(__file__).parent / "static"
SYSTEM = "You are a helpful assistant. Answer briefly."

# uvicorn configures this logger, so its lines show up next to the server's own.
logger = logging.getLogger("uvicorn.error")


class ChatRequest(BaseModel):
    """What the page sends."""

    prompt: str = Field(min_length=1, max_length=20_000)


class ChatReply(BaseModel):
    """The whole reply of the non-streaming endpoint."""

    text: str


router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    """The chat page."""
    return FileResponse(STATIC / "index.html")


@router.post("/api/chat")
async def chat(
    body: ChatRequest, gpt: GptClient, format: StreamFormat = "openai"
) -> ChatStreamResponse:
    """Streams the reply to the browser as server-sent events."""
    stream = await gpt.chat.completions.create(model=MODEL, messages=_messages(body), stream=True)
    return await stream_response(stream, format=format)


@router.post("/api/chat/sync")
def chat_sync(body: ChatRequest, gpt: SyncGptClient) -> ChatReply:
    """Answers with the whole reply; a plain ``def`` endpoint, so it runs in the threadpool."""
    completion = gpt.chat.completions.create(model=MODEL, messages=_messages(body))
    return ChatReply(text=completion.choices[0].message.content or "")


def _messages(body: ChatRequest) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body.prompt}]


def create_app(**client_options: Any) -> FastAPI:
    """Builds the app.

    Args:
        **client_options: `AsyncGpt` options (``server_url``, ``api_key_auth``,
            ``timeout``, ``max_retries``...). Without ``server_url`` and without
            ``OPENAI_API_KEY`` the app starts the embedded testing server.

    Returns:
        The FastAPI application.
    """
    app = FastAPI(title="gpt_async chat", lifespan=_lifespan(client_options))
    install_error_handlers(app)
    app.include_router(router)
    return app


def _lifespan(options: dict[str, Any]) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            options_now = dict(options)
            if "server_url" not in options_now and not os.environ.get("OPENAI_API_KEY", "").strip():
                server = await stack.enter_async_context(FakeOpenAIServer())
                logger.warning(
                    "gpt_async example: no OPENAI_API_KEY is set; answering from the embedded "
                    "testing server at %s (it echoes your prompt)",
                    server.url,
                )
                options_now.update(server_url=server.url, api_key_auth="sk-local")
            await stack.enter_async_context(gpt_lifespan(sync=True, **options_now)(app))
            yield

    return lifespan


app = create_app()
