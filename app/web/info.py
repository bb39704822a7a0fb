"""Service information routes: ``GET /`` (as the original) and ``GET /networks``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app import __version__
from app.web.responses import json_response
from app.web.tx_endpoints import services
from app.web.ui import serve_ui_page


async def service_info(request: Request) -> Response:
    page = serve_ui_page(request)
    if page is not None:
        return page
    started = services(request).started.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json_response(request, {
        "service": "refractor",
        "version": __version__,
        "more": "https://refractor.space/",
        "started": started,
    })


async def list_networks(request: Request) -> Response:
    nets = services(request).settings.networks.values()
    return json_response(request, {"networks": [
        {"name": n.name, "passphrase": n.passphrase, "aliases": list(n.aliases)} for n in nets]})
