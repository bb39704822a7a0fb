"""Run the real app under Hypercorn on a loopback port, in a background thread, for tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from hypercorn.asyncio import serve
from hypercorn.config import Config

from app.config import parse_settings
from app.main import create_app
from app.services import Services
from app.settings import Settings
from tests import loopback
from tests.ports import free_port


def app_settings(net_rpc: str | None, net_horizon: str | None, db: str, storage: str = "sqlite",
                  **extra: Any) -> Settings:
    raw: dict[str, Any] = {
        "storage": storage,
        "db": db,
        "rateLimit": {"enabled": False},
        "networks": {"testnet": {k: v for k, v in (("rpc", net_rpc), ("horizon", net_horizon)) if v}},
        "callbacks": {"allowPrivateNetworks": True, "timeout": 3},
        "tickerTimeout": 100,
        "accountCacheTtl": 0,
    }
    raw.update(extra)
    return parse_settings(raw, {})


@contextmanager
def running_app(settings: Settings,
                make_services: Callable[[Settings], Services] | None = None) -> Iterator[str]:
    """Yield the base URL of the app serving real HTTP on 127.0.0.1."""
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    stop = threading.Event()
    app = create_app(settings) if make_services is None else create_app(settings, make_services)

    async def main() -> None:
        trigger = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.02)
            trigger.set()

        watcher = asyncio.ensure_future(watch())
        asgi: Any = app
        await serve(asgi, config, shutdown_trigger=trigger.wait)
        watcher.cancel()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    # Generous deadlines, for a loaded machine; both return as soon as the app is up or gone.
    deadline = time.monotonic() + 120
    try:
        while True:
            if not thread.is_alive():
                raise RuntimeError("the app stopped before it became healthy (see the log above)")
            try:
                if loopback.get(base + "/monitoring/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not become healthy within 120 s")
            time.sleep(0.05)
        yield base
    finally:
        stop.set()
        # An app left running would go on in later tests: its threads' errors would be charged
        # to whichever test runs then, and its worker would use a store the test has closed.
        thread.join(120)
        if thread.is_alive():
            raise RuntimeError("the app did not stop within 120 s")
