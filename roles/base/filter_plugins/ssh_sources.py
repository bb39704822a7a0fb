"""The addresses SSH logins to a host come from when an operator reaches it through another host."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

# `-J hop`, `-Jhop`, `-o ProxyJump=hop`, `-o ProxyJump hop` (case-insensitive key), hops comma-separated.
_OPTION = re.compile(r"^proxyjump(?:=(.*))?$", re.I)


def _jumps(args: str) -> list[str]:
    words = shlex.split(args or "")
    hops: list[str] = []
    for i, word in enumerate(words):
        value = None
        if word == "-J" and i + 1 < len(words):
            value = words[i + 1]
        elif word.startswith("-J") and len(word) > 2:
            value = word[2:]
        elif word == "-o" and i + 1 < len(words):
            m = _OPTION.match(words[i + 1])
            if m and m.group(1) is not None:
                value = m.group(1)
            elif m and i + 2 < len(words):
                value = words[i + 2]
        elif word.startswith("-o") and len(word) > 2:
            m = _OPTION.match(word[2:])
            value = m.group(1) if m else None
        if value:
            hops += [h for h in value.split(",") if h and h.lower() != "none"]
    return hops


def _address(hop: str) -> str:
    """`user@host:port` -> host (an IPv6 address is left whole)."""
    host = hop.rsplit("@", 1)[-1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host.strip("[]")


def trusted_ssh_sources(hostvars: Mapping[str, Mapping[str, Any]], web_hosts: list[str]) -> list[str]:
    """Every jump host named by a host's ProxyJump (as the operator addresses it, and its
    `refractor_private_address` when it is an inventory host) and every Nginx host's private
    address (`refractor_private_address`, else `ansible_host`): logins relayed through such a host
    come from its address, so banning it would lock every operator out of the hosts behind it."""
    by_address: dict[str, str] = {}
    for name in hostvars:
        by_address.setdefault(name, name)
        address = hostvars[name].get("ansible_host")
        if address:
            by_address.setdefault(str(address), name)
    found: list[str] = []

    def add(value: object) -> None:
        if value and str(value) not in found:
            found.append(str(value))

    for name in web_hosts:
        host = hostvars.get(name, {})
        add(host.get("refractor_private_address") or host.get("ansible_host") or name)
    for name in hostvars:
        host = hostvars[name]
        args = f"{host.get('ansible_ssh_common_args') or ''} {host.get('ansible_ssh_extra_args') or ''}"
        for hop in _jumps(args):
            address = _address(hop)
            add(address)
            jump = by_address.get(address)
            if jump is not None:
                add(hostvars[jump].get("refractor_private_address"))
    return found


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"trusted_ssh_sources": trusted_ssh_sources}
