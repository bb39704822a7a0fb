"""pyinfra inventory built from inventories/$REFRACTOR_ENV/hosts.yml (the Ansible inventory)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refractor_deploy.inventory import load

_env = os.environ.get("REFRACTOR_ENV")
if not _env:
    raise SystemExit("REFRACTOR_ENV is not set (use make deploy ENV=<name> or make plan ENV=<name>)")
_inv = load(_env)

# App hosts get releases; web-only hosts get the UI bundle that Nginx serves. pyinfra treats each
# module-level list as a group.
_names = list(dict.fromkeys(_inv["groups"].get("app", []) + _inv["groups"].get("web", [])))
targets = [(name, {**_inv["hosts"][name], "refractor_env": _env}) for name in _names]
if not _inv["groups"].get("app"):
    raise SystemExit(f"inventories/{_env}/hosts.yml has no hosts in group 'app'")
