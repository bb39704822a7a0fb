"""The route table."""

from __future__ import annotations

from starlette.routing import Route

from app.web import (
    auth_endpoints,
    health,
    info,
    monitoring,
    openapi,
    sep7_endpoints,
    subscription_endpoints,
    tx_endpoints,
    ui,
)


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
        Route("/tx/{hash}/sep7", sep7_endpoints.get_link, methods=["GET"]),
        Route("/tx/{hash}/sep7", sep7_endpoints.post_callback, methods=["POST"]),
        Route("/auth", auth_endpoints.get_challenge, methods=["GET"]),
        Route("/auth", auth_endpoints.post_challenge, methods=["POST"]),
        Route("/.well-known/stellar.toml", auth_endpoints.stellar_toml, methods=["GET"]),
        Route("/subscriptions", subscription_endpoints.create, methods=["POST"]),
        Route("/subscriptions", subscription_endpoints.list_all, methods=["GET"]),
        Route("/subscriptions/{id}", subscription_endpoints.delete, methods=["DELETE"]),
        Route("/subscriptions/{id}/deliveries", subscription_endpoints.deliveries, methods=["GET"]),
        Route("/subscriptions/{id}/test", subscription_endpoints.send_test, methods=["POST"]),
        Route("/monitoring/metrics", monitoring.metrics, methods=["GET"]),
        Route("/monitoring/queue/pause", monitoring.pause, methods=["POST"]),
        Route("/monitoring/queue/resume", monitoring.resume, methods=["POST"]),
        Route("/monitoring/queue/concurrency", monitoring.concurrency, methods=["POST"]),
        Route("/monitoring/cleanup/expired", monitoring.cleanup_expired, methods=["POST"]),
        Route("/{path:path}", ui.ui_files, methods=["GET"]),
    ]
