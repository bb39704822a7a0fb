"""python -m tests.fakenet [--host 127.0.0.1] [--port 0] [--passphrase ...] [--accounts FILE]
                          [--queue-seconds S | --hold]

Runs the fake in the foreground, prints one JSON line {"rpc", "horizon", "control"} when it is
ready, and stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from stellar_sdk import Network

from .control import load_accounts
from .ledger import Ledger
from .server import FakeStellarNetwork


def _accounts(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    items = data.get("accounts", []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise SystemExit(f"{path}: expected a list of accounts or {{'accounts': [...]}}")
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakenet", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--passphrase", default=Network.TESTNET_NETWORK_PASSPHRASE)
    parser.add_argument("--accounts", type=Path, help="JSON file with accounts to create")
    queue = parser.add_mutually_exclusive_group()
    queue.add_argument(
        "--queue-seconds", type=float, default=0.0, help="keep admitted transactions queued this long"
    )
    queue.add_argument("--hold", action="store_true", help="keep them queued until POST /_fake/queue release")
    args = parser.parse_args(argv)

    ledger = Ledger(args.passphrase)
    ledger.queue_seconds = None if args.hold else max(0.0, args.queue_seconds)
    if args.accounts:
        load_accounts(ledger, _accounts(args.accounts))
    net = FakeStellarNetwork(ledger, host=args.host, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with net:
        ready = {"rpc": net.rpc_url, "horizon": net.horizon_url, "control": net.control_url}
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
