"""The ``gpt_async`` logger, and ``GPT_ASYNC_LOG`` to turn it on from the environment.

``GPT_ASYNC_LOG=info`` logs each retry (``retrying in 0.42 s (retry 1 of 2) after
429 RateLimitError: ...``); ``GPT_ASYNC_LOG=debug`` adds each attempt, its
(redacted) headers, status and timing. Either adds one stderr handler to the
``gpt_async`` logger at import, as ``OPENAI_LOG`` does for openai-python; without
it the library only logs to handlers the application configures.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Final

__all__ = ["ENV_VAR", "configure_from_env", "logger"]

ENV_VAR: Final = "GPT_ASYNC_LOG"
_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO}
_FORMAT: Final = "[%(asctime)s - %(name)s:%(lineno)d - %(levelname)s] %(message)s"

logger = logging.getLogger("gpt_async")


def configure_from_env(environ: Mapping[str, str] = os.environ) -> logging.Handler | None:
    """Add a stderr handler at the level ``GPT_ASYNC_LOG`` names (``debug`` or ``info``).

    Returns:
        The handler added, or ``None`` when the variable is unset or names no level.
    """
    level = _LEVELS.get(environ.get(ENV_VAR, "").strip().lower())
    if level is None:
        return None
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


configure_from_env()
