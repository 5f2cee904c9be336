"""marshmallow's load without its per-field bookkeeping, for input that needs no error message.

`Schema.load` spends most of an article's ~100 us on machinery that only pays off when a field
is bad: an error store, a closure per field, hook dispatch, a validator chain built per call.
`quick_loader` walks a schema's declared fields once and returns a loader that runs the same
hooks, the same conversions (each field's own `_deserialize`) and the same validators, and gives
up (returns None) at the first problem, so the caller runs `Schema.load` for the messages. A
schema option or field kind it does not know is refused when the loader is built, never loaded
differently.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from functools import partial

from marshmallow import EXCLUDE, Schema, ValidationError, fields
from marshmallow.decorators import POST_LOAD, PRE_LOAD
from marshmallow.utils import missing

# Leaf kinds whose `_deserialize(value, attr, data)` uses neither `attr` nor `data`, and the type
# each returns unchanged (a str is its own String value; an int its own Integer value).
_LEAVES: dict[type[fields.Field], type | None] = {
    fields.String: str,
    fields.Integer: int,
    fields.Boolean: None,
    fields.AwareDateTime: None,
}

Load = Callable[[t.Any], t.Any]


class _Refer(Exception):
    """The input is for `Schema.load` to judge: something is missing, null or malformed."""


def quick_loader(schema: Schema) -> Callable[[t.Any], t.Any | None]:
    """A function giving what `schema.load(data)` returns, or None when only `load` can tell."""
    load = _schema_load(schema)

    def quick(data: t.Any) -> t.Any | None:
        try:
            return load(data)
        except (_Refer, ValidationError):
            return None

    return quick


def _unsupported(what: object, reason: str) -> TypeError:
    return TypeError(f"quick_loader: {what}: {reason}; use Schema.load")


def _schema_load(schema: Schema) -> Load:
    name = type(schema).__name__
    if schema.many or schema.partial or schema.only or schema.exclude or schema.unknown != EXCLUDE:
        raise _unsupported(name, "only single, whole, unknown=EXCLUDE schemas")
    hooks = schema._hooks  # marshmallow's resolved decorators: the only place they are listed
    others = sorted(tag for tag, found in hooks.items() if found and tag not in (PRE_LOAD, POST_LOAD))
    if others or any(
        many or kwargs.get("pass_original") for tag in (PRE_LOAD, POST_LOAD) for _, many, kwargs in hooks[tag]
    ):
        raise _unsupported(name, f"hooks other than plain pre_load/post_load {others}")
    pre = [getattr(schema, attr) for attr, _, _ in hooks[PRE_LOAD]]
    post = [getattr(schema, attr) for attr, _, _ in hooks[POST_LOAD]]
    steps = [
        (key, field.required, field.load_default, _field_load(field))
        for key, field in schema.load_fields.items()
    ]
    options = {"many": False, "partial": None, "unknown": schema.unknown}  # as Schema.load passes them

    def load(data: t.Any) -> t.Any:
        for hook in pre:
            data = hook(data, **options)
        if not isinstance(data, dict):
            raise _Refer
        out: dict[str, t.Any] = {}
        for key, required, default, load_field in steps:
            value = data.get(key, missing)
            if value is not missing:
                out[key] = load_field(value)
            elif required:
                raise _Refer
            elif default is not missing:
                out[key] = default() if callable(default) else default
        for hook in post:
            out = hook(out, **options)
        return out

    return load


def _field_load(field: fields.Field) -> Load:
    """`field.deserialize` for a value that is present: the null check, conversion, validators."""
    hooked = field.pre_load or field.post_load
    if field.data_key is not None or field.attribute is not None or hooked or "." in str(field.name):
        raise _unsupported(field.name, "data_key, attribute, field hooks and dotted names")
    if type(field) is fields.Nested:  # exactly: Pluck, a Nested, loads differently
        if field.many or field.only or field.exclude or field.unknown:
            raise _unsupported(field.name, "only plain Nested fields")
        convert = _schema_load(field.schema)
    elif type(field) is fields.List:
        convert = _list_load(_field_load(field.inner))
    elif type(field) in _LEAVES:
        convert = partial(field._deserialize, attr=None, data=None)  # the kind's own conversion
    else:
        raise _unsupported(field.name, f"{type(field).__name__} fields")
    plain = _LEAVES.get(type(field))
    validators = tuple(field.validators)
    nullable = field.allow_none

    def load(value: t.Any) -> t.Any:
        if value is None:
            if nullable:
                return None
            raise _Refer
        if type(value) is not plain:
            value = convert(value)
        for validate in validators:
            validate(value)
        return value

    return load


def _list_load(load_item: Load) -> Load:
    def load(value: t.Any) -> list[t.Any]:
        if type(value) is not list:  # a tuple or a set: List takes those too; Schema.load decides
            raise _Refer
        return [load_item(item) for item in value]

    return load
