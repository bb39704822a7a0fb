"""What sequencing decides on, gathered fresh from the store and the network.

The rules are pure (app.stellar.sequencing); this module reads their inputs: the live records of
one source account (pending, ready, being submitted) and the few that landed lately, the
account's sequence, seqLedger and seqTime read from the network now (never from the cache), and
the latest ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from app.ledger.accounts import AccountSource
from app.stellar.envelope import InvalidEnvelope, parse_envelope
from app.stellar.sequencing import (
    AccountState,
    Decision,
    Entry,
    NextLedger,
    Preconditions,
    Status,
    decide,
    preconditions_of,
)
from app.store.base import TxQuery, TxStore
from app.txs.model import TxRecord, TxStatus

PAGE = 100
MAX_LIVE = 1000  # live records of one source considered at most (oldest beyond are ignored)
RECENT_FINAL = 20  # landed records looked at for "superseded_by"


@dataclass(frozen=True, slots=True)
class SourceView:
    network: str
    source: str
    account: AccountState
    nxt: NextLedger
    records: Mapping[str, TxRecord]
    entries: Mapping[str, Entry]
    decisions: Mapping[str, Decision]


def was_sent(record: TxRecord) -> bool:
    """The envelope went to the network at least once (its outcome may not be known)."""
    return bool((record.result or {}).get("envelopeXdr"))


def entry_status(record: TxRecord) -> Status | None:
    """How sequencing sees a record; None for records that tell it nothing. A ``processing``
    record passed its own ordering check and is being submitted: in flight. A ``ready`` one is
    in flight once it was sent (its outcome is being awaited), else ready: every process deciding
    at once sees the same ready records and agrees on the one that goes."""
    if record.status is TxStatus.PENDING:
        return Status.PENDING
    if record.status.final:
        # Applied in a ledger (successfully or not): its sequence is consumed.
        landed = record.submitted is not None or (record.result or {}).get("ledger") is not None
        return Status.LANDED if landed and was_sent(record) else None
    if record.status is TxStatus.PROCESSING:
        return Status.IN_FLIGHT
    return Status.IN_FLIGHT if was_sent(record) else Status.READY


class Sequencer:
    def __init__(self, store: TxStore, accounts: AccountSource, passphrases: Mapping[str, str],
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.accounts = accounts
        self.passphrases = passphrases
        self.clock = clock

    def preconditions(self, record: TxRecord) -> Preconditions | None:
        try:
            parsed = parse_envelope(record.xdr, self.passphrases[record.network])
        except (InvalidEnvelope, KeyError):
            return None
        return preconditions_of(parsed.envelope)

    def view(self, record: TxRecord) -> SourceView | None:
        """The decisions for ``record``'s source, everything read now. None when the source
        account does not exist: the network's own answer is the best there is."""
        pre = self.preconditions(record)
        if pre is None:
            return None
        account = self.accounts.fresh(record.network, pre.source)
        if account.missing:
            return None
        ledger, close_time = self.accounts.latest_ledger(record.network)
        nxt = NextLedger(ledger + 1, max(int(self.clock()), close_time))
        state = AccountState(account.sequence, account.seq_ledger, account.seq_time)
        records: dict[str, TxRecord] = {record.hash: record}
        entries: dict[str, Entry] = {}
        for other in self._same_source(record.network, pre.source):
            records.setdefault(other.hash, other)
        for tx_hash, rec in records.items():
            status = entry_status(rec)
            rec_pre = pre if rec is record else self.preconditions(rec)
            if status is None or rec_pre is None or rec_pre.source != pre.source:
                continue
            entries[tx_hash] = Entry(tx_hash, rec_pre, status, rec.inner_hash,
                                     rec.ready_at if rec.ready_at is not None else rec.created_at)
        decisions = decide(list(entries.values()), state, nxt)
        return SourceView(record.network, pre.source, state, nxt, records, entries, decisions)

    def _same_source(self, network: str, source: str) -> Iterator[TxRecord]:
        """Live records naming the account (as source or signer: the caller filters), and the
        latest final ones. Most accounts have fewer than a page of records: one read, all
        statuses; beyond that, a read per status, so a long history of final records never
        hides a live one."""
        everything = self.store.search(TxQuery(account=source, network=network, limit=PAGE,
                                               viewer=source))
        if everything.next is None:
            yield from everything.items
            return
        for status in (TxStatus.PENDING, TxStatus.READY, TxStatus.PROCESSING):
            cursor = None
            seen = 0
            while seen < MAX_LIVE:
                # viewer=source: private records of the source count too (the source is a party).
                page = self.store.search(TxQuery(account=source, status=status, network=network,
                                                 limit=PAGE, cursor=cursor, viewer=source))
                yield from page.items
                seen += len(page.items)
                if page.next is None:
                    break
                cursor = page.next
        for status in (TxStatus.PROCESSED, TxStatus.FAILED):
            yield from self.store.search(TxQuery(account=source, status=status, network=network,
                                                 limit=RECENT_FINAL, viewer=source)).items
