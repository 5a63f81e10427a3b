"""Enums shared by the request and the response models."""

from __future__ import annotations

from gpt_async._types import StrEnum

__all__ = ["ServiceTier"]


class ServiceTier(StrEnum):
    """The processing type used for serving a request (sent in the request, echoed back)."""

    AUTO = "auto"
    DEFAULT = "default"
    FLEX = "flex"
    SCALE = "scale"
    PRIORITY = "priority"
    FAST = "fast"
