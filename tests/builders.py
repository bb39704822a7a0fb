"""Build real, signed Stellar transactions for tests (stellar-sdk works fully offline)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from stellar_sdk import (
    Account,
    Asset,
    FeeBumpTransactionEnvelope,
    Keypair,
    Network,
    TransactionBuilder,
    TransactionEnvelope,
)

PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE


def payment_tx(source: Keypair | str, *, seq: int = 100, destination: str | None = None,
               op_sources: Iterable[str | None] = (None,), timeout: int | None = 3600,
               passphrase: str = PASSPHRASE, extra_signers: Iterable[str] = (),
               min_time: int | None = None) -> TransactionEnvelope:
    src = source.public_key if isinstance(source, Keypair) else source
    builder = TransactionBuilder(Account(src, seq), network_passphrase=passphrase, base_fee=100)
    dest = destination or Keypair.random().public_key
    for op_source in op_sources:
        builder.append_payment_op(dest, Asset.native(), "1", source=op_source)
    if extra_signers:
        from stellar_sdk import SignerKey

        builder.add_extra_signer(*[SignerKey.from_encoded_signer_key(k) for k in extra_signers])
    if min_time is not None:
        builder.add_time_bounds(min_time, int(time.time()) + (timeout or 3600))
    elif timeout is not None:
        builder.set_timeout(timeout)
    else:
        builder.add_time_bounds(0, 0)  # explicitly unbounded
    return builder.build()


def signed(te: TransactionEnvelope | FeeBumpTransactionEnvelope, *signers: Keypair) -> str:
    """XDR of a copy of ``te`` signed by ``signers`` (the original is left unsigned)."""
    copy = type(te).from_xdr(te.to_xdr(), te.network_passphrase)
    for kp in signers:
        copy.sign(kp)
    return copy.to_xdr()


def fee_bump(inner: TransactionEnvelope, fee_source: Keypair | str,
             passphrase: str = PASSPHRASE) -> FeeBumpTransactionEnvelope:
    src = fee_source.public_key if isinstance(fee_source, Keypair) else fee_source
    return TransactionBuilder.build_fee_bump_transaction(
        fee_source=src, base_fee=200, inner_transaction_envelope=inner,
        network_passphrase=passphrase)
