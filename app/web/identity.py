"""Who is asking: the account of a SEP-10 JWT sent as ``Authorization: Bearer``, if any."""

from __future__ import annotations

from starlette.requests import Request

from app.errors import InvalidToken, Unauthorized
from app.services import Services
from app.web.admin import is_admin


def viewer(request: Request) -> str | None:
    """The signed-in account, None when no token is sent; a bad or expired token is a 401 (a
    client that sent one wants to know, rather than silently see less)."""
    header = request.headers.get("authorization")
    if not header or is_admin(request):  # the operator's token is not a co-signer's sign-in
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken('The Authorization header must be "Bearer <token from POST /auth>"')
    svc: Services = request.app.state.services
    if svc.tokens is None:
        raise InvalidToken("Web authentication is not configured on this server")
    return svc.tokens.verify(token.strip())


def signed_in(request: Request) -> str:
    account = viewer(request)
    if account is None:
        raise Unauthorized("Sign in first: GET /auth, sign the challenge, POST /auth, then send "
                           "the token as Authorization: Bearer")
    return account
