"""Read an Ansible YAML inventory (hosts.yml + group_vars/ + host_vars/) for pyinfra.

Only what the release needs is resolved: plain values and simple ``{{ name }}`` references.
Vault-encrypted files and ``!vault`` values are skipped; secrets are Ansible's business
(the base role writes them to /etc/refractor/secrets), never pyinfra's.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
_REF = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

# Ansible connection variables and their pyinfra names.
_CONNECTION = {
    "ansible_host": "ssh_hostname",
    "ansible_user": "ssh_user",
    "ansible_port": "ssh_port",
    "ansible_ssh_private_key_file": "ssh_key",
}


# As ansible.cfg's ssh_args: connect within 20 s, a keepalive every 15 s.
_LIVENESS = ("  ConnectTimeout 20", "  ServerAliveInterval 15")


class InventoryError(Exception):
    pass


def ssh_options(args: str) -> dict[str, str]:
    """`-o Key=Value` / `-o Key Value` / `-J jump` from Ansible's ssh args, keys lowercased."""
    out: dict[str, str] = {}
    words = shlex.split(args or "")
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-o", "-J") and i + 1 < len(words):
            value = words[i + 1]
            i += 2
        elif word.startswith(("-o", "-J")) and len(word) > 2:
            value = word[2:]
            i += 1
        else:
            i += 1
            continue
        if word.startswith("-J"):
            out["proxyjump"] = value
        elif "=" in value:
            key, _, val = value.partition("=")
            out[key.strip().lower()] = val.strip()
        elif i < len(words) and not words[i].startswith("-"):
            out[value.lower()] = words[i]
            i += 1
    return out


def _ssh_config(host: str, data: dict[str, Any], opts: dict[str, str]) -> str:
    """An ssh_config for pyinfra (paramiko reads ProxyJump from ssh_config only): the host behind
    its jump host(s), each hop with the same key and host-key policy as the host itself. Every
    connection gets a connect timeout and keepalives: a hop dropped by a firewall ends in an error
    (paramiko's keepalives make the kernel give up on the dead connection) instead of a wait."""
    lines = [f"Host {data.get('ssh_hostname') or host}", f"  ProxyJump {opts['proxyjump']}", *_LIVENESS]
    for hop in opts["proxyjump"].split(","):
        hop_host = hop.rsplit("@", 1)[-1]
        hop_host = hop_host.rsplit(":", 1)[0] if hop_host.count(":") == 1 else hop_host
        lines += [f"Host {hop_host}", *_LIVENESS]
        if data.get("ssh_key"):
            lines.append(f"  IdentityFile {data['ssh_key']}")
        for key, name in (
            ("stricthostkeychecking", "StrictHostKeyChecking"),
            ("userknownhostsfile", "UserKnownHostsFile"),
        ):
            if key in opts:
                lines.append(f"  {name} {opts[key]}")
    return "\n".join(lines) + "\n"


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!vault", lambda loader, node: None)
_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _load_yaml(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if text.startswith("$ANSIBLE_VAULT"):
        return {}
    data = yaml.load(text, Loader=_Loader)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InventoryError(f"{path}: expected a mapping")
    return data


def _vars_for(base: Path, name: str) -> dict[str, Any]:
    """group_vars/<name>.yml, group_vars/<name>/*.yml (sorted), like Ansible."""
    out: dict[str, Any] = {}
    for candidate in (base / f"{name}.yml", base / f"{name}.yaml"):
        if candidate.is_file():
            out.update(_load_yaml(candidate))
    folder = base / name
    if folder.is_dir():
        for f in sorted(folder.iterdir()):
            if f.suffix in (".yml", ".yaml") and f.is_file():
                out.update(_load_yaml(f))
    return out


def _walk(
    group: str,
    spec: dict[str, Any] | None,
    parents: list[str],
    groups: dict[str, list[str]],
    host_vars: dict[str, dict[str, Any]],
    host_groups: dict[str, list[str]],
    group_vars: dict[str, dict[str, Any]],
) -> None:
    spec = spec or {}
    chain = parents + [group]
    groups.setdefault(group, [])
    group_vars.setdefault(group, {}).update(spec.get("vars") or {})
    for host, hvars in (spec.get("hosts") or {}).items():
        if host not in groups[group]:
            groups[group].append(host)
        host_vars.setdefault(host, {}).update(hvars or {})
        seen = host_groups.setdefault(host, [])
        for g in chain:
            if g not in seen:
                seen.append(g)
    for child, child_spec in (spec.get("children") or {}).items():
        _walk(child, child_spec, chain, groups, host_vars, host_groups, group_vars)


def _resolve(value: Any, scope: dict[str, Any], depth: int = 0) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, scope, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, scope, depth) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    if depth > 10:
        raise InventoryError(f"reference loop in {value!r}")
    whole = _REF.fullmatch(value.strip())
    if whole and whole.group(1) in scope:
        return _resolve(scope[whole.group(1)], scope, depth + 1)
    # Unknown names (vault variables, lookups) stay as they are: pyinfra never needs them.
    return _REF.sub(
        lambda m: str(_resolve(scope[m.group(1)], scope, depth + 1)) if m.group(1) in scope else m.group(0),
        value,
    )


