"""One delivery attempt to a callback URL, classified as ok, transient or permanent.

The caller (the worker's job handler) records the result and, for transient failures, schedules
the next attempt with ``backoff_delay``; retries live in the job queue so they survive restarts.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from app.webhooks.guard import BlockedAddress, GuardedTransport
from app.webhooks.signing import decode_secret, headers_for

log = logging.getLogger(__name__)

# Receiver-controlled text ends up in the database and the UI; keep it short.
_MAX_ECHO = 300


# Letters, digits, dot, hyphen (and the underscore some DNS names carry) after IDNA encoding.
_HOSTNAME = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    permanent: bool
    status: int | None
    error: str | None
    duration_ms: float


def _classify(status: int, location: str | None) -> tuple[bool, bool, str | None]:
    """(ok, permanent, error) for an HTTP answer."""
    if 200 <= status < 300:
        return True, False, None
    if 300 <= status < 400:
        # Following a redirect would let a public receiver point us at a private address.
        target = (location or "(no location)")[:_MAX_ECHO]
        return False, True, f"redirects are not followed: {status} to {target}"
    if status in (408, 429) or status >= 500 or status < 200:
        return False, False, f"receiver answered HTTP {status}"
    return False, True, f"receiver answered HTTP {status}"


def _url_problem(url: str) -> str | None:
    """Why ``url`` can never be delivered to, or None; raises httpx.InvalidURL when unparsable."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https"):
        return f"unsupported scheme {parsed.scheme!r}"
    host = parsed.raw_host.decode("ascii", "replace")
    if not host:
        return "no host"
    # httpx passes odd hostnames on to the resolver, which would fail on every retry.
    if ":" not in host and not _HOSTNAME.fullmatch(host):
        return f"invalid host {host!r}"
    return None


class WebhookSender:
    """Sends signed JSON callbacks; one instance per process, shared by worker threads."""

    def __init__(
        self,
        *,
        secret: str | None,
        allow_private: bool,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if secret is not None:
            decode_secret(secret)  # a bad secret should stop startup, not every delivery
        self._secret = secret
        self._timeout = timeout
        self._client = httpx.Client(
            transport=transport if transport is not None else GuardedTransport(allow_private=allow_private),
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            # Environment proxies or .netrc credentials must not change where callbacks go.
            trust_env=False,
        )

    def send(
        self, url: str, msg_id: str, payload: dict[str, Any], now: float | None = None
    ) -> DeliveryResult:
        """POST ``payload`` to ``url`` once. Never raises: every failure becomes a result."""
        started = time.perf_counter()

        def result(ok: bool, permanent: bool, status: int | None, error: str | None) -> DeliveryResult:
            elapsed = (time.perf_counter() - started) * 1000
            return DeliveryResult(ok=ok, permanent=permanent, status=status, error=error, duration_ms=elapsed)

        try:
            body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            return result(False, True, None, f"payload is not JSON: {exc}")
        timestamp = int(time.time() if now is None else now)
        headers = headers_for(self._secret, msg_id, timestamp, body)
        try:
            problem = _url_problem(url)
            if problem is not None:
                return result(False, True, None, f"invalid callback URL: {problem}"[:_MAX_ECHO])
            # Streaming and never reading the body: a receiver cannot make us buffer megabytes.
            with self._client.stream("POST", url, content=body, headers=headers) as response:
                ok, permanent, error = _classify(response.status_code, response.headers.get("location"))
                return result(ok, permanent, response.status_code, error)
        except BlockedAddress as exc:
            return result(False, True, None, str(exc))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return result(False, True, None, f"invalid callback URL: {exc}"[:_MAX_ECHO])
        except httpx.TimeoutException as exc:
            return result(False, False, None, f"timed out after {self._timeout:g}s ({type(exc).__name__})")
        except httpx.LocalProtocolError as exc:
            # The request we built is invalid; sending it again would fail the same way.
            return result(False, True, None, f"invalid request: {exc}"[:_MAX_ECHO])
        except httpx.TransportError as exc:
            return result(False, False, None, f"{type(exc).__name__}: {exc}"[:_MAX_ECHO])
        except Exception as exc:
            # The worker must keep running; log with traceback so Sentry still hears about it.
            log.exception("unexpected error delivering webhook %s", msg_id)
            return result(False, False, None, f"unexpected error: {type(exc).__name__}"[:_MAX_ECHO])

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def backoff_delay(
    attempt: int,
    base_ms: int,
    cap_ms: int = 3_600_000,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds before retry number ``attempt`` (1-based): base*2^(attempt-1) ms, capped, with jitter.

    The jitter keeps 50-100% of the delay so many callbacks failing together (a receiver outage)
    do not all come back in the same second, while never retrying much sooner than planned.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    if base_ms < 0 or cap_ms < 0:
        raise ValueError("delays cannot be negative")
    # Bound the exponent so a runaway attempt counter cannot build an enormous integer.
    exponential = base_ms << min(attempt - 1, 64)
    return min(exponential, cap_ms) * (0.5 + 0.5 * rand()) / 1000
