"""A server without callbacks.secret sends unsigned callbacks: it says so at start, in
``refractor check-config`` and in ``/monitoring/health``; with a secret the warning is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.config import parse_settings
from app.risks import UNSIGNED_CALLBACKS, config_risks
from tests import loopback
from tests.app_server import app_settings, running_app

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _refractor(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).with_name("refractor")
    return subprocess.run([str(command), *args], env={**os.environ, "REFRACTOR_CONFIG": str(config)},
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_risk_is_named_only_without_a_secret() -> None:
    assert config_risks(parse_settings({}, {})) == [UNSIGNED_CALLBACKS]
    assert config_risks(parse_settings({"callbacks": {"secret": SECRET}}, {})) == []
    assert config_risks(parse_settings({}, {"REFRACTOR_CALLBACK_SECRET": SECRET})) == []


def test_health_reports_the_warning(tmp_path: Path) -> None:
    unsigned = app_settings(None, "http://127.0.0.1:9/horizon", str(tmp_path / "a.db"), runWorker=False)
    with running_app(unsigned) as base:
        body = loopback.get(base + "/monitoring/health", timeout=30).json()
    assert body["status"] == "ok" and body["warnings"] == [UNSIGNED_CALLBACKS]
    signed = app_settings(None, "http://127.0.0.1:9/horizon", str(tmp_path / "b.db"), runWorker=False,
                          callbacks={"secret": SECRET})
    with running_app(signed) as base:
        assert loopback.get(base + "/health", timeout=30).json()["warnings"] == []


def test_check_config_and_start_warn(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"storage": "sqlite", "db": str(tmp_path / "r.db"), "port": 0}))
    checked = _refractor("check-config", config=config)
    assert checked.returncode == 0 and "callbacks.secret is not set" in checked.stdout
    config.write_text(json.dumps({"storage": "sqlite", "db": str(tmp_path / "r.db"),
                                  "callbacks": {"secret": SECRET}}))
    checked = _refractor("check-config", config=config)
    assert checked.returncode == 0 and "callbacks.secret" not in checked.stdout


def test_serve_logs_the_warning_at_start(tmp_path: Path) -> None:
    from tests.processes import AppProcess

    app = AppProcess({"storage": "sqlite", "db": str(tmp_path / "s.db"), "runWorker": False,
                      "networks": {"testnet": {"horizon": "http://127.0.0.1:9/horizon"}}},
                     tmp_path, "unsigned").start()
    try:
        logged = [json.loads(line) for line in app.log_path.read_text().splitlines()
                  if line.startswith("{")]
    finally:
        app.stop()
    assert any(entry.get("level") == "warning" and "callbacks.secret is not set" in
               str(entry.get("warning")) for entry in logged), logged
