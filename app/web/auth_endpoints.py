"""SEP-10 endpoints (``/auth``) and the SEP-1 ``stellar.toml`` that advertises them."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.cosigners.web_auth import WebAuth
from app.errors import NotFound
from app.services import Services
from app.web.body import read_object
from app.web.links import public_base
from app.web.responses import json_response


def _web_auth(request: Request) -> WebAuth:
    svc: Services = request.app.state.services
    if svc.web_auth is None:
        raise NotFound("Web authentication is not configured on this server (auth.signingKey, "
                       "auth.homeDomain)")
    return svc.web_auth


async def get_challenge(request: Request) -> Response:
    auth = _web_auth(request)
    params = request.query_params
    return json_response(request, auth.challenge(params.get("account"), params.get("network")))


async def post_challenge(request: Request) -> Response:
    auth = _web_auth(request)
    svc: Services = request.app.state.services
    body = await read_object(request, svc.settings.body_limit)
    return json_response(request, await run_in_threadpool(auth.token, body.get("transaction")))


async def stellar_toml(request: Request) -> Response:
    auth = _web_auth(request)
    text = auth.stellar_toml(public_base(request) + "/auth")
    # SEP-1: wallets read it from any origin.
    return PlainTextResponse(text, headers={"Access-Control-Allow-Origin": "*"})
