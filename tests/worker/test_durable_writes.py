"""SIGKILL of a real server under a load of POSTs loses no acknowledged write (an HTTP 200 the
client received), checked by reopening its SQLite database after the kill."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair

from app.store.sqlite import SqliteStore
from tests import loopback
from tests.builders import payment_tx, signed
from tests.fakenet import FakeStellarNetwork
from tests.processes import AppProcess
from tests.worker.conftest import config

pytestmark = pytest.mark.slow
CLIENTS = 8
KILL_AFTER = 150  # acknowledged requests before the kill; the clients keep going until it


def test_sigkill_under_load_loses_no_acknowledged_write(net: FakeStellarNetwork,
                                                        processes: list[AppProcess],
                                                        tmp_path: Path) -> None:
    db = str(tmp_path / "refractor.db")
    app = AppProcess(config(net, "sqlite", db), tmp_path, "victim").start()
    processes.append(app)
    # Each transaction needs two signers: the first POST creates it with one signature, the second
    # adds the other (and makes it ready, so the worker's writes compete too).
    work = []
    for _ in range(CLIENTS * 60):
        source, cosigner = Keypair.random(), Keypair.random()
        net.ledger.create_account(source.public_key)
        net.ledger.create_account(cosigner.public_key)
        seq = net.ledger.get_account(source.public_key).seq_num  # type: ignore[union-attr]
        work.append((source, cosigner, payment_tx(source, seq=seq,
                                                   op_sources=(None, cosigner.public_key))))
    acknowledged: list[tuple[str, str]] = []  # (hash, key of the signature the 200 confirmed)
    lock = threading.Lock()
    enough = threading.Event()

    def client(k: int) -> None:
        with loopback.client(base_url=app.url, timeout=60) as http:
            for source, cosigner, envelope in work[k::CLIENTS]:
                for who in (source, cosigner):
                    try:
                        r = http.post("/tx", json={"network": "testnet",
                                                   "xdr": signed(envelope, who)})
                    except httpx.HTTPError:
                        return  # the server is gone
                    assert r.status_code == 200, r.text
                    accepted = r.json()["changes"]["accepted"]
                    assert [a["key"] for a in accepted] == [who.public_key]
                    with lock:
                        acknowledged.append((envelope.hash_hex(), who.public_key))
                        if len(acknowledged) >= KILL_AFTER:
                            enough.set()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    assert enough.wait(300), "the server did not acknowledge enough writes"
    app.kill()  # SIGKILL, mid-load
    for t in threads:
        t.join(120)
    with lock:
        confirmed = list(acknowledged)
    assert len(confirmed) >= KILL_AFTER

    reopened = SqliteStore(db)
    try:
        reopened.ensure_schema()
        for tx_hash, key in confirmed:
            record = reopened.get(tx_hash, by_inner=False)
            assert record is not None, f"acknowledged record {tx_hash} lost"
            assert key in {s.key for s in record.signatures}, f"acknowledged signature lost: {tx_hash}"
    finally:
        reopened.close()
