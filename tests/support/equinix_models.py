"""Decode Ingot's answers with the official Equinix SDK (``equinix==0.19.0``):
every answer must decode, and carry no field the SDK's model lacks (at any depth)."""
from __future__ import annotations

import typing

from equinix.services.metalv1 import models
from pydantic import BaseModel


def _model_in(annotation) -> type[BaseModel] | None:
    """The SDK model inside ``Optional[List[Model]]`` and the like."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def unknown_fields(cls: type[BaseModel], data, path: str = "") -> list[str]:
    """The keys of ``data`` (recursively) that model ``cls`` does not have."""
    if isinstance(data, list):
        return [x for i, item in enumerate(data) for x in unknown_fields(cls, item, f"{path}[{i}]")]
    if not isinstance(data, dict):
        return []
    by_alias = {(f.alias or name): f for name, f in cls.model_fields.items()}
    out = []
    for key, value in data.items():
        field = by_alias.get(key)
        if field is None:
            out.append(f"{path}.{key}" if path else key)
            continue
        inner = _model_in(field.annotation)
        if inner is not None and value is not None:
            out += unknown_fields(inner, value, f"{path}.{key}" if path else key)
    return out


def decode(model: str, data):
    """``data`` as SDK model ``model`` (a name in ``equinix.services.metalv1.models``).

    Raises AssertionError naming what the SDK rejects or lacks.
    """
    cls = getattr(models, model)
    extra = unknown_fields(cls, data)
    assert not extra, f"{model}: fields the SDK's model lacks: {extra}"
    obj = cls.from_dict(data)
    assert obj is not None, f"{model}: decoded to nothing from {data!r}"
    return obj
