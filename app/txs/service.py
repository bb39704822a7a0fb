"""The ``POST /tx`` use case: parse, check signatures against the ledger, store atomically, evaluate.

Concurrency: the record is read, the new signatures are evaluated together with the stored ones,
and both are written in one conditional write that applies only if the record's signature count
and status are still those that were read (a new record is one insert). A request that loses the
race reads again and retries; after a few losses it adds its signatures one by one (each atomic),
re-reads and saves an evaluation only if no signature arrived in between. Readiness only ever
grows with more signatures, so whichever writer comes last leaves the correct status.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.cosigners.visibility import can_see
from app.errors import Conflict, NotFound, ValidationFailed
from app.jobs.kinds import submit_job
from app.ledger.accounts import AccountSource
from app.settings import NetworkSettings, Settings
from app.stellar.checker import Candidate
from app.stellar.envelope import (
    InvalidEnvelope,
    ParsedEnvelope,
    Sig,
    attach_signatures,
    parse_envelope,
)
from app.stellar.evaluation import accounts_to_load, collect_needs, evaluate
from app.stellar.requirements import AuthNeeds, build_needs, identify_signer
from app.stellar.signers import masked_hint_key, parse_signer
from app.stellar.summary import summarize_parsed
from app.store.base import TxStore, evaluated
from app.txs.model import StoredSignature, TxRecord, TxStatus
from app.txs.params import (
    check_not_expired,
    parse_options,
    parse_visibility,
    resolve_network,
)
from app.txs.view import tx_info

log = logging.getLogger("refractor.txs")

# Conditional writes tried (each after a fresh read) before a request that keeps losing the race
# to other co-signers falls back to adding its signatures one by one.
CONDITIONAL_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class PostRequest:
    body: Mapping[str, Any]
    network: NetworkSettings
    parsed: ParsedEnvelope
    viewer: str | None = None  # the signed-in account making the request, if any


@dataclass
class Changes:
    accepted: list[dict[str, str]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def candidates(record: TxRecord) -> list[Candidate]:
    return [Candidate(s.key, parse_signer(s.key).hint, s.signature) for s in record.signatures]


class TxService:
    def __init__(self, settings: Settings, store: TxStore, accounts: AccountSource,
                 on_change: Callable[[TxRecord], None] = lambda record: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.accounts = accounts
        self.on_change = on_change
        # Sees each change a request makes: (record before, or None; after; signers added).
        self.observer: Callable[[TxRecord | None, TxRecord, list[str]], None] = \
            lambda before, after, added: None
        self.clock = clock

    def get(self, tx_hash: str, viewer: str | None = None) -> TxRecord:
        """The record, if ``viewer`` may see it; a private record is "not found" to anyone else."""
        record = self.store.get(tx_hash)
        if record is None or not can_see(record, viewer):
            raise NotFound(f"Transaction {tx_hash} not found.")
        return record

    def request_submission(self, tx_hash: str, viewer: str | None = None) -> TxRecord:
        """Submit a fully signed transaction that was stored without ``submit`` (manual submit)."""
        record = self.get(tx_hash, viewer)
        now = self.clock()
        changed = False
        if record.status is TxStatus.READY and not record.submit:
            changed = self.store.transition(record.hash, TxStatus.READY, TxStatus.READY,
                                            {"submit": True, "updated_at": now})
        elif record.status is TxStatus.PROCESSED and not record.submit and record.submitted is None:
            changed = self.store.transition(record.hash, TxStatus.PROCESSED, TxStatus.READY,
                                            {"submit": True, "updated_at": now,
                                             "result": None, "error": None})
        if not changed:
            raise Conflict(_why_not_submittable(record))
        fresh = self._reload(record.hash)
        self.store.jobs.add(submit_job(fresh, now), rearm=True)
        self.on_change(fresh)
        return fresh

    def parse(self, body: Mapping[str, Any], viewer: str | None = None) -> PostRequest:
        """The CPU-only first step of ``POST /tx``: which network, which transaction."""
        network = resolve_network(body.get("network"), self.settings.networks)
        xdr = body.get("xdr")
        if not isinstance(xdr, str) or not xdr:
            raise ValidationFailed("Invalid transaction XDR", "xdr")
        try:
            parsed = parse_envelope(xdr.strip(), network.passphrase)
        except InvalidEnvelope as exc:
            raise ValidationFailed(str(exc), "xdr") from None
        return PostRequest(body, network, parsed, viewer)

    def post(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.process(self.parse(body))

    def process(self, request: PostRequest) -> dict[str, Any]:
        body, network, parsed = request.body, request.network, request.parsed
        now = self.clock()
        existing = self.store.get(parsed.hash_hex, by_inner=False)
        accounts = self.accounts.load(network.name, accounts_to_load(parsed))
        needs = collect_needs(parsed, accounts)
        for _ in range(CONDITIONAL_ATTEMPTS):
            changes = Changes()
            accepted = self._sort_signatures(parsed, needs, existing, now, changes)
            proved = self._proved(parsed, accepted, existing)
            if existing is not None and not proved and not can_see(existing, request.viewer):
                raise NotFound(f"Transaction {parsed.hash_hex} not found.")
            if existing is None:
                record = self._new_record(body, parsed, network.name, accounts, needs, now)
                if parse_visibility(body.get("visibility")) == "private":
                    record.private, record.creator = True, request.viewer
                record.signatures = accepted[: self.settings.max_signatures]
                record.sig_count = len(record.signatures)
                derived, ready = self._derive(record, parsed, accounts)
                _apply(record, derived, ready, now)  # evaluated before the write: one insert
                # Fully signed already: its submission job goes in with it (one write).
                jobs = [submit_job(record, now)] if record.status is TxStatus.READY else []
                if self.store.insert(record, jobs):
                    return self._answer(None, record, accepted, record.signatures, changes, now,
                                        queued=True)
            else:
                written = self._add(existing, accepted, parsed, accounts, now)
                if written is not None:
                    return self._answer(existing, written[0], accepted, written[1], changes, now,
                                        queued=True)
            # Another request created the record or changed it since it was read.
            existing = self._reload(parsed.hash_hex)
        # Still losing the race to other co-signers: signatures one by one (each write atomic on
        # its own, so this always ends), then the evaluation of whatever is stored.
        added = self.store.add_signatures(parsed.hash_hex, accepted, self.settings.max_signatures)
        record = self._reload(parsed.hash_hex)
        if added or record.status is TxStatus.PENDING:
            record = self._evaluate(record, parsed, accounts, now)
        return self._answer(existing, record, accepted, added, changes, now)

    @staticmethod
    def _proved(parsed: ParsedEnvelope, accepted: list[StoredSignature],
                existing: TxRecord | None) -> bool:
        """A private record shows itself to a request carrying a valid signature of one of its
        parties (new, or the very one stored): the poster holds what only a party can make."""
        return bool(accepted) or (existing is not None and bool(
            {s.signature for s in parsed.signatures} & {s.signature for s in existing.signatures}))

    def _add(self, existing: TxRecord, accepted: list[StoredSignature], parsed: ParsedEnvelope,
             accounts: Mapping[str, Any],
             now: float) -> tuple[TxRecord, list[StoredSignature]] | None:
        """Add the signatures that fit and store the evaluation of the result in one conditional
        write; the record as written and the signatures added, or None if it changed meanwhile."""
        fitting = accepted[: max(0, self.settings.max_signatures - existing.sig_count)]
        derived: dict[str, Any] | None = None
        ready = False
        # A settled record keeps the envelope handed to the network; a pending one is evaluated
        # again even without a new signature (its accounts' thresholds may have changed).
        if existing.status in (TxStatus.PENDING, TxStatus.READY) and (
                fitting or existing.status is TxStatus.PENDING):
            derived, ready = self._derive(evaluated(existing, fitting, None, False, now), parsed,
                                          accounts)
        # Becoming ready: its submission job is written with the signatures that make it so.
        jobs = ([submit_job(existing, now)] if ready and fitting and derived is not None
                and existing.status is TxStatus.PENDING else [])
        written = self.store.add_evaluated(existing, fitting, derived, ready, now, jobs)
        return None if written is None else (written, fitting)

    def _answer(self, existing: TxRecord | None, record: TxRecord,
                accepted: list[StoredSignature], added: list[StoredSignature], changes: Changes,
                now: float, queued: bool = False) -> dict[str, Any]:
        """The response to a POST that stored ``record``, after queueing what the change needs
        (unless the write that stored it ``queued`` its submission already)."""
        stored_keys = {s.key for s in record.signatures}
        for sig in accepted:
            if sig in added:
                changes.accepted.append({"key": sig.key, "signature": _b64(sig.signature)})
            elif sig.key not in stored_keys:
                changes.rejected.append({"key": sig.key, "signature": _b64(sig.signature),
                                         "reason": "limit"})
        created = existing is None
        was_ready = existing is not None and existing.status is TxStatus.READY
        if record.status is TxStatus.READY and not was_ready and (created or added) and not queued:
            # Became ready with this request: queue its submission (again, if it was submitted
            # before and went back to pending).
            self.store.jobs.add(submit_job(record, now), rearm=True)
        if created or added:
            try:
                # Queues the change's subscription events as a job; survives a co-signer outage.
                self.observer(existing, record, [s.key for s in added])
            except Exception:  # the change is stored: its answer must not become an error
                log.exception("could not queue a change's events",
                              extra={"fields": {"hash": record.hash}})
            self.on_change(record)
        return {**tx_info(record), "changes": {"accepted": changes.accepted,
                                               "rejected": changes.rejected}}

    def _reload(self, tx_hash: str) -> TxRecord:
        record = self.store.get(tx_hash, by_inner=False)
        if record is None:  # deleted between our write and read: only cleanup can do that
            raise NotFound(f"Transaction {tx_hash} not found.")
        return record

    def _sort_signatures(self, parsed: ParsedEnvelope, needs: AuthNeeds,
                         existing: TxRecord | None, now: float,
                         changes: Changes) -> list[StoredSignature]:
        """Split the uploaded signatures into new valid ones and rejected ones; skip duplicates."""
        potential = set(needs.potential_signers())
        stored = existing.signatures if existing else []
        seen_bytes = {s.signature for s in stored}
        seen_keys = {s.key for s in stored}
        accepted: list[StoredSignature] = []
        for sig in parsed.signatures:
            if sig.signature in seen_bytes:
                continue
            key = identify_signer(needs, sig.hint, sig.signature)
            if key is None:
                hinted = any(parse_signer(k).hint == sig.hint for k in potential)
                changes.rejected.append({
                    "key": masked_hint_key(sig.hint), "signature": _b64(sig.signature),
                    "reason": "invalid_signature" if hinted else "unknown_signer"})
                continue
            if key in seen_keys:
                continue
            seen_keys.add(key)
            seen_bytes.add(sig.signature)
            accepted.append(StoredSignature(key, sig.signature, now))
        return accepted

    def _new_record(self, body: Mapping[str, Any], parsed: ParsedEnvelope, network: str,
                    accounts: Mapping[str, Any], needs: AuthNeeds, now: float) -> TxRecord:
        check_not_expired(parsed.max_time, now)
        options = parse_options(body, now, self.settings.callbacks.allow_private_networks)
        max_time = _expiry(options.expires, _storable_time(parsed.max_time))
        signers = needs.potential_signers()
        if parsed.inner is not None:
            inner = build_needs(parsed.inner, accounts, "transaction").potential_signers()
            signers = list(dict.fromkeys(inner + signers))
        return TxRecord(
            hash=parsed.hash_hex,
            network=network,
            xdr=parsed.unsigned_xdr,
            status=TxStatus.PENDING,
            created_at=now,
            updated_at=now,
            submit=options.submit,
            callback_url=options.callback_url,
            desired_signers=options.desired_signers,
            min_time=_storable_time(parsed.min_time),
            max_time=max_time,
            inner_hash=parsed.inner.hash.hex() if parsed.inner is not None else None,
            sources=accounts_to_load(parsed),
            signers=signers,
        )

    def _derive(self, record: TxRecord, parsed: ParsedEnvelope,
                accounts: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """The view of the record's stored signatures, and whether they make it ready."""
        stored = candidates(record)
        result = evaluate(parsed, accounts, stored, record.desired_signers or ())
        chosen = result.selected if result.selected is not None else stored
        derived: dict[str, Any] = {
            "xdr": attach_signatures(record.xdr, [Sig(c.hint, c.signature) for c in chosen]),
            "progress": result.progress,
            # The decoded transaction never changes: computed once, on creation.
            "summary": record.derived.get("summary") or _summary(parsed),
        }
        if parsed.inner is not None:
            derived["feeBump"] = {"innerHash": parsed.inner.hash.hex(),
                                  "feeSource": parsed.shape.source}
        return derived, result.ready

    def _evaluate(self, record: TxRecord, parsed: ParsedEnvelope, accounts: Mapping[str, Any],
                  now: float) -> TxRecord:
        if record.status not in (TxStatus.PENDING, TxStatus.READY):
            return record  # the envelope handed to the network is settled; keep it as it was
        derived, ready = self._derive(record, parsed, accounts)
        if not self.store.save_evaluation(record.hash, record.sig_count, derived, ready, now):
            return self._reload(record.hash)  # a newer signature won; show what is stored now
        _apply(record, derived, ready, now)  # what the conditional update did, without a read
        return record


