"""Signer keys of every type, their signature hints, and signature verification. Pure, no I/O.

Signer keys are kept in their StrKey form: G... (ed25519), T... (pre-authorized transaction hash),
X... (hash(x)), P... (ed25519 signed payload).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from stellar_sdk import SignerKey, StrKey


class SignerType(StrEnum):
    ED25519 = "ed25519"
    PRE_AUTH_TX = "preAuthTx"
    HASH_X = "hashX"
    SIGNED_PAYLOAD = "signedPayload"


_PREFIX_TYPES = {
    "G": SignerType.ED25519,
    "T": SignerType.PRE_AUTH_TX,
    "X": SignerType.HASH_X,
    "P": SignerType.SIGNED_PAYLOAD,
}


@dataclass(frozen=True, slots=True)
class ParsedSigner:
    key: str
    type: SignerType
    raw: bytes  # ed25519 public key, tx hash, or sha256 hash
    payload: bytes = b""  # signed-payload signers only

    @property
    def hint(self) -> bytes:
        if self.type is SignerType.SIGNED_PAYLOAD:
            # CAP-40: the key's last 4 bytes XOR the payload's last 4 (payload zero-padded at the end).
            tail = (self.payload + b"\0\0\0\0")[:4] if len(self.payload) < 4 else self.payload[-4:]
            return bytes(a ^ b for a, b in zip(self.raw[-4:], tail, strict=True))
        return self.raw[-4:]


class InvalidSignerKey(ValueError):
    pass


@lru_cache(maxsize=4096)
def parse_signer(key: str) -> ParsedSigner:
    """Decode a StrKey signer; raise InvalidSignerKey for anything else."""
    kind = _PREFIX_TYPES.get(key[:1])
    try:
        if kind is SignerType.ED25519:
            return ParsedSigner(key, kind, StrKey.decode_ed25519_public_key(key))
        if kind is SignerType.PRE_AUTH_TX:
            return ParsedSigner(key, kind, StrKey.decode_pre_auth_tx(key))
        if kind is SignerType.HASH_X:
            return ParsedSigner(key, kind, StrKey.decode_sha256_hash(key))
        if kind is SignerType.SIGNED_PAYLOAD:
            sps = SignerKey.from_encoded_signer_key(key).to_signed_payload_signer()
            raw = StrKey.decode_ed25519_public_key(sps.account_id)
            return ParsedSigner(key, kind, raw, bytes(sps.payload))
    except Exception as exc:  # the SDK raises several types for malformed keys
        raise InvalidSignerKey(key) from exc
    raise InvalidSignerKey(key)


def signer_key_from_xdr(signer_key: object) -> str:
    """StrKey of an XDR SignerKey (from account entries and extraSigners preconditions)."""
    return str(SignerKey.from_xdr_object(signer_key).encoded_signer_key)  # type: ignore[arg-type]


def is_ed25519_key(key: object) -> bool:
    return isinstance(key, str) and StrKey.is_valid_ed25519_public_key(key)


@lru_cache(maxsize=8192)
def _verify_key(raw: bytes) -> VerifyKey:
    return VerifyKey(raw)


def verifies(signer: ParsedSigner, tx_hash: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (a decorated signature's bytes) is valid for ``signer`` on ``tx_hash``.

    Pre-authorized transaction signers never take a signature: they are satisfied by the hash itself.
    """
    if signer.type is SignerType.HASH_X:
        return len(signature) <= 64 and hashlib.sha256(signature).digest() == signer.raw
    if len(signature) != 64:
        return False
    message = signer.payload if signer.type is SignerType.SIGNED_PAYLOAD else tx_hash
    if signer.type not in (SignerType.ED25519, SignerType.SIGNED_PAYLOAD):
        return False
    try:
        _verify_key(signer.raw).verify(message, signature)
    except BadSignatureError:
        return False
    return True


def masked_hint_key(hint: bytes) -> str:
    """The original's masked key for a rejected signature: G, 46 '_', 5 StrKey chars, 4 '_'."""
    encoded = StrKey.encode_ed25519_public_key(bytes(28) + hint[:4].rjust(4, b"\0"))
    return "G" + "_" * 46 + encoded[47:52] + "_" * 4
