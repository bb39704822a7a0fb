"""Send app hosts back to their last release that passed its health gate (refractor-release rollback).

Run through provisioning/rollout.py (scripts/rollback.sh, or a stopped rollout undoing its hosts).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyinfra import host
from refractor_deploy.ops import release_rolled_back

if "app" in (host.data.get("refractor_groups") or ["app"]):
    release_rolled_back(name="Host is back on its last good release")
