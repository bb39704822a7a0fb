"""Fixtures for the browser tests: the built UI, the fake Stellar network, the real Refractor app
(``refractor serve`` as a subprocess on a loopback port) and headless Chromium through Playwright.

Run: ``.venv/bin/python -m pytest tests/ui -m browser``. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from stellar_sdk import Keypair

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests import loopback  # noqa: E402
from tests.fakenet import FakeStellarNetwork  # noqa: E402
from tests.ports import free_port  # noqa: E402
from tests.receivers import Receiver  # noqa: E402
from tests.subprocesses import stop_process  # noqa: E402

CHROMIUM = os.environ.get("REFRACTOR_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TESTNET = "Test SDF Network ; September 2015"
AUTH_KEY = Keypair.random()  # the server's SEP-10 / SEP-7 signing key


@pytest.fixture(scope="session")
def ui_dist() -> Path:
    """ui/dist, built (or found up to date) by scripts/build-ui.sh."""
    if shutil.which("npm") is None and not (REPO / "ui" / "dist" / "index.html").is_file():
        pytest.fail("npm is not installed and ui/dist is not built: install Node.js 20+ (see docs/ui.md)")
    if shutil.which("npm") is not None:
        build = subprocess.run(
            ["bash", str(REPO / "scripts" / "build-ui.sh")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if build.returncode != 0:
            pytest.fail(f"UI build failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}")
    dist = REPO / "ui" / "dist"
    assert (dist / "index.html").is_file()
    return dist


@pytest.fixture(scope="package")
def fakenet() -> Iterator[FakeStellarNetwork]:
    with FakeStellarNetwork() as net:
        yield net


def wallet_kit_files(dist: Path) -> set[str]:
    """File names of the wallet kit's chunks in the build (from Vite's manifest)."""
    manifest = json.loads((dist / ".vite" / "manifest.json").read_text())
    return {
        Path(chunk["file"]).name
        for key, chunk in manifest.items()
        if "stellar-wallets-kit" in key or key.endswith("wallet/kit.ts")
    }


class RefractorServer:
    def __init__(self, base_url: str, log_path: Path, proc: subprocess.Popen[bytes]) -> None:
        self.base_url = base_url
        self.log_path = log_path
        self.proc = proc

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        return loopback.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def wait_status(self, tx_hash: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        info: dict[str, Any] = {}
        while time.monotonic() < deadline:
            info = self.api("GET", f"/tx/{tx_hash}").json()
            if info.get("status") in statuses:
                return info
            time.sleep(0.2)
        raise AssertionError(f"{tx_hash} stayed {info.get('status')!r}, wanted {statuses}")


@pytest.fixture(scope="package")
def refractor(
    ui_dist: Path, fakenet: FakeStellarNetwork, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RefractorServer]:
    """The real app against the fake network, serving the built UI."""
    exe = REPO / ".venv" / "bin" / "refractor"
    if not exe.exists():
        pytest.fail(f"{exe} is missing: run scripts/bootstrap.sh dev")
    tmp = tmp_path_factory.mktemp("refractor-ui")
    port = free_port()
    config = {
        "host": "127.0.0.1",
        "port": port,
        "storage": "sqlite",
        "db": str(tmp / "r.db"),
        "networks": {
            "testnet": {"passphrase": TESTNET, "rpc": fakenet.rpc_url, "horizon": fakenet.horizon_url}
        },
        "ui": {"dir": str(ui_dist)},
        "rateLimit": {"enabled": False},
        "callbacks": {"allowPrivateNetworks": True, "timeout": 2, "attempts": 2},
        "tickerTimeout": 100,
        "retryDelay": 200,
        "accountCacheTtl": 0,
        "auth": {"signingKey": AUTH_KEY.secret, "homeDomain": "refractor.test"},
    }
    cfg = tmp / "config.json"
    cfg.write_text(json.dumps(config))
    # The server log is kept with the screenshots, for reading after a failure.
    log_path = REPO / "test-artifacts" / "ui-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "REFRACTOR_CONFIG": str(cfg)}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(exe), "serve"],
            cwd=tmp,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RefractorServer(f"http://127.0.0.1:{port}", log_path, proc)
    try:
        # Generous: a fresh interpreter importing the app takes seconds on a loaded machine.
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"refractor serve exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if loopback.get(server.base_url + "/monitoring/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"refractor serve did not become healthy in 120 s:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        stop_process(proc)


# Package scope, not session: Playwright's sync API keeps an event loop marked running in this
# thread while it is open, and every later test on the same process that calls asyncio.run()
# failed ("cannot be called from a running event loop"). Under pytest-xdist that is any test
# dealt after the browser tests to the same worker. They all end with the last test of tests/ui.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # Every wait in these tests is for something to show up (an event, not a pause): Playwright's
    # 5 s default for expect() is too short for a page that asks a loaded server first.
    expect.set_options(timeout=30_000)

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install chromium (scripts/install-system-deps.sh)"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class UiPage:
    """A browser page on the app, collecting console errors, with screenshot helpers."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and "Failed to load resource" not in m.text  # wallet icons from the internet, no network here
                and self.errors.append(f"console: {m.text}")
            ),
        )

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def shoot(self, name: str) -> None:
        """Full-page screenshots at desktop and phone widths."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page = self.page
        size = page.viewport_size
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.wait_for_timeout(150)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name}: page is {width}px wide at {label} width"
        page.set_viewport_size(size)


@pytest.fixture
def ui(browser: Any, refractor: RefractorServer) -> Iterator[UiPage]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(60_000)  # actions and navigations, on a loaded machine
    page = context.new_page()
    wrapper = UiPage(page, refractor.base_url)
    yield wrapper
    context.close()
    assert not wrapper.errors, "browser errors:\n" + "\n".join(wrapper.errors)


@pytest.fixture
def callback_receiver(receiver: Receiver) -> Receiver:
    """A loopback webhook receiver (tests/receivers.py) for the callbacks the UI sets up."""
    return receiver
