"""Browser tests of the pages that need no signing: start page, upload form checks, API docs, 404,
first-render time."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import RefractorServer, UiPage
from .stellar import multisig_account, payment

pytestmark = pytest.mark.browser


def test_home_page_explains_and_opens_a_hash(ui: UiPage) -> None:
    ui.goto("/")
    expect(ui.page.locator("h1")).to_contain_text("Collect signatures")
    ui.shoot("home")
    ui.page.fill("#open-hash", "not a hash")
    ui.page.get_by_role("button", name="Open", exact=True).click()
    expect(ui.page.locator("#open-hash-error")).to_contain_text("64 hexadecimal")
    missing = "ab" * 32
    ui.page.fill("#open-hash", f"https://example.org/tx/{missing}")
    ui.page.get_by_role("button", name="Open", exact=True).click()
    expect(ui.page).to_have_url(f"{ui.base_url}/tx/{missing}")
    expect(ui.page.locator("h1")).to_have_text("Transaction not found")
    expect(ui.page.locator(".alert.bad")).to_contain_text("not found")


LAYOUT_SHIFT_JS = """new Promise((resolve) => {
  let total = 0
  new PerformanceObserver((list) => { for (const e of list.getEntries()) total += e.value })
    .observe({ type: 'layout-shift', buffered: true })
  setTimeout(() => resolve(total), 300)
})"""


def _cold_load(browser: Any, url: str, ready_selector: str) -> tuple[float, float | None, float]:
    """(ms until ready_selector shows, first contentful paint ms, cumulative layout shift), cold cache."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    started = time.monotonic()
    page.goto(url)
    page.wait_for_selector(ready_selector)
    elapsed_ms = (time.monotonic() - started) * 1000
    # The paint entry is recorded asynchronously, sometimes after the content is already there.
    page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0",
                           timeout=30_000)
    fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
    shift = page.evaluate(LAYOUT_SHIFT_JS)
    context.close()
    return elapsed_ms, fcp, shift


def test_first_load_renders_without_layout_shift(browser: Any, refractor: RefractorServer,
                                                fakenet: Any) -> None:
    """Cold loads on the local server render their content with no layout shift worth the name.

    The times are printed (run with -s), not asserted: timing belongs to measurements, not to
    pass/fail on a shared machine. docs/benchmarks.md records them."""
    ms = multisig_account(fakenet)
    tx_hash = refractor.api("POST", "/tx", json={"network": "testnet", "xdr": payment(fakenet, ms).to_xdr()})
    tx_hash.raise_for_status()
    pages = {
        "/": "h1",
        f"/tx/{tx_hash.json()['hash']}": "[data-testid=status] [data-status]",
    }
    for path, selector in pages.items():
        elapsed_ms, fcp, shift = _cold_load(browser, refractor.base_url + path, selector)
        print(f"first render {path}: ready after {elapsed_ms:.0f} ms, FCP {fcp} ms, layout shift {shift:.3f}")
        assert fcp is not None, path  # the page painted content
        assert shift < 0.1, path


def test_upload_form_checks_fields_before_sending(ui: UiPage) -> None:
    ui.goto("/tx/add")
    expect(ui.page.locator("#network")).to_have_value("testnet")  # the only network: preselected
    ui.page.select_option("#network", "")
    ui.page.fill("#xdr", "this is not base64!")
    ui.page.fill("#callbackUrl", "ftp://example.org/hook")
    ui.page.fill("#expires", "12")
    ui.page.fill("#desiredSigners", "GABC\nGA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGA")
    ui.page.click("text=Upload transaction")
    errors = ui.page.locator("[data-field-error]")
    expect(ui.page.locator("[data-field-error=network]")).to_contain_text("Choose a network")
    expect(ui.page.locator("[data-field-error=xdr]")).to_contain_text("base64")
    expect(ui.page.locator("[data-field-error=callbackUrl]")).to_contain_text("http")
    expect(ui.page.locator("[data-field-error=expires]")).to_contain_text("future")
    expect(ui.page.locator("[data-field-error=desiredSigners]")).to_contain_text("GABC")
    expect(errors).to_have_count(5)
    ui.shoot("upload-errors")
    # Nothing reached the server.
    assert ui.page.url.endswith("/tx/add")


