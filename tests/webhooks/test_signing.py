"""Standard Webhooks signatures: the published test vector, round trips and what verify rejects."""

from __future__ import annotations

import pytest

from app.webhooks.signing import USER_AGENT, decode_secret, headers_for, sign, verify

# The example published with the Standard Webhooks specification and its reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
NOW = 1_700_000_000


def test_reproduces_the_specification_test_vector() -> None:
    # A round trip would pass with the wrong delimiter or key decoding; only this proves that a
    # receiver's off-the-shelf library accepts our signatures.
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_verifies_the_specification_test_vector() -> None:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    assert verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP)


def test_the_prefix_is_optional_as_in_the_reference_libraries() -> None:
    bare = SPEC_SECRET.removeprefix("whsec_")
    assert sign(bare, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not base64!", "whsec_a"])
def test_unusable_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        decode_secret(secret)


def test_round_trip_through_headers_for() -> None:
    body = b'{"hash":"ab","network":"testnet"}'
    headers = headers_for(SPEC_SECRET, "delivery-1", NOW, body)
    assert verify(SPEC_SECRET, headers, body, now=NOW)
    assert verify(SPEC_SECRET, {k.upper(): v for k, v in headers.items()}, body, now=NOW)


def _signed(body: bytes = b"{}", secret: str = SPEC_SECRET, timestamp: int = NOW) -> dict[str, str]:
    return headers_for(secret, "delivery-1", timestamp, body)


def test_rejects_a_tampered_body() -> None:
    assert not verify(SPEC_SECRET, _signed(b'{"a":1}'), b'{"a":2}', now=NOW)


def test_rejects_the_wrong_secret() -> None:
    assert not verify(OTHER_SECRET, _signed(), b"{}", now=NOW)


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_rejects_timestamps_outside_the_tolerance(skew: int) -> None:
    assert not verify(SPEC_SECRET, _signed(), b"{}", now=NOW + skew)


def test_accepts_timestamps_at_the_edge_of_the_tolerance() -> None:
    assert verify(SPEC_SECRET, _signed(), b"{}", now=NOW + 300)
    assert verify(SPEC_SECRET, _signed(), b"{}", tolerance=10, now=NOW - 10)


def test_rejects_a_replayed_signature_under_a_new_timestamp() -> None:
    headers = _signed()
    headers["webhook-timestamp"] = str(NOW + 60)
    assert not verify(SPEC_SECRET, headers, b"{}", now=NOW + 60)


def test_rejects_a_different_message_id() -> None:
    headers = _signed()
    headers["webhook-id"] = "delivery-2"
    assert not verify(SPEC_SECRET, headers, b"{}", now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_rejects_missing_headers(missing: str) -> None:
    headers = _signed()
    del headers[missing]
    assert not verify(SPEC_SECRET, headers, b"{}", now=NOW)


@pytest.mark.parametrize("stamp", ["", "abc", "1.5e9", "-1700000000", "１７００"])
def test_rejects_malformed_timestamps(stamp: str) -> None:
    headers = _signed()
    headers["webhook-timestamp"] = stamp
    assert not verify(SPEC_SECRET, headers, b"{}", now=NOW)


def test_any_one_matching_signature_in_the_list_is_enough() -> None:
    # Senders list several signatures while rotating secrets.
    good = _signed()["webhook-signature"]
    wrong = _signed(secret=OTHER_SECRET)["webhook-signature"]
    headers = _signed()
    headers["webhook-signature"] = f"v2,abc v1,@@@ {wrong} {good}"
    assert verify(SPEC_SECRET, headers, b"{}", now=NOW)


def test_a_signature_under_another_version_is_ignored() -> None:
    headers = _signed()
    headers["webhook-signature"] = "v1a," + headers["webhook-signature"].removeprefix("v1,")
    assert not verify(SPEC_SECRET, headers, b"{}", now=NOW)


def test_headers_without_a_secret_carry_no_signature() -> None:
    headers = headers_for(None, "delivery-1", NOW, b"{}")
    assert headers == {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": "delivery-1",
        "webhook-timestamp": str(NOW),
    }
    assert not verify(SPEC_SECRET, headers, b"{}", now=NOW)


def test_headers_with_a_secret_add_the_signature() -> None:
    headers = headers_for(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert headers["webhook-signature"] == SPEC_SIGNATURE
    assert headers["user-agent"] == "Refractor-Webhooks"
