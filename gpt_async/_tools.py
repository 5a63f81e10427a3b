"""Function tools from typed Python functions and attrs classes, and the tool loop.

:func:`function_tool` reads a function's signature (annotations, defaults) and its
Google-style docstring (the summary describes the tool, ``Args:`` the
parameters) into a strict :class:`FunctionTool`; an attrs class works the same way
with its fields. The parameters' JSON Schema comes from :mod:`._schema`, so tool
arguments take the same types as structured outputs.

:func:`run_tools` is the loop: request, run the tool calls of the reply (async
functions concurrently in a task group, sync ones in worker threads), send the
results back, until the model answers without tool calls.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import anyio
import anyio.to_thread
import attrs

from . import _codec
from ._codec._hints import class_hints
from ._codec._records import is_record
from ._codec._strict import structure_output, unstructure_output
from ._exceptions import (
    APIResponseValidationError,
    OutputValidationError,
    RequestValidationError,
    SchemaError,
    ToolLoopLimitError,
)
from ._schema import json_schema, parse_docstring, schema_name
from .models._messages import (
    ChatCompletionMessageToolCall,
    ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestToolMessage,
)
from .models._tools import ChatCompletionTool, FunctionObject

if TYPE_CHECKING:
    from ._protocols import CompletionsAPI
    from .models._response import ChatCompletion, ChatCompletionMessage

__all__ = [
    "FunctionTool",
    "ToolResult",
    "ToolRunResult",
    "ToolStep",
    "as_tool",
    "assistant_turn",
    "function_tool",
    "run_tools",
    "tool_output",
]

A = TypeVar("A")
T = TypeVar("T")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}\Z")
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@attrs.frozen(kw_only=True)
class FunctionTool(Generic[A]):
    """A strict function tool: its definition for the request, and its arguments' type.

    Build one with :func:`function_tool`. Pass it (or its :attr:`definition`) in
    ``tools=[...]``; read a call's arguments with :meth:`parse_arguments`.

    Attributes:
        name: The tool's name as the model sees it.
        description: What the tool does, for the model; None for none.
        parameters: The strict JSON Schema of the arguments.
        arguments_type: The attrs class the arguments are built as.
        function: The function that runs the tool; None for an attrs class.
    """

    name: str
    description: str | None
    parameters: dict[str, Any] = attrs.field(repr=False)
    arguments_type: type[Any] = attrs.field(repr=False)
    function: Callable[..., Any] | None = attrs.field(default=None, repr=False)
    _as_kwargs: bool = attrs.field(default=False, repr=False)
    _positional: tuple[str, ...] = attrs.field(default=(), repr=False)

    @property
    def definition(self) -> ChatCompletionTool:
        """The tool as the request's ``tools`` take it, with ``strict: true``."""
        function = FunctionObject(name=self.name, parameters=self.parameters, strict=True)
        if self.description:
            function.description = self.description
        return ChatCompletionTool(function=function)

    def parse_arguments(self, call: ChatCompletionMessageToolCall | str) -> A:
        """The arguments of a call to this tool, as their types.

        Args:
            call: A tool call from a reply, or its ``arguments`` JSON text.

        Returns:
            For a function, the keyword arguments (defaults filled in); for an
            attrs class, an instance of it.

        Raises:
            OutputValidationError: The arguments are not JSON or do not fit; ``path``
                names where (``$.city``).
        """
        text = call if isinstance(call, str) else call.function.arguments
        try:
            data = _codec.loads(text or "{}")
        except ValueError:
            raise OutputValidationError(
                f"the arguments of {self.name} are not valid JSON", body=text[:65536]
            ) from None
        value = structure_output(data, self.arguments_type, body=text)
        if self._as_kwargs:
            return {a.name: getattr(value, a.name) for a in attrs.fields(type(value))}  # type: ignore[return-value]
        return value  # type: ignore[no-any-return]

    async def call(self, call: ChatCompletionMessageToolCall | str) -> Any:
        """Run the function with a call's arguments; sync functions run in a worker thread.

        Raises:
            OutputValidationError: The arguments do not fit.
            TypeError: The tool has no function (it was built from an attrs class).
        """
        if self.function is None:
            raise TypeError(f"the tool {self.name} has no function to run")
        kwargs: dict[str, Any] = dict(self.parse_arguments(call))  # type: ignore[call-overload]
        args = [kwargs.pop(name) for name in self._positional]
        if _is_async(self.function):
            result = await self.function(*args, **kwargs)
        else:
            run = functools.partial(self.function, *args, **kwargs)
            result = await anyio.to_thread.run_sync(run)
        return await result if inspect.isawaitable(result) else result


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


