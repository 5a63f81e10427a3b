"""The one code-generation helper: compile a function from source, in its own namespace.

The codec generates straight-line functions per model class (cattrs does the same
for its hooks). Each one gets a fresh namespace, so no generated function can see
or clobber another's names, and its source is registered with :mod:`linecache`
under a descriptive file name (``<gpt_async structure ChatCompletion>``), so
tracebacks, ``inspect.getsource`` and debuggers show the generated code, as
``cattrs/gen/_lc.py`` does for cattrs.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable
from typing import Any

__all__ = ["compile_function"]


def compile_function(
    name: str, lines: list[str], namespace: dict[str, Any], *, about: str
) -> Callable[..., Any]:
    """Compile ``def name(...)`` (its source in ``lines``) into ``namespace`` and return it.

    Args:
        name: The function's name, as the first line defines it.
        lines: The source, one line each.
        namespace: The function's own globals; names a stub may rebind later
            (a forwarder replacing itself) are looked up here at call time.
        about: What the function does, for its file name, e.g. ``structure ChatCompletion``.
    """
    source = "\n".join(lines) + "\n"
    filename = _unique_filename(about)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - source built by the codec
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    function: Callable[..., Any] = namespace[name]
    return function


def _unique_filename(about: str) -> str:
    """``<gpt_async about>``, numbered when the name is taken (a class redefined in a test)."""
    filename = f"<gpt_async {about}>"
    n = 1
    while filename in linecache.cache:
        n += 1
        filename = f"<gpt_async {about} #{n}>"
    return filename
