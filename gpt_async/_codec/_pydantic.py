"""The wire models as pydantic sees them: validated by the codec, serialised as ``to_json``.

Loaded only by :meth:`WireModel.__get_pydantic_core_schema__
<gpt_async._types.WireModel>`, which pydantic calls when it first meets a wire model
(a FastAPI ``response_model=``, a return annotation, a request body, a
``TypeAdapter``); ``import gpt_async`` never imports pydantic. The models stay attrs
classes: pydantic gets a plain validator (the codec's lenient :func:`structure`, its
errors as pydantic's), a plain serializer (:func:`to_dict`, so the JSON is
``to_json``'s) and, for JSON Schema and ``/openapi.json`` only, the shape of the
fields as a ``typed_dict`` schema.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs
from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from gpt_async._exceptions import APIResponseValidationError, RequestValidationError
from gpt_async._types import LOCAL_KEY, UNSET

from ._hints import extra_field, field_type, is_union, wire_members
from ._inbound import structure, to_dict
from ._outbound import to_wire

__all__ = ["wire_core_schema"]


def wire_core_schema(cls: type[Any], handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    """The core schema of a wire model class (see the module docstring)."""
    shape = _shape(cls, handler)
    is_request = any(a.default is UNSET for a in attrs.fields(cls))

    def validate(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        try:
            model = structure(value, cls)
            if is_request:  # a request body is checked as it would be sent: the field named
                to_wire(model, cls)
        except (APIResponseValidationError, RequestValidationError) as exc:
            raise PydanticCustomError("wire_model", "{reason}", {"reason": str(exc)}) from None
        return model

    return core_schema.no_info_plain_validator_function(
        validate,
        # No return_schema: pydantic would check (and copy) to_dict's output against it;
        # the JSON Schema of both directions is the shape's.
        serialization=core_schema.plain_serializer_function_ser_schema(to_dict),
        metadata={"pydantic_js_functions": [lambda _, handler: handler(shape)]},
    )


def _shape(cls: type[Any], handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    """The fields as a ``typed_dict`` schema: what the JSON Schema says; never used to validate."""
    extra = extra_field(cls)
    fields = {}
    for a in attrs.fields(cls):
        if a.name == extra or a.metadata.get(LOCAL_KEY):
            continue
        hint = _without_unset(field_type(cls, a.name))
        fields[a.name] = core_schema.typed_dict_field(
            handler.generate_schema(hint), required=a.default is attrs.NOTHING
        )
    return core_schema.typed_dict_schema(
        fields,
        ref=f"{cls.__module__}.{cls.__qualname__}",
        cls=cls,
        extra_behavior="allow" if extra else "ignore",
    )


def _without_unset(hint: Any) -> Any:
    """``hint`` without the ``Unset`` member (an absent key, not a JSON value)."""
    if not is_union(hint):
        return hint
    members = wire_members(hint)
    if len(members) == len(typing.get_args(hint)):
        return hint
    return members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007
