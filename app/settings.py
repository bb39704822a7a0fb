"""The validated, immutable settings of one process (built by app.config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.secret import Secret

PUBLIC_PASSPHRASE = "Public Global Stellar Network ; September 2015"
TESTNET_PASSPHRASE = "Test SDF Network ; September 2015"
FUTURENET_PASSPHRASE = "Test SDF Future Network ; October 2022"

# Aliases the original accepted; clients send them, so they keep working.
BUILTIN_ALIASES = {"public": ("PUBLIC", "0"), "testnet": ("test", "TESTNET", "1")}
KNOWN_PASSPHRASES = {
    "public": PUBLIC_PASSPHRASE,
    "testnet": TESTNET_PASSPHRASE,
    "futurenet": FUTURENET_PASSPHRASE,
}
DEFAULT_NETWORKS: dict[str, dict[str, Any]] = {
    "public": {"horizon": "https://horizon.stellar.org"},
    "testnet": {
        "horizon": "https://horizon-testnet.stellar.org",
        "rpc": "https://soroban-testnet.stellar.org",
    },
}

SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")
KNOWN_KEYS = {
    "host", "port", "trustProxy", "storage", "db", "workers",
    "parallelTasks", "maxParallelTasks", "minParallelTasks", "targetQueueSize", "tickerTimeout",
    "adaptiveConcurrency", "retryAttempts", "retryDelay", "horizonConcurrency",
    "maxHorizonConcurrency", "adaptiveHorizonConcurrency", "horizonRetryAttempts",
    "horizonRetryDelay", "metricsInterval", "networks", "adminToken", "callbacks", "sentry",
    "rateLimit", "cors", "bodyLimit", "maxSignatures", "accountCacheTtl", "networkTimeout", "retentionDays",
    "unsignedRetentionHours", "leaseSeconds", "runWorker", "worker", "logLevel", "logFile", "ui", "firestore",
    "auth", "subscriptions", "publicUrl", "sqliteSynchronous", "sqliteBusyTimeout",
}


class ConfigError(Exception):
    """Raised with every problem found, so an operator fixes them in one pass."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class NetworkSettings:
    name: str
    passphrase: str
    rpc: str | None
    horizon: str | None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallbackSettings:
    secret: Secret | None = None
    allow_private_networks: bool = False
    timeout: float = 10.0  # the hard deadline of one attempt, DNS to status line
    attempts: int = 9
    dns_timeout: float = 5.0
    concurrency: int = 20  # deliveries at once per process
    per_host_concurrency: int = 2  # deliveries at once to one receiver host, per process


@dataclass(frozen=True)
class ProxyTrust:
    """Which reverse proxies in front of the app may name the client (``trustProxy``)."""

    hops: int = 0  # this many proxies, counted from the app, are trusted whatever their address
    networks: tuple[str, ...] = ()  # or: proxies are trusted by address (CIDRs)

    @property
    def enabled(self) -> bool:
        return self.hops > 0 or bool(self.networks)


@dataclass(frozen=True)
class RateLimitSettings:
    enabled: bool = True
    post_per_minute: int = 120
    general_per_minute: int = 1200
    upstream_per_minute: int = 120  # RPC/Horizon requests a client's POSTs may cause


@dataclass(frozen=True)
class WorkerSettings:
    # Submission jobs at once per process, each on a thread of its own: a few suffice against a
    # nearby RPC server, and every extra runnable thread takes GIL time from the event loop.
    parallel_tasks: int = 16
    min_parallel_tasks: int = 4
    max_parallel_tasks: int = 32
    target_queue_size: int = 200
    ticker_timeout_ms: int = 1000
    adaptive_concurrency: bool = True
    retry_attempts: int = 5
    retry_delay_ms: int = 2000
    horizon_concurrency: int = 20
    max_horizon_concurrency: int = 40
    adaptive_horizon_concurrency: bool = True
    horizon_retry_attempts: int = 5
    horizon_retry_delay_ms: int = 1000
    metrics_interval_ms: int = 30000
    lease_seconds: float = 60.0
    # Per-source ordering: how often a source's queue is reviewed while it has live records, and
    # the network's ledger close time (turns a ledger bound into a time to wake up at).
    sequence_review_seconds: float = 60.0
    ledger_close_seconds: float = 5.0
    health_port: int = 3001  # ``refractor worker`` serves its health check here (loopback only)


@dataclass(frozen=True)
class AuthSettings:
    """SEP-10 web authentication; off (no ``/auth``, no signed SEP-7 links) without a signing key."""

    signing_key: Secret | None = None
    home_domain: str | None = None
    web_auth_domain: str | None = None  # defaults to home_domain
    challenge_ttl: int = 900  # SEP-10's suggested 15 minutes
    token_ttl: int = 86_400

    @property
    def enabled(self) -> bool:
        return self.signing_key is not None and self.home_domain is not None


@dataclass(frozen=True)
class SubscriptionSettings:
    max_per_account: int = 10
    events_per_hour: int = 1000  # per subscribing account, over all its subscriptions


@dataclass(frozen=True)
class Settings:
    networks: dict[str, NetworkSettings]
    host: str = "127.0.0.1"
    port: int = 3000
    workers: int = 1
    trust_proxy: ProxyTrust = field(default_factory=ProxyTrust)
    storage: str = "sqlite"
    db: Secret = field(default_factory=lambda: Secret("./var/refractor.db"))
    # FULL: a commit is on disk (WAL fsynced) before the write is acknowledged; NORMAL trades the
    # last commits before an OS crash or power loss for speed.
    sqlite_synchronous: str = "FULL"
    # Seconds a write waits for SQLite's write lock held by another process before its 503.
    sqlite_busy_timeout: float = 30.0
    admin_token: Secret | None = None
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    sentry_dsn: Secret | None = None
    sentry_environment: str = "production"
    rate_limit: RateLimitSettings = field(default_factory=RateLimitSettings)
    cors_origins: tuple[str, ...] = ("*",)
    body_limit: int = 100_000
    max_signatures: int = 40
    account_cache_ttl: float = 5.0
    network_timeout: float = 10.0
    retention_days: float = 30.0
    unsigned_retention_hours: float = 24.0
    log_level: str = "INFO"
    log_file: str | None = None
    ui_dir: str | None = None
    run_worker: bool = True
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    subscriptions: SubscriptionSettings = field(default_factory=SubscriptionSettings)
    public_url: str | None = None  # how clients reach this API (SEP-7 callbacks, links in events)
    warnings: tuple[str, ...] = ()
