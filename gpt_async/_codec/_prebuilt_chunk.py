"""The response models' structure functions, generated ahead of time: do not edit.

Written by ``python -m gpt_async._codec._generate`` from the source the codec
generates at run time (``_fast.structure_source``); a test checks this file is
what the generator writes.
"""

# mypy: ignore-errors
# ruff: noqa
# fmt: off

from gpt_async._codec._primitives import MISSING as _M
from gpt_async._codec._primitives import detailed_only
from gpt_async._codec._primitives import mismatch as _mm
from gpt_async.models._base import ServiceTier
from gpt_async.models._chunk import ChatCompletionChunk
from gpt_async.models._chunk import ChoiceDelta
from gpt_async.models._chunk import ChoiceDeltaFunctionCall
from gpt_async.models._chunk import ChoiceDeltaRole
from gpt_async.models._chunk import ChoiceDeltaToolCall
from gpt_async.models._chunk import ChoiceDeltaToolCallFunction
from gpt_async.models._chunk import ChoiceDeltaToolCallType
from gpt_async.models._chunk import ChunkChoice
from gpt_async.models._response import FinishReason
from gpt_async._codec._prebuilt import structure_ChatCompletionModeration
from gpt_async._codec._prebuilt import structure_ChoiceLogprobs
from gpt_async._codec._prebuilt import structure_CompletionUsage

_new = object.__new__
_k_ChatCompletionChunk_0 = ChatCompletionChunk
_k_ChatCompletionChunk_1 = ''
_k_ChatCompletionChunk_2 = 0
_k_ChatCompletionChunk_3 = ''
_k_ChatCompletionChunk_4 = None
_k_ChatCompletionChunk_5 = None
_k_ChatCompletionChunk_7 = None
_k_ChatCompletionChunk_8 = 'chat.completion.chunk'
_k_ChatCompletionChunk_9 = None
_k_ChatCompletionChunk_10 = None
_k_ChatCompletionChunk_11 = frozenset(('choices', 'created', 'id', 'model', 'moderation', 'obfuscation', 'object', 'service_tier', 'system_fingerprint', 'usage'))
_k_ChatCompletionChunk_6 = ServiceTier._value2member_map_.get
_k_ChunkChoice_0 = ChunkChoice
_k_ChunkChoice_1 = ChoiceDelta
_k_ChunkChoice_2 = None
_k_ChunkChoice_3 = None
_k_ChunkChoice_5 = 0
_k_ChunkChoice_6 = frozenset(('delta', 'finish_reason', 'index', 'logprobs'))
_k_ChunkChoice_4 = FinishReason._value2member_map_.get
_k_ChoiceDelta_0 = ChoiceDelta
_k_ChoiceDelta_1 = None
_k_ChoiceDelta_2 = None
_k_ChoiceDelta_3 = None
_k_ChoiceDelta_4 = None
_k_ChoiceDelta_6 = None
_k_ChoiceDelta_7 = frozenset(('content', 'function_call', 'refusal', 'role', 'tool_calls'))
_k_ChoiceDelta_5 = ChoiceDeltaRole._value2member_map_.get
_k_ChoiceDeltaFunctionCall_0 = ChoiceDeltaFunctionCall
_k_ChoiceDeltaFunctionCall_1 = None
_k_ChoiceDeltaFunctionCall_2 = None
_k_ChoiceDeltaFunctionCall_3 = frozenset(('arguments', 'name'))
_k_ChoiceDeltaToolCall_0 = ChoiceDeltaToolCall
_k_ChoiceDeltaToolCall_1 = 0
_k_ChoiceDeltaToolCall_2 = None
_k_ChoiceDeltaToolCall_3 = None
_k_ChoiceDeltaToolCall_4 = None
_k_ChoiceDeltaToolCall_6 = frozenset(('function', 'id', 'index', 'type'))
_k_ChoiceDeltaToolCall_5 = ChoiceDeltaToolCallType._value2member_map_.get
_k_ChoiceDeltaToolCallFunction_0 = ChoiceDeltaToolCallFunction
_k_ChoiceDeltaToolCallFunction_1 = None
_k_ChoiceDeltaToolCallFunction_2 = None
_k_ChoiceDeltaToolCallFunction_3 = frozenset(('arguments', 'name'))


