"""The one place where errors become HTTP responses."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.errors import AppError, InvalidToken, StoreUnavailable
from app.web.responses import json_response

log = logging.getLogger("refractor.errors")


async def app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if not exc.public:
        log.error("unexpected application error", exc_info=exc)
    elif isinstance(exc, StoreUnavailable):
        # The cause's type only: a driver's message may name hosts, and no traceback per request
        # of an outage.
        log.warning("storage unavailable", extra={"fields": {
            "cause": exc.cause, "method": request.method, "path": request.url.path}})
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    if isinstance(exc, InvalidToken):
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return json_response(request, exc.body(), exc.status, headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"Not found: {request.method} {request.url.path}",
               405: f"Method {request.method} not allowed on {request.url.path}"}.get(
        exc.status_code, str(exc.detail))
    return json_response(request, {"error": message, "status": exc.status_code}, exc.status_code,
                         dict(exc.headers) if exc.headers else None)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    # The traceback and the route, never the request body (it may hold callback URLs with tokens).
    log.error("unhandled error", exc_info=exc,
              extra={"fields": {"method": request.method, "path": request.url.path}})
    return json_response(request, {"error": "Internal server error", "status": 500}, 500)


HANDLERS = {AppError: app_error, HTTPException: http_error, Exception: unexpected_error}
