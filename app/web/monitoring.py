"""``/monitoring/*``: metrics (JSON and Prometheus), queue controls and cleanup, behind the token."""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.errors import ValidationFailed
from app.jobs.kinds import DELIVER_CALLBACK, SUBMIT_TRANSACTION
from app.jobs.runner import QUEUE_CONTROL
from app.services import Services
from app.web.admin import require_admin
from app.web.body import read_object
from app.web.responses import json_response
from app.web.tx_endpoints import services
from app.worker.callbacks import delivery_counts
from app.worker.metrics import prometheus
from app.worker.sweeps import cleanup


def metrics_report(svc: Services, worker: Any) -> dict[str, Any]:
    by_status = svc.store.count_by_status()
    snapshot = svc.metrics.snapshot()
    control = svc.store.controls.get(QUEUE_CONTROL) or {}
    limit = worker.limit if worker else None
    finalizer = {
        "queueLength": by_status.get("ready", 0) + by_status.get("processing", 0),
        "successRate": round(svc.metrics.success_rate(), 4),
        "paused": bool(control.get("paused", False)),
        "concurrency": limit.limit if limit else 0,
        "inFlight": limit.in_use if limit else 0,
        "workerRunning": worker is not None and worker.health() is None,
        **snapshot,
    }
    return {
        "finalizer": {"metrics": finalizer},
        "transactions": by_status,
        "callbacks": delivery_counts(svc.store.jobs.counts(DELIVER_CALLBACK)),
        "jobs": {kind: svc.store.jobs.counts(kind) for kind in (SUBMIT_TRANSACTION,
                                                                DELIVER_CALLBACK)},
        "process": {"owner": worker.owner if worker else None,
                    "uptimeSeconds": round(time.time() - svc.metrics.started, 1)},
    }


async def metrics(request: Request) -> Response:
    require_admin(request)
    svc = services(request)
    report = await run_in_threadpool(metrics_report, svc, request.app.state.worker)
    if request.query_params.get("format") == "prometheus":
        return PlainTextResponse(prometheus(report), media_type="text/plain; version=0.0.4")
    return json_response(request, report)


def _set_queue(svc: Services, **changes: Any) -> dict[str, Any]:
    control = {**(svc.store.controls.get(QUEUE_CONTROL) or {}), **changes}
    svc.store.controls.set(QUEUE_CONTROL, control)
    return control


async def pause(request: Request) -> Response:
    require_admin(request)
    control = await run_in_threadpool(_set_queue, services(request), paused=True)
    return json_response(request, {"paused": True, "queue": control})


async def resume(request: Request) -> Response:
    require_admin(request)
    control = await run_in_threadpool(_set_queue, services(request), paused=False)
    worker = request.app.state.worker
    if worker is not None:
        worker.wake.set()
    return json_response(request, {"paused": False, "queue": control})


async def concurrency(request: Request) -> Response:
    require_admin(request)
    svc = services(request)
    body = await read_object(request, 10_000)
    value = body.get("concurrency")
    w = svc.settings.worker
    if isinstance(value, bool) or not isinstance(value, int) or not (
            w.min_parallel_tasks <= value <= w.max_parallel_tasks):
        raise ValidationFailed(f'"concurrency" must be an integer from {w.min_parallel_tasks} to '
                               f"{w.max_parallel_tasks}", "concurrency")
    control = await run_in_threadpool(_set_queue, svc, concurrency=value,
                                      version=uuid.uuid4().hex)
    return json_response(request, {"concurrency": value, "queue": control})


async def cleanup_expired(request: Request) -> Response:
    require_admin(request)
    svc = services(request)
    report = await run_in_threadpool(cleanup, svc.store, svc.settings, time.time())
    return json_response(request, report.to_json())
