"""Read the settings once at start from a JSON file and the environment, and validate them.

The JSON format accepts the original Refractor's and the seed deployment guide's production config
verbatim (``"storage": "mongoose"``, ``networks.*.network``, ``coredb``...). Every problem is collected
and reported together, each naming the key, the bad value and what is allowed.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.secret import Secret
from app.settings import (
    BUILTIN_ALIASES,
    DEFAULT_NETWORKS,
    KNOWN_KEYS,
    KNOWN_PASSPHRASES,
    SQLITE_SYNCHRONOUS,
    AuthSettings,
    CallbackSettings,
    ConfigError,
    NetworkSettings,
    ProxyTrust,
    RateLimitSettings,
    Settings,
    SubscriptionSettings,
    WorkerSettings,
)
from app.webhooks.signing import decode_secret

_DOMAIN = re.compile(r"(?=.{1,253}(:|$))([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*"
                     r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[0-9]{1,5})?", re.IGNORECASE)
_STORAGE_ALIASES = {"sqlite": "sqlite", "mongodb": "mongodb", "mongoose": "mongodb"}
_IGNORED_NETWORK_KEYS = {"network", "coredb", "title"}  # accepted for compatibility, unused


def _is_secret_seed(value: str) -> bool:
    from stellar_sdk import Keypair

    try:
        Keypair.from_secret(value)
    except Exception:  # the SDK raises several types for a bad seed
        return False
    return True


def config_path(environ: Mapping[str, str]) -> Path | None:
    """The config file named by REFRACTOR_CONFIG, else ./app.config.json if present."""
    named = environ.get("REFRACTOR_CONFIG")
    if named:
        return Path(named)
    default = Path("app.config.json")
    return default if default.exists() else None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the config file and the environment; raise ConfigError listing every problem."""
    env = os.environ if environ is None else environ
    path = config_path(env)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"config file {path} (REFRACTOR_CONFIG) does not exist"]) from None
        except (OSError, ValueError) as exc:
            raise ConfigError([f"config file {path} is not valid JSON: {exc}"]) from None
        if not isinstance(loaded, dict):
            raise ConfigError([f"config file {path} must hold a JSON object"])
        raw = loaded
    return parse_settings(raw, env)


