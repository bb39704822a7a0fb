"""The route table."""

from __future__ import annotations

from starlette.routing import Route

from app.web import health, info, openapi, tx_endpoints, ui


def routes() -> list[Route]:
    return [
        Route("/", info.service_info, methods=["GET"]),
        Route("/networks", info.list_networks, methods=["GET"]),
        Route("/openapi.json", openapi.openapi_document, methods=["GET"]),
        Route("/health", health.health, methods=["GET"]),
        Route("/monitoring/health", health.health, methods=["GET"]),
        Route("/tx", tx_endpoints.post_tx, methods=["POST"]),
        Route("/tx", tx_endpoints.list_txs, methods=["GET"]),
        Route("/tx/{hash}", tx_endpoints.get_tx, methods=["GET"]),
        Route("/tx/{hash}/events", tx_endpoints.tx_events, methods=["GET"]),
        Route("/{path:path}", ui.ui_files, methods=["GET"]),
    ]