def load(env: str, root: Path = ROOT) -> dict[str, Any]:
    """Return {"groups": {group: [host...]}, "hosts": {host: data}} for inventories/<env>."""
    inv_dir = root / "inventories" / env
    hosts_file = inv_dir / "hosts.yml"
    if not hosts_file.is_file():
        known = sorted(p.name for p in (root / "inventories").iterdir() if (p / "hosts.yml").is_file())
        raise InventoryError(f"no inventory {hosts_file}; known environments: {', '.join(known)}")
    tree = _load_yaml(hosts_file)
    groups: dict[str, list[str]] = {}
    host_vars: dict[str, dict[str, Any]] = {}
    host_groups: dict[str, list[str]] = {}
    inline_group_vars: dict[str, dict[str, Any]] = {}
    _walk("all", tree.get("all") or {}, [], groups, host_vars, host_groups, inline_group_vars)
    hosts: dict[str, dict[str, Any]] = {}
    for host, chain in host_groups.items():
        merged: dict[str, Any] = {}
        for g in chain:  # parents before children, like Ansible's group depth order
            merged.update(inline_group_vars.get(g, {}))
            merged.update(_vars_for(inv_dir / "group_vars", g))
        merged.update(host_vars.get(host, {}))
        merged.update(_vars_for(inv_dir / "host_vars", host))
        merged.setdefault("inventory_hostname", host)
        merged.setdefault("inventory_dir", str(inv_dir))
        data = {k: _resolve(v, merged) for k, v in merged.items()}
        data["refractor_groups"] = [g for g in chain if g != "all"]
        for ansible_name, pyinfra_name in _CONNECTION.items():
            if ansible_name in data:
                data[pyinfra_name] = data[ansible_name]
        for key in [k for k in data if k.startswith("pyinfra_")]:
            data[key[len("pyinfra_") :]] = data[key]
        # pyinfra_ssh_common_args, when given, is what pyinfra uses instead of Ansible's ssh args.
        ssh_args = data.get("pyinfra_ssh_common_args")
        if ssh_args is None:
            ssh_args = f"{data.get('ansible_ssh_common_args', '')} {data.get('ansible_ssh_extra_args', '')}"
        opts = ssh_options(ssh_args)
        if "stricthostkeychecking" in opts:
            data.setdefault("ssh_strict_host_key_checking", opts["stricthostkeychecking"])
        if "userknownhostsfile" in opts:
            data.setdefault("ssh_known_hosts_file", opts["userknownhostsfile"])
        if "proxyjump" in opts:
            config_file = root / "build" / "ssh" / f"{env}-{host}.config"
            config_file.parent.mkdir(parents=True, exist_ok=True)
            config_file.write_text(_ssh_config(host, data, opts))
            data["ssh_config_file"] = str(config_file)
        if data.get("ansible_become"):
            data["_sudo"] = True
        hosts[host] = data
    return {"groups": {g: h for g, h in groups.items() if g != "all"}, "hosts": hosts}
