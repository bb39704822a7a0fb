"""Bounded fuzzing of the HTTP API: whatever a client sends, the answer is never a 5xx, every error
is the JSON error shape, and the service is healthy afterwards."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stellar_sdk import Keypair, TransactionEnvelope

from tests import loopback
from tests.builders import PASSPHRASE, payment_tx, signed
from tests.conftest import ENGINES
from tests.fakenet import FakeStellarNetwork
from tests.processes import AppProcess

KEYS = ["network", "xdr", "submit", "callbackUrl", "desiredSigners", "expires", "extra"]
SIGNER = Keypair.random()
VALID = signed(payment_tx(SIGNER), SIGNER)
VALID_HASH = TransactionEnvelope.from_xdr(VALID, PASSPHRASE).hash_hex()
ADMIN_TOKEN = "fuzz-admin-token-0123456789"
# The app runs for the whole module (not per example), and on a loaded machine generating
# examples can look "too slow": neither is a failure of what these tests check.
SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
ACCOUNT = SIGNER.public_key
QUERY_KEYS = ["account", "signer", "awaiting", "status", "limit", "cursor", "network", "prettyPrint",
              "format"]
# Every public route a client can reach without the admin token. The live stream of an existing
# record is left out on purpose: it answers 200 and stays open (its 4xx paths are covered).
PUBLIC_ROUTES = [("GET", "/"), ("GET", "/networks"), ("GET", "/openapi.json"), ("GET", "/health"),
                 ("GET", "/monitoring/health"), ("GET", "/tx"), ("POST", "/tx"),
                 ("GET", f"/tx/{VALID_HASH}"), ("GET", "/tx/" + "ab" * 32),
                 ("GET", "/tx/" + "ab" * 32 + "/events"), ("POST", f"/tx/{VALID_HASH}/submit"),
                 ("GET", f"/tx/{VALID_HASH}/deliveries"), ("GET", f"/tx/{VALID_HASH}/sep7"),
                 ("POST", f"/tx/{VALID_HASH}/sep7"), ("GET", "/auth"), ("POST", "/auth"),
                 ("GET", "/.well-known/stellar.toml"), ("GET", "/subscriptions"),
                 ("POST", "/subscriptions"), ("GET", "/monitoring/metrics")]

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


@pytest.fixture(scope="module", params=ENGINES)
def fuzz_base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app in a process of its own: in this one, its threads (pymongo draws its request ids
    from the random module) would use the random module while Hypothesis draws, which Hypothesis
    takes for a strategy that does (its warning broke the draw: "inconsistent data generation")."""
    workdir = tmp_path_factory.mktemp("fuzz")
    if request.param == "mongodb":
        db = request.getfixturevalue("mongo_url").rstrip("/") + "/fuzz_" + uuid.uuid4().hex[:10]
    else:
        db = str(workdir / "fuzz.db")
    with FakeStellarNetwork() as net:
        net.ledger.create_account(SIGNER.public_key)
        config = {
            "storage": request.param, "db": db, "logLevel": "WARNING", "rateLimit": {"enabled": False},
            "networks": {"testnet": {"rpc": net.rpc_url, "horizon": net.horizon_url}},
            "callbacks": {"allowPrivateNetworks": True, "timeout": 3}, "tickerTimeout": 100,
            # Cached accounts: POSTs then take the inline (no thread pool) path, fuzzed too.
            "accountCacheTtl": 300, "adminToken": ADMIN_TOKEN,
            # Web authentication on, so its routes are fuzzed past "not configured".
            "auth": {"signingKey": Keypair.random().secret, "homeDomain": "example.org"},
        }
        app = AppProcess(config, workdir, "fuzz").start()
        try:
            loopback.post(app.url + "/tx", json={"network": "testnet", "xdr": VALID}, timeout=30)
            yield app.url
        finally:
            app.stop()


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400 and response.request.method != "HEAD":
        body = response.json()
        assert body["status"] == response.status_code and isinstance(body["error"], str)


