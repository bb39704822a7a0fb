"""Who the client is: its address, read through the reverse proxies the operator trusts.

A proxy appends the address it received the request from to ``X-Forwarded-For``; everything to the
left of the entries our proxies wrote was written by the client and proves nothing. So the list is
walked from the right: past the trusted proxies (a count of hops, or addresses in trusted networks),
the first address is the client.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from starlette.requests import Request
from starlette.types import Scope

from app.settings import ProxyTrust
from app.web.asgi import header

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_STATE_KEY = "refractor.client"


def _parse(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _key(address: IPAddress | None, raw: str) -> str:
    """The rate-limit key: an IPv6 client holds a whole /64, so it is one client."""
    if address is None:
        return "invalid:" + raw.strip()[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@functools.lru_cache(maxsize=4096)
def _peer_key(peer_text: str) -> str:
    """The key of a direct peer: clients keep their address across requests, and parsing it
    on each one showed in profiles."""
    return _key(_parse(peer_text), peer_text)


class ClientResolver:
    def __init__(self, trust: ProxyTrust) -> None:
        self.hops = trust.hops
        self.networks = tuple(ipaddress.ip_network(n) for n in trust.networks)

    def _trusted(self, address: IPAddress | None) -> bool:
        return address is not None and any(address in net for net in self.networks)

    def resolve(self, scope: Scope) -> str:
        client = scope.get("client")
        peer_text = str(client[0]) if client else "unknown"
        if not self.hops and not self.networks:
            return _peer_key(peer_text)
        chain: list[str] = []
        forwarded = header(scope, b"x-forwarded-for")
        if forwarded:
            chain = [part for part in forwarded.split(",") if part.strip()]
        if not chain:
            real = header(scope, b"x-real-ip")  # set (overwritten) by our Nginx
            if real and real.strip():
                chain = [real]
        chain.append(peer_text)
        return self._walk(chain)

    def _walk(self, chain: Sequence[str]) -> str:
        if self.hops:
            # The last ``hops`` entries (the peer included) are our proxies.
            index = max(0, len(chain) - 1 - self.hops)
            return _key(_parse(chain[index]), chain[index])
        for raw in reversed(chain):
            address = _parse(raw)
            if not self._trusted(address):
                return _key(address, raw)
        return _key(_parse(chain[0]), chain[0])  # proxies all the way: the leftmost is the best guess


def client_key(request: Request) -> str:
    """The client's key, as the rate-limit middleware resolved it for this request."""
    found = request.scope.get("state", {}).get(_STATE_KEY)
    if isinstance(found, str):
        return found
    resolver: ClientResolver = request.app.state.client_resolver
    return resolver.resolve(request.scope)


def remember(scope: Scope, key: str) -> None:
    scope.setdefault("state", {})[_STATE_KEY] = key
