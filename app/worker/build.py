"""Assemble one process's worker from its services."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from app.errors import UpstreamUnavailable
from app.ledger.accounts import AccountSource, NetworkClients
from app.ledger.horizon import HorizonClient
from app.ledger.rpc import RpcClient
from app.services import Services
from app.webhooks.delivery import WebhookSender
from app.worker.callbacks import CallbackQueue
from app.worker.limits import AdaptiveLimit
from app.worker.processor import TxProcessor
from app.worker.runner import Worker
from app.worker.submission import Submitter
from app.worker.sweeps import cleanup

T = TypeVar("T")


def _sequence_loader(accounts: AccountSource, network: str) -> Callable[[str], int | None]:
    def load(account_id: str) -> int | None:
        accounts.forget(network, [account_id])
        data = accounts.load(network, [account_id])[account_id]
        return None if data.missing else data.sequence

    return load


class RetryingClients(NetworkClients):
    """Network clients whose calls retry transient upstream failures (horizonRetryAttempts/Delay).

    Retrying is safe for every call made: lookups are reads, and a resent envelope is the same
    bytes, which the network treats as a duplicate."""

    def __init__(self, base: NetworkClients, attempts: int, delay_ms: int) -> None:
        self.network = base.network
        # Own copies, so the shared clients used for account lookups keep their behaviour.
        self.rpc = RpcClient(base.rpc.url, base.rpc.http) if base.rpc else None
        self.horizon = HorizonClient(base.horizon.url, base.horizon.http) if base.horizon else None
        for client in (self.rpc, self.horizon):
            if client is None:
                continue
            for name in ("send_transaction", "get_transaction", "submit"):
                if hasattr(client, name):
                    setattr(client, name, _retrying(getattr(client, name), attempts, delay_ms))


def _retrying(call: Callable[..., T], attempts: int, delay_ms: int) -> Callable[..., T]:
    def wrapped(*args: object) -> T:
        for attempt in range(attempts + 1):
            try:
                return call(*args)
            except UpstreamUnavailable:
                if attempt >= attempts:
                    raise
                time.sleep(delay_ms / 1000 * (2**attempt) * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")

    return wrapped


def build_worker(services: Services) -> Worker:
    settings, w = services.settings, services.settings.worker
    submitters = {}
    for name, clients in services.networks.items():
        limit = AdaptiveLimit(w.horizon_concurrency, 1, w.max_horizon_concurrency,
                              w.adaptive_horizon_concurrency)
        retrying = RetryingClients(clients, w.horizon_retry_attempts, w.horizon_retry_delay_ms)
        submitters[name] = Submitter(retrying, limit, _sequence_loader(services.accounts, name))
    secret = settings.callbacks.secret.reveal() if settings.callbacks.secret else None
    sender = WebhookSender(secret=secret, allow_private=settings.callbacks.allow_private_networks,
                           timeout=settings.callbacks.timeout)
    callbacks = CallbackQueue(settings, services.store, sender, services.metrics)
    processor = TxProcessor(settings, services.store, services.accounts, submitters, callbacks,
                            services.metrics)
    pool = AdaptiveLimit(w.parallel_tasks, w.min_parallel_tasks, w.max_parallel_tasks,
                         w.adaptive_concurrency)
    return Worker(services.store, processor, callbacks, services.metrics, pool,
                  ticker_seconds=w.ticker_timeout_ms / 1000, lease_seconds=w.lease_seconds,
                  batch=w.target_queue_size, retry_delay_ms=w.retry_delay_ms,
                  give_up_after=max(10, 2 * (w.retry_attempts + 1)),
                  run_cleanup=lambda now: cleanup(services.store, settings, now))
