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


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json({"$ref": "#/components/schemas/Error"}, "Error") for code in codes}


_HASH_PARAM = {"name": "hash", "in": "path", "required": True, "schema": s.HASH,
               "description": "Transaction hash (or a fee bump's inner hash)."}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False,
            "schema": schema or {"type": "string"}, "description": description}


def build_openapi() -> dict[str, Any]:
    tx_info = {"$ref": "#/components/schemas/TxInfo"}
    admin: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
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
            "/monitoring/metrics": {"get": {"summary": "Metrics (JSON, or Prometheus text with "
                                                       "?format=prometheus)",
                                            "operationId": "metrics", "security": admin,
                                            "responses": {"200": {"description": "Metrics"},
                                                          **_errors(401, 404)}}},
        },
        "components": {
            "schemas": {"TxInfo": s.TX_INFO, "Error": s.ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "The configured adminToken"}},
        },
    }


async def openapi_document(request: Request) -> Response:
    return json_response(request, request.app.state.openapi)
