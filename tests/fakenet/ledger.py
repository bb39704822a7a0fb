"""An in-memory Stellar ledger that admits and applies envelopes like stellar-core.

Every call takes the one lock, so concurrent submissions are serialised exactly as a single
validator would serialise them: one transaction per ledger, validated against the ledger it
will be applied in.

By default an admitted envelope is applied at once. With ``queue_seconds`` set, it waits in
core's transaction queue (one per source account, see txqueue.py) for that long, or until
``release()`` when it is None, and is validated again when its ledger closes: one that became
invalid meanwhile is dropped, as core drops it from the queue. Queued transactions are
applied lazily, by the first call that looks at the ledger after they are due.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable
from typing import Any

from stellar_sdk import Network

from .apply import Work, apply_parsed, describe, malformed_result
from .envelope import FeeBumpFrame, MalformedEnvelope, Parsed, network_id, parse
from .model import DEFAULT_BALANCE, Account, ApplyResult, Signer, Submission, sort_signers
from .ops import available
from .sigcheck import ED25519, decode_signer_key
from .txqueue import Queued, TxQueue, fee_source, full_fee
from .validate import Verdict, check_fee_bump, check_tx

SignerLike = Signer | tuple[str, int]


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
        self._changed = threading.Condition(self.lock)
        self._queue = TxQueue()
        self._dropped: dict[str, ApplyResult] = {}
        # 0: apply admitted envelopes at once; > 0: keep them queued that many seconds;
        # None: keep them queued until release().
        self.queue_seconds: float | None = 0.0
        # How long Horizon's synchronous POST /transactions waits for a queued transaction to
        # land in a ledger before answering 504 (Horizon's own default is 30 s).
        self.horizon_wait = 30.0

    # -- time and ledger sequence -------------------------------------------------------

    @property
    def sequence(self) -> int:
        """The latest closed ledger."""
        with self.lock:
            self._settle()
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
        """Close `count` ledgers without transactions (queued ones that are due land first)."""
        with self.lock:
            self._settle()
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
            self._settle()
            return self._accounts.get(account_id)

    def accounts(self) -> list[Account]:
        with self.lock:
            self._settle()
            return list(self._accounts.values())

    # -- transactions -----------------------------------------------------------------

    def get_transaction(self, tx_hash: str) -> ApplyResult | None:
        """The applied transaction with this hash (a fee bump answers to both hashes)."""
        with self.lock:
            self._settle()
            return self._records.get(tx_hash.lower())

    def transactions(self) -> list[ApplyResult]:
        with self.lock:
            self._settle()
            seen: dict[int, ApplyResult] = {id(r): r for r in self._records.values()}
            return sorted(seen.values(), key=lambda r: r.ledger or 0)

    @property
    def submissions(self) -> list[Submission]:
        with self.lock:
            self._settle()
            return list(self._submissions)

    def submissions_of(self, tx_hash: str) -> list[Submission]:
        with self.lock:
            self._settle()
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
            self._queue.clear()
            self._dropped.clear()
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
            self._settle()
            try:
                parsed = parse(envelope_xdr, self.network_id)
            except MalformedEnvelope:
                return malformed_result(envelope_xdr)
            refused = self._admission(parsed, envelope_xdr)
            if refused is not None:
                return refused
            verdict = self._verdict(parsed)
            return describe(parsed, verdict, envelope_xdr, "valid" if verdict.ok else "rejected")

    def apply(self, envelope_xdr: str, *, via: str = "direct", known_first: bool = False) -> ApplyResult:
        """Admit one envelope and apply it (or queue it, see queue_seconds). known_first: answer
        an already-applied hash from the records instead of resubmitting it (Horizon's
        synchronous endpoint does that).

        status of the answer: "applied", "queued" (admitted, not in a ledger yet),
        "duplicate" / "try_again_later" (the queue's answers, nothing changed), "rejected" or
        "malformed"."""
        with self.lock:
            self._settle()
            try:
                parsed = parse(envelope_xdr, self.network_id)
            except MalformedEnvelope:
                result = malformed_result(envelope_xdr)
                self._log(via, envelope_xdr, result)
                return result
            known = self._records.get(parsed.hash.hex()) if known_first else None
            if known is not None:
                self._log(via, envelope_xdr, dataclasses.replace(known, status="known"))
                return known
            refused = self._admission(parsed, envelope_xdr)
            if refused is not None:
                self._log(via, envelope_xdr, refused)
                return refused
            verdict = self._verdict(parsed)
            if not verdict.ok:
                result = describe(parsed, verdict, envelope_xdr, "rejected")
            elif self.queue_seconds == 0:
                result = self._apply(parsed, envelope_xdr)
            else:
                now = self._clock()
                release_at = None if self.queue_seconds is None else now + self.queue_seconds
                self._queue.add(parsed, envelope_xdr, via, now, release_at)
                result = describe(parsed, verdict, envelope_xdr, "queued")
            self._log(via, envelope_xdr, result)
            return result

    # -- the transaction queue ----------------------------------------------------------

    def queued(self) -> list[Queued]:
        """Transactions admitted but not applied yet, oldest first."""
        with self.lock:
            self._settle()
            return self._queue.entries()

    def release(self) -> list[ApplyResult]:
        """Close a ledger for every queued transaction now, due or not (each is validated again
        first; the ones that became invalid are dropped)."""
        with self.lock:
            return self._settle(everything=True)

    def dropped(self, tx_hash: str) -> ApplyResult | None:
        """A queued transaction that was invalid when its ledger closed (never applied)."""
        with self.lock:
            self._settle()
            return self._dropped.get(tx_hash.lower())

    def wait_for(self, tx_hash: str, timeout: float) -> ApplyResult | None:
        """Wait until this hash is applied (its record) or dropped from the queue (None), at
        most `timeout` seconds (None)."""
        deadline = time.monotonic() + timeout
        key = tx_hash.lower()
        with self.lock:
            while True:
                self._settle()
                if key in self._records:
                    return self._records[key]
                left = deadline - time.monotonic()
                if key in self._dropped or left <= 0:
                    return None
                # Queued transactions land lazily: look again when the next one is due.
                due = self._queue.next_release()
                step = left if due is None else max(0.01, min(left, due - self._clock()))
                self._changed.wait(step)

    # -- internals --------------------------------------------------------------------

    def _clock(self) -> float:
        return time.time() + self._time_offset

    def _admission(self, parsed: Parsed, envelope_xdr: str) -> ApplyResult | None:
        """The queue's answer when it refuses the envelope before (or after) validation."""
        if not len(self._queue):
            return None
        refusal = self._queue.refusal(parsed)
        if refusal is None:
            verdict = self._verdict(parsed)
            if not verdict.ok:
                return None  # validation answers it
            payer = self._accounts.get(fee_source(parsed))
            owed = self._queue.fees_owed(parsed)
            if payer is None or not owed or available(payer, self.base_reserve) - full_fee(parsed) >= owed:
                return None
            return describe(
                parsed, Verdict("txINSUFFICIENT_BALANCE", verdict.fee_charged), envelope_xdr, "rejected"
            )
        if refusal.status == "rejected":
            return describe(parsed, Verdict(refusal.code, refusal.fee), envelope_xdr, "rejected")
        return ApplyResult(
            status=refusal.status,
            code=refusal.code,
            hash=parsed.hash.hex(),
            envelope_xdr=envelope_xdr,
            source_account=parsed.inner.source,
            sequence=parsed.inner.seq,
        )

    def _settle(self, *, everything: bool = False) -> list[ApplyResult]:
        """Apply the queued transactions that are due, each in its own ledger."""
        if not len(self._queue):
            return []
        results = []
        for entry in self._queue.take(None if everything else self._clock()):
            verdict = self._verdict(entry.parsed)
            if verdict.ok:
                results.append(self._apply(entry.parsed, entry.envelope_xdr))
            else:
                dropped = describe(entry.parsed, verdict, entry.envelope_xdr, "dropped")
                self._dropped[entry.hash] = dropped
                results.append(dropped)
        self._changed.notify_all()
        return results

    def _view(self, ledger_seq: int, close_time: int) -> Work:
        return Work(self._accounts, ledger_seq, close_time, self.base_fee, self.base_reserve)

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
        result = apply_parsed(work, parsed, envelope_xdr)
        self._records[result.hash or ""] = result
        if result.inner_hash:
            self._records[result.inner_hash] = result
        self._changed.notify_all()
        return result


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
