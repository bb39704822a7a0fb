"""Small helpers for building real, signed envelopes against a fake ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from stellar_sdk import (
    Account,
    FeeBumpTransactionEnvelope,
    Keypair,
    Network,
    TransactionBuilder,
    TransactionEnvelope,
    xdr,
)

from .ledger import Ledger

PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE
Build = Callable[[TransactionBuilder], Any]


def build(
    ledger: Ledger,
    source: Keypair | str,
    add_ops: Build,
    *,
    seq: int | None = None,
    base_fee: int = 100,
    timeout: int | None = 300,
    passphrase: str | None = None,
) -> TransactionEnvelope:
    """An unsigned envelope from `source` using the next sequence number the ledger expects.
    `source` may be an M... address; its base account supplies the sequence."""
    address = source.public_key if isinstance(source, Keypair) else source
    account = Account(address, 0)
    if seq is None:
        current = ledger.get_account(account.account.account_id)
        if current is None:
            raise KeyError(f"no account {address}")
        seq = current.seq_num
    builder = TransactionBuilder(
        Account(address, seq), network_passphrase=passphrase or ledger.passphrase, base_fee=base_fee
    )
    add_ops(builder)
    if timeout is not None:
        builder.set_timeout(timeout)
    return builder.build()


Env = TypeVar("Env", TransactionEnvelope, FeeBumpTransactionEnvelope)


def signed(env: Env, *signers: Keypair) -> Env:
    for kp in signers:
        env.sign(kp)
    return env


def fee_bump(
    inner: TransactionEnvelope,
    fee_source: Keypair | str,
    *,
    base_fee: int = 100,
    fee: int | None = None,
    passphrase: str = PASSPHRASE,
) -> FeeBumpTransactionEnvelope:
    """A fee bump bidding base_fee per operation, or exactly `fee` in total (which may be
    lower than the SDK would let through, to exercise the network's own checks)."""
    source = fee_source.public_key if isinstance(fee_source, Keypair) else fee_source
    if fee is not None:  # any bid the SDK accepts; the fee is overwritten below
        base_fee = max(100, -(-inner.transaction.fee // len(inner.transaction.operations)))
    env = TransactionBuilder.build_fee_bump_transaction(
        fee_source=source,
        base_fee=base_fee,
        inner_transaction_envelope=inner,
        network_passphrase=passphrase,
    )
    if fee is None:
        return env
    obj = env.to_xdr_object()
    assert obj.fee_bump is not None
    obj.fee_bump.tx.fee = xdr.Int64(fee)
    return FeeBumpTransactionEnvelope.from_xdr(obj.to_xdr(), passphrase)


def with_raw_signatures(env: TransactionEnvelope, signatures: Iterable[xdr.DecoratedSignature]) -> str:
    """Envelope XDR carrying exactly these signatures, even more than the SDK would allow."""
    obj = env.to_xdr_object()
    assert obj.v1 is not None
    obj.v1.signatures = list(signatures)  # bypasses the constructor's 20-signature check
    return obj.to_xdr()
