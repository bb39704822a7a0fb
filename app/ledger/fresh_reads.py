"""Fresh account reads of one network, grouped: callers that ask while a read is on the way are
answered together by the next one (one ``getLedgerEntries`` for all of them), as a group commit
does for writes.

Every caller's account is read by a request sent after the caller asked, so "read from the
network just before deciding" holds for each; nothing waits for a batch to fill: a read goes as
soon as the previous one is back. The worker's ordering decisions come in bursts (a round of
submissions finishing at once), each reading its source account.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from app.errors import UpstreamUnavailable
from app.stellar.accounts import AccountData

Reading = tuple[AccountData, int | None]  # the account and the ledger it was read at, if told
Fetch = Callable[[list[str]], tuple[dict[str, AccountData], int | None]]


class FreshReads:
    def __init__(self, fetch: Fetch, batch: int, deadline: float) -> None:
        self._fetch = fetch
        self._batch = batch  # accounts per read at most (getLedgerEntries takes 200 keys)
        self._deadline = deadline  # seconds a caller waits for its answer at most
        self._cond = threading.Condition()
        self._waiting: dict[str, list[Future[Reading]]] = {}
        self._busy = False

    def read(self, account_id: str) -> Reading:
        mine: Future[Reading] = Future()
        deadline = time.monotonic() + self._deadline
        with self._cond:
            self._waiting.setdefault(account_id, []).append(mine)
            while not mine.done():
                if not self._busy:
                    self._lead()
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise UpstreamUnavailable(
                        f"the network did not return an account within {self._deadline:g} s")
                self._cond.wait(left)
        return mine.result()

    def _lead(self) -> None:
        """Send one read for whatever is waiting (the caller's own account included); called and
        left with the condition held, released while the request is on the way."""
        ids = list(self._waiting)[: self._batch]
        batch = {a: self._waiting.pop(a) for a in ids}
        self._busy = True
        self._cond.release()
        try:
            try:
                found, ledger = self._fetch(ids)
            except BaseException as exc:
                for futures in batch.values():
                    for future in futures:
                        future.set_exception(exc)
            else:
                for account_id, futures in batch.items():
                    data = found.get(account_id)
                    for future in futures:
                        if data is None:
                            future.set_exception(UpstreamUnavailable(
                                "the network's answer left an account out"))
                        else:
                            future.set_result((data, ledger))
        finally:
            self._cond.acquire()
            self._busy = False
            self._cond.notify_all()