# A class is also a callable: the first overload wins for it, as meant.
@overload
def function_tool(  # type: ignore[overload-overlap]
    obj: type[T], *, name: str | None = None, description: str | None = None
) -> FunctionTool[T]: ...


@overload
def function_tool(
    obj: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> FunctionTool[dict[str, Any]]: ...


def function_tool(
    obj: Any, *, name: str | None = None, description: str | None = None
) -> FunctionTool[Any]:
    """A strict function tool from a typed function (sync or async) or a record class.

    Args:
        obj: A function whose parameters are all annotated (defaults are fine;
            ``*args`` and ``**kwargs`` are not), or an attrs class, a dataclass, a
            ``TypedDict`` or a pydantic model.
        name: The tool's name; default: the function's or class's name.
        description: What the tool does; default: the docstring's summary.

    Returns:
        The tool. Parameter descriptions come from the docstring's ``Args:``
        section (``Attributes:`` or field metadata for a class).

    Raises:
        SchemaError: A parameter has no annotation or an unsupported type; ``path``
            names it (``get_weather.city``).
    """
    doc = parse_docstring(getattr(obj, "__doc__", None))
    positional: tuple[str, ...] = ()
    if is_record(obj):
        tool_name: str = name or schema_name(obj)
        arguments, as_kwargs = obj, False
    elif callable(obj):
        tool_name = name or str(getattr(obj, "__name__", ""))
        arguments, positional = _arguments_class(obj, doc.args)
        as_kwargs = True
    else:
        raise SchemaError(repr(obj), "a tool must be a function or a record class")
    if not _TOOL_NAME.match(tool_name):
        raise SchemaError(
            tool_name, "a tool name takes a-z, A-Z, 0-9, _ and - (1 to 64); pass name="
        )
    return FunctionTool(
        name=tool_name,
        description=description or doc.summary or None,
        parameters=json_schema(arguments),
        arguments_type=arguments,
        function=None if arguments is obj else obj,
        as_kwargs=as_kwargs,
        positional=positional,
    )


def _arguments_class(
    fn: Callable[..., Any], descriptions: Mapping[str, str]
) -> tuple[type[Any], tuple[str, ...]]:
    """An attrs class with one field per parameter of ``fn``, and its positional-only ones."""
    fn_name = getattr(fn, "__name__", type(fn).__name__)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise SchemaError(fn_name, f"has no signature: {exc}") from None
    hints = class_hints(fn if inspect.isroutine(fn) else type(fn).__call__)
    fields = {}
    for p in signature.parameters.values():
        if p.kind in _VARIADIC:
            raise SchemaError(f"{fn_name}.{p.name}", "*args and **kwargs cannot be tool parameters")
        if p.name not in hints:
            raise SchemaError(f"{fn_name}.{p.name}", "has no type annotation")
        description = descriptions.get(p.name)
        fields[p.name] = attrs.field(
            type=hints[p.name],
            default=attrs.NOTHING if p.default is p.empty else p.default,
            metadata={"description": description} if description else {},
        )
    positional = tuple(p.name for p in signature.parameters.values() if p.kind is p.POSITIONAL_ONLY)
    return attrs.make_class(fn_name, fields, kw_only=True), positional


def as_tool(tool: Any) -> FunctionTool[Any]:
    """A :class:`FunctionTool` as it is, anything else through :func:`function_tool`."""
    return tool if isinstance(tool, FunctionTool) else function_tool(tool)


def _definition_dict(tool: FunctionTool[Any]) -> Any:
    return _codec.to_wire(tool.definition, ChatCompletionTool)


# A FunctionTool may stand in ``tools=[...]`` wherever a tool definition goes.
_codec.register_adapter(FunctionTool, _definition_dict)


# ------------------------------------------------------------------ the tool loop


@attrs.frozen(kw_only=True)
class ToolResult:
    """One tool call and what it returned.

    Attributes:
        tool_call: The call from the model.
        content: What was sent back to the model: the result as text (JSON for
            anything but a str), or ``"Error: <type>: <message>"``.
        value: The function's return value; None after an error.
        error: The exception the call raised (bad arguments and unknown tools
            included), or None.
    """

    tool_call: ChatCompletionMessageToolCall
    content: str
    value: Any = None
    error: Exception | None = None


@attrs.frozen(kw_only=True)
class ToolStep:
    """One round of the tool loop: a completion, and the tool calls it asked for.

    Attributes:
        index: The step's position, from 0.
        completion: The completion of this step's request.
        results: The results of its tool calls, in call order; empty for the final answer.
    """

    index: int
    completion: ChatCompletion
    results: list[ToolResult]

    @property
    def message(self) -> ChatCompletionMessage:
        """The assistant message of this step (the first choice's)."""
        return self.completion.choices[0].message


@attrs.frozen(kw_only=True)
class ToolRunResult:
    """The outcome of :func:`run_tools`.

    Attributes:
        completion: The final completion, whose message has no tool calls.
        messages: The whole conversation: the messages passed in, then every
            assistant turn and tool result, ending with the final answer. Pass it
            as ``messages`` to go on.
        steps: Every step, the final one included.
    """

    completion: ChatCompletion
    messages: list[Any]
    steps: list[ToolStep]

    @property
    def content(self) -> str | None:
        """The text of the final answer."""
        return self.completion.choices[0].message.content


def assistant_turn(message: ChatCompletionMessage) -> ChatCompletionRequestAssistantMessage:
    """A reply's message as the assistant turn of the next request's ``messages``."""
    turn = ChatCompletionRequestAssistantMessage(content=message.content)
    if message.refusal is not None:
        turn.refusal = message.refusal
    if message.tool_calls:
        turn.tool_calls = list(message.tool_calls)
    return turn


async def run_tools(
    completions: CompletionsAPI,
    *,
    tools: Sequence[Callable[..., Any] | FunctionTool[Any]],
    max_steps: int,
    on_step: Callable[[ToolStep], Any] | None,
    params: dict[str, Any],
) -> ToolRunResult:
    """The loop behind ``chat.completions.run_tools``; see there."""
    by_name = _runnable(tools)
    if max_steps < 1:
        raise RequestValidationError("max_steps", "must be at least 1")
    history = list(params.pop("messages", None) or ())
    definitions = [t.definition for t in by_name.values()]
    steps: list[ToolStep] = []
    for index in range(max_steps):
        completion: ChatCompletion = await completions.create(
            messages=history, tools=definitions, **params
        )
        if not completion.choices:
            raise APIResponseValidationError("the completion has no choices", path="$.choices")
        message = completion.choices[0].message
        calls = [
            c for c in message.tool_calls or () if isinstance(c, ChatCompletionMessageToolCall)
        ]
        history.append(assistant_turn(message))
        results = await _run_calls(by_name, calls) if calls else []
        history += [
            ChatCompletionRequestToolMessage(content=r.content, tool_call_id=r.tool_call.id)
            for r in results
        ]
        steps.append(step := ToolStep(index=index, completion=completion, results=results))
        if on_step is not None:
            await _maybe_await(on_step(step))
        if not calls:
            return ToolRunResult(completion=completion, messages=history, steps=steps)
    raise ToolLoopLimitError(
        f"the model still asked for tools after {max_steps} steps",
        completion=steps[-1].completion,
        messages=history,
        steps=steps,
    )


def _runnable(tools: Sequence[Any]) -> dict[str, FunctionTool[Any]]:
    by_name: dict[str, FunctionTool[Any]] = {}
    for i, item in enumerate(tools):
        tool = as_tool(item)
        if tool.function is None:
            raise RequestValidationError(f"tools[{i}]", f"{tool.name} has no function to run")
        if tool.name in by_name:
            raise RequestValidationError(f"tools[{i}]", f"two tools are named {tool.name}")
        by_name[tool.name] = tool
    return by_name


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


async def _run_calls(
    tools: Mapping[str, FunctionTool[Any]], calls: list[ChatCompletionMessageToolCall]
) -> list[ToolResult]:
    """Run every call at once; the results keep the calls' order."""
    results: list[ToolResult | None] = [None] * len(calls)

    async def run(i: int, call: ChatCompletionMessageToolCall) -> None:
        results[i] = await _run_call(tools, call)

    async with anyio.create_task_group() as group:
        for i, call in enumerate(calls):
            group.start_soon(run, i, call)
    return [r for r in results if r is not None]


async def _run_call(
    tools: Mapping[str, FunctionTool[Any]], call: ChatCompletionMessageToolCall
) -> ToolResult:
    tool = tools.get(call.function.name)
    try:
        if tool is None:
            known = ", ".join(tools)
            raise LookupError(f"no tool is named {call.function.name!r}; the tools: {known}")
        value = await tool.call(call)
    except Exception as exc:  # the model is told, and may try again
        return ToolResult(tool_call=call, content=f"Error: {type(exc).__name__}: {exc}", error=exc)
    return ToolResult(tool_call=call, content=tool_output(value), value=value)


def tool_output(value: Any) -> str:
    """A tool's return value as the tool message's text: str as is, the rest as JSON."""
    if isinstance(value, str):
        return value
    try:
        return _codec.dumps(unstructure_output(value)).decode()
    except Exception:  # not JSON-ready: its str() is the best the model can get
        return str(value)
