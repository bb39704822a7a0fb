"""JSON Schemas of the API: the single definition behind request type checks and /openapi.json."""

from __future__ import annotations

from typing import Any

from app.errors import ValidationFailed

STELLAR_KEY = {"type": "string", "pattern": "^G[A-Z2-7]{55}$"}
HASH = {"type": "string", "pattern": "^[a-f0-9]{64}$"}
NULLABLE_INT = {"type": ["integer", "null"]}

TX_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["network", "xdr"],
    "properties": {
        "network": {"type": ["string", "integer"],
                    "description": "Network name or alias: public/PUBLIC/0, testnet/test/TESTNET/1, "
                                   "or any other configured network."},
        "xdr": {"type": "string", "description": "Base64 TransactionEnvelope (v0, v1 or fee bump)."},
        "submit": {"type": ["boolean", "string", "null"],
                   "description": "Submit once fully signed; only JSON true enables it."},
        "callbackUrl": {"type": ["string", "null"], "format": "uri",
                        "description": "http(s) URL notified (signed webhook) when done."},
        "desiredSigners": {"type": ["array", "string", "null"], "items": STELLAR_KEY,
                           "description": "Keys the creator wants signatures from."},
        "expires": {"type": ["number", "string", "null"],
                    "description": "UNIX time after which the transaction is dropped; numeric "
                                   "strings are accepted and fractions of a second dropped."},
        "visibility": {"enum": ["public", "private", None], "type": ["string", "null"],
                       "description": "private: shown only to its source accounts, potential "
                                      "signers and the signed-in creator (404 to anyone else)."},
    },
}

SIGNATURE = {
    "type": "object",
    "required": ["key", "signature"],
    "properties": {"key": {"type": "string"}, "signature": {"type": "string"},
                   "addedAt": {"type": "integer"}},
}

REJECTED = {
    "type": "object",
    "required": ["key", "signature", "reason"],
    "properties": {"key": {"type": "string", "pattern": "^G_{46}[A-Z2-7]{5}_{4}$|^[GXP]"},
                   "signature": {"type": "string"},
                   "reason": {"enum": ["unknown_signer", "invalid_signature", "limit"]}},
}

