"""Fabricated records of the original Refractor, built from real transactions signed by stellar-sdk."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any

from bson import Binary
from stellar_sdk import Keypair, Network, TransactionEnvelope

from tests.builders import PASSPHRASE, payment_tx


@dataclass
class OriginalTx:
    hash: str
    source: str
    unsigned_xdr: str
    signers: list[Keypair]
    signatures: list[bytes]  # in the order of ``signers``
    doc: dict[str, Any] = field(default_factory=dict)  # everything but _id and signatures

    @property
    def keys(self) -> list[str]:
        return [kp.public_key for kp in self.signers]

    def mongo_doc(self) -> dict[str, Any]:
        sigs = [{"key": k, "signature": Binary(s)} for k, s in zip(self.keys, self.signatures,
                                                                    strict=True)]
        return {"_id": self.hash, **self.doc, "signatures": sigs}

    def file_entry(self) -> dict[str, Any]:
        sigs = [{"key": k, "signature": base64.b64encode(s).decode()}
                for k, s in zip(self.keys, self.signatures, strict=True)]
        return {"hash": self.hash, **self.doc, "signatures": sigs}


def original_tx(n_signers: int = 2, network: int = 1, **fields: Any) -> OriginalTx:
    """A payment from the first signer's account, signed by ``n_signers`` keys, as the original kept it."""
    passphrase = PASSPHRASE if network == 1 else Network.PUBLIC_NETWORK_PASSPHRASE
    signers = [Keypair.random() for _ in range(max(n_signers, 1))]
    te = payment_tx(signers[0], passphrase=passphrase, timeout=None)
    unsigned = te.to_xdr()
    signed = TransactionEnvelope.from_xdr(unsigned, passphrase)
    for kp in signers[:n_signers]:
        signed.sign(kp)
    doc: dict[str, Any] = {"network": network, "xdr": unsigned, "submit": False, "callbackUrl": None,
                           "desiredSigners": None, "minTime": 0, "maxTime": None,
                           "status": "pending", "submitted": None}
    doc.update(fields)
    return OriginalTx(te.hash_hex(), signers[0].public_key, unsigned, signers[:n_signers],
                      [bytes(d.signature) for d in signed.signatures], doc)


@dataclass
class Fixture:
    """A mixed original database: what should import, and what should be rejected and why."""

    valid: dict[str, OriginalTx]
    invalid: dict[str, tuple[dict[str, Any], str]]  # hash -> (mongo-style doc, reason fragment)


def original_database() -> Fixture:
    valid = {
        "pending_string_max": original_tx(1, maxTime="1900000000"),
        "ready_float_max": original_tx(2, status="ready", maxTime=1900000000.75, minTime="12",
                                       submit=True, callbackUrl="https://example.com/cb"),
        "public_processed": original_tx(2, network=0, status="processed", submitted=1700000000),
        "failed": original_tx(1, status="failed", error="Tx error: txBadSeq"),
        "processing": original_tx(1, status="processing"),
        "bad_max_time": original_tx(1, maxTime="soon"),
        "unsigned": original_tx(0),
    }
    desired = valid["ready_float_max"]
    desired.doc["desiredSigners"] = [desired.keys[1]]
    forged = valid["pending_string_max"]  # a second, forged signature that must be dropped
    forged.signers.append(Keypair.random())
    forged.signatures.append(os.urandom(64))

    wrong_key = original_tx(1)
    garbage = original_tx(1, xdr="bm90IGEgdHJhbnNhY3Rpb24=")
    net2 = original_tx(1, network=2)
    no_status = original_tx(1)
    del no_status.doc["status"]
    invalid = {
        "f" * 64: (wrong_key.mongo_doc(), "hashes to"),
        garbage.hash: (garbage.mongo_doc(), "not a valid transaction envelope"),
        net2.hash: (net2.mongo_doc(), "unknown network 2"),
        no_status.hash: (no_status.mongo_doc(), "unknown status None"),
        "not-a-hash": ({"network": 1, "xdr": "AAAA", "status": "pending"}, "not a transaction hash"),
    }
    for tx_hash, (doc, _) in invalid.items():
        doc["_id"] = tx_hash
    return Fixture(valid, invalid)