def test_upload_shows_server_field_errors(ui: UiPage, refractor: RefractorServer) -> None:
    """An envelope that passes the light client check but not the server's parser: the server's
    {"error","field"} lands next to the XDR field."""
    ui.goto("/tx/add")
    junk = base64.b64encode(b"\x00\x00\x00\x02" + b"\xff" * 96).decode()  # type 2, then nothing valid
    ui.page.fill("#xdr", junk)
    ui.page.click("text=Upload transaction")
    expect(ui.page.locator("[data-field-error=xdr]")).to_contain_text("Invalid transaction XDR")
    expect(ui.page.locator("#xdr")).to_have_attribute("aria-invalid", "true")


def test_expiry_date_picker_and_unix_time_stay_in_sync(ui: UiPage) -> None:
    ui.goto("/tx/add")
    ui.page.fill("#expires", "1893456000")
    value = ui.page.input_value("#expires-date")
    assert value.startswith("2029-12-31") or value.startswith("2030-01-01")
    ui.page.fill("#expires-date", "2031-05-06T07:08")
    assert ui.page.input_value("#expires").isdigit()


def test_api_docs_render_the_openapi_document(ui: UiPage) -> None:
    ui.goto("/api-docs")
    expect(ui.page.locator("h1")).to_have_text("HTTP API")
    expect(ui.page.locator(".toc")).to_contain_text("/tx/{hash}")
    expect(ui.page.locator(".api-op").first).to_be_visible()
    ui.shoot("api-docs")


def test_unknown_page_says_so(ui: UiPage) -> None:
    ui.goto("/no/such/page")
    expect(ui.page.locator("h1")).to_have_text("Page not found")


def test_keyboard_navigation_reaches_the_form(ui: UiPage) -> None:
    ui.goto("/")
    # Tab only once the app has rendered: before that there is nothing to focus.
    expect(ui.page.locator("#open-hash")).to_be_visible()
    expect(ui.page.locator(".skip-link")).to_be_attached()
    ui.page.bring_to_front()
    ui.page.evaluate("window.focus()")
    ui.page.keyboard.press("Tab")
    expect(ui.page.locator(".skip-link")).to_be_focused()
    ui.page.keyboard.press("Enter")
    for _ in range(12):
        ui.page.keyboard.press("Tab")
        if ui.page.evaluate("document.activeElement.id") == "open-hash":
            break
    assert ui.page.evaluate("document.activeElement.id") == "open-hash"


def test_queue_lists_transactions_awaiting_a_signer(
    ui: UiPage, refractor: RefractorServer, fakenet: Any
) -> None:
    ms = multisig_account(fakenet)
    env = payment(fakenet, ms)
    r = refractor.api("POST", "/tx", json={"network": "testnet", "xdr": env.to_xdr()})
    assert r.status_code == 200, r.text
    tx_hash = r.json()["hash"]
    signer = ms.signers[0].public_key
    ui.goto("/queue")
    ui.page.fill("#queue-account", signer)
    ui.page.click("button:text('Show')")
    expect(ui.page).to_have_url(f"{ui.base_url}/queue?account={signer}")
    expect(ui.page.locator(f"[data-testid=awaiting] [data-hash='{tx_hash}']")).to_be_visible()
    expect(ui.page.locator(f"[data-testid=involved] [data-hash='{tx_hash}']")).to_be_visible()
    ui.shoot("queue")
    ui.page.click(f"[data-testid=awaiting] [data-hash='{tx_hash}'] a")
    expect(ui.page).to_have_url(f"{ui.base_url}/tx/{tx_hash}")
