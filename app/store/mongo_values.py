"""Values BSON cannot hold as they are, stored in a form that reads back unchanged.

A record's derived view carries numbers straight from the envelope, and XDR has unsigned 64-bit
fields (time bounds, ``minSeqAge``) while BSON integers are signed 64-bit: such a number is
stored as a Decimal128 (exact to 34 digits) and read back as the integer it was.
"""

from __future__ import annotations

from typing import Any

from bson.decimal128 import Decimal128

_INT64 = range(-(2**63), 2**63)


def to_bson(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: to_bson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_bson(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
        return Decimal128(str(value))
    return value


def from_bson(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: from_bson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_bson(v) for v in value]
    if isinstance(value, Decimal128):
        return int(value.to_decimal())
    return value
