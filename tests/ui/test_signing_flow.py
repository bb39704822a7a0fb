"""The product's main path in a real browser against the real app and the fake network: upload, share,
collect signatures (imported XDRs, a co-signer elsewhere, a wallet), watch the page update live, submit,
and read why a submission failed."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import RefractorServer, UiPage, wallet_kit_files
from .stellar import multisig_account, payment, signed_by

pytestmark = pytest.mark.browser


def _upload(ui: UiPage, xdr: str, *, submit: bool, desired: list[str] = ()) -> str:
    ui.goto("/tx/add")
    expect(ui.page.locator("#network")).to_have_value("testnet")
    ui.page.fill("#xdr", xdr)
    if submit:
        ui.page.check("#submit")
    if desired:
        ui.page.fill("#desiredSigners", "\n".join(desired))
    ui.page.click("text=Upload transaction")
    ui.page.wait_for_url(re.compile(r"/tx/[0-9a-f]{64}$"))
    tx_hash = ui.page.url.rsplit("/", 1)[1]
    assert len(tx_hash) == 64
    return tx_hash


def _import(ui: UiPage, xdr: str) -> None:
    ui.page.fill("#import-xdr", xdr)
    ui.page.click("text=Add signatures")


def _status(ui: UiPage, status: str, timeout: float = 30_000) -> None:
    expect(ui.page.locator(f"[data-testid=status] [data-status={status}]")).to_be_visible(timeout=timeout)


def test_collect_signatures_and_auto_submit_live(
    ui: UiPage, refractor: RefractorServer, fakenet: Any
) -> None:
    ms = multisig_account(fakenet, signers=3, threshold=2)
    env = payment(fakenet, ms)
    s1, s2, s3 = ms.signers
    account = ms.account.public_key

    ui.goto("/tx/add")
    ui.page.fill("#xdr", env.to_xdr())
    ui.page.check("#submit")
    ui.page.fill("#desiredSigners", s3.public_key)
    ui.shoot("upload")
    tx_hash = _upload(ui, env.to_xdr(), submit=True, desired=[s3.public_key])
    assert tx_hash == env.hash_hex()

    # Pending, nothing signed; the operation in words; the desired signer highlighted.
    _status(ui, "pending")
    card = ui.page.locator(f"[data-account='{account}']")
    expect(card.locator("[data-testid=threshold]")).to_have_text("2")
    expect(card.locator("[data-testid=weight]")).to_have_text("0")
    expect(ui.page.locator("[data-testid=operations]")).to_contain_text("Pay 5 XLM")
    expect(card.locator(f".signer.desired[data-signer='{s3.public_key}']")).to_be_visible()
    expect(ui.page.locator("[data-mode=live]")).to_be_visible()
    ui.shoot("tx-pending")

    # First co-signer: imported signed XDR.
    _import(ui, signed_by(env, s1))
    expect(ui.page.locator("[data-change=accepted]")).to_contain_text("Accepted signature")
    expect(card.locator("[data-testid=weight]")).to_have_text("1")
    expect(card.locator(f"[data-signer='{s1.public_key}'][data-signed=true]")).to_be_visible()
    expect(ui.page.locator("[data-testid=timeline] [data-kind=signature]")).to_have_count(1)
    ui.shoot("tx-one-signature")

    # A signature nobody asked for: rejected, with the reason in words.
    stranger = signed_by(env, __import__("stellar_sdk").Keypair.random())
    _import(ui, stranger)
    expect(ui.page.locator("[data-change=rejected]")).to_contain_text("not a signer")

    # Second co-signer signs elsewhere (straight through the API): the open page updates by itself.
    r = refractor.api("POST", "/tx", json={"network": "testnet", "xdr": signed_by(env, s2)})
    assert r.status_code == 200, r.text
    expect(card.locator("[data-testid=weight]")).to_have_text("2")
    expect(card).to_contain_text("Threshold met")
    _status(ui, "processed")
    expect(ui.page.locator("[data-testid=timeline] [data-kind=submitted]")).to_be_visible()
    expect(ui.page.locator("[data-testid=sign-panel]")).to_contain_text("on the ledger")
    assert fakenet.ledger.get_transaction(tx_hash) is not None
    ui.shoot("tx-processed")


def test_sign_with_the_test_wallet(
    ui: UiPage, refractor: RefractorServer, fakenet: Any, ui_dist: Path
) -> None:
    """The wallet path: the kit loads on demand, the test module (same interface as real wallets)
    signs, and the signed XDR goes to POST /tx like any wallet's."""
    ms = multisig_account(fakenet, signers=2, threshold=2)
    env = payment(fakenet, ms)
    s1, s2 = ms.signers
    ui.page.add_init_script(
        f"window.__REFRACTOR_TEST_WALLET__ = {{secret: '{s2.secret}', name: 'Test wallet'}}"
    )
    tx_hash = _upload(ui, env.to_xdr(), submit=False)
    _import(ui, signed_by(env, s1))
    expect(ui.page.locator("[data-change=accepted]")).to_be_visible()

    # The kit is not part of the page until a wallet is asked for.
    kit_files = wallet_kit_files(ui_dist)
    loaded: list[str] = []
    ui.page.on("request", lambda req: loaded.append(req.url.rsplit("/", 1)[-1]))
    ui.page.reload()
    expect(ui.page.locator("[data-testid=connect-wallet]")).to_be_visible()
    ui.page.wait_for_load_state("networkidle")
    assert not kit_files & set(loaded), "wallet kit loaded before a wallet was asked for"
    ui.page.click("[data-testid=connect-wallet]")
    wallets = ui.page.locator(".wallets")
    expect(wallets).to_contain_text("Albedo")  # usable without an extension
    expect(wallets.locator(".other-wallets")).to_contain_text("Freighter")  # extension not installed here
    ui.shoot("wallet-list")
    assert kit_files & set(loaded), "the wallet kit chunks were not loaded on demand"
    ui.page.click("[data-wallet=refractor-test-wallet]")
    expect(ui.page.locator("[data-change=accepted]")).to_contain_text(s2.public_key)
    # Fully signed; without auto-submit the record is handled (ready, then processed) but not submitted.
    expect(ui.page.locator("[data-testid=submit-now]")).to_be_visible()
    expect(ui.page.locator("[data-testid=status]")).to_contain_text("Fully signed, not submitted")
    info = refractor.api("GET", f"/tx/{tx_hash}").json()
    assert {s["key"] for s in info["signatures"]} == {s1.public_key, s2.public_key}

    # The manual submit button.
    ui.shoot("tx-ready")
    ui.page.click("[data-testid=submit-now]")
    expect(ui.page.locator("[data-testid=timeline] [data-kind=submitted]")).to_be_visible(timeout=30_000)
    expect(ui.page.locator("[data-testid=status]")).to_contain_text("Executed on the network")
    assert fakenet.ledger.get_transaction(tx_hash) is not None


