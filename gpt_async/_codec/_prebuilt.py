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
from gpt_async.models._messages import ChatCompletionMessageCustomToolCall
from gpt_async.models._messages import ChatCompletionMessageCustomToolCallType
from gpt_async.models._messages import ChatCompletionMessageToolCall
from gpt_async.models._messages import ChatCompletionMessageToolCallType
from gpt_async.models._messages import FunctionCall
from gpt_async.models._messages import ToolCallCustom
from gpt_async.models._messages import ToolCallFunction
from gpt_async.models._response import Annotation
from gpt_async.models._response import AnnotationType
from gpt_async.models._response import ChatCompletion
from gpt_async.models._response import ChatCompletionAudio
from gpt_async.models._response import ChatCompletionMessage
from gpt_async.models._response import ChatCompletionModeration
from gpt_async.models._response import ChatCompletionModerationError
from gpt_async.models._response import ChatCompletionModerationErrorType
from gpt_async.models._response import ChatCompletionModerationResults
from gpt_async.models._response import ChatCompletionModerationResultsType
from gpt_async.models._response import ChatCompletionTokenLogprob
from gpt_async.models._response import Choice
from gpt_async.models._response import ChoiceLogprobs
from gpt_async.models._response import CompletionTokensDetails
from gpt_async.models._response import CompletionUsage
from gpt_async.models._response import FinishReason
from gpt_async.models._response import ModerationInputType
from gpt_async.models._response import ModerationResultBody
from gpt_async.models._response import ModerationResultBodyType
from gpt_async.models._response import PromptTokensDetails
from gpt_async.models._response import TopLogprob
from gpt_async.models._response import URLCitation

