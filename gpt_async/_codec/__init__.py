"""The codec: the one converter between the attrs wire models and JSON.

Each concern lives in one module:

====================  ============================================================
``_json``             the JSON backends (orjson when installed, else the stdlib;
                      the same bytes either way): :func:`dumps`, :func:`loads`
``_hints``            the vocabulary of type hints: unions, enums, ``Unset``,
                      discriminators, field annotations, names in error messages
``_primitives``       the primitive values in three tempers (outbound checks,
                      lenient and strict hooks) and the error helpers
``_codegen``          the one code-generation helper: a namespace per generated
                      function, its source in :mod:`linecache`
``_outbound``         requests: :func:`to_wire` checks a model or dict and names
                      the bad field before any I/O
``_fast``             the generated structure function of each response model
``_prebuilt``         those functions for the response and chunk models, written
                      ahead of time by ``_generate`` and committed (a test checks)
``_prebuilt_hints``   every wire model field's annotation as compiled code,
                      written by ``_generate`` too: no ``eval`` on the first request
``_inbound``          responses, leniently: :func:`structure`, :func:`to_dict`
``_strict``           structured outputs and tool arguments, strictly:
                      ``structure_output``, ``unstructure_output``
``_records``          the fields of attrs classes, dataclasses, TypedDicts and
                      pydantic models, read alike (schemas, strict converter)
``_pydantic``         the wire models' pydantic core schema (FastAPI bodies and
                      responses), loaded when pydantic first asks
====================  ============================================================

cattrs is loaded only when a value needs its detailed hooks (a response off the
common shape, a structured output), so ``import gpt_async`` does not load it.
"""

from __future__ import annotations

from typing import Any

from gpt_async._types import PYDANTIC_SCHEMA

from ._inbound import from_dict, structure, to_dict, to_json
from ._json import dumps, loads
from ._outbound import register_adapter, to_wire


def _pydantic_core_schema(cls: Any, handler: Any) -> Any:
    from ._pydantic import wire_core_schema  # noqa: PLC0415 - only when pydantic asks

    return wire_core_schema(cls, handler)


PYDANTIC_SCHEMA.append(_pydantic_core_schema)

__all__ = [
    "dumps",
    "from_dict",
    "loads",
    "register_adapter",
    "structure",
    "to_dict",
    "to_json",
    "to_wire",
]
