"""The route table."""

from __future__ import annotations

from starlette.routing import Route

from app.web import health, info, monitoring, openapi, tx_endpoints, ui


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
        Route("/tx/{hash}/submit", tx_endpoints.submit_tx, methods=["POST"]),
        Route("/tx/{hash}/deliveries", tx_endpoints.tx_deliveries, methods=["GET"]),
        Route("/monitoring/metrics", monitoring.metrics, methods=["GET"]),
        Route("/monitoring/queue/pause", monitoring.pause, methods=["POST"]),
        Route("/monitoring/queue/resume", monitoring.resume, methods=["POST"]),
        Route("/monitoring/queue/concurrency", monitoring.concurrency, methods=["POST"]),
        Route("/monitoring/cleanup/expired", monitoring.cleanup_expired, methods=["POST"]),
        Route("/{path:path}", ui.ui_files, methods=["GET"]),
    ]
