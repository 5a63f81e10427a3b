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
====================  ============================================================

cattrs is loaded only when a value needs its detailed hooks (a response off the
common shape, a structured output), so ``import gpt_async`` does not load it.
"""

from __future__ import annotations

from ._inbound import from_dict, structure, to_dict, to_json
from ._json import dumps, loads
from ._outbound import register_adapter, to_wire

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
