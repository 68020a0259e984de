"""Response schemas in tests: switching off the direct dumps to compare them with marshmallow's."""
from __future__ import annotations

from marshmallow import Schema

from api.schemas.common import DirectDump


def _marshmallow_dump(self, obj, *, many=None):
    return Schema.dump(self, obj, many=many)


def dump_by_marshmallow(monkeypatch) -> None:
    """From now on in this test, every ``DirectDump`` schema dumps field by field, the marshmallow way."""
    monkeypatch.setattr(DirectDump, "dump", _marshmallow_dump)
