"""Which of the host's `ufw show added` rules this role added and no longer wants."""

from __future__ import annotations

import re

# `ufw show added` prints each user rule as the command that adds it, e.g.
#   ufw allow 22/tcp comment 'refractor'
#   ufw allow from 10.0.1.10 to any port 8001 proto tcp comment 'refractor'
_RULE = re.compile(
    r"^ufw allow (?:(?P<port>\d+)/tcp|from (?P<src>\S+) to any port (?P<fport>\d+) proto tcp)"
    r" comment 'refractor'$"
)


def _key(port: object, src: object = "any") -> str:
    return f"{int(str(port))}|{src}"


def ufw_stale_rules(added: list[str], ports: list[object], extra: list[dict[str, object]]) -> list[list[str]]:
    """argv tails for `ufw delete` of every rule tagged `refractor` that the inventory dropped.
    A line that does not parse is left alone: deleting by guess could lock the operator out."""
    wanted = {_key(p) for p in ports} | {_key(r["port"], r["from"]) for r in extra}
    stale = []
    for line in added:
        m = _RULE.match(line.strip())
        if not m:
            continue
        if m.group("port"):
            key, argv = _key(m.group("port")), ["allow", f"{m.group('port')}/tcp"]
        else:
            key = _key(m.group("fport"), m.group("src"))
            argv = ["allow", "from", m.group("src"), "to", "any", "port", m.group("fport"), "proto", "tcp"]
        if key not in wanted:
            stale.append(argv)
    return stale


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"ufw_stale_rules": ufw_stale_rules}
