"""The access log: one JSON line per request in the app's log (``logFile``), with the request's id,
method, path, status and time; never a query string or a body; off below ``logLevel`` INFO; and
the file reopened by itself after logrotate moves it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests import loopback
from tests.fakenet import FakeStellarNetwork
from tests.processes import AppProcess

SECRET = "SECRET-" + "5" * 12
FIELDS = {"ts", "level", "logger", "msg", "request_id", "method", "path", "status", "ms"}


def _config(net: FakeStellarNetwork, tmp_path: Path, level: str) -> dict[str, Any]:
    return {
        "storage": "sqlite",
        "db": str(tmp_path / "refractor.db"),
        "runWorker": False,
        "rateLimit": False,
        "logLevel": level,
        "logFile": str(tmp_path / "refractor.log"),
        "networks": {"testnet": {"rpc": net.rpc_url}},
    }


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _access(path: Path) -> list[dict[str, Any]]:
    return [e for e in _lines(path) if e.get("logger") == "refractor.access"]


def _requests(base: str) -> list[tuple[str, str, int]]:
    """A few requests of different kinds; (request id, path, status) of each."""
    answers = [
        loopback.get(base + "/networks", headers={"X-Request-ID": "trace-1"}),
        loopback.get(f"{base}/tx/{'ab' * 32}?prettyPrint&token={SECRET}"),
        loopback.post(
            base + "/tx",
            json={"network": "testnet", "xdr": "AAAA", "callbackUrl": f"https://hooks.example/?t={SECRET}"},
        ),
        loopback.post(base + "/tx", content=b"{not json", headers={"content-type": "text/x"}),
    ]
    return [(a.headers["x-request-id"], a.request.url.path, a.status_code) for a in answers]


def test_one_line_per_request_with_its_id_and_nothing_private(
    net: FakeStellarNetwork, tmp_path: Path
) -> None:
    app = AppProcess(_config(net, tmp_path, "INFO"), tmp_path, "app").start()
    try:
        sent = _requests(app.url)
    finally:
        app.stop()  # a graceful stop: every line the app would write is written
    log = tmp_path / "refractor.log"
    lines = _access(log)
    assert [(e["request_id"], e["path"], e["status"]) for e in lines[-len(sent) :]] == sent
    assert [s for _, _, s in sent] == [200, 404, 400, 415]
    for entry in lines:
        assert set(entry) == FIELDS, entry
        assert entry["level"] == "info" and entry["msg"] == "request"
        assert entry["method"] in ("GET", "POST")
        assert isinstance(entry["ms"], float | int) and entry["ms"] >= 0
        assert abs(entry["ts"] - time.time()) < 600
    assert lines[-len(sent)]["request_id"] == "trace-1"
    assert SECRET not in log.read_text()  # neither the query string nor the callback URL


def test_no_access_lines_below_info(net: FakeStellarNetwork, tmp_path: Path) -> None:
    app = AppProcess(_config(net, tmp_path, "WARNING"), tmp_path, "app").start()
    try:
        sent = _requests(app.url)
    finally:
        app.stop()
    assert len(sent) == 4
    assert _access(tmp_path / "refractor.log") == []


def test_the_log_file_is_reopened_after_rotation(net: FakeStellarNetwork, tmp_path: Path) -> None:
    app = AppProcess(_config(net, tmp_path, "INFO"), tmp_path, "app").start()
    log = tmp_path / "refractor.log"
    try:
        loopback.get(app.url + "/networks", headers={"X-Request-ID": "before-rotation"})
        deadline = time.monotonic() + 30
        while not any(e["request_id"] == "before-rotation" for e in _access(log)):
            assert time.monotonic() < deadline, "the access line did not reach the log file"
            time.sleep(0.05)
        log.rename(tmp_path / "refractor.log.1")  # what logrotate does
        loopback.get(app.url + "/networks", headers={"X-Request-ID": "after-rotation"})
    finally:
        app.stop()
    assert [e["request_id"] for e in _access(log)] == ["after-rotation"]
    assert "after-rotation" not in (tmp_path / "refractor.log.1").read_text()
