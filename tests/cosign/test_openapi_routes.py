"""Every route the app serves is in its OpenAPI document (adding a route without documenting it
fails here)."""

from __future__ import annotations

import re

from starlette.routing import Route

from app.web.openapi import build_openapi
from app.web.routes import routes

UNDOCUMENTED = {"/{path:path}"}  # the UI's files and pages, not API


def test_every_route_is_documented() -> None:
    paths = build_openapi()["paths"]
    missing = []
    for route in routes():
        assert isinstance(route, Route)
        if route.path in UNDOCUMENTED:
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing, f"routes missing from the OpenAPI document: {missing}"


def test_documented_operations_exist() -> None:
    served = {(re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", r.path), m.lower())
              for r in routes() if isinstance(r, Route) for m in (r.methods or set())}
    for path, item in build_openapi()["paths"].items():
        for method in item:
            assert (path, method) in served, f"{method.upper()} {path} is documented, not served"
