"""Records of the original Refractor (its MongoDB ``tx`` documents and file storage's data.json).

The original stored the unsigned envelope plus ``signatures`` [{key, signature}], ``network`` as 0/1,
and loosely typed times (``maxTime`` could be a string or a float). It kept no timestamps.
Signatures are checked again here: only ones that verify against the transaction hash are carried
over, so a damaged document cannot smuggle an invalid signature into a submission.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.settings import PUBLIC_PASSPHRASE, TESTNET_PASSPHRASE, NetworkSettings
from app.stellar.envelope import InvalidEnvelope, Sig, attach_signatures, parse_envelope
from app.stellar.evaluation import accounts_to_load
from app.stellar.signers import InvalidSignerKey, parse_signer, verifies
from app.stellar.summary import summarize
from app.txs.model import StoredSignature, TxRecord, TxStatus

_HASH = re.compile(r"[0-9a-f]{64}")
_NETWORKS = {0: PUBLIC_PASSPHRASE, 1: TESTNET_PASSPHRASE}
_NETWORK_NAMES = {"public": 0, "testnet": 1, "0": 0, "1": 1}
_SECONDS_LIMIT = 1 << 53  # beyond any date, and well inside what both engines store as integers


class InvalidOriginal(ValueError):
    """This document cannot become a record; the message says why."""


@dataclass
class Converted:
    record: TxRecord
    warnings: list[str] = field(default_factory=list)


def convert(tx_hash: str, doc: object, networks: Mapping[str, NetworkSettings],
            now: float) -> Converted:
    """The record for one original document, or InvalidOriginal."""
    if not isinstance(doc, Mapping):
        raise InvalidOriginal("not an object")
    tx_hash = tx_hash.lower()
    if not _HASH.fullmatch(tx_hash):
        raise InvalidOriginal("the key is not a transaction hash")
    if doc.get("hash") not in (None, tx_hash):
        raise InvalidOriginal(f"its hash field {doc.get('hash')!r} differs from its key")
    network = _network(doc.get("network"), networks)
    xdr = doc.get("xdr")
    if not isinstance(xdr, str):
        raise InvalidOriginal("xdr is missing")
    try:
        parsed = parse_envelope(xdr.strip(), network.passphrase)
    except InvalidEnvelope:
        raise InvalidOriginal("xdr is not a valid transaction envelope") from None
    if parsed.hash_hex != tx_hash:
        raise InvalidOriginal(f"the xdr hashes to {parsed.hash_hex} on {network.name}")
    status = _status(doc.get("status"))
    out = Converted(_empty_record(tx_hash, network.name, parsed.unsigned_xdr, status, now))
    if parsed.signatures:
        out.warnings.append(f"the stored xdr carried {len(parsed.signatures)} signature(s); only "
                            f"the signatures list is imported")
    if doc.get("status") == TxStatus.PROCESSING.value:
        out.warnings.append("was processing: set to ready, as the original does on start")
    _copy_options(doc, out)
    record = out.record
    signatures = _signatures(doc.get("signatures"), parsed.hash, now, out.warnings)
    record.signatures, record.sig_count = signatures, len(signatures)
    record.inner_hash = parsed.inner.hash.hex() if parsed.inner is not None else None
    record.sources = accounts_to_load(parsed)
    extra = list(parsed.shape.extra_signers) + list(parsed.inner.extra_signers if parsed.inner else ())
    record.signers = list(dict.fromkeys([s.key for s in signatures] + extra))
    if status is TxStatus.READY:
        record.ready_at = now  # its submission job is queued by the worker's reconcile pass
    # Enough for GET to show the signed envelope at once; progress needs the ledger and is
    # recomputed on the next POST.
    record.derived = {
        "xdr": attach_signatures(record.xdr, [Sig(parse_signer(s.key).hint, s.signature)
                                              for s in signatures]),
        "summary": summarize(parsed.envelope),
    }
    if parsed.inner is not None:
        record.derived["feeBump"] = {"innerHash": parsed.inner.hash.hex(),
                                     "feeSource": parsed.shape.source}
    return out


def _empty_record(tx_hash: str, network: str, xdr: str, status: TxStatus, now: float) -> TxRecord:
    return TxRecord(hash=tx_hash, network=network, xdr=xdr, status=status, created_at=now,
                    updated_at=now)


def _network(value: object, networks: Mapping[str, NetworkSettings]) -> NetworkSettings:
    if isinstance(value, str):
        code = _NETWORK_NAMES.get(value.strip().lower())
    elif isinstance(value, int | float) and not isinstance(value, bool) and value in (0, 1):
        code = int(value)
    else:
        code = None
    if code is None:
        raise InvalidOriginal(f"unknown network {value!r}")
    for net in networks.values():
        if net.passphrase == _NETWORKS[code]:
            return net
    name = "public" if code == 0 else "testnet"
    raise InvalidOriginal(f"no configured network uses the {name} passphrase")


def _status(value: object) -> TxStatus:
    if value == TxStatus.PROCESSING.value:
        return TxStatus.READY  # nothing holds a lease on it here; the worker picks it up again
    try:
        return TxStatus(str(value))
    except ValueError:
        raise InvalidOriginal(f"unknown status {value!r}") from None


def seconds(value: object) -> int | None:
    """UNIX seconds from an int, float, numeric string or date; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            return None
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    if isinstance(value, int) and abs(value) < _SECONDS_LIMIT:
        return value
    return None


