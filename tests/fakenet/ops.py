"""Per-operation checks (core's doCheckValid) and effects (doApply) for the operations that
matter to a multisig coordinator. Operations on state the fake does not model (trust lines,
offers, claimable balances, contracts, ...) succeed without side effects."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from stellar_sdk import StrKey, xdr

from .envelope import account_of
from .model import MAX_SIGNERS, Account, Signer, sort_signers
from .sigcheck import SIGNED_PAYLOAD, decode_signer_key, signer_key_to_strkey

OpType = xdr.OperationType

_ALL_FLAGS = 0x1 | 0x2 | 0x4 | 0x8  # required, revocable, immutable, clawback
_AUTH_IMMUTABLE = 0x4


class State(Protocol):
    ledger_seq: int
    close_time: int
    base_reserve: int

    def get(self, account_id: str) -> Account | None: ...

    def put(self, account: Account) -> None: ...

    def delete(self, account_id: str) -> None: ...


def g_of(acc_id: xdr.AccountID) -> str:
    key = acc_id.account_id.ed25519
    assert key is not None
    return StrKey.encode_ed25519_public_key(key.uint256)


def min_balance(acc: Account, reserve: int, extra_sub_entries: int = 0) -> int:
    return (2 + acc.num_sub_entries + extra_sub_entries) * reserve


def available(acc: Account, reserve: int) -> int:
    return acc.balance - min_balance(acc, reserve)


def is_supported(op: xdr.Operation) -> bool:
    # Inflation was switched off in protocol 12; core answers opNOT_SUPPORTED before any
    # signature is looked at.
    return op.body.type != OpType.INFLATION


def check_op(op: xdr.Operation, source: str) -> str | None:
    """Stateless validity (core's doCheckValid). Returns the failing code name or None."""
    body = op.body
    kind = body.type
    if kind == OpType.CREATE_ACCOUNT:
        ca = body.create_account_op
        assert ca is not None
        if ca.starting_balance.int64 < 0 or g_of(ca.destination) == source:
            return "CREATE_ACCOUNT_MALFORMED"
    elif kind == OpType.PAYMENT:
        pay = body.payment_op
        assert pay is not None
        if pay.amount.int64 <= 0:
            return "PAYMENT_MALFORMED"
    elif kind == OpType.BUMP_SEQUENCE:
        bs = body.bump_sequence_op
        assert bs is not None
        if bs.bump_to.sequence_number.int64 < 0:
            return "BUMP_SEQUENCE_BAD_SEQ"
    elif kind == OpType.ACCOUNT_MERGE:
        assert body.destination is not None
        if account_of(body.destination) == source:
            return "ACCOUNT_MERGE_MALFORMED"
    elif kind == OpType.MANAGE_DATA:
        md = body.manage_data_op
        assert md is not None
        name = md.data_name.string64
        if not name or not all(32 <= b < 127 for b in name):
            return "MANAGE_DATA_INVALID_NAME"
    elif kind == OpType.SET_OPTIONS:
        assert body.set_options_op is not None
        return _check_set_options(body.set_options_op, source)
    return None


def _check_set_options(so: xdr.SetOptionsOp, source: str) -> str | None:
    for flags in (so.set_flags, so.clear_flags):
        if flags is not None and flags.uint32 & ~_ALL_FLAGS:
            return "SET_OPTIONS_UNKNOWN_FLAG"
    both = so.set_flags is not None and so.clear_flags is not None
    if both and so.set_flags.uint32 & so.clear_flags.uint32:  # type: ignore[union-attr]
        return "SET_OPTIONS_BAD_FLAGS"
    for value in (so.master_weight, so.low_threshold, so.med_threshold, so.high_threshold):
        if value is not None and value.uint32 > 255:
            return "SET_OPTIONS_THRESHOLD_OUT_OF_RANGE"
    if so.signer is not None:
        key = signer_key_to_strkey(so.signer.key)
        kind, _, payload = decode_signer_key(key)
        if key == source or so.signer.weight.uint32 > 255:
            return "SET_OPTIONS_BAD_SIGNER"
        if kind == SIGNED_PAYLOAD and not payload:
            return "SET_OPTIONS_BAD_SIGNER"
    if so.home_domain is not None:
        domain = so.home_domain.string32
        if not all(32 <= b < 127 for b in domain):
            return "SET_OPTIONS_INVALID_HOME_DOMAIN"
    return None


def apply_op(state: State, op: xdr.Operation, source: str) -> tuple[str | None, dict[str, Any]]:
    """Apply one operation whose source exists. Returns (failure code or None, success extras)."""
    acc = state.get(source)
    assert acc is not None
    body = op.body
    kind = body.type
    reserve = state.base_reserve
    if kind == OpType.CREATE_ACCOUNT:
        ca = body.create_account_op
        assert ca is not None
        dest, amount = g_of(ca.destination), ca.starting_balance.int64
        if state.get(dest) is not None:
            return "CREATE_ACCOUNT_ALREADY_EXIST", {}
        if amount < 2 * reserve:
            return "CREATE_ACCOUNT_LOW_RESERVE", {}
        if available(acc, reserve) < amount:
            return "CREATE_ACCOUNT_UNDERFUNDED", {}
        state.put(dataclasses.replace(acc, balance=acc.balance - amount))
        state.put(Account(dest, balance=amount, seq_num=state.ledger_seq << 32))
    elif kind == OpType.PAYMENT:
        pay = body.payment_op
        assert pay is not None
        return _pay(state, acc, account_of(pay.destination), pay.asset, pay.amount.int64), {}
    elif kind in (OpType.PATH_PAYMENT_STRICT_RECEIVE, OpType.PATH_PAYMENT_STRICT_SEND):
        pp = body.path_payment_strict_receive_op or body.path_payment_strict_send_op
        assert pp is not None
        dest = account_of(pp.destination)
        if state.get(dest) is None:
            return kind.name + "_NO_DESTINATION", {}
    elif kind == OpType.SET_OPTIONS:
        assert body.set_options_op is not None
        return _apply_set_options(state, acc, body.set_options_op), {}
    elif kind == OpType.BUMP_SEQUENCE:
        bs = body.bump_sequence_op
        assert bs is not None
        bump_to = bs.bump_to.sequence_number.int64
        if bump_to > acc.seq_num:
            state.put(
                dataclasses.replace(
                    acc, seq_num=bump_to, seq_ledger=state.ledger_seq, seq_time=state.close_time
                )
            )
    elif kind == OpType.ACCOUNT_MERGE:
        assert body.destination is not None
        return _merge(state, acc, account_of(body.destination))
    return None, {}


def _pay(state: State, acc: Account, dest: str, asset: xdr.Asset, amount: int) -> str | None:
    target = state.get(dest)
    if target is None:
        return "PAYMENT_NO_DESTINATION"
    if asset.type != xdr.AssetType.ASSET_TYPE_NATIVE or dest == acc.account_id:
        return None
    if available(acc, state.base_reserve) < amount:
        return "PAYMENT_UNDERFUNDED"
    state.put(dataclasses.replace(acc, balance=acc.balance - amount))
    state.put(dataclasses.replace(target, balance=target.balance + amount))
    return None


def _merge(state: State, acc: Account, dest: str) -> tuple[str | None, dict[str, Any]]:
    target = state.get(dest)
    if target is None:
        return "ACCOUNT_MERGE_NO_ACCOUNT", {}
    if acc.flags & _AUTH_IMMUTABLE:
        return "ACCOUNT_MERGE_IMMUTABLE_SET", {}
    if acc.seq_num >= state.ledger_seq << 32:
        return "ACCOUNT_MERGE_SEQNUM_TOO_FAR", {}
    state.put(dataclasses.replace(target, balance=target.balance + acc.balance))
    state.delete(acc.account_id)
    return None, {"balance": acc.balance}


def _apply_set_options(state: State, acc: Account, so: xdr.SetOptionsOp) -> str | None:
    if so.inflation_dest is not None and state.get(g_of(so.inflation_dest)) is None:
        return "SET_OPTIONS_INVALID_INFLATION"
    flags = acc.flags
    if so.clear_flags is not None or so.set_flags is not None:
        if flags & _AUTH_IMMUTABLE:
            return "SET_OPTIONS_CANT_CHANGE"
        if so.clear_flags is not None:
            flags &= ~so.clear_flags.uint32
        if so.set_flags is not None:
            flags |= so.set_flags.uint32
    changes: dict[str, Any] = {"flags": flags}
    if so.home_domain is not None:
        changes["home_domain"] = so.home_domain.string32.decode()
    for field, value in (
        ("master_weight", so.master_weight),
        ("low", so.low_threshold),
        ("med", so.med_threshold),
        ("high", so.high_threshold),
    ):
        if value is not None:
            changes[field] = value.uint32
    if so.signer is not None:
        key, weight = signer_key_to_strkey(so.signer.key), so.signer.weight.uint32
        others = [s for s in acc.signers if s.key != key]
        if weight == 0:
            changes["signers"] = tuple(others)
        elif len(others) == len(acc.signers):
            if len(acc.signers) >= MAX_SIGNERS:
                return "SET_OPTIONS_TOO_MANY_SIGNERS"
            if acc.balance < min_balance(acc, state.base_reserve, extra_sub_entries=1):
                return "SET_OPTIONS_LOW_RESERVE"
            changes["signers"] = sort_signers([*others, Signer(key, weight)])
        else:
            changes["signers"] = sort_signers([*others, Signer(key, weight)])
    state.put(dataclasses.replace(acc, **changes))
    return None
