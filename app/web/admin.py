"""Admin authentication: ``Authorization: Bearer <adminToken>``, compared in constant time.

Without a configured token the admin endpoints do not exist (404), so a forgotten token can never
leave them open.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from app.errors import NotFound, Unauthorized
from app.settings import Settings


def require_admin(request: Request) -> None:
    settings: Settings = request.app.state.settings
    token = settings.admin_token
    if token is None:
        raise NotFound("Admin endpoints are disabled: set adminToken to enable them")
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(),
                                                             token.reveal().encode()):
        raise Unauthorized("Missing or invalid admin token")
