"""``GET /monitoring/health`` and ``GET /health``: public, 200 only when the service can serve."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from app.risks import config_risks
from app.web.responses import json_response
from app.web.tx_endpoints import read, services

log = logging.getLogger(__name__)


async def health(request: Request) -> Response:
    svc = services(request)
    # Configuration risks (e.g. unsigned callbacks): healthy, but worth a monitor's attention.
    warnings = config_risks(svc.settings)
    try:
        await read(svc, svc.store.ping)
    except Exception as exc:  # any failure to reach the store means "not ready"
        log.warning("health: store unreachable", extra={"fields": {"error": type(exc).__name__}})
        return json_response(request, {"status": "unavailable", "reason": "storage unreachable",
                                       "warnings": warnings}, 503)
    checker = getattr(request.app.state, "worker_health", None)
    if checker is not None:
        reason = checker()
        if reason:
            return json_response(request, {"status": "unavailable", "reason": reason,
                                           "warnings": warnings}, 503)
    return json_response(request, {"status": "ok", "storage": svc.settings.storage,
                                   "warnings": warnings})