def test_failed_submission_is_explained(ui: UiPage, refractor: RefractorServer, fakenet: Any) -> None:
    ms = multisig_account(fakenet, signers=2, threshold=2)
    env = payment(fakenet, ms, amount="900000")  # far more than the balance: op_underfunded
    s1, s2 = ms.signers
    tx_hash = _upload(ui, signed_by(env, s1, s2), submit=True)
    _status(ui, "failed")
    failure = ui.page.locator("[data-testid=failure]")
    expect(failure).to_contain_text("Why it failed")
    expect(failure).to_contain_text("does not have enough")  # op_underfunded, in words
    expect(ui.page.locator("[data-testid=timeline] [data-kind=failed]")).to_be_visible()
    info = refractor.api("GET", f"/tx/{tx_hash}").json()
    assert info["status"] == "failed"
    ui.shoot("tx-failed")


def test_page_falls_back_to_polling_without_sse(ui: UiPage, refractor: RefractorServer, fakenet: Any) -> None:
    ms = multisig_account(fakenet, signers=2, threshold=2)
    env = payment(fakenet, ms)
    r = refractor.api("POST", "/tx", json={"network": "testnet", "xdr": env.to_xdr()})
    tx_hash = r.json()["hash"]
    ui.page.route("**/events", lambda route: route.fulfill(status=503, body="no streams"))
    ui.goto(f"/tx/{tx_hash}")
    expect(ui.page.locator("[data-mode=polling]")).to_be_visible()
    refractor.api("POST", "/tx", json={"network": "testnet", "xdr": signed_by(env, ms.signers[0])})
    card = ui.page.locator(f"[data-account='{ms.account.public_key}']")
    expect(card.locator("[data-testid=weight]")).to_have_text("1", timeout=10_000)


def test_callback_is_delivered_and_its_url_stays_private(
    ui: UiPage, refractor: RefractorServer, fakenet: Any, callback_receiver: Any
) -> None:
    ms = multisig_account(fakenet, signers=2, threshold=2)
    env = payment(fakenet, ms)
    s1, s2 = ms.signers
    ui.goto("/tx/add")
    ui.page.fill("#xdr", signed_by(env, s1))
    ui.page.fill("#callbackUrl", callback_receiver.url)
    ui.page.click("text=Upload transaction")
    ui.page.wait_for_url(re.compile(r"/tx/[0-9a-f]{64}$"))
    _import(ui, signed_by(env, s2))
    expect(ui.page.locator("[data-testid=callback]")).to_contain_text("Registered")
    deadline = time.monotonic() + 30
    while not callback_receiver.hits and time.monotonic() < deadline:
        time.sleep(0.2)
    assert callback_receiver.hits, "the receiver got nothing"
    # The delivery log is the operator's: the page shows that a callback exists, never its URL.
    ui.page.reload()
    expect(ui.page.get_by_text("visible to the operator only")).to_be_visible()
    assert callback_receiver.url not in ui.page.content()
    ui.shoot("tx-callback")
