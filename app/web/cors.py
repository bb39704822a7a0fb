"""CORS on every route and every response, errors included (the original lost it on body errors).

By default every origin is reflected, like the original: there are no cookies or credentials, so a
reflected origin exposes nothing a plain request could not read. ``cors`` narrows it to a list.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.asgi import header

_METHODS = b"GET,HEAD,PUT,PATCH,POST,DELETE"


class CorsMiddleware:
    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.any = "*" in origins
        self.origins = set(origins)

    def allowed(self, origin: str) -> bool:
        return self.any or origin in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = header(scope, b"origin")
        if origin is None or not self.allowed(origin):
            await self.app(scope, receive, send)
            return
        cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin"),
                (b"access-control-expose-headers", b"X-Request-ID, Retry-After")]
        requested = header(scope, b"access-control-request-method")
        if scope["method"] == "OPTIONS" and requested is not None:
            allow_headers = header(scope, b"access-control-request-headers") or ""
            await send({"type": "http.response.start", "status": 200, "headers": [
                *cors, (b"access-control-allow-methods", _METHODS),
                (b"access-control-allow-headers", allow_headers.encode("latin-1")),
                (b"access-control-max-age", b"600"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *cors]
            await send(message)

        await self.app(scope, receive, send_with_cors)
