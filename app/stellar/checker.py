"""stellar-core's signature check, simulated, and the choice of a minimal sufficient signature set.

Core (SignatureChecker.cpp) checks each (account, needed weight) by scanning, in this order,
pre-authorized transaction signers (matched by the hash, no signature), then hash(x), ed25519 and
signed-payload signers against the envelope's signatures in envelope order, each signer counted once,
stopping as soon as the weight reaches the threshold. Afterwards every signature must have been used
by some check, else the transaction fails with txBAD_AUTH_EXTRA. Submitting only a set chosen here
makes that failure impossible on our side. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.stellar.accounts import AccountSigner
from app.stellar.envelope import MAX_SIGNATURES
from app.stellar.requirements import AuthNeeds
from app.stellar.signers import SignerType, parse_signer

_SIGNATURE_CLASSES = (SignerType.HASH_X, SignerType.ED25519, SignerType.SIGNED_PAYLOAD)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A signature already verified to be from signer ``key``."""

    key: str
    hint: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    used: tuple[bool, ...]

    @property
    def all_used(self) -> bool:
        return all(self.used)


def _type(key: str) -> SignerType:
    return parse_signer(key).type


def _check_one(signers: Sequence[AccountSigner], needed: int, tx_hash: bytes,
               sigs: Sequence[Candidate], used: list[bool]) -> bool:
    total = 0
    for signer in signers:
        if _type(signer.key) is SignerType.PRE_AUTH_TX and parse_signer(signer.key).raw == tx_hash:
            total += signer.weight
            if total >= needed:
                return True
    for cls in _SIGNATURE_CLASSES:
        remaining = [s for s in signers if _type(s.key) is cls]
        for i, sig in enumerate(sigs):
            for j, signer in enumerate(remaining):
                if signer.key == sig.key:
                    used[i] = True
                    total += signer.weight
                    if total >= needed:
                        return True
                    del remaining[j]
                    break
    return False


def simulate(needs: AuthNeeds, sigs: Sequence[Candidate]) -> CheckResult:
    """What core would decide for an envelope carrying exactly ``sigs`` in this order."""
    used = [False] * len(sigs)
    ok = len(sigs) <= MAX_SIGNATURES
    for req in needs.requirements:
        ok = _check_one(req.signers, req.threshold, needs.tx_hash, sigs, used) and ok
    for key in needs.extra_signers:
        ok = _check_one([AccountSigner(key, 1)], 1, needs.tx_hash, sigs, used) and ok
    return CheckResult(ok, tuple(used))


def _usefulness(needs: AuthNeeds, key: str) -> int:
    weight = sum(s.weight for req in needs.requirements for s in req.signers if s.key == key)
    return weight + (256 if key in needs.extra_signers else 0)


def select_minimal(needs: AuthNeeds, candidates: Sequence[Candidate]) -> list[Candidate] | None:
    """An irreducible set of signatures that satisfies every check with none left unused.

    Heavier signers go first so fewer signatures reach the thresholds; then every signature whose
    removal keeps the envelope valid is dropped. None when the candidates cannot satisfy the needs.
    """
    ordered = sorted(candidates, key=lambda c: -_usefulness(needs, c.key))
    first = simulate(needs, ordered)
    if not _satisfiable(needs, ordered, first):
        return None
    chosen = [c for c, u in zip(ordered, first.used, strict=True) if u]
    for cand in reversed(list(chosen)):
        trial = [c for c in chosen if c is not cand]
        result = simulate(needs, trial)
        if result.ok and result.all_used:
            chosen = trial
    final = simulate(needs, chosen)
    if not (final.ok and final.all_used):
        return None
    return chosen


def _satisfiable(needs: AuthNeeds, ordered: Sequence[Candidate], result: CheckResult) -> bool:
    if result.ok:
        return True
    # Over 20 candidates can fail the size rule alone; judge the used ones instead.
    if len(ordered) > MAX_SIGNATURES:
        used = [c for c, u in zip(ordered, result.used, strict=True) if u]
        return simulate(needs, used).ok
    return False
