"""The wire shape of ``reason`` and ``waitingFor`` (pure)."""

from __future__ import annotations

from app.stellar.sequencing import Decision, State, Wait, WaitKind
from app.txs import reasons

H = "ab" * 32


def test_reasons_from_final_decisions() -> None:
    superseded = reasons.final_reason(Decision("x", State.SUPERSEDED, superseded_by=H), 12, 12)
    assert superseded is not None and (superseded["code"], superseded["hash"]) == ("superseded_by", H)
    expired = reasons.final_reason(Decision("x", State.EXPIRED), 12, 11)
    assert expired is not None and expired["code"] == "expired"
    assert expired["message"].startswith(reasons.EXPIRED_MESSAGE)
    invalid = reasons.final_reason(Decision("x", State.INVALID), 12, 11, min_seq_num=12)
    assert invalid is not None and invalid["code"] == "tx_bad_seq"
    # stale needs a lookup by hash before it may be called sequence_consumed
    assert reasons.final_reason(Decision("x", State.STALE), 12, 14) is None
    consumed = reasons.sequence_consumed(14, 12)
    assert consumed["code"] == "sequence_consumed" and "14" in consumed["message"]


def test_waiting_for_names_the_wait_and_when_it_ends() -> None:
    pred = Decision("x", State.WAITING, Wait(WaitKind.PREDECESSOR, H))
    assert reasons.waiting_for(pred) == {"kind": "predecessor", "hash": H}
    age = Decision("x", State.WAITING, Wait(WaitKind.MIN_SEQ_AGE, time=1700000100),
                   not_before_time=1700000100, not_before_ledger=77)
    assert reasons.waiting_for(age) == {"kind": "minSeqAge", "at": 1700000100, "notBefore": 1700000100,
                                        "notBeforeLedger": 77}
    blocked = Decision("x", State.BLOCKED, missing=((2**62, 2**62 + 1), (2**62 + 5, 2**62 + 5)),
                       missing_count=3)
    assert reasons.waiting_for(blocked) == {
        "kind": "blocked",
        "missing": [{"from": str(2**62), "to": str(2**62 + 1)},
                    {"from": str(2**62 + 5), "to": str(2**62 + 5)}],
        "missingCount": 3,
    }
    assert reasons.waiting_for(Decision("x", State.WAITING, Wait(WaitKind.SIGNATURES))) is None
    assert reasons.waiting_for(Decision("x", State.ELIGIBLE)) is None


def test_reason_of_records_written_before_reasons_existed() -> None:
    failed = {"transactionCode": "tx_failed", "operationCodes": ["op_success", "op_underfunded"],
              "successful": False}
    reason = reasons.reason_of("failed", "Tx error: txFailed", failed, None)
    assert reason is not None and reason["code"] == "op_underfunded"
    assert reason["resultCodes"] == {"transaction": "tx_failed",
                                     "operations": ["op_success", "op_underfunded"]}
    assert reason["message"] == "Tx error: txFailed"
    bumped = {"transactionCode": "tx_fee_bump_inner_failed", "operationCodes": [],
              "innerTransactionCode": "tx_bad_seq"}
    assert reasons.reason_of("failed", None, bumped, None)["code"] == "tx_bad_seq"  # type: ignore[index]
    assert reasons.reason_of("failed", reasons.EXPIRED_MESSAGE, None, None) == reasons.expired()
    stored = reasons.superseded_by(H, 5)
    assert reasons.reason_of("failed", "whatever", failed, stored) == stored
    assert reasons.reason_of("processed", None, failed, None) is None
    assert reasons.reason_of("failed", "Failed to submit transaction: timeout", None, None) is None
