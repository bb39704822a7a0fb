"""What a transaction needs to be authorized: per account, a needed weight and the signers that count.

Built from the envelope's shape (which account needs which level) and the accounts' on-chain data.
Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.stellar.accounts import AccountData, AccountSigner
from app.stellar.envelope import Level, TxShape
from app.stellar.signers import ParsedSigner, parse_signer, verifies

SCOPE_TRANSACTION = "transaction"
SCOPE_FEE_BUMP = "feeBump"


@dataclass(frozen=True, slots=True)
class Requirement:
    account: str
    level: Level
    threshold: int
    signers: tuple[AccountSigner, ...]
    missing: bool
    scope: str


@dataclass(frozen=True, slots=True)
class AuthNeeds:
    """Everything one signature list must satisfy (one transaction, or one fee bump's outer list)."""

    tx_hash: bytes
    requirements: tuple[Requirement, ...]
    extra_signers: tuple[str, ...]

    def potential_signers(self) -> list[str]:
        """Every key whose signature can count, in a stable order (requirements first)."""
        keys: dict[str, None] = {}
        for req in self.requirements:
            for signer in req.signers:
                keys[signer.key] = None
        for key in self.extra_signers:
            keys[key] = None
        return list(keys)


def accounts_needed(shape: TxShape) -> list[str]:
    return list(shape.needs)


def build_needs(shape: TxShape, accounts: Mapping[str, AccountData], scope: str) -> AuthNeeds:
    reqs = []
    for account_id, level in shape.needs.items():
        data = accounts.get(account_id) or AccountData.not_on_ledger(account_id)
        reqs.append(
            Requirement(
                account=account_id,
                level=level,
                threshold=data.threshold(level),
                signers=tuple(data.weighted_signers()),
                missing=data.missing,
                scope=scope,
            )
        )
    return AuthNeeds(shape.hash, tuple(reqs), shape.extra_signers)


def identify_signer(needs: AuthNeeds, hint: bytes, signature: bytes) -> str | None:
    """The potential signer whose hint matches exactly and whose key verifies the signature."""
    for key in needs.potential_signers():
        try:
            signer: ParsedSigner = parse_signer(key)
        except ValueError:
            continue
        if signer.hint == hint and verifies(signer, needs.tx_hash, signature):
            return key
    return None
