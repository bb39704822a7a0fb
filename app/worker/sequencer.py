"""What sequencing decides on, gathered fresh from the store and the network.

The rules are pure (app.stellar.sequencing); this module reads their inputs: the live records of
one source account (pending, ready, being submitted) and the few that landed lately, the
account's sequence, seqLedger and seqTime read from the network now (never from the cache), and
the ledger it was read at (Stellar RPC's getLedgerEntries says; through Horizon, the latest
ledger is asked for). Each record's preconditions are decoded once per process
(``PreconditionsCache``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from app.ledger.accounts import AccountSource
from app.stellar.sequencing import (
    AccountState,
    Decision,
    Entry,
    NextLedger,
    Preconditions,
    Status,
    decide,
    preconditions_from_xdr,
)
from app.store.base import TxQuery, TxStore
from app.txs.model import TxRecord, TxStatus

PAGE = 100
MAX_LIVE = 1000  # live records of one source considered at most (oldest beyond are ignored)
RECENT_FINAL = 20  # landed records looked at for "superseded_by"
PRECONDITIONS_KEPT = 100_000  # records whose preconditions a process remembers (~30 MB)


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


class PreconditionsCache:
    """Preconditions by record hash. A record's transaction never changes (its hash names it), so
    each envelope is decoded once per process instead of on every decision about its source
    (a source with n queued records used to cost n decodes per decision). Least recently used
    forgotten first, beyond ``size``."""

    def __init__(self, size: int = PRECONDITIONS_KEPT) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[str, str], Preconditions | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, record: TxRecord) -> Preconditions | None:
        """None for an envelope that does not decode (the network's answer will say why)."""
        key = (record.network, record.hash)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        try:
            pre: Preconditions | None = preconditions_from_xdr(record.xdr)
        except ValueError:
            pre = None
        with self._lock:
            self._kept[key] = pre
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return pre


class Sequencer:
    def __init__(self, store: TxStore, accounts: AccountSource, passphrases: Mapping[str, str],
                 clock: Callable[[], float] = time.time,
                 cache: PreconditionsCache | None = None) -> None:
        self.store = store
        self.accounts = accounts
        self.passphrases = passphrases
        self.clock = clock
        self.cache = cache if cache is not None else PreconditionsCache()

    def preconditions(self, record: TxRecord) -> Preconditions | None:
        if record.network not in self.passphrases:
            return None
        return self.cache.get(record)

    def view(self, record: TxRecord) -> SourceView | None:
        """The decisions for ``record``'s source, everything read now. None when the source
        account does not exist: the network's own answer is the best there is."""
        pre = self.preconditions(record)
        if pre is None:
            return None
        account, read_at = self.accounts.fresh_at(record.network, pre.source)
        if account.missing:
            return None
        if read_at is None:
            ledger, close_time = self.accounts.latest_ledger(record.network)
        else:
            # Stellar RPC says which ledger the account was read at: the same answer gives the
            # ledger, one round trip instead of two. The close time is this host's clock then,
            # as with RPC servers that do not tell it.
            ledger, close_time = read_at, 0
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