@settings(max_examples=150, deadline=None, suppress_health_check=SUPPRESSED)
@given(data=st.data())
def test_post_tx_never_fails_with_5xx(fuzz_base: str, data: st.DataObject) -> None:
    body = data.draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6))
    if data.draw(st.booleans()):
        body["network"] = data.draw(st.sampled_from(["testnet", "public", 1, "1", "x", None]))
    if data.draw(st.booleans()):
        body["xdr"] = data.draw(st.sampled_from([VALID, payment_tx(SIGNER).to_xdr()])) \
            if data.draw(st.booleans()) else _mutated_xdr(data)
    if data.draw(st.booleans()):  # number-like strings: non-ASCII digits, thousands of digits
        body["expires"] = data.draw(st.one_of(
            st.text(alphabet=st.characters(categories=["Nd", "No"]), max_size=8),
            st.integers(0, 5000).map(lambda n: "9" * n), st.integers(-(10**30), 10**30)))
    kind = data.draw(st.sampled_from(["json", "form", "raw"]))
    with loopback.client(base_url=fuzz_base, timeout=30) as client:
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


@settings(max_examples=150, deadline=None, suppress_health_check=SUPPRESSED)
@given(path=st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=80),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"]),
       query=st.dictionaries(st.sampled_from(["account", "signer", "awaiting", "status", "limit",
                                              "cursor", "network", "prettyPrint", "format"]),
                             st.text(max_size=30), max_size=4))
def test_any_route_any_method(fuzz_base: str, path: str, method: str,
                              query: dict[str, str]) -> None:
    with loopback.client(base_url=fuzz_base, timeout=30) as client:
        for target in (f"/{path}", f"/tx/{path}", "/tx", f"/monitoring/{path}"):
            try:
                request = client.build_request(method, target, params=query)
            except (httpx.InvalidURL, ValueError):
                continue
            _check(client.send(request))


def test_service_healthy_after_fuzzing(fuzz_base: str) -> None:
    response = loopback.get(fuzz_base + "/monitoring/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def _json_text(value: object) -> bytes:
    return json.dumps(value).encode()


cursor_values = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")),
    st.tuples(st.one_of(st.integers(-(10**500), 10**500), st.floats(), st.booleans(), st.none(),
                        st.text(max_size=5)),
              st.one_of(st.text(max_size=80), st.just("ab" * 32), st.integers()))
    .map(lambda pair: base64.urlsafe_b64encode(_json_text(list(pair))).decode().rstrip("=")),
    json_values.map(lambda v: base64.urlsafe_b64encode(_json_text(v)).decode()),
)
integer_texts = st.one_of(st.text(alphabet=st.characters(categories=["Nd", "No"]), max_size=5),
                          st.integers(-(10**30), 10**30).map(str), st.text(max_size=10))


@settings(max_examples=60, deadline=None, suppress_health_check=SUPPRESSED)
@given(data=st.data())
def test_query_strings_and_cursors_on_every_public_route(fuzz_base: str, data: st.DataObject) -> None:
    query: dict[str, str] = data.draw(st.dictionaries(st.sampled_from(QUERY_KEYS), st.text(max_size=40),
                                                      max_size=4))
    if data.draw(st.booleans()):
        query["cursor"] = data.draw(cursor_values)
    if data.draw(st.booleans()):
        query["limit"] = data.draw(integer_texts)
    if data.draw(st.booleans()):
        query["account"] = ACCOUNT  # a valid filter, so cursors and limits get parsed further
    with loopback.client(base_url=fuzz_base, timeout=30) as client:
        for method, path in PUBLIC_ROUTES:
            try:
                request = client.build_request(method, path, params=query)
            except (httpx.InvalidURL, ValueError):
                continue
            _check(client.send(request))


def _nested(data: st.DataObject) -> bytes:
    depth = data.draw(st.integers(0, 3000))
    opens = data.draw(st.lists(st.sampled_from(["[", '{"a":']), min_size=1, max_size=3))
    head = "".join(opens[i % len(opens)] for i in range(depth))
    tail = "".join("]" if opens[i % len(opens)] == "[" else "}" for i in reversed(range(depth)))
    inner = data.draw(st.sampled_from(["1", '"x"', "", '"[[[{{{"', "[" * 50]))
    body = head + inner + (tail if data.draw(st.booleans()) else tail[: len(tail) // 2])
    wrapped = '{"network":"testnet","xdr":' + body + "}" if data.draw(st.booleans()) else body
    return wrapped.encode()


@settings(max_examples=40, deadline=None, suppress_health_check=SUPPRESSED)
@given(data=st.data())
def test_nested_bodies_never_fail_with_5xx(fuzz_base: str, data: st.DataObject) -> None:
    body = _nested(data)
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", ""]))
    with loopback.client(base_url=fuzz_base, timeout=30) as client:
        for method, path in PUBLIC_ROUTES:
            if method != "POST":
                continue
            _check(client.post(path, content=body, headers={"Content-Type": content_type}))