PROGRESS = {
    "type": ["object", "null"],
    "properties": {
        "ready": {"type": "boolean"},
        "accounts": {"type": "array", "items": {
            "type": "object",
            "required": ["account", "scope", "missing", "level", "threshold", "weight",
                         "satisfied", "signers"],
            "properties": {
                "account": STELLAR_KEY, "scope": {"enum": ["transaction", "feeBump"]},
                "missing": {"type": "boolean"}, "level": {"enum": ["low", "medium", "high"]},
                "threshold": {"type": "integer"}, "weight": {"type": "integer"},
                "satisfied": {"type": "boolean"}, "frozen": {"type": "boolean"},
                "signers": {"type": "array", "items": {
                    "type": "object", "required": ["key", "type", "weight", "signed", "desired"],
                    "properties": {"key": {"type": "string"},
                                   "type": {"enum": ["ed25519", "preAuthTx", "hashX",
                                                     "signedPayload"]},
                                   "weight": {"type": "integer"}, "signed": {"type": "boolean"},
                                   "desired": {"type": "boolean"}}}},
            }}},
        "extraSigners": {"type": "array", "items": {
            "type": "object", "properties": {"key": {"type": "string"},
                                             "signed": {"type": "boolean"}}}},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}

TX_INFO: dict[str, Any] = {
    "type": "object",
    "required": ["hash", "network", "xdr", "signatures", "status", "submit", "minTime"],
    "properties": {
        "hash": HASH,
        "network": {"type": "string"},
        "xdr": {"type": "string"},
        "signatures": {"type": "array", "items": SIGNATURE},
        "status": {"enum": ["pending", "ready", "processing", "processed", "failed"]},
        "submit": {"type": "boolean"},
        "callback": {"type": "boolean"},
        "desiredSigners": {"type": ["array", "null"], "items": STELLAR_KEY},
        "minTime": {"type": "integer"},
        "maxTime": NULLABLE_INT,
        "submitted": NULLABLE_INT,
        "error": {"type": ["string", "null"]},
        "reason": {"type": ["object", "null"], "required": ["code", "message"],
                   "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                  "hash": HASH, "resultCodes": {"type": "object"}}},
        "waitingFor": {"type": ["object", "null"], "required": ["kind"],
                       "properties": {"kind": {"enum": [
                           "predecessor", "sibling", "blocked", "minTime", "ledger", "minSeqAge",
                           "minSeqLedgerGap"]},
                           "hash": HASH, "at": {"type": "integer"},
                           "ledger": {"type": "integer"}, "notBefore": {"type": "integer"},
                           "notBeforeLedger": {"type": "integer"},
                           "missing": {"type": "array", "items": {"type": "object"}},
                           "missingCount": {"type": "integer"}}},
        "createdAt": {"type": "integer"},
        "updatedAt": {"type": "integer"},
        "readyAt": NULLABLE_INT,
        "feeBump": {"type": ["object", "null"],
                    "properties": {"innerHash": HASH, "feeSource": STELLAR_KEY}},
        "result": {"type": ["object", "null"]},
        "progress": PROGRESS,
        "summary": {"type": ["object", "null"]},
        "visibility": {"enum": ["private"],
                       "description": "Present only on private records."},
    },
}

TX_POST_RESULT: dict[str, Any] = {
    "allOf": [TX_INFO, {
        "type": "object", "required": ["changes"],
        "properties": {"changes": {
            "type": "object", "required": ["accepted", "rejected"],
            "properties": {"accepted": {"type": "array", "items": SIGNATURE},
                           "rejected": {"type": "array", "items": REJECTED}}}},
    }],
}

TX_LIST = {
    "type": "object", "required": ["items", "next"],
    "properties": {"items": {"type": "array", "items": TX_INFO},
                   "next": {"type": ["string", "null"]}},
}

ERROR = {
    "type": "object", "required": ["error", "status"],
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"},
                   "field": {"type": "string"}},
}

SERVICE_INFO = {
    "type": "object", "required": ["service", "version", "started"],
    "properties": {"service": {"type": "string"}, "version": {"type": "string"},
                   "more": {"type": "string"}, "started": {"type": "string"}},
}

NETWORKS = {
    "type": "object", "required": ["networks"],
    "properties": {"networks": {"type": "array", "items": {
        "type": "object", "required": ["name", "passphrase", "aliases"],
        "properties": {"name": {"type": "string"}, "passphrase": {"type": "string"},
                       "aliases": {"type": "array", "items": {"type": "string"}}}}}},
}

HEALTH = {
    "type": "object", "required": ["status"],
    "properties": {"status": {"enum": ["ok", "unavailable"]}, "reason": {"type": "string"},
                   "warnings": {"type": "array", "items": {"type": "string"},
                                "description": "configuration risks, e.g. unsigned callbacks"}},
}

AUTH_CHALLENGE = {
    "type": "object", "required": ["transaction", "network_passphrase"],
    "properties": {"transaction": {"type": "string", "description": "SEP-10 challenge (base64 XDR)"},
                   "network_passphrase": {"type": "string"}},
}

AUTH_REQUEST: dict[str, Any] = {
    "type": "object", "required": ["transaction"],
    "properties": {"transaction": {"type": "string",
                                   "description": "The challenge, signed by the account's signers"}},
}

AUTH_TOKEN = {
    "type": "object", "required": ["token"],
    "properties": {"token": {"type": "string", "description": "JWT; send as Authorization: Bearer"}},
}

EVENT_TYPES = ["tx.awaiting_signature", "tx.signature_added", "tx.ready", "tx.submitted",
               "tx.failed", "tx.expired"]

SUBSCRIPTION_REQUEST: dict[str, Any] = {
    "type": "object", "required": ["url", "events"],
    "properties": {"url": {"type": "string", "format": "uri"},
                   "events": {"type": "array", "minItems": 1, "items": {"enum": EVENT_TYPES}}},
}

SUBSCRIPTION = {
    "type": "object", "required": ["id", "url", "events", "createdAt"],
    "properties": {"id": {"type": "string"}, "url": {"type": "string"},
                   "events": {"type": "array", "items": {"enum": EVENT_TYPES}},
                   "createdAt": {"type": "integer"}},
}

SUBSCRIPTION_CREATED = {
    "allOf": [SUBSCRIPTION, {"type": "object", "required": ["secret"], "properties": {
        "secret": {"type": "string", "description": "Standard Webhooks secret (whsec_...), shown "
                                                    "only in this answer"}}}],
}

SUBSCRIPTION_LIST = {
    "type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": SUBSCRIPTION}},
}

EVENT_LOG = {
    "type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["id", "type", "status", "attempts", "log"],
        "properties": {"id": {"type": "string"}, "type": {"type": "string"},
                       "hash": {"type": ["string", "null"]}, "createdAt": {"type": "integer"},
                       "status": {"enum": ["pending", "delivered", "failed"]},
                       "attempts": {"type": "integer"}, "lastError": {"type": ["string", "null"]},
                       "log": {"type": "array", "items": {"type": "object"}}}}}},
}

SEP7_LINK = {
    "type": "object", "required": ["uri", "callback", "networkPassphrase", "signed"],
    "properties": {"uri": {"type": "string", "description": "web+stellar:tx?xdr=... (SEP-7)"},
                   "callback": {"type": "string"}, "networkPassphrase": {"type": "string"},
                   "originDomain": {"type": ["string", "null"]}, "signed": {"type": "boolean"}},
}

SEP7_CALLBACK: dict[str, Any] = {
    "type": "object", "required": ["xdr"],
    "properties": {"xdr": {"type": "string", "description": "The signed envelope"}},
}

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,), "null": (type(None),),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _JSON_TYPES[name])


def check_request(body: dict[str, Any], schema: dict[str, Any]) -> None:
    """Type-check the top-level fields a schema declares; semantics are checked by the use case."""
    for name, spec in schema["properties"].items():
        if name not in body:
            continue
        types = spec.get("type")
        allowed = [types] if isinstance(types, str) else list(types or [])
        if allowed and not any(_is_type(body[name], t) for t in allowed):
            raise ValidationFailed(f'Invalid "{name}" parameter: expected {" or ".join(allowed)}.',
                                   name)
