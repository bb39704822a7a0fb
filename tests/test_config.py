"""Configuration: the seed's production config verbatim, environment overrides, secrets, and
messages that name the key, the bad value and what is allowed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import load_settings, parse_settings
from app.secret import Secret
from app.settings import ConfigError, ProxyTrust

SEED_CONFIG = {  # the seed deployment guide's app.config.production.json, section 2.2
    "port": 4010, "trustProxy": True, "storage": "mongoose",
    "db": "mongodb+srv://username:password@cluster.mongodb.net/refractor-prod?retryWrites=true&w=majority",
    "parallelTasks": 100, "maxParallelTasks": 200, "minParallelTasks": 20, "targetQueueSize": 1000,
    "tickerTimeout": 3000, "adaptiveConcurrency": True, "retryAttempts": 5, "retryDelay": 2000,
    "horizonConcurrency": 20, "maxHorizonConcurrency": 40, "adaptiveHorizonConcurrency": True,
    "horizonRetryAttempts": 7, "horizonRetryDelay": 3000, "metricsInterval": 30000,
    "networks": {
        "public": {"horizon": "https://horizon.stellar.org", "network": "PUBLIC",
                   "passphrase": "Public Global Stellar Network ; September 2015",
                   "coredb": {"user": "stellar", "host": "127.0.0.1", "database": "stellar-core",
                              "password": ""}},
        "testnet": {"horizon": "https://horizon-testnet.stellar.org", "network": "TESTNET",
                    "passphrase": "Test SDF Network ; September 2015",
                    "coredb": {"user": "stellar", "host": "127.0.0.1",
                               "database": "stellar-testnet", "password": ""}},
    },
}


def test_seed_production_config_verbatim() -> None:
    s = parse_settings(SEED_CONFIG, {})
    assert s.storage == "mongodb" and s.port == 4010 and s.trust_proxy == ProxyTrust(hops=1)
    assert s.worker.parallel_tasks == 100 and s.worker.target_queue_size == 1000
    assert s.worker.ticker_timeout_ms == 3000 and s.worker.horizon_retry_attempts == 7
    assert set(s.networks) == {"public", "testnet"} and s.networks["testnet"].rpc is None
    assert s.warnings == ()
    assert "password" not in repr(s)  # the URI holds a password: never shown


def test_defaults_have_public_and_testnet() -> None:
    s = parse_settings({}, {})
    assert s.storage == "sqlite" and s.networks["public"].horizon
    assert s.networks["testnet"].aliases == ("test", "TESTNET", "1")


def test_custom_network_and_environment_overrides(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("t" * 20 + "\n")
    raw = {"networks": {"local": {"passphrase": "Standalone Network ; February 2017",
                                  "rpc": "http://127.0.0.1:8000/rpc"}}}
    s = parse_settings(raw, {"PORT": "8123", "REFRACTOR_DB": "/tmp/x.db",
                             "REFRACTOR_ADMIN_TOKEN_FILE": str(token_file)})
    assert s.port == 8123 and s.db.reveal() == "/tmp/x.db"
    assert s.admin_token == Secret("t" * 20) and "t" * 20 not in repr(s)
    assert s.networks["local"].rpc == "http://127.0.0.1:8000/rpc"


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"storage": "postgres"}, 'storage: "postgres" is invalid; allowed: "sqlite", "mongodb"'),
    ({"port": 70000}, "port: 70000 is invalid; expected an integer from 0 to 65535"),
    ({"storage": "mongodb", "db": "/tmp/x.db"}, "db: with storage \"mongodb\" it must be"),
    ({"networks": {"x": {"rpc": "http://a"}}}, "networks.x.passphrase: required"),
    ({"networks": {"public": {"rpc": "ftp://a"}}}, "networks.public.rpc: \"ftp://a\" is invalid"),
    ({"networks": {"public": {}}}, "needs \"rpc\" or \"horizon\""),
    ({"adminToken": "short"}, "adminToken: must be at least 16 characters"),
    ({"callbacks": {"secret": "nope!"}}, "callbacks.secret: must be \"whsec_\""),
    ({"minParallelTasks": 10, "maxParallelTasks": 5, "parallelTasks": 7}, "minParallelTasks"),
    ({"networks": {"public": {"horizon": "https://a"}, "x": {"passphrase": "p", "horizon": "https://b",
                                                         "aliases": ["0"]}}}, '"0" names both'),
])
def test_problems_name_key_value_and_allowed(raw: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, {})
    assert any(fragment in p for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(("raw", "expected"), [
    ({}, (16, 4, 32)),  # a few submission threads by default, not up to 200
    ({"minParallelTasks": 20}, (20, 20, 32)),
    ({"parallelTasks": 100}, (100, 4, 100)),
    ({"maxParallelTasks": 4}, (4, 4, 4)),
    ({"parallelTasks": 100, "maxParallelTasks": 200, "minParallelTasks": 20}, (100, 20, 200)),
])
def test_submission_pool_bounds_left_out_give_way_to_those_set(
        raw: dict[str, object], expected: tuple[int, int, int]) -> None:
    w = parse_settings(raw, {}).worker
    assert (w.parallel_tasks, w.min_parallel_tasks, w.max_parallel_tasks) == expected


def test_every_problem_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"port": "x", "storage": 5, "bodyLimit": -1}, {})
    assert len(info.value.problems) == 3


def test_unknown_keys_are_warnings(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"colour": "blue"}))
    assert load_settings({"REFRACTOR_CONFIG": str(path)}).warnings == ("colour: unknown key, ignored",)


def refractor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = str(Path(sys.executable).with_name("refractor"))
    return subprocess.run([command, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, check=False)


def test_check_config_command(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({**SEED_CONFIG, "storage": "sqlite", "db": str(tmp_path / "r.db")}))
    ok = refractor("check-config", env={"REFRACTOR_CONFIG": str(good)})
    assert ok.returncode == 0 and "ok: storage=sqlite" in ok.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"port": "eighty", "storage": "oracle"}))
    failed = refractor("check-config", env={"REFRACTOR_CONFIG": str(bad)})
    assert failed.returncode == 2
    assert 'port: "eighty" is invalid' in failed.stderr and "storage" in failed.stderr
    missing = refractor("check-config", env={"REFRACTOR_CONFIG": str(tmp_path / "none.json")})
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    init = refractor("init-db", env={"REFRACTOR_CONFIG": str(good)})
    assert init.returncode == 0 and (tmp_path / "r.db").exists()
