"""Standard Webhooks (https://www.standardwebhooks.com) signatures and headers.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}`` and the signature header is a
space-separated list of ``v1,<base64 HMAC-SHA256>``. Following the format exactly lets receivers
use any existing Standard Webhooks library instead of code written for us.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
USER_AGENT = "Refractor-Webhooks"


def decode_secret(secret: str) -> bytes:
    """The HMAC key inside ``whsec_<base64>``; raises ValueError when it is not usable.

    The prefix is optional, as in the reference libraries, so a key copied without it still works.
    Call this at startup (config checks) so a bad secret fails there rather than at first delivery.
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    # Reference libraries accept unpadded base64, so restore the padding before a strict decode.
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret must be 'whsec_' followed by base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    # Sign the exact body bytes sent: decoding and re-encoding could change them.
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`` keyed by the decoded secret."""
    digest = _digest(decode_secret(secret), msg_id, timestamp, body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """Receiver-side check of a delivery; False for anything missing, stale or not matching.

    The timestamp window is what stops a captured request from being replayed later.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        return False
    if not stamp.isascii() or not stamp.isdigit():
        return False
    timestamp = int(stamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _digest(decode_secret(secret), msg_id, timestamp, body)
    for candidate in signatures.split(" "):
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, given):
            return True
    return False


def headers_for(secret: str | None, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Request headers for one delivery attempt; unsigned when no secret is configured.

    ``webhook-id`` stays the same across retries so receivers can de-duplicate (delivery is
    at-least-once); the timestamp, and so the signature, is fresh on every attempt.
    """
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret is not None:
        headers["webhook-signature"] = sign(secret, msg_id, timestamp, body)
    return headers
