"""Everything a process needs, built once from the settings and passed explicitly (no singletons)."""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass, field

from app.cosigners.notifier import EventNotifier
from app.cosigners.subscriptions import Subscriptions
from app.cosigners.tokens import Tokens
from app.cosigners.web_auth import WebAuth
from app.ledger.accounts import AccountSource, NetworkClients
from app.ledger.http import LedgerHttp
from app.settings import Settings
from app.store import open_store
from app.store.base import TxStore
from app.store.cosigners import CosignerStore, open_cosigner_store
from app.tls import client_context
from app.txs.service import TxService
from app.worker.metrics import Metrics


@dataclass
class Services:
    settings: Settings
    store: TxStore
    http: LedgerHttp  # Stellar RPC and Horizon calls (callbacks have their own, guarded client)
    networks: dict[str, NetworkClients]
    accounts: AccountSource
    txs: TxService
    cosigners: CosignerStore
    subscriptions: Subscriptions
    tls: ssl.SSLContext  # the one TLS client context: every outbound client verifies with it
    tokens: Tokens | None = None  # None: web authentication is not configured
    web_auth: WebAuth | None = None
    notifier: EventNotifier | None = None
    metrics: Metrics = field(default_factory=Metrics)
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def close(self) -> None:
        self.http.close()
        self.store.close()
        self.cosigners.close()


def build_services(settings: Settings, store: TxStore | None = None,
                   tls: ssl.SSLContext | None = None) -> Services:
    """``tls``: the process's TLS client context when it is built before (Sentry uses it too)."""
    store = store if store is not None else open_store(settings)
    store.ensure_schema()
    # Upstream calls are bounded: a slow RPC must not pin request threads for minutes. Each call
    # ends by networkTimeout whatever the server does; at most 100 are in flight per process.
    timeout = settings.network_timeout
    tls = tls if tls is not None else client_context()
    http = LedgerHttp(timeout, tls, max_connections=100, max_idle=20)
    networks = {name: NetworkClients(net, http) for name, net in settings.networks.items()}
    # One request's Horizon account reads share a deadline of a few single-request timeouts.
    accounts = AccountSource(networks, settings.account_cache_ttl, deadline=3 * timeout)
    cosigners = open_cosigner_store(settings, store)
    cosigners.ensure_schema()
    tokens = web_auth = None
    auth = settings.auth
    if auth.signing_key is not None and auth.home_domain is not None:
        tokens = Tokens(auth.signing_key.reveal(), auth.web_auth_domain or auth.home_domain,
                        auth.token_ttl)
        web_auth = WebAuth(auth, settings.networks, accounts, cosigners, tokens)
    jobs = store.jobs
    notifier = EventNotifier(settings, cosigners, jobs.add)
    txs = TxService(settings, store, accounts)
    txs.observer = notifier.record_changed
    subscriptions = Subscriptions(settings, cosigners)
    subscriptions.test_sender = notifier.test
    return Services(settings, store, http, networks, accounts, txs, cosigners, subscriptions, tls,
                    tokens, web_auth, notifier)