def parse_settings(raw: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    return _Reader(raw, env).read()


class _Reader:
    def __init__(self, raw: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.raw = raw
        self.env = env
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, key: str, value: Any, allowed: str) -> None:
        self.problems.append(f"{key}: {json.dumps(value, default=str)} is invalid; {allowed}")

    # -- typed getters: each records a problem and returns the default on a bad value --

    def integer(self, obj: Mapping[str, Any], key: str, default: int, lo: int, hi: int,
                path: str = "") -> int:
        value = obj.get(key, default)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.problem(path + key, value, f"expected an integer from {lo} to {hi}")
            return default
        return value

    def number(self, obj: Mapping[str, Any], key: str, default: float, lo: float, hi: float,
               path: str = "") -> float:
        value = obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            self.problem(path + key, value, f"expected a number from {lo} to {hi}")
            return default
        return float(value)

    def boolean(self, obj: Mapping[str, Any], key: str, default: bool, path: str = "") -> bool:
        value = obj.get(key, default)
        if value in (0, 1) and not isinstance(value, float):
            return bool(value)
        if not isinstance(value, bool):
            self.problem(path + key, value, "expected true or false")
            return default
        return value

    def string(self, obj: Mapping[str, Any], key: str, default: str | None,
               path: str = "") -> str | None:
        value = obj.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.problem(path + key, value, "expected a non-empty string")
            return default
        return value

    def secret(self, obj: Mapping[str, Any], key: str, env_name: str, path: str = "") -> Secret | None:
        """Environment (or its *_FILE twin) wins over the file, so secrets can stay out of it."""
        file_name = self.env.get(env_name + "_FILE")
        if file_name:
            try:
                return Secret(Path(file_name).read_text(encoding="utf-8").strip())
            except OSError as exc:
                self.problems.append(f"{env_name}_FILE: cannot read {file_name}: {exc.strerror}")
                return None
        if self.env.get(env_name):
            return Secret(self.env[env_name])
        value = self.string(obj, key, None, path)
        return Secret(value) if value else None

    def url(self, obj: Mapping[str, Any], key: str, path: str) -> str | None:
        value = self.string(obj, key, None, path)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problem(path + key, value, "expected an http:// or https:// URL")
            return None
        return value.rstrip("/")

    # -- sections --

    def read(self) -> Settings:
        raw = self.raw
        for key in raw:
            if key not in KNOWN_KEYS:
                self.warnings.append(f"{key}: unknown key, ignored")
        storage = raw.get("storage", "sqlite")
        if storage not in _STORAGE_ALIASES:
            self.problem("storage", storage, 'allowed: "sqlite", "mongodb" (alias "mongoose")')
            storage = "sqlite"
        storage = _STORAGE_ALIASES[storage]
        db = self.secret(raw, "db", "REFRACTOR_DB") or Secret("./var/refractor.db")
        if storage == "mongodb" and not db.reveal().startswith(("mongodb://", "mongodb+srv://")):
            self.problems.append("db: with storage \"mongodb\" it must be a mongodb:// or "
                                 "mongodb+srv:// URI")
        port = self.integer(raw, "port", 3000, 0, 65535)
        if self.env.get("PORT"):
            port = self.integer({"PORT": self.env["PORT"]}, "PORT", port, 0, 65535, "env ")
        settings = Settings(
            networks=self.networks(),
            host=self.string(raw, "host", "127.0.0.1") or "127.0.0.1",
            port=port,
            workers=self.integer(raw, "workers", 1, 1, 64),
            trust_proxy=self.proxy_trust(),
            storage=storage,
            db=db,
            sqlite_synchronous=self.sqlite_synchronous(),
            sqlite_busy_timeout=self.number(raw, "sqliteBusyTimeout", 30.0, 0.01, 600),
            admin_token=self.secret(raw, "adminToken", "REFRACTOR_ADMIN_TOKEN"),
            callbacks=self.callbacks(),
            sentry_dsn=self.secret(self.section("sentry"), "dsn", "REFRACTOR_SENTRY_DSN", "sentry."),
            sentry_environment=self.string(self.section("sentry"), "environment", "production",
                                           "sentry.") or "production",
            rate_limit=self.rate_limit(),
            cors_origins=self.cors(),
            body_limit=self.integer(raw, "bodyLimit", 100_000, 1_000, 10_000_000),
            max_signatures=self.integer(raw, "maxSignatures", 40, 1, 200),
            account_cache_ttl=self.number(raw, "accountCacheTtl", 5.0, 0, 3600),
            network_timeout=self.number(raw, "networkTimeout", 10.0, 0.1, 300),
            retention_days=self.number(raw, "retentionDays", 30.0, 0.001, 36500),
            unsigned_retention_hours=self.number(raw, "unsignedRetentionHours", 24.0, 0.0001, 876000),
            log_level=self.log_level(),
            log_file=self.string(raw, "logFile", None),
            ui_dir=self.string(self.section("ui"), "dir", None, "ui."),
            run_worker=self.boolean(raw, "runWorker", True),
            worker=self.worker(),
            auth=self.auth(),
            subscriptions=self.subscriptions(),
            public_url=self.url(raw, "publicUrl", ""),
            warnings=tuple(self.warnings),
        )
        if settings.admin_token is not None and len(settings.admin_token.reveal()) < 16:
            self.problems.append("adminToken: must be at least 16 characters")
        if self.problems:
            raise ConfigError(self.problems)
        return settings

    def section(self, key: str) -> Mapping[str, Any]:
        value = self.raw.get(key, {})
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(key, value, "expected an object")
            return {}
        return value

    def networks(self) -> dict[str, NetworkSettings]:
        raw = self.raw.get("networks", DEFAULT_NETWORKS)
        if not isinstance(raw, Mapping) or not raw:
            self.problem("networks", raw, "expected an object with at least one network")
            raw = DEFAULT_NETWORKS
        result: dict[str, NetworkSettings] = {}
        for name, spec in raw.items():
            path = f"networks.{name}."
            if not isinstance(spec, Mapping):
                self.problem(f"networks.{name}", spec, "expected an object")
                continue
            for key in spec:
                if key not in {"passphrase", "rpc", "horizon", "aliases"} | _IGNORED_NETWORK_KEYS:
                    self.warnings.append(f"{path}{key}: unknown key, ignored")
            passphrase = self.string(spec, "passphrase", KNOWN_PASSPHRASES.get(name), path)
            if passphrase is None:
                self.problems.append(f"{path}passphrase: required for a network other than "
                                     f"{', '.join(KNOWN_PASSPHRASES)}")
                continue
            rpc, horizon = self.url(spec, "rpc", path), self.url(spec, "horizon", path)
            if rpc is None and horizon is None:
                self.problems.append(f"{path}: needs \"rpc\" or \"horizon\" (or both)")
            aliases = spec.get("aliases", list(BUILTIN_ALIASES.get(name, ())))
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                self.problem(path + "aliases", aliases, "expected a list of strings")
                aliases = []
            result[name] = NetworkSettings(name, passphrase, rpc, horizon, tuple(aliases))
        self.check_alias_clashes(result)
        return result

    def check_alias_clashes(self, networks: Mapping[str, NetworkSettings]) -> None:
        seen: dict[str, str] = {}
        for net in networks.values():
            for label in (net.name, *net.aliases):
                if label in seen and seen[label] != net.name:
                    self.problems.append(f"networks: \"{label}\" names both {seen[label]} and "
                                         f"{net.name}")
                seen[label] = net.name

    def callbacks(self) -> CallbackSettings:
        sec = self.section("callbacks")
        secret = self.secret(sec, "secret", "REFRACTOR_CALLBACK_SECRET", "callbacks.")
        if secret is not None:
            try:
                decode_secret(secret.reveal())
                if not secret.reveal().startswith("whsec_"):
                    raise ValueError("missing prefix")
            except ValueError:
                self.problems.append("callbacks.secret: must be \"whsec_\" followed by base64 "
                                     "(Standard Webhooks format)")
        return CallbackSettings(
            secret=secret,
            allow_private_networks=self.boolean(sec, "allowPrivateNetworks", False, "callbacks."),
            timeout=self.number(sec, "timeout", 10.0, 0.1, 300, "callbacks."),
            attempts=self.integer(sec, "attempts", 9, 1, 100, "callbacks."),
            dns_timeout=self.number(sec, "dnsTimeout", 5.0, 0.1, 60, "callbacks."),
            concurrency=self.integer(sec, "concurrency", 20, 1, 1000, "callbacks."),
            per_host_concurrency=self.integer(sec, "perHostConcurrency", 2, 1, 1000,
                                              "callbacks."),
        )

    def auth(self) -> AuthSettings:
        sec, path = self.section("auth"), "auth."
        key = self.secret(sec, "signingKey", "REFRACTOR_AUTH_SIGNING_KEY", path)
        given = key is not None
        if key is not None and not _is_secret_seed(key.reveal()):
            self.problems.append("auth.signingKey: must be a Stellar secret seed (S...)")
            key = None
        home = self.domain(sec, "homeDomain", path)
        web_auth = self.domain(sec, "webAuthDomain", path) or home
        if key is not None and home is None:
            self.problems.append("auth.homeDomain: required when auth.signingKey is set")
        if home is not None and not given:
            self.problems.append("auth.signingKey: required when auth.homeDomain is set "
                                 "(or REFRACTOR_AUTH_SIGNING_KEY / REFRACTOR_AUTH_SIGNING_KEY_FILE)")
        return AuthSettings(
            signing_key=key, home_domain=home, web_auth_domain=web_auth,
            challenge_ttl=self.integer(sec, "challengeTtl", 900, 30, 86_400, path),
            token_ttl=self.integer(sec, "tokenTtl", 86_400, 60, 30 * 86_400, path),
        )

    def domain(self, obj: Mapping[str, Any], key: str, path: str) -> str | None:
        value = self.string(obj, key, None, path)
        if value is not None and not _DOMAIN.fullmatch(value):
            self.problem(path + key, value, "expected a domain name, optionally with a port "
                                            "(example.org, api.example.org:8443)")
            return None
        return value

    def subscriptions(self) -> SubscriptionSettings:
        sec, path = self.section("subscriptions"), "subscriptions."
        return SubscriptionSettings(
            max_per_account=self.integer(sec, "maxPerAccount", 10, 1, 1000, path),
            events_per_hour=self.integer(sec, "eventsPerHour", 1000, 1, 1_000_000, path),
        )

    def proxy_trust(self) -> ProxyTrust:
        value = self.raw.get("trustProxy", False)
        allowed = ("expected false, true (one proxy), a number of proxies from 1 to 10, or a list "
                   "of the proxies' addresses as CIDRs")
        if value is False or value == 0 and not isinstance(value, float):
            return ProxyTrust()
        if value is True:
            return ProxyTrust(hops=1)
        if isinstance(value, int) and not isinstance(value, bool):
            if 1 <= value <= 10:
                return ProxyTrust(hops=value)
            self.problem("trustProxy", value, allowed)
            return ProxyTrust()
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            networks = []
            for text in value:
                try:
                    networks.append(str(ipaddress.ip_network(text.strip(), strict=False)))
                except ValueError:
                    self.problem("trustProxy", text, "expected an IP address or CIDR such as "
                                                     "10.0.0.0/8")
            return ProxyTrust(networks=tuple(networks))
        self.problem("trustProxy", value, allowed)
        return ProxyTrust()

    def rate_limit(self) -> RateLimitSettings:
        value = self.raw.get("rateLimit", {})
        if value is False:
            return RateLimitSettings(enabled=False)
        sec = self.section("rateLimit")
        return RateLimitSettings(
            enabled=self.boolean(sec, "enabled", True, "rateLimit."),
            post_per_minute=self.integer(sec, "post", 120, 1, 10_000_000, "rateLimit."),
            general_per_minute=self.integer(sec, "general", 1200, 1, 10_000_000, "rateLimit."),
            upstream_per_minute=self.integer(sec, "upstream", 120, 1, 10_000_000, "rateLimit."),
        )

    def cors(self) -> tuple[str, ...]:
        value = self.raw.get("cors", "*")
        if value == "*" or value is True:
            return ("*",)
        if value is False:
            return ()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.problem("cors", value, 'expected "*", false or a list of origins')
        return ("*",)

    def sqlite_synchronous(self) -> str:
        value = self.raw.get("sqliteSynchronous", "FULL")
        if not isinstance(value, str) or value.upper() not in SQLITE_SYNCHRONOUS:
            self.problem("sqliteSynchronous", value, "allowed: FULL, NORMAL")
            return "FULL"
        return value.upper()

    def log_level(self) -> str:
        value = self.raw.get("logLevel", "INFO")
        if not isinstance(value, str) or value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            self.problem("logLevel", value, "allowed: DEBUG, INFO, WARNING, ERROR")
            return "INFO"
        return value.upper()

    def worker(self) -> WorkerSettings:
        r, i, b = self.raw, self.integer, self.boolean
        defaults = WorkerSettings()
        tasks = i(r, "parallelTasks", defaults.parallel_tasks, 1, 10_000)
        low = i(r, "minParallelTasks", defaults.min_parallel_tasks, 1, 10_000)
        high = i(r, "maxParallelTasks", defaults.max_parallel_tasks, 1, 10_000)
        # A bound left out gives way to the ones set, so that a configuration written for the
        # earlier defaults (50 between 4 and 200) that sets only some of them stays valid.
        if "maxParallelTasks" not in r:
            high = max(high, low, tasks)
        if "minParallelTasks" not in r:
            low = min(low, high, tasks)
        if "parallelTasks" not in r:
            tasks = min(max(tasks, low), high)
        settings = WorkerSettings(
            parallel_tasks=tasks,
            min_parallel_tasks=low,
            max_parallel_tasks=high,
            target_queue_size=i(r, "targetQueueSize", 200, 1, 1_000_000),
            ticker_timeout_ms=i(r, "tickerTimeout", 1000, 10, 3_600_000),
            adaptive_concurrency=b(r, "adaptiveConcurrency", True),
            retry_attempts=i(r, "retryAttempts", 5, 0, 1000),
            retry_delay_ms=i(r, "retryDelay", 2000, 0, 3_600_000),
            horizon_concurrency=i(r, "horizonConcurrency", 20, 1, 10_000),
            max_horizon_concurrency=i(r, "maxHorizonConcurrency", 40, 1, 10_000),
            adaptive_horizon_concurrency=b(r, "adaptiveHorizonConcurrency", True),
            horizon_retry_attempts=i(r, "horizonRetryAttempts", 5, 0, 1000),
            horizon_retry_delay_ms=i(r, "horizonRetryDelay", 1000, 0, 3_600_000),
            metrics_interval_ms=i(r, "metricsInterval", 30000, 100, 3_600_000),
            lease_seconds=self.number(r, "leaseSeconds", 60.0, 1, 86400),
            sequence_review_seconds=self.number(r, "sequenceReviewSeconds", 60.0, 0.1, 86400),
            ledger_close_seconds=self.number(r, "ledgerCloseSeconds", 5.0, 0.1, 3600),
            health_port=i(self.section("worker"), "healthPort", 3001, 1, 65535, "worker."),
        )
        if settings.min_parallel_tasks > settings.max_parallel_tasks:
            self.problems.append("minParallelTasks: must not exceed maxParallelTasks")
        if not settings.min_parallel_tasks <= settings.parallel_tasks <= settings.max_parallel_tasks:
            self.problems.append("parallelTasks: must lie between minParallelTasks and "
                                 "maxParallelTasks")
        if settings.horizon_concurrency > settings.max_horizon_concurrency:
            self.problems.append("horizonConcurrency: must not exceed maxHorizonConcurrency")
        return settings