def _apply(record: TxRecord, derived: dict[str, Any], ready: bool, now: float) -> None:
    """Mirror of TxStore.save_evaluation on the in-memory record."""
    record.derived = derived
    if ready and record.status is TxStatus.PENDING:
        record.status, record.ready_at = TxStatus.READY, now


def _why_not_submittable(record: TxRecord) -> str:
    if record.status is TxStatus.PENDING:
        return "The transaction is not fully signed yet"
    if record.submit or record.submitted is not None:
        return "The transaction is already submitted or queued for submission"
    return f"The transaction cannot be submitted from status {record.status.value}"


def _summary(parsed: ParsedEnvelope) -> dict[str, Any]:
    try:
        return summarize_parsed(parsed)
    except InvalidEnvelope as exc:
        raise ValidationFailed(str(exc), "xdr") from None


# Time bounds are unsigned 64-bit on the wire, but both engines store signed 64-bit integers.
# Past this, a bound means "never" either way (about 292 billion years from 1970).
_STORABLE_TIME_MAX = 2**63 - 1


def _storable_time(value: int) -> int:
    return min(value, _STORABLE_TIME_MAX)


def _expiry(expires: int | None, tx_max_time: int) -> int | None:
    """The earlier of the requested expiry and the transaction's own time bounds."""
    bounds = [t for t in (expires, tx_max_time) if t]
    return min(bounds) if bounds else None