_new = object.__new__
_k_ChatCompletion_0 = ChatCompletion
_k_ChatCompletion_1 = ''
_k_ChatCompletion_2 = 0
_k_ChatCompletion_3 = ''
_k_ChatCompletion_4 = None
_k_ChatCompletion_5 = None
_k_ChatCompletion_7 = None
_k_ChatCompletion_8 = 'chat.completion'
_k_ChatCompletion_9 = None
_k_ChatCompletion_10 = None
_k_ChatCompletion_11 = frozenset(('choices', 'created', 'id', 'metadata', 'model', 'moderation', 'object', 'service_tier', 'system_fingerprint', 'usage'))
_k_ChatCompletion_6 = ServiceTier._value2member_map_.get
_k_Choice_0 = Choice
_k_Choice_1 = None
_k_Choice_3 = 0
_k_Choice_4 = ChatCompletionMessage
_k_Choice_5 = None
_k_Choice_6 = frozenset(('finish_reason', 'index', 'logprobs', 'message'))
_k_Choice_2 = FinishReason._value2member_map_.get
_k_CompletionUsage_0 = CompletionUsage
_k_CompletionUsage_1 = 0
_k_CompletionUsage_2 = 0
_k_CompletionUsage_3 = 0
_k_CompletionUsage_4 = None
_k_CompletionUsage_5 = None
_k_CompletionUsage_6 = frozenset(('completion_tokens', 'completion_tokens_details', 'prompt_tokens', 'prompt_tokens_details', 'total_tokens'))
_k_ChatCompletionModeration_0 = ChatCompletionModeration
_k_ChatCompletionModeration_1 = None
_k_ChatCompletionModeration_2 = None
_k_ChatCompletionModeration_3 = frozenset(('input', 'output'))
_k_ChatCompletionMessage_0 = ChatCompletionMessage
_k_ChatCompletionMessage_1 = None
_k_ChatCompletionMessage_2 = None
_k_ChatCompletionMessage_3 = None
_k_ChatCompletionMessage_4 = None
_k_ChatCompletionMessage_5 = 'assistant'
_k_ChatCompletionMessage_6 = None
_k_ChatCompletionMessage_7 = None
_k_ChatCompletionMessage_8 = frozenset(('annotations', 'audio', 'content', 'function_call', 'refusal', 'role', 'tool_calls'))
_k_ChoiceLogprobs_0 = ChoiceLogprobs
_k_ChoiceLogprobs_1 = None
_k_ChoiceLogprobs_2 = None
_k_ChoiceLogprobs_3 = frozenset(('content', 'refusal'))
_k_CompletionTokensDetails_0 = CompletionTokensDetails
_k_CompletionTokensDetails_1 = None
_k_CompletionTokensDetails_2 = None
_k_CompletionTokensDetails_3 = None
_k_CompletionTokensDetails_4 = None
_k_CompletionTokensDetails_5 = None
_k_CompletionTokensDetails_6 = frozenset(('accepted_prediction_tokens', 'audio_tokens', 'reasoning_tokens', 'rejected_prediction_tokens', 'text_tokens'))
_k_PromptTokensDetails_0 = PromptTokensDetails
_k_PromptTokensDetails_1 = None
_k_PromptTokensDetails_2 = None
_k_PromptTokensDetails_3 = None
_k_PromptTokensDetails_4 = None
_k_PromptTokensDetails_5 = None
_k_PromptTokensDetails_6 = frozenset(('audio_tokens', 'cache_write_tokens', 'cached_tokens', 'image_tokens', 'text_tokens'))
_k_ChatCompletionModerationResults_0 = ChatCompletionModerationResults
_k_ChatCompletionModerationResults_1 = ''
_k_ChatCompletionModerationResults_2 = list
_k_ChatCompletionModerationResults_3 = ChatCompletionModerationResultsType.MODERATION_RESULTS
_k_ChatCompletionModerationResults_5 = frozenset(('model', 'results', 'type'))
_k_ChatCompletionModerationResults_4 = ChatCompletionModerationResultsType._value2member_map_.get
_k_ChatCompletionModerationError_0 = ChatCompletionModerationError
_k_ChatCompletionModerationError_1 = ''
_k_ChatCompletionModerationError_2 = ''
_k_ChatCompletionModerationError_3 = ChatCompletionModerationErrorType.ERROR
_k_ChatCompletionModerationError_5 = frozenset(('code', 'message', 'type'))
_k_ChatCompletionModerationError_4 = ChatCompletionModerationErrorType._value2member_map_.get
_k_ChatCompletionMessageToolCall_0 = ChatCompletionMessageToolCall
_k_ChatCompletionMessageToolCall_1 = ''
_k_ChatCompletionMessageToolCall_2 = ToolCallFunction
_k_ChatCompletionMessageToolCall_3 = ChatCompletionMessageToolCallType.FUNCTION
_k_ChatCompletionMessageToolCall_5 = frozenset(('function', 'id', 'type'))
_k_ChatCompletionMessageToolCall_4 = ChatCompletionMessageToolCallType._value2member_map_.get
_k_ChatCompletionMessageCustomToolCall_0 = ChatCompletionMessageCustomToolCall
_k_ChatCompletionMessageCustomToolCall_1 = ''
_k_ChatCompletionMessageCustomToolCall_2 = ToolCallCustom
_k_ChatCompletionMessageCustomToolCall_3 = ChatCompletionMessageCustomToolCallType.CUSTOM
_k_ChatCompletionMessageCustomToolCall_5 = frozenset(('custom', 'id', 'type'))
_k_ChatCompletionMessageCustomToolCall_4 = ChatCompletionMessageCustomToolCallType._value2member_map_.get
_k_Annotation_0 = Annotation
_k_Annotation_1 = URLCitation
_k_Annotation_2 = AnnotationType.URL_CITATION
_k_Annotation_4 = frozenset(('type', 'url_citation'))
_k_Annotation_3 = AnnotationType._value2member_map_.get
_k_FunctionCall_0 = FunctionCall
_k_FunctionCall_1 = ''
_k_FunctionCall_2 = ''
_k_FunctionCall_3 = frozenset(('arguments', 'name'))
_k_ChatCompletionAudio_0 = ChatCompletionAudio
_k_ChatCompletionAudio_1 = ''
_k_ChatCompletionAudio_2 = 0
_k_ChatCompletionAudio_3 = ''
_k_ChatCompletionAudio_4 = ''
_k_ChatCompletionAudio_5 = frozenset(('data', 'expires_at', 'id', 'transcript'))
_k_ChatCompletionTokenLogprob_0 = ChatCompletionTokenLogprob
_k_ChatCompletionTokenLogprob_1 = ''
_k_ChatCompletionTokenLogprob_2 = 0.0
_k_ChatCompletionTokenLogprob_3 = None
_k_ChatCompletionTokenLogprob_4 = list
_k_ChatCompletionTokenLogprob_5 = frozenset(('bytes', 'logprob', 'token', 'top_logprobs'))
_k_ModerationResultBody_0 = ModerationResultBody
_k_ModerationResultBody_1 = ''
_k_ModerationResultBody_2 = False
_k_ModerationResultBody_3 = dict
_k_ModerationResultBody_4 = dict
_k_ModerationResultBody_5 = dict
_k_ModerationResultBody_7 = ModerationResultBodyType.MODERATION_RESULT
_k_ModerationResultBody_9 = frozenset(('categories', 'category_applied_input_types', 'category_scores', 'flagged', 'model', 'type'))
_k_ModerationResultBody_6 = ModerationInputType._value2member_map_.get
_k_ModerationResultBody_8 = ModerationResultBodyType._value2member_map_.get
_k_ToolCallFunction_0 = ToolCallFunction
_k_ToolCallFunction_1 = ''
_k_ToolCallFunction_2 = ''
_k_ToolCallFunction_3 = frozenset(('arguments', 'name'))
_k_ToolCallCustom_0 = ToolCallCustom
_k_ToolCallCustom_1 = ''
_k_ToolCallCustom_2 = ''
_k_ToolCallCustom_3 = frozenset(('input', 'name'))
_k_URLCitation_0 = URLCitation
_k_URLCitation_1 = 0
_k_URLCitation_2 = 0
_k_URLCitation_3 = ''
_k_URLCitation_4 = ''
_k_URLCitation_5 = frozenset(('end_index', 'start_index', 'title', 'url'))
_k_TopLogprob_0 = TopLogprob
_k_TopLogprob_1 = ''
_k_TopLogprob_2 = 0.0
_k_TopLogprob_3 = None
_k_TopLogprob_4 = frozenset(('bytes', 'logprob', 'token'))


