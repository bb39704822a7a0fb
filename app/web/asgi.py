"""Small helpers for pure ASGI middleware."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def send_json(send: Send, status: int, body: dict[str, Any],
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": payload})


def has_body(scope: Scope) -> bool:
    length = header(scope, b"content-length")
    return (length is not None and length.strip() not in ("", "0")) \
        or header(scope, b"transfer-encoding") is not None


class CloseUnreadBodies:
    """A response sent before the request body was read ends the connection, and says so.

    Hypercorn cannot start the next request on a keep-alive connection whose body is still unread
    and drops it, so a client reusing it saw "server disconnected" instead of an answer (e.g. after
    a 404, a 401 or a 429 to a POST). ``Connection: close`` tells the client not to reuse it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        read_all = False

        async def tracked_receive() -> Message:
            nonlocal read_all
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                read_all = True
            return message

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not read_all:
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"connection", b"close")]}
            await send(message)

        await self.app(scope, tracked_receive, tracked_send)
