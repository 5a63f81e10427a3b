"""Structured Outputs: ``response_format`` from an attrs class, and the reply parsed back.

:func:`parse` sends the class's strict JSON Schema as
``{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}`` and
returns a :class:`ParsedChatCompletion`: the same completion, whose messages carry
``parsed``, an instance of the class. The parsed classes subclass the response
models (``isinstance(c, ChatCompletion)`` holds, ``to_dict`` works) and are
generic, so ``completion.choices[0].message.parsed`` is typed ``T | None``.

A refusal leaves ``parsed`` None (the text is in ``message.refusal``); a reply cut
off by the token limit or the content filter raises a
:class:`~gpt_async.FinishReasonError`; content that is not the class raises
:class:`~gpt_async.OutputValidationError` with the path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from . import _codec
from ._codec._strict import structure_output
from ._exceptions import (
    ContentFilterFinishReasonError,
    LengthFinishReasonError,
    OutputValidationError,
)
from ._schema import json_schema, schema_name
from ._tools import assistant_turn
from ._types import LOCAL_KEY, AsyncClosing
from .models._messages import ChatCompletionRequestAssistantMessage
from .models._response import ChatCompletion, ChatCompletionMessage, Choice

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._protocols import CompletionsAPI
    from ._response import APIResponse
    from ._streaming import AsyncStream
    from .models._chunk import ChatCompletionChunk

__all__ = [
    "AsyncParseStream",
    "ParsedChatCompletion",
    "ParsedChatCompletionMessage",
    "ParsedChoice",
    "parse",
    "parse_completion",
    "parse_stream",
    "response_format",
]

T = TypeVar("T")
C = TypeVar("C")
_BODY_LIMIT = 64 * 1024


@attrs.define(kw_only=True)
class ParsedChatCompletionMessage(ChatCompletionMessage, Generic[T]):
    """A message whose content was parsed as the requested class.

    Attributes:
        parsed: The content as the class; None for a refusal or a message
            without content (tool calls only).
    """

    parsed: T | None = attrs.field(default=None, metadata={LOCAL_KEY: True})  # not JSON


@attrs.define(kw_only=True)
class ParsedChoice(Choice, Generic[T]):
    """A choice whose message carries ``parsed``."""

    message: ParsedChatCompletionMessage[T] = attrs.Factory(ParsedChatCompletionMessage)


@attrs.define(kw_only=True)
class ParsedChatCompletion(ChatCompletion, Generic[T]):
    """A completion whose choices' messages carry ``parsed``."""

    # list is invariant; the choices are only read, and each is a Choice.
    choices: list[ParsedChoice[T]]  # type: ignore[assignment]


def response_format(cls: Any) -> dict[str, Any]:
    """The ``response_format`` that asks for an instance of ``cls`` in strict mode.

    A dict (``{"type": "json_object"}``, a raw ``json_schema``) is sent as it is.

    Raises:
        SchemaError: ``cls`` has a field strict mode cannot express.
    """
    if isinstance(cls, Mapping):
        return dict(cls)
    schema = {"name": schema_name(cls), "schema": json_schema(cls), "strict": True}
    return {"type": "json_schema", "json_schema": schema}


def parse_completion(completion: ChatCompletion, cls: type[T]) -> ParsedChatCompletion[T]:
    """Parse every choice of a completion as ``cls``.

    Raises:
        LengthFinishReasonError: A choice stopped at the token limit.
        ContentFilterFinishReasonError: A choice was stopped by the content filter.
        OutputValidationError: A choice's content is not JSON or not a ``cls``.
    """
    choices = [_parse_choice(choice, cls, completion) for choice in completion.choices]
    return _copy_as(ParsedChatCompletion, completion, choices=choices)


def _parse_choice(choice: Choice, cls: type[T], completion: ChatCompletion) -> ParsedChoice[T]:
    if choice.finish_reason == "length":
        raise LengthFinishReasonError(
            "the reply was cut off at the token limit before its JSON was complete",
            completion=completion,
        )
    if choice.finish_reason == "content_filter":
        raise ContentFilterFinishReasonError(
            "the reply was stopped by the content filter", completion=completion
        )
    parsed = _parse_content(choice.message, cls)
    message = _copy_as(ParsedChatCompletionMessage, choice.message, parsed=parsed)
    return _copy_as(ParsedChoice, choice, message=message)


