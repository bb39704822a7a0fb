"""One delivery attempt to a callback URL, classified as ok, transient or permanent.

Each attempt has one hard deadline (``timeout``) covering the DNS lookup (which also has its own
timeout), connect, TLS, sending and reading the status line; at the deadline the connection is
dropped. The caller (the ``deliver_callback`` job) records the result; retries are scheduled by
the job queue, never here.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import re
import ssl
import time
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
    retry_after: float | None = None  # seconds the receiver asked us to wait (429/503)


def receiver_host(url: str) -> str:
    """The host a callback goes to, the unit of the per-receiver concurrency cap."""
    try:
        return httpx.URL(url).host.lower()
    except (httpx.InvalidURL, TypeError):
        return ""


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from ``now``, if valid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


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
        dns_timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: the process's TLS client context (app/tls.py); without one the transport
        loads the CA bundle itself."""
        if secret is not None:
            decode_secret(secret)  # a bad secret should stop startup, not every delivery
        self._secret = secret
        self._timeout = timeout
        if transport is None:
            # No connection reuse: each attempt opens (and at its deadline drops) its own.
            transport = GuardedTransport(allow_private=allow_private, dns_timeout=dns_timeout,
                                         limits=httpx.Limits(max_keepalive_connections=0),
                                         verify=True if tls is None else tls)
        self._guarded = transport if isinstance(transport, GuardedTransport) else None
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            # Environment proxies or .netrc credentials must not change where callbacks go.
            trust_env=False,
        )

    def send(
        self, url: str, msg_id: str, payload: dict[str, Any], now: float | None = None,
        secret: str | None = None,
    ) -> DeliveryResult:
        """POST ``payload`` to ``url`` once. Never raises: every failure becomes a result.
        ``secret`` signs instead of the sender's own (a subscription's secret)."""
        started = time.perf_counter()

        def result(ok: bool, permanent: bool, status: int | None, error: str | None,
                   retry_after: float | None = None) -> DeliveryResult:
            elapsed = (time.perf_counter() - started) * 1000
            return DeliveryResult(ok=ok, permanent=permanent, status=status, error=error,
                                  duration_ms=elapsed, retry_after=retry_after)

        try:
            body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            return result(False, True, None, f"payload is not JSON: {exc}")
        timestamp = int(time.time() if now is None else now)
        headers = headers_for(secret if secret is not None else self._secret, msg_id, timestamp,
                              body)
        try:
            problem = _url_problem(url)
            if problem is not None:
                return result(False, True, None, f"invalid callback URL: {problem}"[:_MAX_ECHO])
            # Streaming and never reading the body: a receiver cannot make us buffer megabytes.
            with self._deadline(), \
                    self._client.stream("POST", url, content=body, headers=headers) as response:
                ok, permanent, error = _classify(response.status_code, response.headers.get("location"))
                wait = (retry_after_seconds(response.headers.get("retry-after"), time.time())
                        if response.status_code in (429, 503) else None)
                return result(ok, permanent, response.status_code, error, wait)
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

    def _deadline(self) -> contextlib.AbstractContextManager[None]:
        if self._guarded is None:
            return contextlib.nullcontext()
        return self._guarded.backend.deadline(self._timeout)

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

