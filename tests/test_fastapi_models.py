"""Wire models served and accepted by a real FastAPI app on uvicorn, and its /openapi.json."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import pytest
from fastapi import Body, FastAPI
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from test_fastapi import serve

import gpt_async
from gpt_async import _codec
from gpt_async._parse import ParsedChatCompletion, parse_completion
from gpt_async.fastapi import SyncGptClient, gpt_lifespan
from gpt_async.models import components as c

pytestmark = pytest.mark.anyio

SPEC = Path(__file__).resolve().parent / "spec" / "examples"
BODY: dict[str, Any] = json.loads((SPEC / "create.default.response.json").read_text())
CHUNK: dict[str, Any] = {
    "id": "c",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "delta": {"content": "hi"}, "logprobs": None, "finish_reason": None}],
}
JSON_BODY = copy.deepcopy(BODY)
JSON_BODY["choices"][0]["message"]["content"] = '{"a": 1}'
REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": None}


def _completion() -> c.ChatCompletion:
    return _codec.structure(copy.deepcopy(BODY), c.ChatCompletion)


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/plain")
    async def plain():  # type: ignore[no-untyped-def]  # no annotation, on purpose
        return _completion()

    @app.get("/annotated")
    async def annotated() -> c.ChatCompletion:
        return _completion()

    @app.get("/model", response_model=c.ChatCompletion)
    async def model() -> Any:
        return _completion()

    @app.get("/chunk")
    async def chunk() -> c.ChatCompletionChunk:
        return _codec.structure(copy.deepcopy(CHUNK), c.ChatCompletionChunk)

    @app.get("/parsed")
    async def parsed() -> ParsedChatCompletion[Any]:
        read = _codec.structure(copy.deepcopy(JSON_BODY), c.ChatCompletion)
        done = parse_completion(read, {"type": "json_object"})  # type: ignore[arg-type]
        assert done.choices[0].message.parsed == {"a": 1}
        return done

    @app.post("/request")
    async def request(
        body: Annotated[c.CreateChatCompletionRequest, Body()],
    ) -> c.CreateChatCompletionRequest:
        assert isinstance(body, c.CreateChatCompletionRequest)
        return body

    @app.post("/message")
    async def message(
        body: Annotated[c.ChatCompletionRequestUserMessage, Body()],
    ) -> dict[str, Any]:
        return {"content": body.content, "type": type(body).__name__}

    return app


async def _get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def _post(url: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("path", ["/plain", "/annotated", "/model"])
async def test_completion_is_served_as_to_json(path: str) -> None:
    """Returned as is, as the return annotation or as response_model: the JSON of ``to_json``."""
    async with serve(_app()) as base:
        status, got = await _get(base + path)
    assert status == 200
    assert got == json.loads(gpt_async.to_json(_completion())) == BODY


async def test_chunk_and_parsed_completion_are_served() -> None:
    """A chunk and a ParsedChatCompletion go out as their received JSON (no ``parsed`` added)."""
    async with serve(_app()) as base:
        assert await _get(base + "/chunk") == (200, CHUNK)
        assert await _get(base + "/parsed") == (200, JSON_BODY)


async def test_request_body_is_read_and_checked() -> None:
    """A request model is a body: read by the codec; a bad one is a 422 naming the field."""
    async with serve(_app()) as base:
        assert await _post(base + "/request", REQUEST) == (200, REQUEST)
        status, error = await _post(base + "/request", {"model": "m", "messages": [{"role": "x"}]})
        assert await _post(base + "/message", {"role": "user", "content": "yo"}) == (
            200,
            {"content": "yo", "type": "ChatCompletionRequestUserMessage"},
        )
    assert status == 422
    assert "messages[0].role" in json.dumps(error)


async def test_openapi_schemas_validate_what_is_served() -> None:
    """/openapi.json is valid JSON Schema for each model, and the served JSON fits it."""
    async with serve(_app()) as base:
        status, doc = await _get(base + "/openapi.json")
        _, served = await _get(base + "/annotated")
    assert status == 200
    root = {"components": doc["components"]}

    def schema_of(path: str, method: str = "get") -> dict[str, Any]:
        op = doc["paths"][path][method]
        content = op["requestBody" if method == "post" else "responses"]
        content = content["content"] if method == "post" else content["200"]["content"]
        schema = {**root, **content["application/json"]["schema"]}
        Draft202012Validator.check_schema(schema)
        return schema

    schema = schema_of("/annotated")
    assert schema["properties"]["choices"]["type"] == "array"
    Draft202012Validator(schema).validate(served)
    Draft202012Validator(schema_of("/chunk")).validate(CHUNK)
    Draft202012Validator(schema_of("/request", "post")).validate(REQUEST)
    with pytest.raises(Exception, match="is not of type"):
        Draft202012Validator(schema).validate({**served, "choices": "nope"})


async def test_sync_client_in_async_endpoint_warns_once() -> None:
    """SyncGptClient taken by an ``async def`` endpoint warns, once, that it blocks the loop."""
    app = FastAPI(lifespan=gpt_lifespan(sync=True, api_key_auth="sk-x", server_url="http://x"))

    @app.get("/blocking")
    async def blocking(gpt: SyncGptClient) -> dict[str, str]:
        return {"client": type(gpt).__name__}

    @app.get("/fine")
    def fine(gpt: SyncGptClient) -> dict[str, str]:
        return {"client": type(gpt).__name__}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with serve(app) as base:
            for path in ("/blocking", "/blocking", "/fine"):
                assert await _get(base + path) == (200, {"client": "Gpt"})
    mine = [w for w in caught if "block the event loop" in str(w.message)]
    assert len(mine) == 1
    assert "blocking" in str(mine[0].message)
