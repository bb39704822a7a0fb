"""Account data for the engine, from Stellar RPC (getLedgerEntries, batched) or Horizon, cached briefly.

A short cache absorbs bursts of co-signers posting to the same transaction; it is short because
signers and thresholds can change on-chain at any time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import httpx

from app.errors import UpstreamUnavailable
from app.ledger.horizon import HorizonClient
from app.ledger.rpc import RpcClient, RpcError
from app.settings import NetworkSettings
from app.stellar.accounts import AccountData


class NetworkClients:
    """The RPC and/or Horizon clients of one network."""

    def __init__(self, network: NetworkSettings, http: httpx.Client) -> None:
        self.network = network
        self.rpc = RpcClient(network.rpc, http) if network.rpc else None
        self.horizon = HorizonClient(network.horizon, http) if network.horizon else None


class AccountSource:
    def __init__(self, clients: Mapping[str, NetworkClients], ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clients = clients
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, AccountData]] = {}
        self._lock = threading.Lock()

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
            fetched = self._fetch(network, wanted)
            with self._lock:
                if len(self._cache) > 50_000:
                    self._cache.clear()
                for account_id, data in fetched.items():
                    self._cache[(network, account_id)] = (now + self._ttl, data)
            found.update(fetched)
        return found

    def fresh(self, network: str, account_id: str) -> AccountData:
        """One account read from the network now, bypassing (and refreshing) the cache."""
        self.forget(network, [account_id])
        return self.load(network, [account_id])[account_id]

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

    def forget(self, network: str, account_ids: list[str]) -> None:
        with self._lock:
            for account_id in account_ids:
                self._cache.pop((network, account_id), None)

    def _fetch(self, network: str, account_ids: list[str]) -> dict[str, AccountData]:
        clients = self._clients[network]
        found: dict[str, AccountData] = {}
        if clients.rpc is not None:
            try:
                found = clients.rpc.get_accounts(account_ids)
            except RpcError as exc:
                raise UpstreamUnavailable(f"Stellar RPC could not load accounts: {exc}") from exc
        for account_id in account_ids:
            if account_id in found:
                continue
            # RPC omits accounts it does not have; Horizon, when configured, gets a second say.
            data = clients.horizon.get_account(account_id) if clients.horizon else None
            found[account_id] = data or AccountData.not_on_ledger(account_id)
        return found