def structure_ChatCompletion(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletion_0)
    v = d.get('id', _M)
    o.id = _k_ChatCompletion_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('choices', _M)
    o.choices = _mm() if v is _M else ([structure_Choice(x0) for x0 in v] if type(v) is list else _mm())
    v = d.get('created', _M)
    o.created = _k_ChatCompletion_2 if v is _M else (v if type(v) is int else _mm())
    v = d.get('model', _M)
    o.model = _k_ChatCompletion_3 if v is _M else (v if type(v) is str else _mm())
    v = d.get('metadata')
    o.metadata = (None if v is None else ({(k0 if type(k0) is str else _mm()): (x0 if type(x0) is str else _mm()) for k0, x0 in v.items()} if type(v) is dict else _mm()))
    v = d.get('service_tier')
    o.service_tier = (None if v is None else (_k_ChatCompletion_6(v, v) if type(v) is str else _mm()))
    v = d.get('system_fingerprint')
    o.system_fingerprint = (None if v is None else (v if type(v) is str else _mm()))
    v = d.get('object', _M)
    o.object = _k_ChatCompletion_8 if v is _M else (v if type(v) is str else _mm())
    v = d.get('usage')
    o.usage = (None if v is None else structure_CompletionUsage(v))
    v = d.get('moderation')
    o.moderation = (None if v is None else structure_ChatCompletionModeration(v))
    o.extra = {} if _k_ChatCompletion_11.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletion_11}
    o._wire = d
    return o


def structure_Choice(d):
    if type(d) is not dict: _mm()
    o = _new(_k_Choice_0)
    v = d.get('finish_reason')
    o.finish_reason = (None if v is None else (_k_Choice_2(v, v) if type(v) is str else _mm()))
    v = d.get('index', _M)
    o.index = _k_Choice_3 if v is _M else (v if type(v) is int else _mm())
    v = d.get('message', _M)
    o.message = _k_Choice_4() if v is _M else structure_ChatCompletionMessage(v)
    v = d.get('logprobs')
    o.logprobs = (None if v is None else structure_ChoiceLogprobs(v))
    o.extra = {} if _k_Choice_6.issuperset(d) else {k: x for k, x in d.items() if k not in _k_Choice_6}
    o._wire = d
    return o


