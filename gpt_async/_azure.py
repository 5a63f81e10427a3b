"""Azure OpenAI: turn ``AsyncGpt.azure(...)`` arguments into plain client options.

Pure: reads ``AZURE_OPENAI_ENDPOINT``, ``OPENAI_API_VERSION`` and
``AZURE_OPENAI_API_KEY`` from the environment when the arguments are absent, and
reconciles the Azure-specific arguments with every other ``AsyncGpt`` option so
that none is passed twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ._exceptions import RequestValidationError

__all__ = ["azure_options"]


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def _required(value: str | None, name: str, variable: str | None) -> str:
    if value is None and variable is not None:
        value = _env(variable)
    if not value:
        where = f" (or set {variable})" if variable else ""
        raise RequestValidationError(name, f"Azure OpenAI needs {name}{where}")
    return value


def _base_url(endpoint: str | None, deployment: str | None, options: dict[str, Any]) -> str:
    server_url = options.pop("server_url", None)
    if server_url is not None:
        if endpoint is not None or deployment is not None:
            raise RequestValidationError(
                "server_url", "give either server_url or endpoint and deployment, not both"
            )
        return str(server_url)
    base = _required(endpoint, "endpoint", "AZURE_OPENAI_ENDPOINT").rstrip("/")
    return f"{base}/openai/deployments/{_required(deployment, 'deployment', None)}"


def _key(api_key: Any, provider: Any, options: dict[str, Any]) -> Any:
    alias = options.pop("api_key_auth", None)
    if api_key is not None and alias is not None:
        raise RequestValidationError("api_key_auth", "give api_key or api_key_auth, not both")
    key = api_key if api_key is not None else alias
    if key is None and provider is None:
        key = _env("AZURE_OPENAI_API_KEY")
    return key


def azure_options(
    *,
    endpoint: str | None,
    deployment: str | None,
    api_version: str | None,
    api_key: Any,
    azure_ad_token_provider: Any,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``AsyncGpt`` keyword arguments for an Azure OpenAI deployment.

    Raises:
        RequestValidationError: A required setting is missing or given twice.
    """
    rest = dict(options)
    query = dict(rest.pop("default_query", None) or {})
    version = api_version or query.get("api-version") or _env("OPENAI_API_VERSION")
    if not version:
        raise RequestValidationError(
            "api_version", "Azure OpenAI needs api_version (or set OPENAI_API_VERSION)"
        )
    server_url = _base_url(endpoint, deployment, rest)
    key = _key(api_key, azure_ad_token_provider, rest)
    header = rest.pop("api_key_header", "api-key")
    return {
        **rest,
        "api_key_auth": key,
        "server_url": server_url,
        "default_query": {**query, "api-version": version},
        "api_key_header": header,
        "azure_ad_token_provider": azure_ad_token_provider,
    }
