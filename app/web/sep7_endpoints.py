"""SEP-7 signing links for pending records, and the callback wallets POST the signed envelope to."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from stellar_sdk import Keypair

from app.cosigners.sep7 import signing_uri
from app.cosigners.visibility import can_see
from app.errors import BadRequest, Conflict, NotFound, ValidationFailed
from app.txs.model import TxStatus
from app.web.body import read_object
from app.web.budget import charge_upstream
from app.web.identity import viewer
from app.web.links import public_base
from app.web.responses import json_response
from app.web.tx_endpoints import _hash, services


async def get_link(request: Request) -> Response:
    svc = services(request)
    tx_hash = _hash(request)
    record = await run_in_threadpool(svc.txs.get, tx_hash, viewer(request))
    if record.status is not TxStatus.PENDING:
        raise Conflict(f"The transaction is not collecting signatures (status {record.status.value})")
    auth = svc.settings.auth
    key = Keypair.from_secret(auth.signing_key.reveal()) if auth.signing_key else None
    passphrase = svc.settings.networks[record.network].passphrase
    callback = f"{public_base(request)}/tx/{record.hash}/sep7"
    uri = signing_uri(str(record.derived.get("xdr") or record.xdr), passphrase, callback,
                      auth.home_domain, key, f"Refractor: sign transaction {record.hash[:12]}…")
    return json_response(request, {"uri": uri, "callback": callback, "networkPassphrase": passphrase,
                                   "originDomain": auth.home_domain if key else None,
                                   "signed": key is not None and auth.home_domain is not None})


async def post_callback(request: Request) -> Response:
    """What a wallet sends after signing: a form with ``xdr`` (SEP-7); JSON works too."""
    svc = services(request)
    tx_hash = _hash(request)
    body = await read_object(request, svc.settings.body_limit)
    who = viewer(request)
    record = await run_in_threadpool(svc.store.get, tx_hash)
    if record is None:
        raise NotFound(f"Transaction {tx_hash} not found.")
    xdr = body.get("xdr")
    if not isinstance(xdr, str) or not xdr:
        raise ValidationFailed('"xdr" is required: the signed transaction envelope.', "xdr")
    post_body: dict[str, Any] = {"network": record.network, "xdr": xdr}
    post = svc.txs.parse(post_body, who)
    if post.parsed.hash_hex != record.hash:
        if not can_see(record, who):
            raise NotFound(f"Transaction {tx_hash} not found.")
        raise BadRequest(f"The signed envelope is transaction {post.parsed.hash_hex}, not "
                         f"{record.hash}")
    charge_upstream(request, svc, post)
    result = await run_in_threadpool(svc.txs.process, post)
    return json_response(request, result)