def structure_CompletionUsage(d):
    if type(d) is not dict: _mm()
    o = _new(_k_CompletionUsage_0)
    v = d.get('completion_tokens', _M)
    o.completion_tokens = _k_CompletionUsage_1 if v is _M else (v if type(v) is int else _mm())
    v = d.get('prompt_tokens', _M)
    o.prompt_tokens = _k_CompletionUsage_2 if v is _M else (v if type(v) is int else _mm())
    v = d.get('total_tokens', _M)
    o.total_tokens = _k_CompletionUsage_3 if v is _M else (v if type(v) is int else _mm())
    v = d.get('completion_tokens_details')
    o.completion_tokens_details = (None if v is None else structure_CompletionTokensDetails(v))
    v = d.get('prompt_tokens_details')
    o.prompt_tokens_details = (None if v is None else structure_PromptTokensDetails(v))
    o.extra = {} if _k_CompletionUsage_6.issuperset(d) else {k: x for k, x in d.items() if k not in _k_CompletionUsage_6}
    o._wire = d
    return o


def structure_ChatCompletionModeration(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletionModeration_0)
    v = d.get('input')
    o.input = (None if v is None else ((structure_ChatCompletionModerationResults(v) if t0 == 'moderation_results' else structure_ChatCompletionModerationError(v) if t0 == 'error' else v if t0 is None or type(t0) is str else _mm()) if type(v) is dict and (t0 := v.get('type'), 1) else _mm()))
    v = d.get('output')
    o.output = (None if v is None else ((structure_ChatCompletionModerationResults(v) if t0 == 'moderation_results' else structure_ChatCompletionModerationError(v) if t0 == 'error' else v if t0 is None or type(t0) is str else _mm()) if type(v) is dict and (t0 := v.get('type'), 1) else _mm()))
    o.extra = {} if _k_ChatCompletionModeration_3.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletionModeration_3}
    o._wire = d
    return o


def structure_ChatCompletionMessage(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletionMessage_0)
    v = d.get('content')
    o.content = (None if v is None else (v if type(v) is str else _mm()))
    v = d.get('refusal')
    o.refusal = (None if v is None else (v if type(v) is str else _mm()))
    v = d.get('tool_calls')
    o.tool_calls = (None if v is None else ([((structure_ChatCompletionMessageToolCall(x0) if t1 == 'function' else structure_ChatCompletionMessageCustomToolCall(x0) if t1 == 'custom' else x0 if t1 is None or type(t1) is str else _mm()) if type(x0) is dict and (t1 := x0.get('type'), 1) else _mm()) for x0 in v] if type(v) is list else _mm()))
    v = d.get('annotations')
    o.annotations = (None if v is None else ([structure_Annotation(x0) for x0 in v] if type(v) is list else _mm()))
    v = d.get('role', _M)
    o.role = _k_ChatCompletionMessage_5 if v is _M else (v if type(v) is str else _mm())
    v = d.get('function_call')
    o.function_call = (None if v is None else structure_FunctionCall(v))
    v = d.get('audio')
    o.audio = (None if v is None else structure_ChatCompletionAudio(v))
    o.extra = {} if _k_ChatCompletionMessage_8.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletionMessage_8}
    o._wire = d
    return o


def structure_ChoiceLogprobs(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChoiceLogprobs_0)
    v = d.get('content')
    o.content = (None if v is None else ([structure_ChatCompletionTokenLogprob(x0) for x0 in v] if type(v) is list else _mm()))
    v = d.get('refusal')
    o.refusal = (None if v is None else ([structure_ChatCompletionTokenLogprob(x0) for x0 in v] if type(v) is list else _mm()))
    o.extra = {} if _k_ChoiceLogprobs_3.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChoiceLogprobs_3}
    o._wire = d
    return o


