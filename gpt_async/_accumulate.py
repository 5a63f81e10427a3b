"""Folding stream chunks into the completion the same reply would have been unstreamed.

Text fragments are joined per choice; tool calls are assembled from their
fragments by ``index`` (several may interleave); logprobs are concatenated; the
last non-null ``finish_reason`` and ``usage`` win. Nothing indexes ``choices[0]``:
the usage chunk has no choices, and with ``n > 1`` choices interleave.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .models._chunk import ChatCompletionChunk, ChunkChoice
from .models._messages import (
    ChatCompletionMessageToolCall,
    ChatCompletionMessageToolCallUnion,
    FunctionCall,
    ToolCallFunction,
)
from .models._response import ChatCompletion, ChatCompletionMessage, Choice, ChoiceLogprobs

__all__ = ["fold_chunks"]


@attrs.define
class _ChoiceState:
    """What has arrived so far for one choice."""

    index: int
    role: str = "assistant"
    content: list[str] | None = None
    refusal: list[str] | None = None
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None
    tool_calls: dict[int, ChatCompletionMessageToolCall] = attrs.field(factory=dict)
    function_call: FunctionCall | None = None

    def add(self, choice: ChunkChoice) -> None:
        delta = choice.delta
        if delta.role:
            self.role = str(delta.role)
        if delta.content is not None:
            self.content = _append(self.content, delta.content)
        if delta.refusal is not None:
            self.refusal = _append(self.refusal, delta.refusal)
        for fragment in delta.tool_calls or ():
            call = self.tool_calls.setdefault(
                fragment.index, ChatCompletionMessageToolCall(function=ToolCallFunction())
            )
            call.id = fragment.id or call.id
            if fragment.function is not None:
                call.function.name += fragment.function.name or ""
                call.function.arguments += fragment.function.arguments or ""
        if delta.function_call is not None:
            fc = self.function_call = self.function_call or FunctionCall()
            fc.name += delta.function_call.name or ""
            fc.arguments += delta.function_call.arguments or ""
        if choice.finish_reason is not None:
            self.finish_reason = choice.finish_reason
        if choice.logprobs is not None:
            self._add_logprobs(choice.logprobs)

    def _add_logprobs(self, logprobs: ChoiceLogprobs) -> None:
        # Fresh lists, extended in place: one copy per token, not the whole list per chunk.
        current = self.logprobs = self.logprobs or ChoiceLogprobs()
        if logprobs.content is not None:
            current.content = current.content or []
            current.content.extend(logprobs.content)
        if logprobs.refusal is not None:
            current.refusal = current.refusal or []
            current.refusal.extend(logprobs.refusal)

    def choice(self) -> Choice:
        tool_calls: list[ChatCompletionMessageToolCallUnion] | None = None
        if self.tool_calls:
            tool_calls = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        message = ChatCompletionMessage(
            role=self.role,
            content=None if self.content is None else "".join(self.content),
            refusal=None if self.refusal is None else "".join(self.refusal),
            tool_calls=tool_calls,
            function_call=self.function_call,
            annotations=[],  # what the unstreamed reply carries when there are none
        )
        return Choice(
            index=self.index,
            message=message,
            finish_reason=self.finish_reason,
            logprobs=self.logprobs,
        )


def _append(parts: list[str] | None, part: str) -> list[str]:
    if parts is None:
        return [part]
    parts.append(part)
    return parts


def fold_chunks(chunks: Iterable[ChatCompletionChunk]) -> ChatCompletion:
    """Fold a stream's chunks, in order, into one :class:`ChatCompletion`."""
    states: dict[int, _ChoiceState] = {}
    completion = ChatCompletion(choices=[])
    for chunk in chunks:
        completion.id = chunk.id or completion.id
        completion.created = chunk.created or completion.created
        completion.model = chunk.model or completion.model
        completion.service_tier = chunk.service_tier or completion.service_tier
        completion.system_fingerprint = chunk.system_fingerprint or completion.system_fingerprint
        if chunk.usage is not None:
            completion.usage = chunk.usage
        if chunk.moderation is not None:
            completion.moderation = chunk.moderation
        for choice in chunk.choices:
            state = states.get(choice.index)
            if state is None:
                state = states[choice.index] = _ChoiceState(choice.index)
            state.add(choice)
    completion.choices = [states[i].choice() for i in sorted(states)]
    return completion
