"""Run the app under Hypercorn (uvloop when available), stopping gracefully on SIGTERM/SIGINT.

With ``workers`` > 1 the port is shared by that many processes through SO_REUSEPORT, and the kernel
spreads connections across them. Each process builds its own app, store client and worker threads
(pymongo clients must not cross a fork), which is safe because all coordination goes through the
database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import multiprocessing
import signal
import socket
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from app.main import create_app
from app.observability import setup_logging, setup_sentry
from app.risks import config_risks
from app.services import build_services
from app.settings import Settings
from app.tls import client_context

log = logging.getLogger("refractor")


def hypercorn_config(bind: str) -> Config:
    config = Config()
    config.bind = [bind]
    config.accesslog = None  # our middleware logs each request as JSON
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 10.0
    config.keep_alive_timeout = 30.0
    config.backlog = 1024
    return config


def _shared_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def serve_one(settings: Settings, host: str, port: int, shared: bool) -> int:
    setup_logging(settings)
    tls = client_context()  # the process's one TLS client context: Sentry's and the app's
    setup_sentry(settings, tls)
    for warning in [*settings.warnings, *config_risks(settings)]:
        log.warning("config", extra={"fields": {"warning": warning}})
    app = create_app(settings, functools.partial(build_services, tls=tls))
    # Request handling allocates many short-lived objects (XDR decoding); the default thresholds
    # run the cyclic collector every few requests. Long-lived startup objects are moved out of
    # its way and collections made rarer: refcounting frees almost everything anyway.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    sock = _shared_socket(host, port) if shared else None
    config = hypercorn_config(f"fd://{sock.fileno()}" if sock else f"{host}:{port}")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("listening", extra={"fields": {"host": host, "port": port}})
        asgi: Any = app
        trigger: Any = stop.wait
        await hypercorn_serve(asgi, config, shutdown_trigger=trigger)

    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    except ImportError:
        asyncio.run(main())
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):  # Hypercorn closes the fd it was handed
                sock.close()
    return 0


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    bind_host = host or settings.host
    bind_port = settings.port if port is None else port
    if settings.workers == 1:
        return serve_one(settings, bind_host, bind_port, shared=False)
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=serve_one, args=(settings, bind_host, bind_port, True),
                                name=f"refractor-{i}") for i in range(settings.workers)]
    for child in children:
        child.start()

    def forward(signum: int, frame: object) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                child.terminate() if signum == signal.SIGTERM else child.kill()

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, lambda s, f: forward(signal.SIGTERM, f))
    for child in children:
        child.join()
    return max((child.exitcode or 0) for child in children)
