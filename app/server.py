"""Run the app under Hypercorn (uvloop when available), stopping gracefully on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from app.main import create_app
from app.observability import setup_logging, setup_sentry
from app.settings import Settings

log = logging.getLogger("refractor")


def hypercorn_config(settings: Settings, host: str | None, port: int | None) -> Config:
    config = Config()
    config.bind = [f"{host or settings.host}:{settings.port if port is None else port}"]
    config.accesslog = None  # our middleware logs each request as JSON
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 10.0
    config.keep_alive_timeout = 30.0
    return config


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    setup_logging(settings)
    setup_sentry(settings)
    for warning in settings.warnings:
        log.warning("config", extra={"fields": {"warning": warning}})
    app = create_app(settings)
    config = hypercorn_config(settings, host, port)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("listening", extra={"fields": {"bind": config.bind}})
        trigger: Any = stop.wait
        asgi: Any = app
        await hypercorn_serve(asgi, config, shutdown_trigger=trigger)

    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    except ImportError:
        asyncio.run(main())
    return 0
