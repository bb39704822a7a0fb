"""``/tx`` routes: parse the request, call the use case, render JSON. No business rules here."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.errors import BadRequest, NotFound, ValidationFailed
from app.jobs.kinds import DELIVER_CALLBACK
from app.services import Services
from app.stellar.signers import is_ed25519_key
from app.store.base import TxQuery, decode_cursor, encode_cursor
from app.txs.model import TxStatus
from app.txs.view import tx_info
from app.web.admin import require_admin
from app.web.body import read_object
from app.web.budget import charge_upstream
from app.web.identity import viewer
from app.web.responses import json_response
from app.web.schemas import TX_REQUEST, check_request
from app.web.ui import serve_ui_page
from app.worker.callbacks import delivery_view

T = TypeVar("T")
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_LIMIT = re.compile(r"[0-9]{1,3}")  # ASCII digits only: str.isdigit() also accepts "²"
SSE_POLL_SECONDS = 1.0
SSE_KEEPALIVE_SECONDS = 15.0
SSE_MAX_SECONDS = 600.0  # clients reconnect by themselves; bounded streams free server slots


async def read(svc: Services, func: Callable[..., T], *args: Any) -> T:
    """Run a store read: inline for the embedded engine, whose point reads cost less than a thread
    hop, on the thread pool for engines that go over the network."""
    if svc.store.inline_reads:
        return func(*args)
    return await run_in_threadpool(func, *args)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _hash(request: Request) -> str:
    value = request.path_params["hash"]
    if not _HASH.fullmatch(value):
        raise BadRequest(f"Invalid transaction hash: {value[:80]}")
    return str(value).lower()


async def post_tx(request: Request) -> Response:
    svc = services(request)
    body = await read_object(request, svc.settings.body_limit)
    check_request(body, TX_REQUEST)
    post = svc.txs.parse(body, viewer(request))
    charge_upstream(request, svc, post)
    # On a thread, never on the event loop: its writes wait for a commit (SQLite's writer thread
    # acknowledges a group commit once it is on disk) or a network round trip.
    result = await run_in_threadpool(svc.txs.process, post)
    return json_response(request, result)


async def get_tx(request: Request) -> Response:
    page = serve_ui_page(request)
    if page is not None:
        return page
    svc = services(request)
    record = await read(svc, svc.txs.get, _hash(request), viewer(request))
    return json_response(request, tx_info(record))


def _account_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not (is_ed25519_key(value) or re.fullmatch(r"[TXP][A-Z2-7]{55,170}", value)):
        raise ValidationFailed(f'Invalid "{name}" parameter: {value[:80]} is not a Stellar key.', name)
    return value


def parse_query(request: Request) -> TxQuery:
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in {s.value for s in TxStatus}:
        raise ValidationFailed(f'Invalid "status" parameter: {status[:40]}.', "status")
    limit_text = params.get("limit", "20")
    if not _LIMIT.fullmatch(limit_text) or not 1 <= int(limit_text) <= 100:
        raise ValidationFailed('Invalid "limit" parameter: expected 1 to 100.', "limit")
    network = params.get("network") or None
    cursor = params.get("cursor")
    return TxQuery(
        account=_account_param(request, "account"),
        signer=_account_param(request, "signer"),
        awaiting=_account_param(request, "awaiting"),
        status=TxStatus(status) if status else None,
        network=network,
        limit=int(limit_text),
        cursor=decode_cursor(cursor) if cursor else None,
        viewer=viewer(request),  # None for the operator's token: it lists the public records
    )


async def list_txs(request: Request) -> Response:
    svc = services(request)
    query = parse_query(request)
    if query.account is None and query.signer is None and query.awaiting is None:
        # Everyone's records at once is the operator's view; a co-signer looks up their own.
        if "authorization" not in request.headers:
            raise ValidationFailed('Listing transactions needs an "account", "signer" or "awaiting" '
                                   "filter (an unfiltered listing needs the admin token).", "account")
        require_admin(request)
    if query.network is not None and query.network not in svc.settings.networks:
        raise ValidationFailed(f"Unidentified network: {query.network[:40]}", "network")
    page = await run_in_threadpool(svc.store.search, query)
    return json_response(request, {
        "items": [tx_info(r) for r in page.items],
        "next": encode_cursor(page.next) if page.next else None,
    })


async def tx_events(request: Request) -> Response:
    """Server-Sent Events: the TxInfo now and after every change (polled, so any process's writes
    are seen)."""
    svc = services(request)
    tx_hash = _hash(request)
    record = await run_in_threadpool(svc.txs.get, tx_hash, viewer(request))

    async def stream() -> AsyncIterator[str]:
        nonlocal record
        yield f"retry: 3000\nevent: update\ndata: {json.dumps(tx_info(record))}\n\n"
        loop = asyncio.get_running_loop()
        started = last_sent = loop.time()
        version = (record.updated_at, record.status, record.sig_count, record.derived.get("xdr"))
        while loop.time() - started < SSE_MAX_SECONDS:
            await asyncio.sleep(SSE_POLL_SECONDS)
            if await request.is_disconnected():
                return
            fresh = await read(svc, svc.store.get, tx_hash)
            if fresh is None:
                return
            now_version = (fresh.updated_at, fresh.status, fresh.sig_count, fresh.derived.get("xdr"))
            if now_version != version:
                version, record, last_sent = now_version, fresh, loop.time()
                yield f"event: update\ndata: {json.dumps(tx_info(fresh))}\n\n"
            elif loop.time() - last_sent > SSE_KEEPALIVE_SECONDS:
                last_sent = loop.time()
                yield ": keep-alive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def submit_tx(request: Request) -> Response:
    svc = services(request)
    record = await run_in_threadpool(svc.txs.request_submission, _hash(request), viewer(request))
    return json_response(request, tx_info(record), 202)


async def tx_deliveries(request: Request) -> Response:
    """The operator's view: receivers' URLs and error logs are not public."""
    require_admin(request)
    svc = services(request)
    tx_hash = _hash(request)
    record = await run_in_threadpool(svc.store.get, tx_hash)  # the operator sees private records too
    if record is None:
        raise NotFound(f"Transaction {tx_hash} not found.")
    found = await run_in_threadpool(svc.store.jobs.for_ref, record.hash, DELIVER_CALLBACK)
    return json_response(request, {"items": [delivery_view(job) for job in found]})