def structure_ChatCompletionChunk(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletionChunk_0)
    v = d.get('id', _M)
    o.id = _k_ChatCompletionChunk_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('choices', _M)
    o.choices = _mm() if v is _M else ([structure_ChunkChoice(x0) for x0 in v] if type(v) is list else _mm())
    v = d.get('created', _M)
    o.created = _k_ChatCompletionChunk_2 if v is _M else (v if type(v) is int else _mm())
    v = d.get('model', _M)
    o.model = _k_ChatCompletionChunk_3 if v is _M else (v if type(v) is str else _mm())
    v = d.get('obfuscation')
    o.obfuscation = (None if v is None else (v if type(v) is str else _mm()))
    v = d.get('service_tier')
    o.service_tier = (None if v is None else (_k_ChatCompletionChunk_6(v, v) if type(v) is str else _mm()))
    v = d.get('system_fingerprint')
    o.system_fingerprint = (None if v is None else (v if type(v) is str else _mm()))
    v = d.get('object', _M)
    o.object = _k_ChatCompletionChunk_8 if v is _M else (v if type(v) is str else _mm())
    v = d.get('usage')
    o.usage = (None if v is None else structure_CompletionUsage(v))
    v = d.get('moderation')
    o.moderation = (None if v is None else structure_ChatCompletionModeration(v))
    o.extra = {} if _k_ChatCompletionChunk_11.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletionChunk_11}
    o._wire = d
    return o


def structure_ChunkChoice(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChunkChoice_0)
    v = d.get('delta', _M)
    o.delta = _k_ChunkChoice_1() if v is _M else structure_ChoiceDelta(v)
    v = d.get('logprobs')
    o.logprobs = (None if v is None else structure_ChoiceLogprobs(v))
    v = d.get('finish_reason')
    o.finish_reason = (None if v is None else (_k_ChunkChoice_4(v, v) if type(v) is str else _mm()))
    v = d.get('index', _M)
    o.index = _k_ChunkChoice_5 if v is _M else (v if type(v) is int else _mm())
    o.extra = {} if _k_ChunkChoice_6.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChunkChoice_6}
    o._wire = d
    return o


def structure_ChoiceDelta(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChoiceDelta_0)
    v = d.get('content')
    o.content = (None if v is None else (v if type(v) is str else _mm()))
    v = d.get('function_call')
    o.function_call = (None if v is None else structure_ChoiceDeltaFunctionCall(v))
    v = d.get('tool_calls')
    o.tool_calls = (None if v is None else ([structure_ChoiceDeltaToolCall(x0) for x0 in v] if type(v) is list else _mm()))
    v = d.get('role')
    o.role = (None if v is None else (_k_ChoiceDelta_5(v, v) if type(v) is str else _mm()))
    v = d.get('refusal')
    o.refusal = (None if v is None else (v if type(v) is str else _mm()))
    o.extra = {} if _k_ChoiceDelta_7.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChoiceDelta_7}
    o._wire = d
    return o


def structure_ChoiceDeltaFunctionCall(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChoiceDeltaFunctionCall_0)
    v = d.get('arguments')
    o.arguments = (None if v is None else (v if type(v) is str else _mm()))
    v = d.get('name')
    o.name = (None if v is None else (v if type(v) is str else _mm()))
    o.extra = {} if _k_ChoiceDeltaFunctionCall_3.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChoiceDeltaFunctionCall_3}
    o._wire = d
    return o


def structure_ChoiceDeltaToolCall(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChoiceDeltaToolCall_0)
    v = d.get('index', _M)
    o.index = _k_ChoiceDeltaToolCall_1 if v is _M else (v if type(v) is int else _mm())
    v = d.get('id')
    o.id = (None if v is None else (v if type(v) is str else _mm()))
    v = d.get('function')
    o.function = (None if v is None else structure_ChoiceDeltaToolCallFunction(v))
    v = d.get('type')
    o.type = (None if v is None else (_k_ChoiceDeltaToolCall_5(v, v) if type(v) is str else _mm()))
    o.extra = {} if _k_ChoiceDeltaToolCall_6.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChoiceDeltaToolCall_6}
    o._wire = d
    return o


def structure_ChoiceDeltaToolCallFunction(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChoiceDeltaToolCallFunction_0)
    v = d.get('name')
    o.name = (None if v is None else (v if type(v) is str else _mm()))
    v = d.get('arguments')
    o.arguments = (None if v is None else (v if type(v) is str else _mm()))
    o.extra = {} if _k_ChoiceDeltaToolCallFunction_3.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChoiceDeltaToolCallFunction_3}
    o._wire = d
    return o


PREBUILT = {
    ChatCompletionChunk: structure_ChatCompletionChunk,
    ChunkChoice: structure_ChunkChoice,
    ChoiceDelta: structure_ChoiceDelta,
    ChoiceDeltaFunctionCall: structure_ChoiceDeltaFunctionCall,
    ChoiceDeltaToolCall: structure_ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction: structure_ChoiceDeltaToolCallFunction,
}
