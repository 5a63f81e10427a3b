"""The wire bytes the fake server answers with and the requests clients send.

Both sides import this module, so the server's precomputed responses and the
clients' expectations (content prefix, chunk count) cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any

MODEL_SMALL = "bench-1k"
MODEL_LARGE = "bench-20k"
MODEL_STREAM = "bench-stream"

STREAM_TOKENS = 200
STREAM_CHUNKS = STREAM_TOKENS + 1  # the token chunks plus the usage chunk
HISTORY_MESSAGES = 50

CONTENT_PREFIX = "Benchmark reply."
_CREATED = 1_735_689_600
_FINGERPRINT = "fp_0123456789"
_COMPLETION_ID = "chatcmpl-Bench0123456789abcdefghijklmnop"

Message = dict[str, str]


def _usage() -> dict[str, Any]:
    return {
        "prompt_tokens": 19,
        "completion_tokens": 200,
        "total_tokens": 219,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": _COMPLETION_ID,
        "object": "chat.completion",
        "created": _CREATED,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(),
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }


def completion_body(size: int) -> bytes:
    """A chat.completion JSON document of about ``size`` bytes.

    Args:
        size: Target length in bytes; the assistant content is padded to reach it.

    Returns:
        The compact JSON encoding.
    """
    skeleton = len(json.dumps(_completion(CONTENT_PREFIX), separators=(",", ":")))
    filler = "lorem ipsum dolor sit amet " * (max(size - skeleton, 0) // 27 + 1)
    content = (CONTENT_PREFIX + " " + filler)[: max(size - skeleton, len(CONTENT_PREFIX))]
    return json.dumps(_completion(content), separators=(",", ":")).encode()


def _chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": _COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        "usage": None,
    }


def stream_events() -> list[bytes]:
    """The SSE events of a streamed completion, each one ``data: ...\\n\\n``.

    Returns:
        ``STREAM_TOKENS`` one-token chunks (the first carries the role, the last
        the finish reason), a usage chunk with no choices, and ``[DONE]``.
    """
    chunks = [_chunk({"role": "assistant", "content": CONTENT_PREFIX}, None)]
    chunks += [_chunk({"content": f" tok{i}"}, None) for i in range(1, STREAM_TOKENS - 1)]
    chunks.append(_chunk({}, "stop"))
    usage = _chunk({}, None) | {"choices": [], "usage": _usage()}
    chunks.append(usage)
    events = [b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in chunks]
    events.append(b"data: [DONE]\n\n")
    return events


def user_message(text: str = "Say something short.") -> Message:
    """A user message as a plain dict."""
    return {"role": "user", "content": text}


def history(length: int = HISTORY_MESSAGES) -> list[Message]:
    """A realistic conversation: a system prompt, then alternating turns.

    Args:
        length: Total number of messages, the last one from the user.

    Returns:
        Plain-dict messages of roughly 150 to 300 characters each.
    """
    turn = "Here is some context about the task at hand, with a few details. "
    messages = [{"role": "system", "content": "You are a helpful assistant. " + turn * 2}]
    for i in range(1, length):
        role = "user" if i % 2 == 1 or i == length - 1 else "assistant"
        messages.append({"role": role, "content": f"Turn {i}. " + turn * (2 + i % 3)})
    return messages
