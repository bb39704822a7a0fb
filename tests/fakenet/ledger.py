"""An in-memory Stellar ledger that admits and applies envelopes like stellar-core.

Every call takes the one lock, so concurrent submissions are serialised exactly as a single
validator would serialise them: one transaction per ledger, validated against the ledger it
will be applied in.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from stellar_sdk import Network, StrKey

from . import codes
from .envelope import FeeBumpFrame, MalformedEnvelope, Parsed, TxFrame, network_id, parse
from .model import DEFAULT_BALANCE, Account, ApplyResult, Signer, Submission, sort_signers
from .ops import apply_op
from .results import fee_bump_result, op_result, tx_meta, tx_result
from .sigcheck import ED25519, decode_signer_key
from .validate import Verdict, check_fee_bump, check_tx

SignerLike = Signer | tuple[str, int]


class _Work:
    """Pending account changes on top of the committed map (a LedgerTxn in core terms)."""

    def __init__(self, base: dict[str, Account], ledger_seq: int, close_time: int, ledger: Ledger):
        self.base = base
        self.changes: dict[str, Account | None] = {}
        self.ledger_seq = ledger_seq
        self.close_time = close_time
        self.base_fee = ledger.base_fee
        self.base_reserve = ledger.base_reserve

    def get(self, account_id: str) -> Account | None:
        if account_id in self.changes:
            return self.changes[account_id]
        return self.base.get(account_id)

    def put(self, account: Account) -> None:
        self.changes[account.account_id] = dataclasses.replace(account, last_modified=self.ledger_seq)

    def delete(self, account_id: str) -> None:
        self.changes[account_id] = None

    def commit(self) -> None:
        for key, value in self.changes.items():
            if value is None:
                self.base.pop(key, None)
            else:
                self.base[key] = value
        self.changes.clear()


def _as_signer(item: SignerLike) -> Signer:
    return item if isinstance(item, Signer) else Signer(item[0], int(item[1]))


class Ledger:
    def __init__(
        self,
        passphrase: str = Network.TESTNET_NETWORK_PASSPHRASE,
        *,
        sequence: int = 1000,
        base_fee: int = 100,
        base_reserve: int = 5_000_000,
        protocol_version: int = 23,
    ) -> None:
        self.lock = threading.RLock()
        self.passphrase = passphrase
        self.network_id = network_id(passphrase)
        self.base_fee = base_fee
        self.base_reserve = base_reserve
        self.protocol_version = protocol_version
        self.oldest_sequence = sequence
        self._sequence = sequence
        self._time_offset = 0.0
        self.started_at = self.close_time()
        self._accounts: dict[str, Account] = {}
        self._records: dict[str, ApplyResult] = {}
        self._submissions: list[Submission] = []

    # -- time and ledger sequence -------------------------------------------------------

    @property
    def sequence(self) -> int:
        """The latest closed ledger."""
        with self.lock:
            return self._sequence

    @sequence.setter
    def sequence(self, value: int) -> None:
        with self.lock:
            self._sequence = value

    @property
    def time_offset(self) -> float:
        return self._time_offset

    @time_offset.setter
    def time_offset(self, seconds: float) -> None:
        with self.lock:
            self._time_offset = float(seconds)

    def advance_time(self, seconds: float) -> int:
        with self.lock:
            self._time_offset += seconds
            return self.close_time()

    def close_time(self) -> int:
        """Close time of the ledger being closed now: wall clock plus the test offset."""
        return int(time.time() + self._time_offset)

    def close_ledger(self, count: int = 1) -> int:
        with self.lock:
            self._sequence += count
            return self._sequence

    # -- accounts ---------------------------------------------------------------------

    def create_account(
        self,
        account_id: str,
        *,
        seq: int | None = None,
        master_weight: int = 1,
        low: int = 0,
        med: int = 0,
        high: int = 0,
        signers: Iterable[SignerLike] = (),
        balance: int = DEFAULT_BALANCE,
    ) -> Account:
        """Create or replace an account. seq defaults to what createAccount would give it."""
        with self.lock:
            account = Account(
                account_id=account_id,
                balance=balance,
                seq_num=self._sequence << 32 if seq is None else seq,
                master_weight=master_weight,
                low=low,
                med=med,
                high=high,
                signers=sort_signers([_as_signer(s) for s in signers]),
                last_modified=self._sequence,
            )
            _validate_account(account)
            self._accounts[account_id] = account
            return account

    def update_account(self, account_id: str, **changes: Any) -> Account:
        """Replace fields of an existing account (e.g. seq_num, balance, thresholds)."""
        with self.lock:
            current = self._accounts[account_id]
            if "signers" in changes:
                changes["signers"] = sort_signers([_as_signer(s) for s in changes["signers"]])
            account = dataclasses.replace(current, last_modified=self._sequence, **changes)
            _validate_account(account)
            self._accounts[account_id] = account
            return account

    def set_signers(self, account_id: str, signers: Iterable[SignerLike], **thresholds: int) -> Account:
        """Replace the extra signers; optionally master_weight/low/med/high too."""
        return self.update_account(account_id, signers=list(signers), **thresholds)

    def get_account(self, account_id: str) -> Account | None:
        with self.lock:
            return self._accounts.get(account_id)

    def accounts(self) -> list[Account]:
        with self.lock:
            return list(self._accounts.values())

    # -- transactions -----------------------------------------------------------------

    def get_transaction(self, tx_hash: str) -> ApplyResult | None:
        """The applied transaction with this hash (a fee bump answers to both hashes)."""
        with self.lock:
            return self._records.get(tx_hash.lower())

    def transactions(self) -> list[ApplyResult]:
        with self.lock:
            seen: dict[int, ApplyResult] = {id(r): r for r in self._records.values()}
            return sorted(seen.values(), key=lambda r: r.ledger or 0)

    @property
    def submissions(self) -> list[Submission]:
        with self.lock:
            return list(self._submissions)

    def submissions_of(self, tx_hash: str) -> list[Submission]:
        with self.lock:
            return [s for s in self._submissions if s.hash == tx_hash.lower()]

    def record_submission(
        self, via: str, envelope_xdr: str, tx_hash: str | None, status: str, code: str
    ) -> None:
        """Log an envelope that a view answered without submitting it (injected faults)."""
        with self.lock:
            self._submissions.append(
                Submission(len(self._submissions), time.time(), via, envelope_xdr, tx_hash, status, code)
            )

    def reset(self, *, accounts: bool = False) -> None:
        """Forget submissions and transaction records (long benchmark runs), and optionally
        every account too. The ledger sequence and clock keep going."""
        with self.lock:
            self._records.clear()
            self._submissions.clear()
            if accounts:
                self._accounts.clear()

    def hash_of(self, envelope_xdr: str) -> str | None:
        try:
            return parse(envelope_xdr, self.network_id).hash.hex()
        except MalformedEnvelope:
            return None

    def check(self, envelope_xdr: str) -> ApplyResult:
        """Validate without applying or logging: would the network admit this envelope now?
        status is "valid", "rejected" or "malformed"."""
        with self.lock:
            try:
                parsed = parse(envelope_xdr, self.network_id)
            except MalformedEnvelope:
                return _malformed(envelope_xdr)
            verdict = self._verdict(parsed)
            return self._describe(parsed, verdict, envelope_xdr, "valid" if verdict.ok else "rejected")

    def apply(self, envelope_xdr: str, *, via: str = "direct", known_first: bool = False) -> ApplyResult:
        """Admit and apply one envelope. known_first: answer an already-applied hash from the
        records instead of resubmitting it (Horizon's synchronous endpoint does that)."""
        with self.lock:
            try:
                parsed = parse(envelope_xdr, self.network_id)
            except MalformedEnvelope:
                result = _malformed(envelope_xdr)
                self._log(via, envelope_xdr, result)
                return result
            known = self._records.get(parsed.hash.hex()) if known_first else None
            if known is not None:
                self._log(via, envelope_xdr, dataclasses.replace(known, status="known"))
                return known
            verdict = self._verdict(parsed)
            if not verdict.ok:
                result = self._describe(parsed, verdict, envelope_xdr, "rejected")
            else:
                result = self._apply(parsed, envelope_xdr)
            self._log(via, envelope_xdr, result)
            return result

    # -- internals --------------------------------------------------------------------

    def _view(self, ledger_seq: int, close_time: int) -> _Work:
        return _Work(self._accounts, ledger_seq, close_time, self)

    def _verdict(self, parsed: Parsed) -> Verdict:
        view = self._view(self._sequence + 1, self.close_time())
        frame = parsed.frame
        if isinstance(frame, FeeBumpFrame):
            return check_fee_bump(frame, view)
        return check_tx(frame, view)

    def _log(self, via: str, envelope_xdr: str, result: ApplyResult) -> None:
        self.record_submission(via, envelope_xdr, result.hash, result.status, result.code)

    def _apply(self, parsed: Parsed, envelope_xdr: str) -> ApplyResult:
        self._sequence += 1
        work = self._view(self._sequence, self.close_time())
        frame = parsed.frame
        if isinstance(frame, FeeBumpFrame):
            n_ops = len(frame.inner.tx.operations)
            charged = self._charge(work, frame.fee_source, frame.inclusion_fee, n_ops + 1, frame.inner)
            _remove_pre_auth(work, [frame.fee_source], frame.hash)
            inner_code, ops = self._apply_tx(work, frame.inner)
            code = "txFEE_BUMP_INNER_SUCCESS" if inner_code == "txSUCCESS" else "txFEE_BUMP_INNER_FAILED"
            verdict = Verdict(code, charged, inner=Verdict(inner_code, 0, ops))
        else:
            charged = self._charge(work, frame.source, frame.inclusion_fee, len(frame.tx.operations), frame)
            inner_code, ops = self._apply_tx(work, frame)
            verdict = Verdict(inner_code, charged, ops)
        work.commit()
        result = self._describe(parsed, verdict, envelope_xdr, "applied")
        result.ledger = self._sequence
        result.created_at = work.close_time
        n_ops = len(parsed.inner.tx.operations)
        result.result_meta_xdr = tx_meta(n_ops if result.successful else 0).to_xdr()
        self._records[result.hash or ""] = result
        if result.inner_hash:
            self._records[result.inner_hash] = result
        return result

    def _charge(self, work: _Work, payer: str, inclusion: int, ops: int, frame: TxFrame) -> int:
        account = work.get(payer)
        assert account is not None
        # Without surge pricing core charges the minimum, not the bid (getFee while applying).
        fee = min(account.balance, min(inclusion, self.base_fee * max(1, ops)) + frame.resource_fee)
        work.put(dataclasses.replace(account, balance=account.balance - fee))
        return fee

    def _apply_tx(self, work: _Work, frame: TxFrame) -> tuple[str, list[Any]]:
        source = work.get(frame.source)
        assert source is not None
        # The sequence number is consumed and one-time signers go even if an operation fails.
        work.put(
            dataclasses.replace(
                source, seq_num=frame.seq, seq_ledger=work.ledger_seq, seq_time=work.close_time
            )
        )
        _remove_pre_auth(work, sorted(frame.source_accounts), frame.hash)
        work.commit()
        ops_work = self._view(work.ledger_seq, work.close_time)
        results = []
        ok = True
        for op, op_source in zip(frame.tx.operations, frame.op_sources, strict=True):
            if ops_work.get(op_source) is None:
                results.append(op_result(op, "opNO_ACCOUNT"))
                ok = False
                continue
            code, extra = apply_op(ops_work, op, op_source)
            results.append(op_result(op, code, extra))
            ok = ok and code is None
        if ok:
            ops_work.commit()
        return ("txSUCCESS" if ok else "txFAILED"), results

    def _describe(self, parsed: Parsed, verdict: Verdict, envelope_xdr: str, status: str) -> ApplyResult:
        frame = parsed.frame
        fee_bump = isinstance(frame, FeeBumpFrame)
        inner = verdict.inner
        op_results = (inner.op_results if inner else verdict.op_results) or []
        if fee_bump:
            assert isinstance(frame, FeeBumpFrame)
            result_xdr = fee_bump_result(
                verdict.code,
                verdict.fee_charged,
                frame.inner.hash if inner else None,
                inner.code if inner else None,
                inner.op_results if inner else None,
            )
        else:
            result_xdr = tx_result(verdict.code, verdict.fee_charged, verdict.op_results)
        tx = parsed.inner
        return ApplyResult(
            status=status,
            code=verdict.code,
            hash=parsed.hash.hex(),
            inner_hash=frame.inner.hash.hex() if isinstance(frame, FeeBumpFrame) else None,
            fee_bump=fee_bump,
            successful=verdict.ok,
            inner_code=inner.code if inner else None,
            op_codes=[codes.horizon_op_code(r) for r in op_results],
            op_results=[codes.inner_code_name(r) for r in op_results],
            result_xdr=result_xdr.to_xdr(),
            envelope_xdr=envelope_xdr,
            fee_charged=verdict.fee_charged,
            source_account=tx.source,
            fee_account=frame.fee_source if isinstance(frame, FeeBumpFrame) else tx.source,
            max_fee=frame.fee,
            operation_count=len(tx.tx.operations),
            sequence=tx.seq,
        )


def _remove_pre_auth(work: _Work, account_ids: Sequence[str], tx_hash: bytes) -> None:
    key = StrKey.encode_pre_auth_tx(tx_hash)
    for account_id in account_ids:
        account = work.get(account_id)
        if account is not None and any(s.key == key for s in account.signers):
            kept = tuple(s for s in account.signers if s.key != key)
            work.put(dataclasses.replace(account, signers=kept))


def _malformed(envelope_xdr: str) -> ApplyResult:
    return ApplyResult(
        status="malformed",
        code="txMALFORMED",
        result_xdr=tx_result("txMALFORMED", 0).to_xdr(),
        envelope_xdr=envelope_xdr,
    )


def _validate_account(account: Account) -> None:
    if decode_signer_key(account.account_id)[0] != ED25519:
        raise ValueError(f"not an account id: {account.account_id}")
    for value in (account.master_weight, account.low, account.med, account.high):
        if not 0 <= value <= 255:
            raise ValueError(f"master weight and thresholds are 0..255, got {value}")
    if len(account.signers) > 20:
        raise ValueError("an account holds at most 20 signers")
    for signer in account.signers:
        decode_signer_key(signer.key)
        # Weights above 255 are only reachable on accounts from before protocol 10; they are
        # allowed here so the checker's cap can be exercised.
        if not 1 <= signer.weight <= 0xFFFFFFFF:
            raise ValueError(f"signer weight must be 1..2**32-1: {signer}")
        if signer.key == account.account_id:
            raise ValueError("the master key cannot also be an extra signer")