def _copy_options(doc: Mapping[str, Any], out: Converted) -> None:
    record = out.record
    record.submit = bool(doc.get("submit"))
    callback = doc.get("callbackUrl")
    record.callback_url = callback if isinstance(callback, str) and callback else None
    desired = doc.get("desiredSigners")
    if isinstance(desired, list) and all(isinstance(k, str) for k in desired):
        record.desired_signers = list(desired)
    elif desired is not None:
        out.warnings.append(f"desiredSigners {desired!r} dropped: not a list of keys")
    record.min_time = max(seconds(doc.get("minTime")) or 0, 0)
    max_time = seconds(doc.get("maxTime"))
    record.max_time = max_time if max_time is not None and max_time > 0 else None
    if doc.get("maxTime") not in (None, 0, "", "0") and record.max_time is None:
        out.warnings.append(f"maxTime {doc.get('maxTime')!r} dropped: not a time")
    record.submitted = seconds(doc.get("submitted"))
    error = doc.get("error")
    record.error = None if error is None else str(error)


def _signature_bytes(value: object) -> bytes | None:
    """bytes / BSON Binary (Mongo), base64 text (data.json), or a Node Buffer's JSON form."""
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            return None
    if isinstance(value, Mapping) and value.get("type") == "Buffer":
        data = value.get("data")
        if isinstance(data, list) and all(isinstance(b, int) and 0 <= b < 256 for b in data):
            return bytes(data)
    return None


def _signatures(items: object, tx_hash: bytes, now: float,
                warnings: list[str]) -> list[StoredSignature]:
    if items is None:
        return []
    if not isinstance(items, list):
        warnings.append("signatures dropped: not a list")
        return []
    kept: list[StoredSignature] = []
    for item in items:
        key = item.get("key") if isinstance(item, Mapping) else None
        raw = _signature_bytes(item.get("signature")) if isinstance(item, Mapping) else None
        if not isinstance(key, str) or raw is None:
            warnings.append("a signature without a key or readable bytes was dropped")
            continue
        try:
            signer = parse_signer(key)
        except InvalidSignerKey:
            warnings.append(f"signature of {key!r} dropped: not a signer key")
            continue
        if any(s.key == key for s in kept):
            warnings.append(f"second signature of {key} dropped")
        elif not verifies(signer, tx_hash, raw):
            warnings.append(f"signature of {key} dropped: it does not verify for this transaction")
        else:
            kept.append(StoredSignature(key, raw, now))
    return kept
