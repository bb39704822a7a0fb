"""Per-client rate limits: a strict bucket for ``POST /tx``, a general one for everything else.

Limits are per process; behind Nginx the proxy's limits are the global ones and these are a backstop.
Health checks are never limited, so monitors keep working while the API is flooded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from app.settings import RateLimitSettings
from app.web.asgi import header, send_json

_EXEMPT = ("/health", "/monitoring/health")


class TokenBuckets:
    """One bucket per key, refilled continuously at ``per_minute``/60 tokens a second."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self.clock()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self.buckets[key] = (tokens - 1, now)
                if len(self.buckets) > 100_000:  # bound memory under address-spraying floods
                    self.buckets.clear()
                return 0.0
            self.buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def client_address(scope: Scope, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = header(scope, b"x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
        real = header(scope, b"x-real-ip")
        if real:
            return real.strip()
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: RateLimitSettings, trust_proxy: bool) -> None:
        self.app = app
        self.enabled = settings.enabled
        self.trust_proxy = trust_proxy
        self.strict = TokenBuckets(settings.post_per_minute)
        self.general = TokenBuckets(settings.general_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if not self.enabled or scope["type"] != "http" or path in _EXEMPT:
            await self.app(scope, receive, send)
            return
        key = client_address(scope, self.trust_proxy)
        strict = scope["method"] == "POST" and path.rstrip("/") == "/tx"
        wait = (self.strict if strict else self.general).take(key)
        if wait > 0:
            retry = str(max(1, round(wait)))
            await send_json(send, 429, {"error": "Too many requests, retry later", "status": 429},
                            [(b"retry-after", retry.encode())])
            return
        await self.app(scope, receive, send)
