"""Values to and from the `tf` package's protocol-6 types: dynamic values, attribute paths, schemas."""
from __future__ import annotations

import json
from typing import Any

import msgpack
from tf.gen import tfplugin_pb2 as pb
from tf.types import Unknown
from tf.utils import to_dynamic_value

from . import spec as specmod
from .values import cty_type_bytes

__all__ = ["attribute_path", "provider_schema", "read_dynamic_value", "schema", "to_dynamic_value"]

_NESTING = {
    "list": pb.Schema.NestedBlock.NestingMode.LIST,
    "set": pb.Schema.NestedBlock.NestingMode.SET,
    "single": pb.Schema.NestedBlock.NestingMode.SINGLE,
}


def _ext_hook(code: int, data: bytes) -> Any:
    # cty's unknown value is msgpack extension 0; Terraform >= 1.3 may send extension 12
    # (an unknown value with refinements such as "not null"). Both are simply unknown here.
    if code in (0, 12):
        return Unknown
    return msgpack.ExtType(code, data)


def read_dynamic_value(value: pb.DynamicValue) -> Any:
    """A configuration, plan or state as Python values (Unknown for unknown ones); None when empty."""
    if value.json:
        return json.loads(value.json)
    if value.msgpack:
        return msgpack.unpackb(value.msgpack, ext_hook=_ext_hook)
    return None


def attribute_path(*names: str) -> pb.AttributePath:
    """The path of a (nested) attribute, e.g. for requires_replace."""
    return pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=n) for n in names])


def _attribute(a: specmod.Attr) -> pb.Schema.Attribute:
    return pb.Schema.Attribute(
        name=a.name,
        type=cty_type_bytes(a.spec),
        description=a.description,
        description_kind=pb.StringKind.MARKDOWN,
        required=a.required,
        optional=a.optional,
        computed=a.computed,
        sensitive=a.sensitive,
        deprecated=bool(a.spec.get("deprecated")),
    )


def _block(attrs: dict[str, specmod.Attr], blocks: dict[str, specmod.Block], description: str = "") -> pb.Schema.Block:
    return pb.Schema.Block(
        attributes=[_attribute(a) for a in attrs.values()],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=b.name,
                block=_block(b.attributes, {}, b.description),
                nesting=_NESTING[b.nesting],
                min_items=b.spec.get("min_items", 0),
                max_items=b.spec.get("max_items", 0),
            )
            for b in blocks.values()
        ],
        description=description,
        description_kind=pb.StringKind.MARKDOWN,
    )


def schema(td: specmod.TypeDef) -> pb.Schema:
    """The protocol schema of a resource or data source."""
    return pb.Schema(version=0, block=_block(td.attributes, td.blocks, td.description))


def provider_schema(config: dict[str, specmod.Attr], description: str) -> pb.Schema:
    """The protocol schema of the provider block (the attributes served under one address)."""
    return pb.Schema(version=0, block=_block(config, {}, description))
