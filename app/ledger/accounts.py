"""Account data for the engine, from Stellar RPC (getLedgerEntries, batched) or Horizon, cached briefly.

A short cache absorbs bursts of co-signers posting to the same transaction; it is short because
signers and thresholds can change on-chain at any time.

Upstream cost is bounded per call: with RPC, every account of a transaction comes from one batched
``getLedgerEntries`` (an account it does not return is not on the ledger); Horizon, which has no
batch read, is asked at most ``HORIZON_CONCURRENCY`` accounts at a time, all within one deadline.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from functools import partial

from app.errors import UpstreamUnavailable
from app.ledger.fresh_reads import FreshReads
from app.ledger.horizon import HorizonClient
from app.ledger.http import LedgerHttp
from app.ledger.rpc import BATCH, RpcClient, RpcError
from app.settings import NetworkSettings
from app.stellar.accounts import AccountData


class NetworkClients:
    """The RPC and/or Horizon clients of one network."""

    def __init__(self, network: NetworkSettings, http: LedgerHttp) -> None:
        self.network = network
        self.rpc = RpcClient(network.rpc, http) if network.rpc else None
        self.horizon = HorizonClient(network.horizon, http) if network.horizon else None


HORIZON_CONCURRENCY = 4  # Horizon account reads in flight for one request
CACHE_SIZE = 50_000  # accounts kept; entries also expire after accountCacheTtl


class AccountSource:
    def __init__(self, clients: Mapping[str, NetworkClients], ttl: float,
                 clock: Callable[[], float] = time.monotonic, deadline: float = 30.0) -> None:
        self._clients = clients
        self._ttl = ttl
        self._clock = clock
        self._deadline = deadline  # seconds for all of one request's Horizon account reads
        # Least recently stored first: a flood of fresh accounts evicts the oldest entries, never
        # every co-signer's cached account at once.
        self._cache: OrderedDict[tuple[str, str], tuple[float, AccountData]] = OrderedDict()
        self._lock = threading.Lock()
        # Fresh reads (the worker's ordering decisions) asked while one is on the way go together.
        self._fresh = {name: FreshReads(partial(self._fetch, name), BATCH, deadline)
                       for name in clients}

    def load(self, network: str, account_ids: list[str]) -> dict[str, AccountData]:
        """Every requested account; one missing from the ledger comes back ``missing=True``."""
        now = self._clock()
        found: dict[str, AccountData] = {}
        with self._lock:
            for account_id in account_ids:
                hit = self._cache.get((network, account_id))
                if hit is not None and hit[0] > now:
                    found[account_id] = hit[1]
        wanted = [a for a in account_ids if a not in found]
        if wanted:
            fetched, _ = self._fetch(network, wanted)
            self._keep(network, fetched, now)
            found.update(fetched)
        return found

    def _keep(self, network: str, fetched: Mapping[str, AccountData], now: float) -> None:
        with self._lock:
            for account_id, data in fetched.items():
                self._cache[(network, account_id)] = (now + self._ttl, data)
                self._cache.move_to_end((network, account_id))
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def fresh(self, network: str, account_id: str) -> AccountData:
        """One account read from the network now, bypassing (and refreshing) the cache."""
        return self.fresh_at(network, account_id)[0]

    def fresh_at(self, network: str, account_id: str) -> tuple[AccountData, int | None]:
        """``fresh``, and the ledger it was read at when the network says so (Stellar RPC's
        ``latestLedger``; None through Horizon). Reads asked for while one is on the way go
        together in the next one (``FreshReads``). The cache is refreshed, not emptied first, so
        requests meanwhile keep their hits."""
        now = self._clock()
        account, ledger = self._fresh[network].read(account_id)
        self._keep(network, {account_id: account}, now)
        return account, ledger

    def latest_ledger(self, network: str) -> tuple[int, int]:
        """(sequence, close time) of the network's latest closed ledger (RPC first)."""
        clients = self._clients[network]
        if clients.rpc is not None:
            try:
                return clients.rpc.latest_ledger()
            except RpcError as exc:
                if clients.horizon is None:
                    raise UpstreamUnavailable(f"Stellar RPC could not say its latest ledger: {exc}") from exc
        if clients.horizon is None:
            raise UpstreamUnavailable(f"network {network} has neither RPC nor Horizon")
        return clients.horizon.latest_ledger()

    def cached(self, network: str, account_ids: list[str]) -> bool:
        """Whether every account is in the cache and fresh (loading them needs no network call)."""
        now = self._clock()
        with self._lock:
            for account_id in account_ids:
                hit = self._cache.get((network, account_id))
                if hit is None or hit[0] <= now:
                    return False
        return True

    def lookup_cost(self, network: str, account_ids: list[str]) -> int:
        """How many upstream requests loading these accounts takes now (0 when all are cached)."""
        now = self._clock()
        with self._lock:
            wanted = sum(1 for a in dict.fromkeys(account_ids)
                         if (hit := self._cache.get((network, a))) is None or hit[0] <= now)
        if wanted == 0:
            return 0
        return math.ceil(wanted / BATCH) if self._clients[network].rpc is not None else wanted

    def forget(self, network: str, account_ids: list[str]) -> None:
        with self._lock:
            for account_id in account_ids:
                self._cache.pop((network, account_id), None)

    def _fetch(self, network: str,
               account_ids: list[str]) -> tuple[dict[str, AccountData], int | None]:
        clients = self._clients[network]
        if clients.rpc is not None:
            try:
                found, ledger = clients.rpc.read_accounts(account_ids)
            except (RpcError, UpstreamUnavailable) as exc:
                if clients.horizon is None:
                    if isinstance(exc, UpstreamUnavailable):
                        raise
                    raise UpstreamUnavailable(f"Stellar RPC could not load accounts: {exc}") from exc
                # RPC is down or refusing: Horizon, when configured, answers instead.
            else:
                # getLedgerEntries reads the current ledger: an account it omits does not exist.
                # (Asking Horizon about each omitted one made fresh accounts cost a request each.)
                return {a: found.get(a) or AccountData.not_on_ledger(a) for a in account_ids}, ledger
        if clients.horizon is None:
            raise UpstreamUnavailable(f"network {network} has neither RPC nor Horizon")
        return self._from_horizon(clients.horizon, account_ids), None

    def _from_horizon(self, horizon: HorizonClient, account_ids: list[str]) -> dict[str, AccountData]:
        def one(account_id: str) -> AccountData:
            return horizon.get_account(account_id) or AccountData.not_on_ledger(account_id)

        if len(account_ids) == 1:
            return {account_ids[0]: one(account_ids[0])}
        pool = ThreadPoolExecutor(max_workers=min(HORIZON_CONCURRENCY, len(account_ids)),
                                  thread_name_prefix="horizon-accounts")
        try:
            futures = {pool.submit(one, a): a for a in account_ids}
            done, pending = wait(futures, timeout=self._deadline, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    raise error
            if pending:
                raise UpstreamUnavailable(f"Horizon did not return {len(pending)} of "
                                          f"{len(account_ids)} accounts within {self._deadline:g} s")
            return {futures[f]: f.result() for f in done}
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
