"""``/subscriptions``: a signed-in account's webhook subscriptions."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from app.web.body import read_object
from app.web.identity import signed_in
from app.web.responses import json_response
from app.web.tx_endpoints import services


async def create(request: Request) -> Response:
    account = signed_in(request)
    svc = services(request)
    body = await read_object(request, svc.settings.body_limit)
    return json_response(request, await run_in_threadpool(svc.subscriptions.create, account, body),
                         201)


async def list_all(request: Request) -> Response:
    account = signed_in(request)
    svc = services(request)
    return json_response(request, {"items": await run_in_threadpool(svc.subscriptions.of,
                                                                    account)})


async def delete(request: Request) -> Response:
    account = signed_in(request)
    svc = services(request)
    await run_in_threadpool(svc.subscriptions.delete, account, request.path_params["id"])
    return Response(status_code=204)


async def deliveries(request: Request) -> Response:
    account = signed_in(request)
    svc = services(request)
    items = await run_in_threadpool(svc.subscriptions.deliveries, account,
                                    request.path_params["id"])
    return json_response(request, {"items": items})


async def send_test(request: Request) -> Response:
    account = signed_in(request)
    svc = services(request)
    sent = await run_in_threadpool(svc.subscriptions.send_test, account, request.path_params["id"])
    return json_response(request, sent, 202)
