"""The OpenAPI 3.1 document, assembled from the schemas the code validates with."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app import __version__
from app.web import schemas as s
from app.web.responses import json_response


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# A 429 (rate limit) and a 503 (network or store unavailable) always say when to try again.
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                                "required": True,
                                "schema": {"type": "integer", "minimum": 1}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {**_json({"$ref": "#/components/schemas/Error"}, "Error"),
                        **({"headers": _RETRY_AFTER} if code in (429, 503) else {})}
            for code in codes}


_HASH_PARAM = {"name": "hash", "in": "path", "required": True, "schema": s.HASH,
               "description": "Transaction hash (or a fee bump's inner hash)."}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False,
            "schema": schema or {"type": "string"}, "description": description}


def _admin_post(summary: str, operation: str) -> dict[str, Any]:
    return {"post": {"summary": summary, "operationId": operation, "security": [{"bearer": []}],
                     "responses": {"200": {"description": "Done; the queue's state"},
                                   **_errors(400, 401, 404)}}}


_SUB_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _cosigner_paths() -> dict[str, Any]:
    """Sign-in (SEP-10), subscriptions, SEP-7 links: the co-signer routes."""
    jwt: list[dict[str, list[str]]] = [{"sep10": []}]
    tx_info = {"$ref": "#/components/schemas/TxInfo"}
    return {
        "/auth": {
            "get": {"summary": "SEP-10 challenge for an account", "operationId": "authChallenge",
                    "parameters": [
                        {**_query("account", "The account signing in (G...)"), "required": True},
                        _query("network", "Network whose signers are checked (default public)")],
                    "responses": {"200": _json(s.AUTH_CHALLENGE, "The challenge to sign"),
                                  **_errors(400, 404)}},
            "post": {"summary": "Exchange the signed challenge for a JWT (SEP-10)",
                     "operationId": "authToken",
                     "requestBody": {"required": True, "content": {
                         "application/json": {"schema": s.AUTH_REQUEST},
                         "application/x-www-form-urlencoded": {"schema": s.AUTH_REQUEST}}},
                     "responses": {"200": _json(s.AUTH_TOKEN, "Signed in"),
                                   **_errors(400, 401, 404, 503)}},
        },
        "/.well-known/stellar.toml": {"get": {
            "summary": "SEP-1 stellar.toml: WEB_AUTH_ENDPOINT, SIGNING_KEY, URI_REQUEST_SIGNING_KEY",
            "operationId": "stellarToml",
            "responses": {"200": {"description": "TOML", "content": {"text/plain": {
                "schema": {"type": "string"}}}}, **_errors(404)}}},
        "/subscriptions": {
            "post": {"summary": "Subscribe a URL to events of your transactions",
                     "operationId": "createSubscription", "security": jwt,
                     "requestBody": {"required": True, "content": {
                         "application/json": {"schema": s.SUBSCRIPTION_REQUEST}}},
                     "responses": {"201": _json(s.SUBSCRIPTION_CREATED, "Created (secret shown once)"),
                                   **_errors(400, 401, 409)}},
            "get": {"summary": "Your subscriptions", "operationId": "listSubscriptions",
                    "security": jwt,
                    "responses": {"200": _json(s.SUBSCRIPTION_LIST, "Subscriptions"),
                                  **_errors(401)}},
        },
        "/subscriptions/{id}/deliveries": {"get": {
            "summary": "Delivery log of one of your subscriptions, newest first",
            "operationId": "subscriptionDeliveries", "security": jwt,
            "parameters": [_SUB_ID],
            "responses": {"200": _json(s.EVENT_LOG, "Events and their attempts"),
                          **_errors(401, 404)}}},
        "/subscriptions/{id}/test": {"post": {
            "summary": "Send a test event to one of your subscriptions",
            "operationId": "testSubscription", "security": jwt, "parameters": [_SUB_ID],
            "responses": {"202": _json({"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string", "description": "its webhook-id"}}}, "Queued"),
                **_errors(401, 404, 409)}}},
        "/subscriptions/{id}": {"delete": {
            "summary": "Delete one of your subscriptions", "operationId": "deleteSubscription",
            "security": jwt,
            "parameters": [_SUB_ID],
            "responses": {"204": {"description": "Deleted"}, **_errors(401, 404)}}},
        "/tx/{hash}/sep7": {
            "get": {"summary": "SEP-7 signing link (web+stellar:tx) for a pending transaction",
                    "operationId": "sep7Link", "parameters": [_HASH_PARAM],
                    "responses": {"200": _json(s.SEP7_LINK, "The link"),
                                  **_errors(400, 404, 409)}},
            "post": {"summary": "SEP-7 callback: a wallet posts the signed envelope",
                     "operationId": "sep7Callback", "parameters": [_HASH_PARAM],
                     "requestBody": {"required": True, "content": {
                         "application/x-www-form-urlencoded": {"schema": s.SEP7_CALLBACK},
                         "application/json": {"schema": s.SEP7_CALLBACK}}},
                     "responses": {"200": _json(s.TX_POST_RESULT, "Signatures merged"),
                                   **_errors(400, 404, 413, 415, 503)}},
        },
        "/tx/{hash}/submit": {"post": {
            "summary": "Submit a fully signed transaction stored without auto-submit",
            "operationId": "submitTx", "parameters": [_HASH_PARAM],
            "responses": {"202": _json(tx_info, "Queued for submission"),
                          **_errors(400, 404, 409)}}},
    }


def build_openapi() -> dict[str, Any]:
    tx_info = {"$ref": "#/components/schemas/TxInfo"}
    admin: list[dict[str, list[str]]] = [{"bearer": []}]
    return _mark_store_unavailable(_mark_optional_sign_in({
        "openapi": "3.1.0",
        "info": {"title": "Refractor API", "version": __version__,
                 "description": "Store pending Stellar transactions, collect co-signers' signatures, "
                                "submit once fully signed. Compatible with refractor.space."},
        "paths": {
            "/": {"get": {"summary": "Service information", "operationId": "serviceInfo",
                          "responses": {"200": _json(s.SERVICE_INFO, "Service information")}}},
            "/networks": {"get": {"summary": "Configured networks", "operationId": "networks",
                                  "responses": {"200": _json(s.NETWORKS, "Networks")}}},
            "/tx": {
                "post": {"summary": "Store a transaction and/or add signatures",
                         "operationId": "postTx",
                         "requestBody": {"required": True, "content": {
                             "application/json": {"schema": s.TX_REQUEST},
                             "application/x-www-form-urlencoded": {"schema": s.TX_REQUEST}}},
                         "responses": {"200": _json(s.TX_POST_RESULT, "The stored transaction"),
                                       **_errors(400, 413, 415, 429, 503)}},
                "get": {"summary": "List and search transactions (needs an account, signer or "
                                   "awaiting filter; unfiltered with the admin token)",
                        "operationId": "listTx", "security": [{}, *admin],
                        "parameters": [
                            _query("account", "Source account or potential signer"),
                            _query("signer", "Potential signer"),
                            _query("awaiting", "Potential signer who has not signed a pending "
                                               "transaction yet"),
                            _query("status", "Status", {"enum": ["pending", "ready", "processing",
                                                                 "processed", "failed"]}),
                            _query("network", "Network name"),
                            _query("limit", "Page size (1-100, default 20)",
                                   {"type": "integer", "minimum": 1, "maximum": 100}),
                            _query("cursor", "The `next` value of the previous page")],
                        "responses": {"200": _json(s.TX_LIST, "A page, newest first"),
                                      **_errors(400, 401, 404, 429)}},
            },
            "/tx/{hash}": {"get": {"summary": "Get a transaction", "operationId": "getTx",
                                   "parameters": [_HASH_PARAM],
                                   "responses": {"200": _json(tx_info, "The transaction"),
                                                 **_errors(400, 404)}}},
            "/tx/{hash}/events": {"get": {
                "summary": "Live updates (Server-Sent Events, event `update` with a TxInfo)",
                "operationId": "txEvents", "parameters": [_HASH_PARAM],
                "responses": {"200": {"description": "text/event-stream",
                                      "content": {"text/event-stream": {"schema": {
                                          "type": "string"}}}},
                              **_errors(400, 404)}}},
            "/tx/{hash}/deliveries": {"get": {
                "summary": "Callback delivery log (operator only: receivers' URLs and errors)",
                "operationId": "txDeliveries", "parameters": [_HASH_PARAM], "security": admin,
                "responses": {"200": {"description": "Deliveries with every attempt"},
                              **_errors(400, 401, 404)}}},
            "/monitoring/health": {"get": {"summary": "Health (public)", "operationId": "health",
                                           "responses": {"200": _json(s.HEALTH, "Healthy"),
                                                         "503": _json(s.HEALTH, "Unhealthy")}}},
            "/health": {"get": {"summary": "Health (alias of /monitoring/health)",
                                "operationId": "healthAlias",
                                "responses": {"200": _json(s.HEALTH, "Healthy"),
                                              "503": _json(s.HEALTH, "Unhealthy")}}},
            "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                      "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/monitoring/queue/pause": _admin_post("Pause the queue", "pauseQueue"),
            "/monitoring/queue/resume": _admin_post("Resume the queue", "resumeQueue"),
            "/monitoring/queue/concurrency": _admin_post("Set the queue's concurrency",
                                                         "setConcurrency"),
            "/monitoring/cleanup/expired": _admin_post("Expire and clean up old records now",
                                                       "cleanupExpired"),
            **_cosigner_paths(),
            "/monitoring/metrics": {"get": {"summary": "Metrics (JSON, or Prometheus text with "
                                                       "?format=prometheus)",
                                            "operationId": "metrics", "security": admin,
                                            "responses": {"200": {"description": "Metrics"},
                                                          **_errors(401, 404)}}},
        },
        "components": {
            "schemas": {"TxInfo": s.TX_INFO, "Error": s.ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "The configured adminToken"},
                                "sep10": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                          "description": "The token from POST /auth (SEP-10); "
                                                         "optional on /tx routes, where it shows "
                                                         "private records to their parties"}},
        },
    }))


# Routes where a sign-in token is optional: with one, private records of the account are shown.
_OPTIONAL_SIGN_IN = {("/tx", "get"), ("/tx", "post"), ("/tx/{hash}", "get"), ("/tx/{hash}/events", "get"),
                     ("/tx/{hash}/submit", "post"), ("/tx/{hash}/sep7", "get"),
                     ("/tx/{hash}/sep7", "post")}


# Routes that never touch the database; every other one answers 503 while it is unreachable.
_WITHOUT_STORE = {("/", "get"), ("/networks", "get"), ("/openapi.json", "get"),
                  ("/.well-known/stellar.toml", "get"), ("/auth", "get")}


def _mark_store_unavailable(document: dict[str, Any]) -> dict[str, Any]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if (path, method) not in _WITHOUT_STORE:
                operation["responses"].setdefault("503", _errors(503)["503"])
    return document


def _mark_optional_sign_in(document: dict[str, Any]) -> dict[str, Any]:
    for path, method in _OPTIONAL_SIGN_IN:
        operation = document["paths"].get(path, {}).get(method)
        if operation is not None:
            security = operation.setdefault("security", [{}])
            if {"sep10": []} not in security:
                security.append({"sep10": []})
    return document


async def openapi_document(request: Request) -> Response:
    return json_response(request, request.app.state.openapi)
