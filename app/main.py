"""Build the ASGI application. No globals: everything hangs off ``app.state``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware

from app.observability import RequestContextMiddleware
from app.services import Services, build_services
from app.settings import Settings
from app.web.asgi import CloseUnreadBodies
from app.web.budget import UpstreamBudget
from app.web.client import ClientResolver
from app.web.cors import CorsMiddleware
from app.web.errors import HANDLERS
from app.web.openapi import build_openapi
from app.web.ratelimit import RateLimitMiddleware
from app.web.routes import routes
from app.web.ui import find_ui_dir
from app.worker.build import build_worker

log = logging.getLogger("refractor")


def create_app(settings: Settings,
               make_services: Callable[[Settings], Services] = build_services) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = make_services(settings)
        app.state.services = services
        worker = None
        if settings.run_worker:
            worker = build_worker(services)
            services.txs.on_change = worker.notify
            app.state.worker = worker
            app.state.worker_health = worker.health
            worker.start()
        log.info("started", extra={"fields": {"storage": settings.storage,
                                              "networks": sorted(settings.networks),
                                              "worker": worker is not None}})
        try:
            yield
        finally:
            if worker is not None:
                worker.stop(timeout=10.0)
            services.close()
            log.info("stopped")

    clients = ClientResolver(settings.trust_proxy)
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(CloseUnreadBodies),
            Middleware(RequestContextMiddleware),
            Middleware(CorsMiddleware, origins=settings.cors_origins),
            Middleware(RateLimitMiddleware, settings=settings.rate_limit, clients=clients),
        ],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.client_resolver = clients
    app.state.upstream_budget = UpstreamBudget(settings.rate_limit.upstream_per_minute,
                                               settings.rate_limit.enabled)
    app.state.openapi = build_openapi()
    app.state.ui_dir = find_ui_dir(settings.ui_dir)
    app.state.worker = None
    app.state.worker_health = None
    return app
