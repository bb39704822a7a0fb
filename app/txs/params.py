"""Validation of ``POST /tx`` parameters. Messages keep the original's wording where clients match it.

Only the request that creates a record sets ``submit``, ``callbackUrl``, ``desiredSigners`` and
``expires``; later requests do not have them validated at all (a co-signer must never get a 400 for a
parameter that would be ignored anyway).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.errors import ValidationFailed
from app.settings import NetworkSettings
from app.stellar.signers import is_ed25519_key

MAX_UNIX = 2_147_483_647
MAX_DESIRED_SIGNERS = 100
_CALLBACK_ERROR = 'Invalid URL supplied in "callbackUrl" parameter.'
_DISALLOWED_HOSTS = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


@dataclass(frozen=True, slots=True)
class TxOptions:
    submit: bool
    callback_url: str | None
    desired_signers: list[str] | None
    expires: int | None


def resolve_network(value: Any, networks: Mapping[str, NetworkSettings]) -> NetworkSettings:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationFailed(f"Unidentified network: {value}", "network")
    label = str(value)
    for net in networks.values():
        if label == net.name or label in net.aliases:
            return net
    raise ValidationFailed(f"Unidentified network: {label}", "network")


def parse_options(body: Mapping[str, Any], now: float, allow_private: bool) -> TxOptions:
    return TxOptions(
        submit=body.get("submit") is True,
        callback_url=parse_callback_url(body.get("callbackUrl"), allow_private),
        desired_signers=parse_desired_signers(body.get("desiredSigners")),
        expires=parse_expires(body.get("expires"), now),
    )


def parse_visibility(value: Any) -> str:
    """``"public"`` (the default, as in the original) or ``"private"``."""
    if value is None or value == "" or value == "public":
        return "public"
    if value == "private":
        return "private"
    raise ValidationFailed('Invalid "visibility" parameter: expected "public" or "private".',
                           "visibility")


def parse_expires(value: Any, now: float) -> int | None:
    if value is None or value == 0 or value == "" or value is False:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and math.isfinite(value):
        number = math.floor(value)  # JavaScript clients send Date.now() / 1000 + ttl
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,12}\s*", value):
        number = int(value)
    if number is None or not 0 <= number <= MAX_UNIX:
        raise ValidationFailed(f'Invalid "expires" parameter. {str(value)[:40]} is not a valid UNIX '
                               "date.", "expires")
    if number < now:
        raise ValidationFailed(f'Invalid "expires" parameter. {value} date has already passed.',
                               "expires")
    return number


def parse_desired_signers(value: Any) -> list[str] | None:
    if value is None or value == "" or value == []:
        return None
    if not isinstance(value, list) or len(value) > MAX_DESIRED_SIGNERS:
        raise ValidationFailed('Invalid "desiredSigners" parameter. Expected an array of Stellar '
                               f"public keys (at most {MAX_DESIRED_SIGNERS}).", "desiredSigners")
    keys: list[str] = []
    for key in value:
        if not is_ed25519_key(key):
            raise ValidationFailed(f'Invalid "desiredSigners" parameter. Key {key} is not a valid '
                                   "Stellar public key.", "desiredSigners")
        if key not in keys:
            keys.append(key)
    return keys


def parse_callback_url(value: Any, allow_private: bool) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 2048 or any(c.isspace() or ord(c) < 32
                                                               for c in value):
        raise ValidationFailed(_CALLBACK_ERROR, "callbackUrl")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationFailed(_CALLBACK_ERROR, "callbackUrl") from None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise ValidationFailed(_CALLBACK_ERROR, "callbackUrl")
    if port == 0:
        raise ValidationFailed(_CALLBACK_ERROR, "callbackUrl")
    if not allow_private and is_private_host(host):
        raise ValidationFailed(f"{_CALLBACK_ERROR} Private, loopback and link-local addresses are "
                               "not allowed.", "callbackUrl")
    return value


def is_private_host(host: str) -> bool:
    """Literal private addresses and local names; DNS names are checked again when connecting."""
    name = host.strip("[]").lower().rstrip(".")
    if name in _DISALLOWED_HOSTS or name.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not address.is_global


def check_not_expired(max_time: int, now: float) -> None:
    if max_time and max_time < now:
        raise ValidationFailed('Invalid transactions "timebounds.maxTime" value - the transaction '
                               "already expired.", "xdr")
