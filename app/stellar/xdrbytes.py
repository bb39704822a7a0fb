"""Byte-level facts of a TransactionEnvelope, to avoid re-encoding it on every request.

Every envelope arm (v0, v1, fee bump) ends with its signature array, so the unsigned envelope is the
encoding up to that array plus an empty one, and signing is appending. For v1 and fee-bump envelopes
the union discriminant equals the signature-payload tag (ENVELOPE_TYPE_TX = 2,
ENVELOPE_TYPE_TX_FEE_BUMP = 5), so the hash is sha256(network id + the bytes before the signatures).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import Protocol

EMPTY_ARRAY = b"\0\0\0\0"
HASHABLE_TYPES = (2, 5)


class HasSignature(Protocol):
    @property
    def hint(self) -> bytes: ...

    @property
    def signature(self) -> bytes: ...


def _pad(n: int) -> int:
    return (4 - n % 4) % 4


def pack_signatures(sigs: Sequence[HasSignature]) -> bytes:
    parts = [struct.pack(">I", len(sigs))]
    for s in sigs:
        parts += [s.hint, struct.pack(">I", len(s.signature)), s.signature,
                  b"\0" * _pad(len(s.signature))]
    return b"".join(parts)


def body_without_signatures(raw: bytes, sigs: Sequence[HasSignature]) -> bytes | None:
    """The envelope's bytes before its signature array; None if they do not end as expected."""
    tail = pack_signatures(sigs)
    if not raw.endswith(tail):
        return None
    return raw[: len(raw) - len(tail)]


def envelope_hash(body: bytes, passphrase: str) -> bytes | None:
    """The transaction hash from the bytes before the signatures (v1 and fee bump only)."""
    if struct.unpack(">I", body[:4])[0] not in HASHABLE_TYPES:
        return None
    return hashlib.sha256(hashlib.sha256(passphrase.encode()).digest() + body).digest()
