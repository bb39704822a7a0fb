"""Admin authentication: ``Authorization: Bearer <adminToken>``, compared in constant time.

Without a configured token the admin endpoints do not exist (404), so a forgotten token can never
leave them open.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from app.errors import NotFound, Unauthorized
from app.settings import Settings


def is_admin(request: Request) -> bool:
    """Whether the request carries the admin token (the same header also carries co-signers'
    sign-in tokens, so a bearer token that is not the admin's is not an error here)."""
    settings: Settings = request.app.state.settings
    token = settings.admin_token
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return (token is not None and scheme.lower() == "bearer"
            and hmac.compare_digest(value.strip().encode(), token.reveal().encode()))


def require_admin(request: Request) -> None:
    settings: Settings = request.app.state.settings
    if settings.admin_token is None:
        raise NotFound("Admin endpoints are disabled: set adminToken to enable them")
    if not is_admin(request):
        raise Unauthorized("Missing or invalid admin token")
