"""Structured logs (one JSON object per line, with request ids) and Sentry.

Logging goes to stdout (journald under systemd) or to ``logFile``; a WatchedFileHandler reopens the
file by itself after logrotate moves it, so no signal is needed.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import logging.handlers
import os
import ssl
import sys
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings
from app.web.asgi import header

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# One encoder for every line: json.dumps(default=...) would build a new one per call.
_encode = json.JSONEncoder(default=str).encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid != "-":
            entry["request_id"] = rid
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encode(entry)


def setup_logging(settings: Settings) -> None:
    handler: logging.Handler
    if settings.log_file:
        handler = logging.handlers.WatchedFileHandler(settings.log_file)
    else:
        handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("hypercorn.access", "httpx", "httpcore", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def setup_sentry(settings: Settings, tls: ssl.SSLContext | None = None) -> bool:
    """``tls``: the process's TLS client context (app/tls.py), which every other outbound client
    verifies with; without one, a context of the same configuration is built."""
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk

    from app import __version__
    from app.tls import client_context

    sentry_sdk.init(dsn=settings.sentry_dsn.reveal(), environment=settings.sentry_environment,
                    release=f"refractor@{__version__}",
                    traces_sample_rate=0.0,
                    # Request bodies (and the locals holding them) may carry callback URLs with
                    # tokens: never sent to Sentry.
                    max_request_body_size="never", include_local_variables=False,
                    transport=sentry_transport(tls if tls is not None else client_context()))
    return True


def sentry_transport(tls: ssl.SSLContext) -> type[Any]:
    """Sentry's HTTP transport verifying with ``tls``. On its own it builds a context per
    connection from ``ca_certs``, ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE`` or certifi: not the
    app's configuration (``SSL_CERT_DIR`` is ignored, ``REQUESTS_CA_BUNDLE`` is not), and the
    bundle loaded again."""
    from sentry_sdk.transport import HttpTransport

    class SharedTlsTransport(HttpTransport):
        def _get_pool_options(self) -> dict[str, Any]:
            options: dict[str, Any] = super()._get_pool_options()
            # urllib3 would load these into the context it is given (the shared one): CA files
            # and a client certificate (CLIENT_CERT_FILE) would then apply to every client.
            for name in ("ca_certs", "cert_file", "key_file"):
                options.pop(name, None)
            options["ssl_context"] = tls
            return options

    return SharedTlsTransport


class AccessLog:
    """The access log: one line per request through the ``refractor.access`` logger.

    ``Logger.info`` builds each record the slow way (it walks the stack for the caller, asks for
    the thread's and the process's names, splits the source path), on every request. The caller
    is always this middleware on the event loop's thread, so each line's record is a copy of one
    made once, with its own time and fields; it then goes through ``Logger.handle`` as any
    record does (level, filters, handlers and their rotation, the JSON formatter, Sentry's
    breadcrumbs): the same line for half the cost.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("refractor.access")
        first = self.logger.makeRecord(self.logger.name, logging.INFO, __file__, 0, "request",
                                       (), None, func="RequestContextMiddleware")
        self._template = dict(first.__dict__)
        self._since = first.created - first.relativeCreated / 1000  # logging's start time

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def write(self, method: str, path: str, status: int, ms: float) -> None:
        record = logging.LogRecord.__new__(logging.LogRecord)
        fields = record.__dict__
        fields.update(self._template)
        now = time.time()
        fields["created"] = now
        fields["msecs"] = (now - int(now)) * 1000
        fields["relativeCreated"] = (now - self._since) * 1000
        fields["fields"] = {"method": method, "path": path, "status": status, "ms": ms}
        self.logger.handle(record)


class RequestContextMiddleware:
    """Gives every request an id (kept from X-Request-ID when sane) and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Ids are a random per-process prefix and a counter (32 hex digits, like a uuid4's hex):
        # unique across processes and restarts, and a tenth of uuid4()'s cost on every request.
        self._prefix = os.urandom(6).hex()
        self._counter = itertools.count(1)
        self._access = AccessLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id")
        if given and len(given) <= 64 and given.isprintable():
            rid = given
        else:
            rid = f"{self._prefix}{next(self._counter):020x}"
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self._access.enabled():
                self._access.write(scope["method"], scope["path"], status,
                                   round((time.perf_counter() - started) * 1000, 2))
            request_id.reset(token)
