"""Request validation: the checks the API makes before a model runs, answered as it does.

An invalid unscripted request gets the API's 400: an OpenAI error whose ``param``
names the field and whose ``code`` says what is wrong (``missing_required_parameter``,
``invalid_type``, ``empty_array``).
"""

from __future__ import annotations

from typing import Any

from gpt_async.testing._core import INVALID_JSON
from gpt_async.testing._script import Reply

__all__ = ["validate"]


def validate(data: Any, *, require_model: bool) -> Reply | None:
    if data is INVALID_JSON or not isinstance(data, dict):
        return _bad_request(
            "We could not parse the JSON body of your request: the API expects a JSON object.",
            None,
        )
    invalid = _validate_messages(data)
    if invalid is not None:
        return invalid
    model = data.get("model")
    if model is None and require_model:
        return _missing("model")
    if model is not None and not isinstance(model, str):
        return _wrong_type("model", "a string")
    return _validate_options(data)


def _validate_messages(data: dict[str, Any]) -> Reply | None:
    messages = data.get("messages")
    if messages is None:
        return _missing("messages")
    if not isinstance(messages, list):
        return _wrong_type("messages", "an array")
    if not messages:
        return _bad_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            "messages",
            "empty_array",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return _missing(f"messages[{index}].role")
    return None


def _validate_options(data: dict[str, Any]) -> Reply | None:
    for name in ("n", "max_tokens", "max_completion_tokens"):
        value = data.get(name)
        if value is not None and (type(value) is not int or value < 1):
            return _wrong_type(name, "an integer >= 1")
    top = data.get("top_logprobs")
    if top is not None and (type(top) is not int or not 0 <= top <= 20):
        return _wrong_type("top_logprobs", "an integer from 0 to 20")
    stop = data.get("stop")
    if stop is not None and not _is_stop(stop):
        return _wrong_type("stop", "a string or an array of strings")
    stream = data.get("stream")
    if stream is not None and not isinstance(stream, bool):
        return _wrong_type("stream", "a boolean")
    return None


def _is_stop(stop: object) -> bool:
    if isinstance(stop, list):
        return all(isinstance(item, str) for item in stop)
    return isinstance(stop, str)


def _bad_request(message: str, param: str | None, code: str | None = None) -> Reply:
    return Reply.error(400, message, param=param, code=code)


def _missing(param: str) -> Reply:
    message = f"Missing required parameter: '{param}'."
    return _bad_request(message, param, "missing_required_parameter")


def _wrong_type(param: str, expected: str) -> Reply:
    return _bad_request(f"Invalid '{param}': expected {expected}.", param, "invalid_type")
