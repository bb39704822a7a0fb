"""Reading request bodies: size-limited, JSON or form, every failure a clear 4xx."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from app.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

MAX_JSON_DEPTH = 32  # a TX request nests 2 levels; deep nesting only exhausts the parser's stack
_SPECIAL = re.compile(rb'["\\\[\]{}]')


def check_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` before parsing it (the parser recurses per level).
    One linear pass over the structural characters, skipping those inside strings."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return  # cannot be deeper: the common case costs two counts
    depth = 0
    in_string = False
    skip_to = 0
    for match in _SPECIAL.finditer(raw):
        at = match.start()
        if at < skip_to:
            continue  # the character after a backslash
        char = raw[at]
        if in_string:
            if char == 0x5C:  # backslash
                skip_to = at + 2
            elif char == 0x22:  # closing quote
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                raise BadRequest(f"Request body is nested too deeply (more than {limit} levels)")
        elif char in (0x5D, 0x7D):
            depth -= 1


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not re.fullmatch(r"[0-9]{1,18}", declared):
            raise BadRequest("Invalid Content-Length header")
        if int(declared) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object (``application/json``, or a form). Text bodies holding JSON are
    accepted too, because some clients send JSON as text/plain to avoid a CORS preflight."""
    raw = await read_body(request, limit)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise BadRequest("Request body is not valid UTF-8") from None
    if media not in ("", "application/json", "text/plain") and not media.endswith("+json"):
        raise UnsupportedMediaType(f"Unsupported content type {media}; send application/json")
    if not raw.strip():
        raise BadRequest("Request body is empty; send a JSON object")
    check_depth(raw)
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        if media == "text/plain":
            raise UnsupportedMediaType("Unsupported content type text/plain; send application/json")\
                from None
        raise BadRequest("Request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("Request body must be a JSON object")
    return value
