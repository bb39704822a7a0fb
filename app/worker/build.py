"""Assemble one process's job runner from its services: the kinds, their pools and housekeeping."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from app.jobs.kinds import DELIVER_CALLBACK, DELIVER_EVENT, RAISE_EVENTS, SUBMIT_TRANSACTION
from app.jobs.limits import AdaptiveLimit
from app.jobs.policy import Backoff
from app.jobs.registry import JobKind, Registry
from app.jobs.runner import Periodic, Runner
from app.ledger.accounts import AccountSource
from app.services import Services
from app.txs.model import TxStatus
from app.webhooks.delivery import WebhookSender
from app.worker.callbacks import CallbackQueue
from app.worker.endings import Endings
from app.worker.events import EventDeliveries
from app.worker.ordering import Ordering
from app.worker.processor import TxProcessor
from app.worker.review import Reviewer
from app.worker.sequencer import Sequencer
from app.worker.sequencing_jobs import REVIEW_SOURCE, Sequencing, landed, lookup_by_hash
from app.worker.submission import Submitter
from app.worker.sweeps import cleanup, expire, reconcile

CLEANUP_EVERY = 3600.0
# A record's maxTime is in whole seconds: looking once a second marks it failed as soon as any
# client could tell, where every tick looked hundreds of times a second while jobs finished.
EXPIRE_EVERY = 1.0
RECONCILE_EVERY = 60.0
CALLBACK_BACKOFF = Backoff(base=1.0, cap=3600.0, retry_after_max=3600.0)
REVIEW_CONCURRENCY = 4  # source reviews at once per process (each a few store and network reads)


def _sequence_loader(accounts: AccountSource, network: str) -> Callable[[str], int | None]:
    def load(account_id: str) -> int | None:
        accounts.forget(network, [account_id])
        data = accounts.load(network, [account_id])[account_id]
        return None if data.missing else data.sequence

    return load


def build_worker(services: Services) -> Runner:
    settings, w, cb = services.settings, services.settings.worker, services.settings.callbacks
    store = services.store
    submitters = {}
    for name, clients in services.networks.items():
        limit = AdaptiveLimit(w.horizon_concurrency, 1, w.max_horizon_concurrency,
                              w.adaptive_horizon_concurrency)
        submitters[name] = Submitter(clients, limit, _sequence_loader(services.accounts, name))
    secret = cb.secret.reveal() if cb.secret else None
    sender = WebhookSender(secret=secret, allow_private=cb.allow_private_networks,
                           timeout=cb.timeout, dns_timeout=cb.dns_timeout, tls=services.tls)
    callbacks = CallbackQueue(sender, services.metrics)
    runner: Runner
    passphrases = {name: n.passphrase for name, n in settings.networks.items()}
    ordering = Ordering(Sequencer(store, services.accounts, passphrases),
                        lookup_by_hash(submitters), ledger_seconds=w.ledger_close_seconds)
    notifier = services.notifier
    # Every path that ends a record (submission, ordering gate, source review, expiry, a job
    # given up) counts it, raises its events and queues its callback here.
    endings = Endings(services.metrics, notifier,
                      lambda job, rearm=False: runner.enqueue(job, rearm))
    reviewer = Reviewer(store, ordering, landed, on_final=lambda before, status, fields:
                        endings.ended(before, status, fields))
    sequencing = Sequencing(store, ordering, reviewer, passphrases, w.sequence_review_seconds,
                            on_final=lambda before, status, fields, ctx:
                            endings.ended(before, status, fields, ctx.enqueue))
    processor = TxProcessor(settings, store, services.accounts, submitters, endings,
                            services.metrics, sequencing)
    registry = Registry()
    registry.register(JobKind(
        SUBMIT_TRANSACTION, processor,
        AdaptiveLimit(w.parallel_tasks, w.min_parallel_tasks, w.max_parallel_tasks,
                      w.adaptive_concurrency),
        Backoff(base=w.retry_delay_ms / 1000),
        max_attempts=w.retry_attempts + 1, on_dead=processor.give_up))
    registry.register(JobKind(
        DELIVER_CALLBACK, callbacks,
        AdaptiveLimit(cb.concurrency, cb.concurrency, cb.concurrency, adaptive=False),
        CALLBACK_BACKOFF, max_attempts=cb.attempts, group_cap=cb.per_host_concurrency))
    # Subscription events: the callbacks' sender, pool size, attempts, backoff and per-host cap.
    registry.register(JobKind(
        DELIVER_EVENT, EventDeliveries(sender, services.cosigners, services.metrics),
        AdaptiveLimit(cb.concurrency, cb.concurrency, cb.concurrency, adaptive=False),
        CALLBACK_BACKOFF, max_attempts=cb.attempts, group_cap=cb.per_host_concurrency))
    if notifier is not None:
        # A transaction's changes are raised one at a time (group: the transaction), in order.
        registry.register(JobKind(
            RAISE_EVENTS, notifier.raise_events,
            AdaptiveLimit(cb.concurrency, cb.concurrency, cb.concurrency, adaptive=False),
            CALLBACK_BACKOFF, max_attempts=cb.attempts, group_cap=1))
    registry.register(JobKind(
        REVIEW_SOURCE, sequencing.review,
        AdaptiveLimit(REVIEW_CONCURRENCY, REVIEW_CONCURRENCY, REVIEW_CONCURRENCY, adaptive=False),
        Backoff(base=1.0, cap=60.0), max_attempts=5))

    def expire_and_notify(now: float) -> None:
        for tx_hash in expire(store, now):
            record = store.get(tx_hash, by_inner=False)
            if record is not None:
                # Pending or ready before; a record never ready gets no callback.
                before = dataclasses.replace(record, status=TxStatus.PENDING)
                endings.ended(before, TxStatus.FAILED, {}, after=record,
                              callback=record.ready_at is not None)

    def cleanup_all(now: float) -> None:
        cleanup(store, settings, now)
        # Subscribers' delivery logs are kept as long as final records.
        services.cosigners.delete_events_before(now - settings.retention_days * 86400)

    runner = Runner(store.jobs, store.controls, registry, services.metrics,
                    ticker_seconds=w.ticker_timeout_ms / 1000, lease_seconds=w.lease_seconds,
                    batch=w.target_queue_size, controlled_kind=SUBMIT_TRANSACTION,
                    periodic=[
                        Periodic("expire", EXPIRE_EVERY, expire_and_notify, at_start=True),
                        Periodic("reconcile", RECONCILE_EVERY,
                                 lambda now: reconcile(store, runner.enqueue, now),
                                 at_start=True),
                        Periodic("cleanup", CLEANUP_EVERY, cleanup_all),
                        Periodic("review_sources", w.sequence_review_seconds,
                                 lambda now: sequencing.sweep(now, runner.enqueue)),
                    ])
    return runner
