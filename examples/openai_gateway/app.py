"""An OpenAI-compatible gateway: ``POST /v1/chat/completions`` relayed upstream through gpt_async.

Run it with ``uvicorn examples.openai_gateway.app:app``; the upstream comes from
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` as for any client. Point the official
``openai`` package (or any OpenAI client) at ``http://127.0.0.1:8000/v1``.

- The body is read as a :class:`~gpt_async.models.components.CreateChatCompletionRequest`
  (checked before any upstream I/O: a bad one is a 422 naming the field) and sent
  upstream as it came: unset fields stay absent.
- The reply is relayed losslessly: a completion goes out as the JSON received
  (``to_json``), a stream as the chunks received, then ``data: [DONE]``.
- When the gateway's own client goes away mid-stream, the upstream stream is closed
  at once, so the model stops generating.
- An upstream error is relayed with its status and body, so the client raises what
  it would have raised talking to the upstream directly.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi.responses import Response

import gpt_async
from gpt_async import SDKError
from gpt_async.fastapi import GptClient, gpt_lifespan, stream_response
from gpt_async.models.components import ChatCompletion, CreateChatCompletionRequest


def create_app(**options: Any) -> FastAPI:
    """The gateway app; ``options`` configure the upstream client (``server_url``...)."""
    app = FastAPI(title="OpenAI gateway", lifespan=gpt_lifespan(**options))
    app.add_exception_handler(SDKError, _relay_error)  # type: ignore[arg-type]

    @app.post("/v1/chat/completions", response_model=ChatCompletion)
    async def chat_completions(
        body: Annotated[CreateChatCompletionRequest, Body()], gpt: GptClient
    ) -> Any:
        params = gpt_async.to_dict(body)  # the request as it came: unset stays absent
        if params.pop("stream", False):
            stream = await gpt.chat.completions.create(**params, stream=True)
            return await stream_response(stream)
        return await gpt.chat.completions.create(**params)

    return app


async def _relay_error(request: Request, exc: SDKError) -> Response:
    """The upstream's error as it sent it: status and body."""
    return Response(exc.body, status_code=exc.status_code, media_type="application/json")


app = create_app()
