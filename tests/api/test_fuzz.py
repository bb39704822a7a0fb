"""Bounded fuzzing of the HTTP API: whatever a client sends, the answer is never a 5xx, every error
is the JSON error shape, and the service is healthy afterwards."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stellar_sdk import Keypair

from tests.app_server import app_settings, running_app
from tests.builders import payment_tx, signed
from tests.fakenet import FakeStellarNetwork

KEYS = ["network", "xdr", "submit", "callbackUrl", "desiredSigners", "expires", "extra"]
SIGNER = Keypair.random()
VALID = signed(payment_tx(SIGNER), SIGNER)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


def _mutated_xdr(data: st.DataObject) -> str:
    raw = bytearray(base64.b64decode(VALID))
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    return base64.b64encode(bytes(raw[:cut] if data.draw(st.booleans()) else raw)).decode()


@pytest.fixture(scope="module")
def fuzz_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with FakeStellarNetwork() as net:
        net.ledger.create_account(SIGNER.public_key)
        db = str(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
        # Cached accounts: POSTs then take the inline (no thread pool) path, fuzzed too.
        with running_app(app_settings(net.rpc_url, net.horizon_url, db, accountCacheTtl=300)) as base:
            yield base


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400 and response.request.method != "HEAD":
        body = response.json()
        assert body["status"] == response.status_code and isinstance(body["error"], str)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_post_tx_never_fails_with_5xx(fuzz_base: str, data: st.DataObject) -> None:
    body = data.draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6))
    if data.draw(st.booleans()):
        body["network"] = data.draw(st.sampled_from(["testnet", "public", 1, "1", "x", None]))
    if data.draw(st.booleans()):
        body["xdr"] = data.draw(st.sampled_from([VALID, payment_tx(SIGNER).to_xdr()])) \
            if data.draw(st.booleans()) else _mutated_xdr(data)
    kind = data.draw(st.sampled_from(["json", "form", "raw"]))
    with httpx.Client(base_url=fuzz_base, timeout=30) as client:
        if kind == "json":
            response = client.post("/tx", content=json.dumps(body),
                                   headers={"Content-Type": "application/json"})
        elif kind == "form":
            response = client.post("/tx", data={k: str(v) for k, v in body.items()})
        else:
            content_type = data.draw(st.sampled_from(["text/plain", "application/xml", "", "a/b;c"]))
            response = client.post("/tx", content=data.draw(st.binary(max_size=300)),
                                   headers={"Content-Type": content_type})
    _check(response)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=80),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"]),
       query=st.dictionaries(st.sampled_from(["account", "signer", "awaiting", "status", "limit",
                                              "cursor", "network", "prettyPrint", "format"]),
                             st.text(max_size=30), max_size=4))
def test_any_route_any_method(fuzz_base: str, path: str, method: str,
                              query: dict[str, str]) -> None:
    with httpx.Client(base_url=fuzz_base, timeout=30) as client:
        for target in (f"/{path}", f"/tx/{path}", "/tx", f"/monitoring/{path}"):
            try:
                request = client.build_request(method, target, params=query)
            except (httpx.InvalidURL, ValueError):
                continue
            _check(client.send(request))


def test_service_healthy_after_fuzzing(fuzz_base: str) -> None:
    response = httpx.get(fuzz_base + "/monitoring/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"
