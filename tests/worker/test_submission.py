"""Submission through the worker against a strict fake network, every answer it can give."""

from __future__ import annotations

import time

import httpx

from tests.fakenet import FakeStellarNetwork
from tests.worker.conftest import funded_payment, wait_for


def submit(client: httpx.Client, xdr: str, **extra: object) -> dict[str, object]:
    response = client.post("/tx", json={"network": "testnet", "xdr": xdr, "submit": True, **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


def applied(net: FakeStellarNetwork, tx_hash: str) -> list[str]:
    return [s.envelope_xdr for s in net.ledger.submissions if s.hash == tx_hash]


def test_ready_transaction_is_submitted_once(worker_app: httpx.Client,
                                             net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    submit(worker_app, p.signed())
    done = wait_for(worker_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed", done["error"]
    assert done["submitted"] and done["result"]["successful"] is True
    assert done["result"]["ledger"] and done["result"]["transactionCode"] == "tx_success"
    found = net.ledger.get_transaction(p.hash)
    assert found is not None and found.successful
    assert len(applied(net, p.hash)) == 1


def test_without_submit_or_callback_ends_processed(worker_app: httpx.Client,
                                                   net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    worker_app.post("/tx", json={"network": "testnet", "xdr": p.signed()})
    done = wait_for(worker_app, p.hash, {"processed"})
    assert done["submitted"] is None and applied(net, p.hash) == []


def test_failed_transaction_reports_codes(worker_app: httpx.Client, net: FakeStellarNetwork) -> None:
    from stellar_sdk import Keypair

    from tests.builders import payment_tx, signed

    source = Keypair.random()
    net.ledger.create_account(source.public_key)
    seq = net.ledger.get_account(source.public_key).seq_num  # type: ignore[union-attr]
    te = payment_tx(source, seq=seq)  # to an account that does not exist
    submit(worker_app, signed(te, source))
    done = wait_for(worker_app, te.hash_hex(), {"processed", "failed"})
    assert done["status"] == "failed" and done["error"] == "Tx error: txFailed"
    assert done["result"]["operationCodes"] == ["op_no_destination"]


def test_try_again_later_is_retried(worker_app: httpx.Client, net: FakeStellarNetwork) -> None:
    net.faults.add("sendTransaction", "TRY_AGAIN_LATER", times=2)
    p = funded_payment(net)
    submit(worker_app, p.signed())
    assert wait_for(worker_app, p.hash, {"processed", "failed"})["status"] == "processed"
    assert net.request_count("sendTransaction") >= 3


def test_dropped_connection_then_identical_resubmission(worker_app: httpx.Client,
                                                        net: FakeStellarNetwork) -> None:
    net.faults.add("sendTransaction", "drop", times=1)
    p = funded_payment(net)
    submit(worker_app, p.signed())
    assert wait_for(worker_app, p.hash, {"processed", "failed"})["status"] == "processed"
    sent = applied(net, p.hash)
    assert len(set(sent)) == 1  # only byte-identical envelopes were ever sent


def test_applied_but_answer_lost_is_not_resubmitted(worker_app: httpx.Client,
                                                    net: FakeStellarNetwork) -> None:
    net.faults.add("sendTransaction", "apply_then_drop", times=1)
    p = funded_payment(net)
    submit(worker_app, p.signed())
    done = wait_for(worker_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed" and done["result"]["successful"]
    assert len(applied(net, p.hash)) == 1


def test_slow_network_times_out_then_succeeds(worker_app: httpx.Client,
                                              net: FakeStellarNetwork) -> None:
    net.faults.add("sendTransaction", "timeout", times=1, seconds=3)  # over networkTimeout=2
    p = funded_payment(net)
    submit(worker_app, p.signed())
    assert wait_for(worker_app, p.hash, {"processed", "failed"})["status"] == "processed"


def test_already_applied_bad_seq_counts_as_success(worker_app: httpx.Client,
                                                   net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    assert net.ledger.apply(p.signed()).successful  # someone else submitted it first
    submit(worker_app, p.signed())
    done = wait_for(worker_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed", done["error"]


def test_stale_sequence_is_reported_as_such(worker_app: httpx.Client,
                                            net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    account = net.ledger.get_account(p.source.public_key)
    assert account is not None
    net.ledger.update_account(p.source.public_key, seq_num=account.seq_num + 5)
    submit(worker_app, p.signed())
    done = wait_for(worker_app, p.hash, {"processed", "failed"})
    assert done["status"] == "failed" and "stale" in done["error"]
    # per-source ordering saw the consumed sequence, looked the hash up, and never sent it
    assert done["reason"]["code"] == "sequence_consumed"
    assert applied(net, p.hash) == []


def test_never_submitted_before_min_time(worker_app: httpx.Client, net: FakeStellarNetwork) -> None:
    start = int(time.time()) + 3
    p = funded_payment(net, min_time=start)
    submit(worker_app, p.signed())
    status = worker_app.get(f"/tx/{p.hash}").json()["status"]
    if time.time() < start:  # read before its time (not always, on a loaded machine): it waits
        assert status == "ready"
    done = wait_for(worker_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed" and done["submitted"] >= start
    # What the network saw, whatever the machine's load: nothing of it before its time.
    sent = net.ledger.submissions_of(p.hash)
    assert sent and all(s.received_at >= start for s in sent), sent


def test_expired_while_pending_fails_and_is_not_submitted(worker_app: httpx.Client,
                                                          net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    # Three seconds ahead: on a loaded machine the POST itself can take most of a second, and an
    # "expires" already in the past is refused (400) instead of stored.
    created = worker_app.post("/tx", json={"network": "testnet", "xdr": p.envelope.to_xdr(),
                                           "submit": True, "expires": int(time.time()) + 3})
    assert created.status_code == 200, created.text
    done = wait_for(worker_app, p.hash, {"failed"}, timeout=60)
    assert "expired" in done["error"]
    worker_app.post("/tx", json={"network": "testnet", "xdr": p.signed()})
    time.sleep(0.5)
    assert applied(net, p.hash) == []


def test_signers_changed_on_chain_goes_back_to_pending(worker_app: httpx.Client,
                                                       net: FakeStellarNetwork) -> None:
    from stellar_sdk import Keypair

    from tests.builders import payment_tx, signed

    admin = {"Authorization": "Bearer " + "a" * 32}
    cosigner, dest = Keypair.random(), Keypair.random()
    source = Keypair.random()
    net.ledger.create_account(dest.public_key)
    net.ledger.create_account(source.public_key, master_weight=0, low=1, med=1, high=1,
                              signers=[(cosigner.public_key, 1)])
    seq = net.ledger.get_account(source.public_key).seq_num  # type: ignore[union-attr]
    te = payment_tx(source, seq=seq, destination=dest.public_key)
    worker_app.post("/monitoring/queue/pause", headers=admin)
    body = submit(worker_app, signed(te, cosigner))
    assert body["status"] == "ready"
    net.ledger.set_signers(source.public_key, [], master_weight=1)  # the co-signer was removed
    worker_app.post("/monitoring/queue/resume", headers=admin)
    back = wait_for(worker_app, te.hash_hex(), {"pending"})
    [account] = back["progress"]["accounts"]
    assert account["satisfied"] is False and applied(net, te.hash_hex()) == []
    done = submit(worker_app, signed(te, source))  # the master key signs now
    assert done["status"] == "ready"
    assert wait_for(worker_app, te.hash_hex(), {"processed", "failed"})["status"] == "processed"
