"""A source account's queue in order: on the transaction page and in My queue."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from stellar_sdk import Asset

from tests.fakenet.txkit import build
from tests.ui.conftest import RefractorServer, UiPage
from tests.ui.stellar import multisig_account


def test_queue_order_conflicts_and_gaps(ui: UiPage, refractor: RefractorServer, fakenet: Any) -> None:
    ms = multisig_account(fakenet)
    seq = fakenet.ledger.get_account(ms.account.public_key).seq_num

    def pay(offset: int, amount: str) -> str:
        env = build(fakenet.ledger, ms.account.public_key,
                    lambda b: b.append_payment_op(ms.destination.public_key, Asset.native(), amount),
                    seq=seq + offset)
        r = refractor.api("POST", "/tx", json={"network": "testnet", "xdr": env.to_xdr()})
        assert r.status_code == 200, r.text
        return str(r.json()["hash"])

    # posted out of order: N+4 (after a gap at N+3), N+2 twice (a conflict), N+1
    later = pay(3, "4")
    second, rival = pay(1, "2"), pay(1, "22")
    first = pay(0, "1")

    ui.goto(f"/tx/{second}")
    queue = ui.page.locator("[data-testid=source-queue]")
    expect(queue).to_be_visible()
    rows = queue.locator("li")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-sequence", str(seq + 1))
    expect(rows.nth(0).locator("[data-testid=queue-label]")).to_have_text("Next")
    expect(rows.nth(0).locator(f"[data-hash='{first}']")).to_be_visible()
    expect(rows.nth(1)).to_have_attribute("data-conflict", "true")
    expect(rows.nth(1).locator("[data-testid=queue-label]")).to_have_text("Queued #2")
    expect(rows.nth(1).locator(f"[data-hash='{rival}']")).to_be_visible()
    expect(rows.nth(1).locator(f"[data-hash='{second}']")).to_have_attribute("aria-current", "true")
    expect(rows.nth(2).locator("[data-testid=queue-label]")).to_have_text(
        f"Blocked: sequence {seq + 3} missing")
    expect(rows.nth(2).locator(f"[data-hash='{later}']")).to_be_visible()
    ui.shoot("source-queue")

    ui.goto(f"/queue?account={ms.account.public_key}")
    outgoing = ui.page.locator("[data-testid=source-queue]")
    expect(outgoing).to_be_visible()
    expect(outgoing.locator("li")).to_have_count(3)
    expect(outgoing.locator("li").nth(0).locator("[data-testid=queue-label]")).to_have_text("Next")
