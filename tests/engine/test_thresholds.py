"""``operation_level`` against stellar-core's table, for every operation type the SDK's XDR knows."""

from __future__ import annotations

import pytest
from stellar_sdk import Keypair

from app.stellar.envelope import Level, parse_envelope
from tests.builders import PASSPHRASE
from tests.operation_kinds import EXAMPLES, SET_OPTIONS_HIGH, Append, OpType, build_one


def test_the_table_covers_every_operation_type() -> None:
    assert set(EXAMPLES) == set(OpType)


def _level(append: Append) -> Level:
    source = Keypair.random().public_key
    parsed = parse_envelope(build_one(source, 1, append), PASSPHRASE)
    assert parsed.envelope.transaction.operations[0].to_xdr_object().body.type is not None
    return parsed.shape.needs[source]


@pytest.mark.parametrize("kind", sorted(EXAMPLES, key=lambda k: k.value), ids=lambda k: k.name)
def test_each_operation_type_needs_cores_level(kind: OpType) -> None:
    append, expected = EXAMPLES[kind]
    source = Keypair.random().public_key
    parsed = parse_envelope(build_one(source, 1, append), PASSPHRASE)
    assert parsed.envelope.transaction.operations[0].to_xdr_object().body.type == kind
    assert parsed.shape.needs[source] is expected


@pytest.mark.parametrize("field", sorted(SET_OPTIONS_HIGH))
def test_set_options_touching_authorization_is_high(field: str) -> None:
    assert _level(SET_OPTIONS_HIGH[field]) is Level.HIGH
