"""Absolute URLs of this server, as clients reach it."""

from __future__ import annotations

from starlette.requests import Request

from app.services import Services


def public_base(request: Request) -> str:
    """``publicUrl`` when configured (behind a proxy it is the only reliable answer), else the
    scheme and host this request came in on."""
    svc: Services = request.app.state.services
    if svc.settings.public_url:
        return svc.settings.public_url
    return f"{request.url.scheme}://{request.url.netloc}"