def structure_CompletionTokensDetails(d):
    if type(d) is not dict: _mm()
    o = _new(_k_CompletionTokensDetails_0)
    v = d.get('accepted_prediction_tokens')
    o.accepted_prediction_tokens = (None if v is None else (v if type(v) is int else _mm()))
    v = d.get('audio_tokens')
    o.audio_tokens = (None if v is None else (v if type(v) is int else _mm()))
    v = d.get('reasoning_tokens')
    o.reasoning_tokens = (None if v is None else (v if type(v) is int else _mm()))
    v = d.get('text_tokens')
    o.text_tokens = (None if v is None else (v if type(v) is int else _mm()))
    v = d.get('rejected_prediction_tokens')
    o.rejected_prediction_tokens = (None if v is None else (v if type(v) is int else _mm()))
    o.extra = {} if _k_CompletionTokensDetails_6.issuperset(d) else {k: x for k, x in d.items() if k not in _k_CompletionTokensDetails_6}
    o._wire = d
    return o


def structure_PromptTokensDetails(d):
    if type(d) is not dict: _mm()
    o = _new(_k_PromptTokensDetails_0)
    v = d.get('audio_tokens')
    o.audio_tokens = (None if v is None else (v if type(v) is int else _mm()))
    v = d.get('cached_tokens')
    o.cached_tokens = (None if v is None else (v if type(v) is int else _mm()))
    v = d.get('text_tokens')
    o.text_tokens = (None if v is None else (v if type(v) is int else _mm()))
    v = d.get('image_tokens')
    o.image_tokens = (None if v is None else (v if type(v) is int else _mm()))
    v = d.get('cache_write_tokens')
    o.cache_write_tokens = (None if v is None else (v if type(v) is int else _mm()))
    o.extra = {} if _k_PromptTokensDetails_6.issuperset(d) else {k: x for k, x in d.items() if k not in _k_PromptTokensDetails_6}
    o._wire = d
    return o


def structure_ChatCompletionModerationResults(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletionModerationResults_0)
    v = d.get('model', _M)
    o.model = _k_ChatCompletionModerationResults_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('results', _M)
    o.results = _k_ChatCompletionModerationResults_2() if v is _M else ([structure_ModerationResultBody(x0) for x0 in v] if type(v) is list else _mm())
    v = d.get('type', _M)
    o.type = _k_ChatCompletionModerationResults_3 if v is _M else (_k_ChatCompletionModerationResults_4(v, v) if type(v) is str else _mm())
    o.extra = {} if _k_ChatCompletionModerationResults_5.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletionModerationResults_5}
    o._wire = d
    return o


def structure_ChatCompletionModerationError(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletionModerationError_0)
    v = d.get('code', _M)
    o.code = _k_ChatCompletionModerationError_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('message', _M)
    o.message = _k_ChatCompletionModerationError_2 if v is _M else (v if type(v) is str else _mm())
    v = d.get('type', _M)
    o.type = _k_ChatCompletionModerationError_3 if v is _M else (_k_ChatCompletionModerationError_4(v, v) if type(v) is str else _mm())
    o.extra = {} if _k_ChatCompletionModerationError_5.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletionModerationError_5}
    o._wire = d
    return o


def structure_ChatCompletionMessageToolCall(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletionMessageToolCall_0)
    v = d.get('id', _M)
    o.id = _k_ChatCompletionMessageToolCall_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('function', _M)
    o.function = _k_ChatCompletionMessageToolCall_2() if v is _M else structure_ToolCallFunction(v)
    v = d.get('type', _M)
    o.type = _k_ChatCompletionMessageToolCall_3 if v is _M else (_k_ChatCompletionMessageToolCall_4(v, v) if type(v) is str else _mm())
    o.extra = {} if _k_ChatCompletionMessageToolCall_5.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletionMessageToolCall_5}
    o._wire = d
    return o


def structure_ChatCompletionMessageCustomToolCall(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletionMessageCustomToolCall_0)
    v = d.get('id', _M)
    o.id = _k_ChatCompletionMessageCustomToolCall_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('custom', _M)
    o.custom = _k_ChatCompletionMessageCustomToolCall_2() if v is _M else structure_ToolCallCustom(v)
    v = d.get('type', _M)
    o.type = _k_ChatCompletionMessageCustomToolCall_3 if v is _M else (_k_ChatCompletionMessageCustomToolCall_4(v, v) if type(v) is str else _mm())
    o.extra = {} if _k_ChatCompletionMessageCustomToolCall_5.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletionMessageCustomToolCall_5}
    o._wire = d
    return o


