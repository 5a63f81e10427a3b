"""The echo model: what the fake server "generates" for an unscripted request.

The reply is deterministic. A *token* is a whitespace-separated word:

- the assistant content is the words of the last user message (string
  content, or the ``text`` of its content parts) joined by single spaces;
  ``response_format`` ``json_object``/``json_schema`` wraps it as
  ``{"echo": "<text>"}``;
- ``stop`` cuts the content before the first stop sequence (finish ``stop``);
  ``max_completion_tokens`` / ``max_tokens`` keep that many words (finish
  ``length``);
- ``usage.prompt_tokens`` counts the words of every message's content,
  ``completion_tokens`` the reply's words times ``n``;
- with ``tools`` and ``tool_choice`` ``"required"`` or a named function, the
  reply calls that function (or the first one) with arguments ``{}``
  (one token);
- ``logprobs: true`` gives every token logprob -0.25 and ``top_logprobs``
  entries: the token itself, then ``<alt1>``, ``<alt2>``... at -1.25, -2.25...;
- ``stream: true`` sends one chunk per token: a role chunk (``content: ""``),
  ``"word"`` then ``" word"`` chunks that join to the non-streamed content,
  a chunk with ``finish_reason``, the usage chunk (``choices: []``) when
  ``stream_options.include_usage`` is set, then ``data: [DONE]``; with
  ``n > 1`` the choices' chunks interleave.

``id`` is ``chatcmpl-<n>``, where ``n`` numbers the requests the server received,
from 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

import attrs

from gpt_async.testing._script import RawBytes, Reply, ScriptItem, StreamReply, dump_json

__all__ = ["SYSTEM_FINGERPRINT", "Echo", "echo_reply", "plan_echo"]

#: ``system_fingerprint`` of every completion and chunk.
SYSTEM_FINGERPRINT: Final = "fp_gpt_async_testing"


def echo_reply(data: dict[str, Any], *, seq: int, created: int, model: str) -> ScriptItem:
    """The echo of a valid request: a completion, or its stream when it asks for one."""
    echo = plan_echo(data, seq=seq, created=created, model=model)
    if data.get("stream") is True:
        options = data.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return StreamReply(events=echo.frames(include_usage=include_usage))
    return Reply(json=echo.completion())


@attrs.frozen(kw_only=True)
class Echo:
    """What the fake model "generates" for one request, ready to render."""

    id: str
    created: int
    model: str
    n: int
    pieces: tuple[str, ...]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    tool: str | None = None
    top_logprobs: int | None = None

    def completion(self) -> dict[str, Any]:
        """Renders the non-streamed ``chat.completion`` object."""
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if self.tool else "".join(self.pieces),
            "refusal": None,
            "annotations": [],
        }
        if self.tool:
            message["tool_calls"] = [self._tool_call("".join(self.pieces))]
        logprobs = self._logprobs(self.pieces)
        choices = [
            {
                "index": i,
                "message": message,
                "logprobs": logprobs,
                "finish_reason": self.finish_reason,
            }
            for i in range(self.n)
        ]
        return {**self._envelope("chat.completion"), "choices": choices, "usage": self._usage()}

    def frames(self, *, include_usage: bool) -> list[RawBytes]:
        """Renders the stream's ``data: <chunk>`` frames (without ``[DONE]``)."""
        base = self._envelope("chat.completion.chunk")
        if include_usage:
            base["usage"] = None
        # The envelope is the same in every chunk: encode it once, splice choices in.
        head = b"data: " + dump_json(base)[:-1] + b',"choices":['

        def frame(index: int, delta: dict[str, Any], **extra: Any) -> RawBytes:
            choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}
            return RawBytes(head + dump_json({**choice, **extra}) + b"]}\n\n")

        frames = [frame(i, self._first_delta()) for i in range(self.n)]
        for piece in self.pieces:
            delta = self._piece_delta(piece)
            logprobs = self._logprobs((piece,))
            frames += [frame(i, delta, logprobs=logprobs) for i in range(self.n)]
        frames += [frame(i, {}, finish_reason=self.finish_reason) for i in range(self.n)]
        if include_usage:
            usage_chunk = {**base, "choices": [], "usage": self._usage()}
            frames.append(RawBytes(b"data: " + dump_json(usage_chunk) + b"\n\n"))
        return frames

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }

    def _first_delta(self) -> dict[str, Any]:
        if self.tool:
            call = {"index": 0, **self._tool_call("")}
            return {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
        return {"role": "assistant", "content": "", "refusal": None}

    def _piece_delta(self, piece: str) -> dict[str, Any]:
        if self.tool:
            return {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        return {"content": piece}

    def _tool_call(self, arguments: str) -> dict[str, Any]:
        call_id = "call_" + self.id.removeprefix("chatcmpl-")
        function = {"name": self.tool, "arguments": arguments}
        return {"id": call_id, "type": "function", "function": function}

    def _logprobs(self, tokens: Iterable[str]) -> dict[str, Any] | None:
        if self.top_logprobs is None or self.tool:
            return None
        return {"content": [_token_logprob(t, self.top_logprobs) for t in tokens], "refusal": None}

    def _usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }


def _token_logprob(token: str, top: int) -> dict[str, Any]:
    chosen = {"token": token, "logprob": -0.25, "bytes": list(token.encode())}
    alternatives = [
        {"token": f"<alt{k}>", "logprob": -0.25 - k, "bytes": list(f"<alt{k}>".encode())}
        for k in range(1, top)
    ]
    return {**chosen, "top_logprobs": [chosen, *alternatives][:top]}


def plan_echo(data: dict[str, Any], *, seq: int, created: int, model: str) -> Echo:
    n = data.get("n") or 1
    tool = _forced_tool(data)
    pieces: tuple[str, ...]
    if tool is not None:
        pieces, finish, tokens = ("{", "}"), "tool_calls", 1
    else:
        words, finish = _reply_words(data)
        pieces = tuple(words[:1] + [" " + word for word in words[1:]])
        tokens = len(words)
    top = (data.get("top_logprobs") or 0) if data.get("logprobs") is True else None
    return Echo(
        id=f"chatcmpl-{seq}",
        created=created,
        model=model,
        n=n,
        pieces=pieces,
        finish_reason=finish,
        prompt_tokens=sum(len(_words(m.get("content"))) for m in data["messages"]),
        completion_tokens=tokens * n,
        tool=tool,
        top_logprobs=top,
    )


def _reply_words(data: dict[str, Any]) -> tuple[list[str], str]:
    user = [m for m in data["messages"] if m.get("role") == "user"]
    text = " ".join(_words(user[-1].get("content"))) if user else ""
    response_format = data.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in _JSON_FORMATS:
        text = json.dumps({"echo": text})
    stop = data.get("stop")
    for sequence in [stop] if isinstance(stop, str) else stop or []:
        cut = text.find(sequence) if sequence else -1
        if cut >= 0:
            text = text[:cut]
    words = text.split()
    limit = data.get("max_completion_tokens") or data.get("max_tokens")
    if limit is not None and len(words) > limit:
        return words[:limit], "length"
    return words, "stop"


_JSON_FORMATS: Final = frozenset({"json_object", "json_schema"})


def _words(content: object) -> list[str]:
    if isinstance(content, str):
        return content.split()
    if isinstance(content, list):
        return [
            word
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
            for word in part["text"].split()
        ]
    return []


def _forced_tool(data: dict[str, Any]) -> str | None:
    tools = data.get("tools")
    if not isinstance(tools, list):
        return None
    choice = data.get("tool_choice")
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        return name if isinstance(name, str) else None
    if choice != "required":
        return None
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    return None
