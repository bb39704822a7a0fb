"""Accounts and envelopes on the fake network for the browser tests."""

from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import Asset, Keypair, TransactionEnvelope

from tests.fakenet import FakeStellarNetwork
from tests.fakenet.txkit import build


@dataclass
class Multisig:
    """An account whose master key is disabled, with co-signers of weight 1 and medium threshold 2."""

    account: Keypair
    signers: list[Keypair]
    destination: Keypair
    threshold: int = 2


def multisig_account(net: FakeStellarNetwork, signers: int = 3, threshold: int = 2) -> Multisig:
    account, destination = Keypair.random(), Keypair.random()
    cosigners = [Keypair.random() for _ in range(signers)]
    net.ledger.create_account(destination.public_key)
    net.ledger.create_account(
        account.public_key,
        master_weight=0,
        low=threshold,
        med=threshold,
        high=threshold,
        signers=[(kp.public_key, 1) for kp in cosigners],
    )
    return Multisig(account, cosigners, destination, threshold)


def payment(net: FakeStellarNetwork, ms: Multisig, amount: str = "5") -> TransactionEnvelope:
    """An unsigned payment from the multisig account (next sequence number)."""
    return build(
        net.ledger,
        ms.account.public_key,
        lambda b: b.append_payment_op(ms.destination.public_key, Asset.native(), amount),
    )


def signed_by(env: TransactionEnvelope, *signers: Keypair) -> str:
    """XDR of a copy of env signed by signers; env itself stays unsigned."""
    copy = TransactionEnvelope.from_xdr(env.to_xdr(), env.network_passphrase)
    for kp in signers:
        copy.sign(kp)
    return copy.to_xdr()