def structure_Annotation(d):
    if type(d) is not dict: _mm()
    o = _new(_k_Annotation_0)
    v = d.get('url_citation', _M)
    o.url_citation = _k_Annotation_1() if v is _M else structure_URLCitation(v)
    v = d.get('type', _M)
    o.type = _k_Annotation_2 if v is _M else (_k_Annotation_3(v, v) if type(v) is str else _mm())
    o.extra = {} if _k_Annotation_4.issuperset(d) else {k: x for k, x in d.items() if k not in _k_Annotation_4}
    o._wire = d
    return o


def structure_FunctionCall(d):
    if type(d) is not dict: _mm()
    o = _new(_k_FunctionCall_0)
    v = d.get('arguments', _M)
    o.arguments = _k_FunctionCall_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('name', _M)
    o.name = _k_FunctionCall_2 if v is _M else (v if type(v) is str else _mm())
    o.extra = {} if _k_FunctionCall_3.issuperset(d) else {k: x for k, x in d.items() if k not in _k_FunctionCall_3}
    o._wire = d
    return o


def structure_ChatCompletionAudio(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletionAudio_0)
    v = d.get('id', _M)
    o.id = _k_ChatCompletionAudio_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('expires_at', _M)
    o.expires_at = _k_ChatCompletionAudio_2 if v is _M else (v if type(v) is int else _mm())
    v = d.get('data', _M)
    o.data = _k_ChatCompletionAudio_3 if v is _M else (v if type(v) is str else _mm())
    v = d.get('transcript', _M)
    o.transcript = _k_ChatCompletionAudio_4 if v is _M else (v if type(v) is str else _mm())
    o.extra = {} if _k_ChatCompletionAudio_5.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletionAudio_5}
    o._wire = d
    return o


def structure_ChatCompletionTokenLogprob(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ChatCompletionTokenLogprob_0)
    v = d.get('token', _M)
    o.token = _k_ChatCompletionTokenLogprob_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('logprob', _M)
    o.logprob = _k_ChatCompletionTokenLogprob_2 if v is _M else (v if type(v) is float or type(v) is int else _mm())
    v = d.get('bytes')
    o.bytes = (None if v is None else ([(x0 if type(x0) is int else _mm()) for x0 in v] if type(v) is list else _mm()))
    v = d.get('top_logprobs', _M)
    o.top_logprobs = _k_ChatCompletionTokenLogprob_4() if v is _M else ([structure_TopLogprob(x0) for x0 in v] if type(v) is list else _mm())
    o.extra = {} if _k_ChatCompletionTokenLogprob_5.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ChatCompletionTokenLogprob_5}
    o._wire = d
    return o


def structure_ModerationResultBody(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ModerationResultBody_0)
    v = d.get('model', _M)
    o.model = _k_ModerationResultBody_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('flagged', _M)
    o.flagged = _k_ModerationResultBody_2 if v is _M else (v if v is True or v is False else _mm())
    v = d.get('categories', _M)
    o.categories = _k_ModerationResultBody_3() if v is _M else ({(k0 if type(k0) is str else _mm()): (x0 if x0 is True or x0 is False else _mm()) for k0, x0 in v.items()} if type(v) is dict else _mm())
    v = d.get('category_scores', _M)
    o.category_scores = _k_ModerationResultBody_4() if v is _M else ({(k0 if type(k0) is str else _mm()): (x0 if type(x0) is float or type(x0) is int else _mm()) for k0, x0 in v.items()} if type(v) is dict else _mm())
    v = d.get('category_applied_input_types', _M)
    o.category_applied_input_types = _k_ModerationResultBody_5() if v is _M else ({(k0 if type(k0) is str else _mm()): ([(_k_ModerationResultBody_6(x1, x1) if type(x1) is str else _mm()) for x1 in x0] if type(x0) is list else _mm()) for k0, x0 in v.items()} if type(v) is dict else _mm())
    v = d.get('type', _M)
    o.type = _k_ModerationResultBody_7 if v is _M else (_k_ModerationResultBody_8(v, v) if type(v) is str else _mm())
    o.extra = {} if _k_ModerationResultBody_9.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ModerationResultBody_9}
    o._wire = d
    return o


