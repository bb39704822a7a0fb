"""JSON responses, with the original's ``?prettyPrint`` (any value) indenting by 2 spaces."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response


def json_response(request: Request, data: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    # Most requests have no query string: the raw bytes are looked at before they are parsed
    # (a percent-escape could spell the name: those are parsed).
    raw = request.scope.get("query_string", b"")
    if (b"prettyPrint" in raw or b"%" in raw) and "prettyPrint" in request.query_params:
        body = json.dumps(data, indent=2, ensure_ascii=False)
    else:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    response = Response(body, status, headers=headers, media_type="application/json")
    if request.app.state.ui_dir is not None:  # the same URL may answer HTML to a browser
        response.headers["Vary"] = "Accept"
    return response
