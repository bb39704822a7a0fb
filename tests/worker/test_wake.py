"""Event-driven wake: with a ten-minute ticker, a transaction made ready in this process is
submitted long before the next tick (this checks the wake exists; the figure is printed, not a
target)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import loopback
from tests.app_server import app_settings, running_app
from tests.conftest import ENGINES
from tests.fakenet import FakeStellarNetwork
from tests.worker.conftest import db_for, funded_payment, wait_until

# After the runner's first pass, only a wake can start work for ten minutes: the wait below
# can be generous for a loaded machine and still prove it.
TICKER_MS = 600_000


@pytest.fixture(params=ENGINES)
def sleepy_app(request: pytest.FixtureRequest, net: FakeStellarNetwork,
               tmp_path: Path) -> Iterator[httpx.Client]:
    settings = app_settings(net.rpc_url, None, db_for(request.param, request, tmp_path),
                            storage=request.param, tickerTimeout=TICKER_MS)
    with running_app(settings) as base, loopback.client(base_url=base, timeout=30) as client:
        # Let the runner's first pass go by: it then waits out the ticker. Should it not have
        # gone by yet on a loaded machine, the first POST may be picked up by it; the next two
        # can only be woken.
        time.sleep(0.5)
        yield client


def test_ready_in_this_process_is_submitted_without_waiting_for_the_ticker(
        sleepy_app: httpx.Client, net: FakeStellarNetwork) -> None:
    for _ in range(3):
        p = funded_payment(net)
        started = time.monotonic()
        r = sleepy_app.post("/tx", json={"network": "testnet", "xdr": p.signed(), "submit": True})
        assert r.status_code == 200, r.text
        # Long before the next tick (ten minutes after the first): only a wake can explain it.
        # It takes well under a second on a quiet machine; the bound is for a loaded one.
        wait_until(lambda h=p.hash: net.ledger.submissions_of(h) != [],  # type: ignore[misc]
                   timeout=60)
        print(f"\nsubmitted {(time.monotonic() - started) * 1000:.0f} ms after POST "
              f"(ticker {TICKER_MS} ms)")
