"""Co-signers as users, in a real browser: sign in with a wallet (SEP-10), a private record that is
invisible signed out and in My queue signed in, webhook subscriptions, and "Sign on your phone"
(SEP-7 link and QR code, the wallet's callback showing up live)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect
from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk.sep.stellar_uri import TransactionStellarUri

from tests.receivers import Receiver

from .conftest import TESTNET, RefractorServer, UiPage
from .stellar import multisig_account, payment, signed_by

pytestmark = pytest.mark.browser


def sign_in(ui: UiPage, key: Keypair, next_path: str = "") -> None:
    """Through the sign-in page with the test wallet holding ``key``."""
    ui.page.add_init_script(
        f"window.__REFRACTOR_TEST_WALLET__ = {{secret: '{key.secret}', name: 'Test wallet'}}")
    ui.goto("/signin" + (f"?next={next_path}" if next_path else ""))
    ui.page.click("[data-testid=sign-in-wallet]")
    ui.page.click("[data-wallet=refractor-test-wallet]")
    short = f"{key.public_key[:4]}…{key.public_key[-4:]}"
    expect(ui.page.locator("[data-testid=session]")).to_contain_text(short, timeout=30_000)


def test_private_record_signed_out_and_in(ui: UiPage, refractor: RefractorServer,
                                          fakenet: Any) -> None:
    ms = multisig_account(fakenet, signers=2, threshold=2)
    env = payment(fakenet, ms)
    s1, _s2 = ms.signers
    made = refractor.api("POST", "/tx", json={"network": "testnet", "xdr": env.to_xdr(),
                                              "visibility": "private"})
    assert made.status_code == 200, made.text
    tx_hash = made.json()["hash"]

    # Signed out: the record does not exist, and My queue leaves it out.
    ui.goto(f"/tx/{tx_hash}")
    expect(ui.page.locator("h1")).to_have_text("Transaction not found")
    ui.goto(f"/queue?account={s1.public_key}")
    expect(ui.page.locator("[data-testid=awaiting]")).to_contain_text("Nothing is waiting for your signature")
    expect(ui.page.locator("[data-testid=session]")).to_contain_text("Sign in")

    # Signed in as one of its signers: My queue (defaulting to the signed-in account) shows it.
    sign_in(ui, s1)
    ui.page.wait_for_url(re.compile(r"/queue$"))
    awaiting = ui.page.locator("[data-testid=awaiting]")
    expect(awaiting.locator(f"a[href='/tx/{tx_hash}']")).to_be_visible()
    ui.shoot("queue-signed-in")
    awaiting.locator(f"a[href='/tx/{tx_hash}']").click()
    expect(ui.page.locator("[data-testid=private]")).to_be_visible()
    # The session survives a reload; signing out hides the record again.
    ui.page.reload()
    expect(ui.page.locator("[data-testid=private]")).to_be_visible()
    ui.page.click("[data-testid=session] button")
    expect(ui.page.locator("[data-testid=session]")).to_contain_text("Sign in")
    ui.page.reload()
    expect(ui.page.locator("h1")).to_have_text("Transaction not found")


def test_upload_privately_when_signed_in(ui: UiPage, refractor: RefractorServer,
                                         fakenet: Any) -> None:
    ms = multisig_account(fakenet, signers=2, threshold=2)
    env = payment(fakenet, ms)
    uploader = Keypair.random()  # not a party: sees it only as its creator
    sign_in(ui, uploader, "/tx/add")
    ui.page.wait_for_url(re.compile(r"/tx/add$"))
    expect(ui.page.locator("#network")).to_have_value("testnet")
    ui.page.fill("#xdr", env.to_xdr())
    ui.page.check("#visibility-private")
    ui.page.click("text=Upload transaction")
    ui.page.wait_for_url(re.compile(r"/tx/[0-9a-f]{64}$"))
    tx_hash = ui.page.url.rsplit("/", 1)[1]
    expect(ui.page.locator("[data-testid=private]")).to_be_visible()
    assert refractor.api("GET", f"/tx/{tx_hash}").status_code == 404


def test_notifications_page(ui: UiPage, refractor: RefractorServer,
                            callback_receiver: Receiver) -> None:
    ui.goto("/notifications")
    expect(ui.page.locator("main")).to_contain_text("Sign in with your wallet")
    me = Keypair.random()
    sign_in(ui, me, "/notifications")
    ui.page.wait_for_url(re.compile(r"/notifications$"))
    expect(ui.page.locator("[data-testid=subscriptions]")).to_contain_text("No subscriptions yet")
    ui.page.fill("#sub-url", "ftp://nope")
    ui.page.click("text=Add subscription")
    expect(ui.page.locator("[data-field-error=sub-url]")).to_be_visible()
    ui.page.fill("#sub-url", callback_receiver.url)
    ui.page.check("#ev-tx\\.signature_added")
    ui.page.click("text=Add subscription")
    secret = ui.page.locator("[data-testid=new-secret]")
    expect(secret).to_contain_text("whsec_")
    listed = ui.page.locator("[data-testid=subscriptions] li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(callback_receiver.url)
    expect(listed).to_contain_text("tx.signature_added")
    # A test event reaches the receiver and shows in the delivery log.
    listed.locator("[data-testid=send-test]").click()
    expect(listed.locator("tr[data-event=test][data-status=delivered]")).to_be_visible(timeout=30_000)
    assert callback_receiver.hits[0].json()["type"] == "test"
    ui.shoot("notifications")
    token = ui.page.evaluate("JSON.parse(localStorage.getItem('refractor.session')).token")
    auth = {"Authorization": f"Bearer {token}"}
    items = refractor.api("GET", "/subscriptions", headers=auth).json()["items"]
    assert [i["url"] for i in items] == [callback_receiver.url]
    listed.locator("[data-testid=remove]").click()
    expect(ui.page.locator("[data-testid=subscriptions]")).to_contain_text("No subscriptions yet")
    assert refractor.api("GET", "/subscriptions", headers=auth).json()["items"] == []


def test_sign_on_your_phone(ui: UiPage, refractor: RefractorServer, fakenet: Any,
                            ui_dist: Path) -> None:
    ms = multisig_account(fakenet, signers=2, threshold=2)
    env = payment(fakenet, ms)
    s1, s2 = ms.signers
    tx_hash = refractor.api("POST", "/tx", json={"network": "testnet",
                                                 "xdr": signed_by(env, s1)}).json()["hash"]
    loaded: list[str] = []
    ui.page.on("request", lambda req: loaded.append(req.url.rsplit("/", 1)[-1]))
    ui.goto(f"/tx/{tx_hash}")
    phone = ui.page.locator("[data-testid=sign-on-phone]")
    expect(phone.locator("button")).to_be_visible()
    ui.page.wait_for_load_state("networkidle")
    assert not [f for f in loaded if f.startswith("qrcode")], "QR generator loaded before it was asked for"
    phone.locator("button").click()
    expect(phone.locator("[data-testid=sep7-qr]")).to_be_visible()
    assert [f for f in loaded if f.startswith("qrcode")], "QR code generator was not loaded on demand"
    href = phone.locator("[data-testid=sep7-link]").get_attribute("href")
    assert href is not None and href.startswith("web+stellar:tx?")
    ui.shoot("sign-on-phone")

    # A phone wallet opens the link, signs, and posts to the callback: the page shows it live.
    uri = TransactionStellarUri.from_uri(href, TESTNET)
    assert uri.origin_domain == "refractor.test" and dict(parse_qsl(urlsplit(href).query))["signature"]
    te: TransactionEnvelope = uri.transaction_envelope
    te.sign(s2)
    callback = urlsplit(uri.callback)
    back = refractor.api("POST", callback.path, data={"xdr": te.to_xdr()},
                         headers={"Accept": "application/json"})
    assert back.status_code == 200, back.text
    expect(ui.page.locator("[data-testid=status]")).not_to_contain_text("Waiting", timeout=30_000)
    info = refractor.api("GET", f"/tx/{tx_hash}").json()
    assert {s["key"] for s in info["signatures"]} == {s1.public_key, s2.public_key}
