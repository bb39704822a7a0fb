"""Serving the browser UI (``ui/dist``) from the app, so ``make run`` is the whole product.

One origin serves both: a browser navigating to ``/tx/{hash}`` asks for HTML and gets the UI, an API
client asking for JSON (or anything) gets JSON. In production Nginx serves the files itself.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from app.errors import NotFound

_REPO_UI = Path(__file__).resolve().parents[2] / "ui" / "dist"


def find_ui_dir(configured: str | None) -> Path | None:
    candidate = Path(configured) if configured else _REPO_UI
    return candidate if (candidate / "index.html").is_file() else None


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and request.method in ("GET", "HEAD")


def _index(ui_dir: Path) -> Response:
    return FileResponse(ui_dir / "index.html", headers={"Cache-Control": "no-cache",
                                                        "Vary": "Accept"})


def serve_ui_page(request: Request) -> Response | None:
    """The UI's index.html for a browser navigation, when the UI is built; else None."""
    ui_dir: Path | None = request.app.state.ui_dir
    if ui_dir is None or not wants_html(request):
        return None
    return _index(ui_dir)


async def ui_files(request: Request) -> Response:
    """Static files of the UI, and the SPA fallback for its client-side routes."""
    ui_dir: Path | None = request.app.state.ui_dir
    path = request.path_params.get("path", "")
    if ui_dir is not None and request.method in ("GET", "HEAD"):
        target = (ui_dir / path).resolve()
        if path and target.is_file() and target.is_relative_to(ui_dir.resolve()):
            cache = ("public, max-age=31536000, immutable" if path.startswith("assets/")
                     else "public, max-age=3600")
            return FileResponse(target, headers={"Cache-Control": cache})
        if wants_html(request):
            return _index(ui_dir)
    raise NotFound(f"Not found: {request.method} {request.url.path}")