def _parse_content(message: ChatCompletionMessage, cls: Any) -> Any:
    content = message.content
    if message.refusal is not None or not content:
        return None
    try:
        data = _codec.loads(content)
    except ValueError:
        raise OutputValidationError(
            "the message content is not valid JSON", body=content[:_BODY_LIMIT]
        ) from None
    if isinstance(cls, Mapping):  # a dict response_format: the JSON itself
        return data
    return structure_output(data, cls, body=content)


def _copy_as(cls: type[C], obj: Any, **changes: Any) -> C:
    """An instance of ``cls`` (a subclass of ``obj``'s class) with ``obj``'s fields."""
    values = {a.alias: getattr(obj, a.name) for a in attrs.fields(type(obj)) if a.init}
    values.update(changes)
    copy = cls(**values)
    wire = getattr(obj, "_wire", None)
    if wire is not None:  # the copy writes back the same JSON (see WireModel)
        copy._wire = wire  # type: ignore[attr-defined]
    return copy


def _as_request_message(message: ParsedChatCompletionMessage[Any]) -> Any:
    return _codec.to_wire(assistant_turn(message), ChatCompletionRequestAssistantMessage)


# A parsed message may be appended to the next request's ``messages``, as a plain one can.
_codec.register_adapter(ParsedChatCompletionMessage, _as_request_message)


async def parse(
    completions: CompletionsAPI, cls: type[T], params: dict[str, Any]
) -> ParsedChatCompletion[T]:
    """The call behind ``chat.completions.parse``; see there."""
    completion: ChatCompletion = await completions.create(
        **params, response_format=response_format(cls)
    )
    return parse_completion(completion, cls)


def parse_stream(
    completions: CompletionsAPI, cls: type[T], params: dict[str, Any]
) -> AsyncParseStream[T]:
    """The call behind ``chat.completions.parse_stream``; see there."""
    stream = completions.stream(**params, response_format=response_format(cls))
    return AsyncParseStream(stream, cls)


class AsyncParseStream(AsyncClosing, Generic[T]):
    """The chunks of a Structured Outputs stream, then the parsed completion.

    Iterate it for the chunks as they come (an async iterator and context
    manager, like :class:`~gpt_async.AsyncStream`: a loop left early closes it);
    :meth:`get_final_completion` reads the rest and returns the
    :class:`ParsedChatCompletion`.
    """

    def __init__(self, stream: AsyncStream[ChatCompletionChunk], cls: type[T]) -> None:
        self.stream = stream
        self._cls = cls

    @property
    def response(self) -> APIResponse[Any] | None:
        """The :class:`~gpt_async.APIResponse` (status, headers, rate limits), once connected."""
        return self.stream.response

    @property
    def chunks(self) -> list[ChatCompletionChunk]:
        """Every chunk received so far."""
        return self.stream.chunks

    @property
    def closed(self) -> bool:
        """Whether the stream was closed: read to its end, failed, left early or closed."""
        return self.stream.closed

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self.stream.__aiter__()  # a loop left early closes the stream (see AsyncStream)

    async def __anext__(self) -> ChatCompletionChunk:
        return await self.stream.__anext__()

    async def aclose(self) -> None:
        """Close the HTTP response; a stream not read to its end drops its connection."""
        await self.stream.aclose()

    async def __aenter__(self) -> Self:
        await self.stream.__aenter__()
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        """``await client.chat.completions.parse_stream(...)`` connects and returns it."""
        return self.__aenter__().__await__()

    async def get_final_completion(self) -> ParsedChatCompletion[T]:
        """Read the rest of the stream, fold the chunks and parse the message.

        Raises:
            LengthFinishReasonError: The reply stopped at the token limit.
            ContentFilterFinishReasonError: The content filter stopped the reply.
            OutputValidationError: The content is not JSON or not the class.
        """
        return parse_completion(await self.stream.get_final_completion(), self._cls)
