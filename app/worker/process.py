"""``refractor worker``: background jobs only, no public API, so operators can scale it apart.

It reads the same configuration as ``refractor serve``. Its only listener is the health check on
loopback (``GET /monitoring/health``, the same answers as the API's), for systemd, monitoring and
load-balancer-less setups; SIGTERM or SIGINT stop it gracefully (running jobs get the same grace as
in ``serve``; the leases of any that do not finish run out and another process takes them over).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.observability import setup_logging, setup_sentry
from app.services import build_services
from app.settings import Settings
from app.tls import client_context
from app.worker.build import build_worker

log = logging.getLogger("refractor")
HEALTH_HOST = "127.0.0.1"


def health_answer(ping: Callable[[], None], worker_health: Callable[[], str | None],
                  storage: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of the health check, in the API's shape."""
    try:
        ping()
    except Exception as exc:  # any failure to reach the store means "not ready"
        log.warning("health: store unreachable", extra={"fields": {"error": type(exc).__name__}})
        return 503, {"status": "unavailable", "reason": "storage unreachable"}
    reason = worker_health()
    if reason:
        return 503, {"status": "unavailable", "reason": reason}
    return 200, {"status": "ok", "storage": storage, "role": "worker"}


def health_server(port: int, answer: Callable[[], tuple[int, dict[str, Any]]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in ("/monitoring/health", "/health"):
                self._send(404, {"error": "Not found", "status": 404})
                return
            self._send(*answer())

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("cache-control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass  # health probes every few seconds would drown the log

    server = ThreadingHTTPServer((HEALTH_HOST, port), Handler)
    server.daemon_threads = True
    return server


def run_worker(settings: Settings, health_port: int | None = None) -> int:
    setup_logging(settings)
    tls = client_context()  # the process's one TLS client context: Sentry's and the app's
    setup_sentry(settings, tls)
    for warning in settings.warnings:
        log.warning("config", extra={"fields": {"warning": warning}})
    port = settings.worker.health_port if health_port is None else health_port
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    services = build_services(settings, tls=tls)
    worker = build_worker(services)
    server = health_server(port, lambda: health_answer(services.store.ping, worker.health,
                                                       settings.storage))
    listener = threading.Thread(target=server.serve_forever, name="refractor-health", daemon=True)
    worker.start()
    listener.start()
    log.info("worker started", extra={"fields": {"storage": settings.storage,
                                                 "health": f"{HEALTH_HOST}:{port}",
                                                 "networks": sorted(settings.networks)}})
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.shutdown()
        server.server_close()
        worker.stop(timeout=10.0)
        services.close()
        log.info("stopped")
    return 0
