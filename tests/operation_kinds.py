"""One buildable example of every operation type in the SDK's XDR, with stellar-core's threshold level.

The expected levels are written from stellar-core's source (``getThresholdLevel`` overrides in
``src/transactions/*OpFrame.cpp``; ``OperationFrame``'s default is MEDIUM), not from the app's code
or the documentation.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from stellar_sdk import (
    Account,
    Asset,
    Claimant,
    Keypair,
    LiquidityPoolAsset,
    StrKey,
    TransactionBuilder,
    TrustLineEntryFlag,
)
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.operation import AllowTrust

from app.stellar.envelope import Level
from tests.builders import PASSPHRASE

OpType = stellar_xdr.OperationType
Append = Callable[[TransactionBuilder], object]

_ISSUER = Keypair.random().public_key
_ASSET = Asset("USD", _ISSUER)
_OTHER = Keypair.random().public_key
_BALANCE_ID = "00000000" + "ab" * 32
_POOL_ID = LiquidityPoolAsset(Asset.native(), _ASSET).liquidity_pool_id
_CONTRACT = StrKey.encode_contract(b"\x01" * 32)


def _soroban(builder: TransactionBuilder) -> TransactionBuilder:
    data = stellar_xdr.SorobanTransactionData(
        ext=stellar_xdr.SorobanTransactionDataExt(0),
        resources=stellar_xdr.SorobanResources(
            footprint=stellar_xdr.LedgerFootprint(read_only=[], read_write=[]),
            instructions=stellar_xdr.Uint32(0),
            disk_read_bytes=stellar_xdr.Uint32(0),
            write_bytes=stellar_xdr.Uint32(0),
        ),
        resource_fee=stellar_xdr.Int64(0),
    )
    return builder.set_soroban_data(data)


def _allow_trust() -> AllowTrust:
    # Deprecated in the SDK in favour of SetTrustLineFlags, still a valid operation on the network.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return AllowTrust(_OTHER, "USD", TrustLineEntryFlag.AUTHORIZED_FLAG)


# operation type -> (how to append one, core's level). SetOptions appears twice below.
EXAMPLES: dict[OpType, tuple[Append, Level]] = {
    OpType.CREATE_ACCOUNT: (lambda b: b.append_create_account_op(_OTHER, "1"), Level.MEDIUM),
    OpType.PAYMENT: (lambda b: b.append_payment_op(_OTHER, Asset.native(), "1"), Level.MEDIUM),
    OpType.PATH_PAYMENT_STRICT_RECEIVE: (
        lambda b: b.append_path_payment_strict_receive_op(_OTHER, Asset.native(), "1", _ASSET, "1", []),
        Level.MEDIUM),
    OpType.MANAGE_SELL_OFFER: (
        lambda b: b.append_manage_sell_offer_op(Asset.native(), _ASSET, "1", "1"), Level.MEDIUM),
    OpType.CREATE_PASSIVE_SELL_OFFER: (
        lambda b: b.append_create_passive_sell_offer_op(Asset.native(), _ASSET, "1", "1"),
        Level.MEDIUM),
    OpType.SET_OPTIONS: (lambda b: b.append_set_options_op(home_domain="example.org"), Level.MEDIUM),
    OpType.CHANGE_TRUST: (lambda b: b.append_change_trust_op(_ASSET), Level.MEDIUM),
    OpType.ALLOW_TRUST: (
        lambda b: b.append_operation(_allow_trust()), Level.LOW),
    OpType.ACCOUNT_MERGE: (lambda b: b.append_account_merge_op(_OTHER), Level.HIGH),
    OpType.INFLATION: (lambda b: b.append_inflation_op(), Level.LOW),
    OpType.MANAGE_DATA: (lambda b: b.append_manage_data_op("k", b"v"), Level.MEDIUM),
    OpType.BUMP_SEQUENCE: (lambda b: b.append_bump_sequence_op(1), Level.LOW),
    OpType.MANAGE_BUY_OFFER: (
        lambda b: b.append_manage_buy_offer_op(Asset.native(), _ASSET, "1", "1"), Level.MEDIUM),
    OpType.PATH_PAYMENT_STRICT_SEND: (
        lambda b: b.append_path_payment_strict_send_op(_OTHER, Asset.native(), "1", _ASSET, "1", []),
        Level.MEDIUM),
    OpType.CREATE_CLAIMABLE_BALANCE: (
        lambda b: b.append_create_claimable_balance_op(Asset.native(), "1", [Claimant(_OTHER)]),
        Level.MEDIUM),
    OpType.CLAIM_CLAIMABLE_BALANCE: (
        lambda b: b.append_claim_claimable_balance_op(_BALANCE_ID), Level.LOW),
    OpType.BEGIN_SPONSORING_FUTURE_RESERVES: (
        lambda b: b.append_begin_sponsoring_future_reserves_op(_OTHER), Level.MEDIUM),
    OpType.END_SPONSORING_FUTURE_RESERVES: (
        lambda b: b.append_end_sponsoring_future_reserves_op(), Level.MEDIUM),
    OpType.REVOKE_SPONSORSHIP: (
        lambda b: b.append_revoke_account_sponsorship_op(_OTHER), Level.MEDIUM),
    OpType.CLAWBACK: (lambda b: b.append_clawback_op(_ASSET, _OTHER, "1"), Level.MEDIUM),
    OpType.CLAWBACK_CLAIMABLE_BALANCE: (
        lambda b: b.append_clawback_claimable_balance_op(_BALANCE_ID), Level.MEDIUM),
    OpType.SET_TRUST_LINE_FLAGS: (
        lambda b: b.append_set_trust_line_flags_op(
            _OTHER, _ASSET, set_flags=TrustLineEntryFlag.AUTHORIZED_FLAG), Level.LOW),
    OpType.LIQUIDITY_POOL_DEPOSIT: (
        lambda b: b.append_liquidity_pool_deposit_op(_POOL_ID, "1", "1", "0.5", "2"), Level.MEDIUM),
    OpType.LIQUIDITY_POOL_WITHDRAW: (
        lambda b: b.append_liquidity_pool_withdraw_op(_POOL_ID, "1", "0", "0"), Level.MEDIUM),
    OpType.INVOKE_HOST_FUNCTION: (
        lambda b: _soroban(b.append_invoke_contract_function_op(_CONTRACT, "hello")), Level.MEDIUM),
    OpType.EXTEND_FOOTPRINT_TTL: (
        lambda b: _soroban(b.append_extend_footprint_ttl_op(100)), Level.LOW),
    OpType.RESTORE_FOOTPRINT: (lambda b: _soroban(b.append_restore_footprint_op()), Level.LOW),
}

# SetOptions is HIGH when it touches thresholds, the master weight or signers (SetOptionsOpFrame).
SET_OPTIONS_HIGH: dict[str, Append] = {
    "signer": lambda b: b.append_ed25519_public_key_signer(_OTHER, 1),
    "master_weight": lambda b: b.append_set_options_op(master_weight=1),
    "low_threshold": lambda b: b.append_set_options_op(low_threshold=1),
    "med_threshold": lambda b: b.append_set_options_op(med_threshold=1),
    "high_threshold": lambda b: b.append_set_options_op(high_threshold=1),
}


def build_one(source: str, sequence: int, append: Append) -> str:
    """The unsigned XDR of a transaction from ``source`` with the one operation ``append`` adds."""
    builder = TransactionBuilder(Account(source, sequence), PASSPHRASE, base_fee=100)
    append(builder)
    return builder.set_timeout(3600).build().to_xdr()
