"""Per-client rate limits: a strict bucket for ``POST /tx``, a general one for everything else.

Limits are per process; behind Nginx the proxy's limits are the global ones and these are a backstop.
Health checks are never limited, so monitors keep working while the API is flooded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from app.settings import RateLimitSettings
from app.web.asgi import send_json
from app.web.client import ClientResolver, remember

_EXEMPT = ("/health", "/monitoring/health")


class TokenBuckets:
    """One bucket per key, refilled continuously at ``per_minute``/60 tokens a second.

    At most ``max_keys`` buckets are kept; the least recently used one goes first. A bucket that is
    evicted was idle longer than every other, so whoever floods with fresh keys only evicts idle
    clients, never resets the limits of an active one.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.clock = clock
        self.max_keys = max_keys
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 when allowed (and ``cost`` tokens taken), else the seconds to wait. A cost above the
        capacity is charged as a full bucket, so one large request is possible, not two."""
        cost = min(cost, self.capacity)
        now = self.clock()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            self.buckets[key] = (tokens - cost, now) if tokens >= cost else (tokens, now)
            self.buckets.move_to_end(key)
            while len(self.buckets) > self.max_keys:
                self.buckets.popitem(last=False)
            return 0.0 if tokens >= cost else (cost - tokens) / self.rate


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: RateLimitSettings, clients: ClientResolver) -> None:
        self.app = app
        self.enabled = settings.enabled
        self.clients = clients
        self.strict = TokenBuckets(settings.post_per_minute)
        self.general = TokenBuckets(settings.general_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = self.clients.resolve(scope)
        remember(scope, key)  # the upstream-lookup budget charges the same client
        path = scope.get("path", "")
        if not self.enabled or path in _EXEMPT:
            await self.app(scope, receive, send)
            return
        strict = scope["method"] == "POST" and path.rstrip("/") == "/tx"
        wait = (self.strict if strict else self.general).take(key)
        if wait > 0:
            retry = str(max(1, round(wait)))
            await send_json(send, 429, {"error": "Too many requests, retry later", "status": 429},
                            [(b"retry-after", retry.encode())])
            return
        await self.app(scope, receive, send)
