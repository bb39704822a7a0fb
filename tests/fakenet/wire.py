"""The reply type the views produce and the transport side of fault injection."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from .faults import Fault

JSON = "application/json"
HAL = "application/hal+json; charset=utf-8"
PROBLEM = "application/problem+json; charset=utf-8"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(data: Any, status: int = 200, content_type: str = JSON) -> Reply:
    return Reply(status, json.dumps(data, separators=(",", ":")).encode(), content_type)


def problem(status: int, slug: str, title: str, detail: str, **extras: Any) -> Reply:
    """A Horizon problem document (RFC 7807 with Horizon's type URLs)."""
    body: dict[str, Any] = {
        "type": f"https://stellar.org/horizon-errors/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if extras:
        body["extras"] = extras
    return json_reply(body, status, PROBLEM)


_HORIZON_HTTP = {
    500: ("server_error", "Internal Server Error", "An error occurred while processing this request."),
    503: ("service_unavailable", "Service Unavailable", "The server is temporarily unavailable."),
    504: (
        "timeout",
        "Timeout",
        "Your request timed out before completing.  Please try your request again. If you are "
        "submitting a transaction make sure you are sending exactly the same transaction (with "
        "the same sequence number).",
    ),
    429: (
        "rate_limit_exceeded",
        "Rate Limit Exceeded",
        "The rate limit for the requesting IP address is over its alloted limit.",
    ),
}


def http_fault_reply(status: int, horizon: bool) -> Reply:
    """What an injected HTTP error looks like: Horizon answers problems, a proxy in front of
    RPC answers plain text."""
    if horizon:
        slug, title, detail = _HORIZON_HTTP.get(status, ("error", "Error", "Injected error."))
        return problem(status, slug, title, detail)
    return Reply(status, f"injected HTTP {status}\n".encode(), "text/plain; charset=utf-8")


class Transport:
    """Applies the transport-level part of a fault around real processing."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping

    def before(self, fault: Fault | None, horizon: bool) -> Reply | None:
        """A reply that replaces processing, or None to go on processing."""
        if fault is None or fault.applies_first:
            return None
        if fault.kind == "timeout":
            # An Event wait so that stopping the server is not held up by a sleeping handler.
            self.stopping.wait(fault.seconds)
            return None
        if fault.kind == "drop":
            return Reply(drop=True)
        if fault.http_status is not None:
            return http_fault_reply(fault.http_status, horizon)
        return None

    def after(self, fault: Fault | None, reply: Reply, horizon: bool) -> Reply:
        if fault is None or not fault.applies_first:
            return reply
        if fault.action == "drop":
            return Reply(drop=True)
        if fault.http_status is not None:
            return http_fault_reply(fault.http_status, horizon)
        return reply
