"""A line-by-line port of stellar-core's SignatureChecker (src/transactions/SignatureChecker.cpp).

The order of the scans and the early return are observable: they decide which signatures
count as "used", and an unused signature turns the transaction into txBAD_AUTH_EXTRA.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from stellar_sdk import StrKey, xdr
from stellar_sdk.signer_key import SignerKey

ED25519 = xdr.SignerKeyType.SIGNER_KEY_TYPE_ED25519.value
PRE_AUTH_TX = xdr.SignerKeyType.SIGNER_KEY_TYPE_PRE_AUTH_TX.value
HASH_X = xdr.SignerKeyType.SIGNER_KEY_TYPE_HASH_X.value
SIGNED_PAYLOAD = xdr.SignerKeyType.SIGNER_KEY_TYPE_ED25519_SIGNED_PAYLOAD.value

MAX_WEIGHT = 255


@dataclass(frozen=True, slots=True)
class SignerSpec:
    """A decoded signer: key type, the 32 key bytes, the payload (signed-payload signers only)."""

    kind: int
    key: bytes
    payload: bytes
    weight: int


@lru_cache(maxsize=65536)
def decode_signer_key(strkey: str) -> tuple[int, bytes, bytes]:
    """G.../T.../X.../P... -> (type, key bytes, payload). Raises ValueError for anything else."""
    if strkey.startswith("P"):
        raw = StrKey.decode_ed25519_signed_payload(strkey)
        # StrKey layout: 32-byte key, 4-byte payload length, payload padded to 4 bytes.
        size = int.from_bytes(raw[32:36], "big")
        return SIGNED_PAYLOAD, raw[:32], raw[36 : 36 + size]
    decoders = {
        "G": (ED25519, StrKey.decode_ed25519_public_key),
        "T": (PRE_AUTH_TX, StrKey.decode_pre_auth_tx),
        "X": (HASH_X, StrKey.decode_sha256_hash),
    }
    if strkey[:1] not in decoders:
        raise ValueError(f"not a signer key: {strkey!r}")
    kind, decode = decoders[strkey[:1]]
    return kind, decode(strkey), b""


def signer_key_to_strkey(key: xdr.SignerKey) -> str:
    return str(SignerKey.from_xdr_object(key).encoded_signer_key)


def spec(strkey: str, weight: int) -> SignerSpec:
    kind, key, payload = decode_signer_key(strkey)
    return SignerSpec(kind, key, payload, weight)


@lru_cache(maxsize=65536)
def _verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    if len(signature) != 64 or len(public_key) != 32:
        return False
    try:
        VerifyKey(public_key).verify(message, signature)
    except (BadSignatureError, ValueError):
        return False
    return True


def _signed_payload_hint(key: bytes, payload: bytes) -> bytes:
    payload_hint = payload[-4:] if len(payload) >= 4 else payload.ljust(4, b"\0")
    return bytes(a ^ b for a, b in zip(key[-4:], payload_hint, strict=True))


def _verifies(sig: xdr.DecoratedSignature, signer: SignerSpec, contents_hash: bytes) -> bool:
    hint = sig.hint.signature_hint
    raw = sig.signature.signature
    if signer.kind == HASH_X:
        return hint == signer.key[-4:] and hashlib.sha256(raw).digest() == signer.key
    if signer.kind == ED25519:
        return hint == signer.key[-4:] and _verify_ed25519(signer.key, raw, contents_hash)
    if signer.kind == SIGNED_PAYLOAD:
        return hint == _signed_payload_hint(signer.key, signer.payload) and _verify_ed25519(
            signer.key, raw, signer.payload
        )
    return False


class SignatureChecker:
    """One checker per signature list; it remembers which signatures were used across checks."""

    def __init__(self, contents_hash: bytes, signatures: Sequence[xdr.DecoratedSignature]) -> None:
        self.contents_hash = contents_hash
        self.signatures = list(signatures)
        self.used = [False] * len(self.signatures)

    def check(self, signers: Sequence[SignerSpec], needed: int) -> bool:
        # As in core, a check succeeds only when some signer actually matched, so a needed
        # weight of 0 still requires one valid signature.
        total = 0
        for signer in signers:
            if signer.kind == PRE_AUTH_TX and signer.key == self.contents_hash:
                total += min(signer.weight, MAX_WEIGHT)
                if total >= needed:
                    return True
        for kind in (HASH_X, ED25519, SIGNED_PAYLOAD):
            remaining = [s for s in signers if s.kind == kind]
            for index, sig in enumerate(self.signatures):
                for pos, signer in enumerate(remaining):
                    if _verifies(sig, signer, self.contents_hash):
                        self.used[index] = True
                        total += min(signer.weight, MAX_WEIGHT)
                        if total >= needed:
                            return True
                        del remaining[pos]
                        break
        return False

    def all_used(self) -> bool:
        return all(self.used)