def structure_ToolCallFunction(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ToolCallFunction_0)
    v = d.get('name', _M)
    o.name = _k_ToolCallFunction_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('arguments', _M)
    o.arguments = _k_ToolCallFunction_2 if v is _M else (v if type(v) is str else _mm())
    o.extra = {} if _k_ToolCallFunction_3.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ToolCallFunction_3}
    o._wire = d
    return o


def structure_ToolCallCustom(d):
    if type(d) is not dict: _mm()
    o = _new(_k_ToolCallCustom_0)
    v = d.get('name', _M)
    o.name = _k_ToolCallCustom_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('input', _M)
    o.input = _k_ToolCallCustom_2 if v is _M else (v if type(v) is str else _mm())
    o.extra = {} if _k_ToolCallCustom_3.issuperset(d) else {k: x for k, x in d.items() if k not in _k_ToolCallCustom_3}
    o._wire = d
    return o


def structure_URLCitation(d):
    if type(d) is not dict: _mm()
    o = _new(_k_URLCitation_0)
    v = d.get('end_index', _M)
    o.end_index = _k_URLCitation_1 if v is _M else (v if type(v) is int else _mm())
    v = d.get('start_index', _M)
    o.start_index = _k_URLCitation_2 if v is _M else (v if type(v) is int else _mm())
    v = d.get('url', _M)
    o.url = _k_URLCitation_3 if v is _M else (v if type(v) is str else _mm())
    v = d.get('title', _M)
    o.title = _k_URLCitation_4 if v is _M else (v if type(v) is str else _mm())
    o.extra = {} if _k_URLCitation_5.issuperset(d) else {k: x for k, x in d.items() if k not in _k_URLCitation_5}
    o._wire = d
    return o


def structure_TopLogprob(d):
    if type(d) is not dict: _mm()
    o = _new(_k_TopLogprob_0)
    v = d.get('token', _M)
    o.token = _k_TopLogprob_1 if v is _M else (v if type(v) is str else _mm())
    v = d.get('logprob', _M)
    o.logprob = _k_TopLogprob_2 if v is _M else (v if type(v) is float or type(v) is int else _mm())
    v = d.get('bytes')
    o.bytes = (None if v is None else ([(x0 if type(x0) is int else _mm()) for x0 in v] if type(v) is list else _mm()))
    o.extra = {} if _k_TopLogprob_4.issuperset(d) else {k: x for k, x in d.items() if k not in _k_TopLogprob_4}
    o._wire = d
    return o


PREBUILT = {
    ChatCompletion: structure_ChatCompletion,
    Choice: structure_Choice,
    CompletionUsage: structure_CompletionUsage,
    ChatCompletionModeration: structure_ChatCompletionModeration,
    ChatCompletionMessage: structure_ChatCompletionMessage,
    ChoiceLogprobs: structure_ChoiceLogprobs,
    CompletionTokensDetails: structure_CompletionTokensDetails,
    PromptTokensDetails: structure_PromptTokensDetails,
    ChatCompletionModerationResults: structure_ChatCompletionModerationResults,
    ChatCompletionModerationError: structure_ChatCompletionModerationError,
    ChatCompletionMessageToolCall: structure_ChatCompletionMessageToolCall,
    ChatCompletionMessageCustomToolCall: structure_ChatCompletionMessageCustomToolCall,
    Annotation: structure_Annotation,
    FunctionCall: structure_FunctionCall,
    ChatCompletionAudio: structure_ChatCompletionAudio,
    ChatCompletionTokenLogprob: structure_ChatCompletionTokenLogprob,
    ModerationResultBody: structure_ModerationResultBody,
    ToolCallFunction: structure_ToolCallFunction,
    ToolCallCustom: structure_ToolCallCustom,
    URLCitation: structure_URLCitation,
    TopLogprob: structure_TopLogprob,
}
