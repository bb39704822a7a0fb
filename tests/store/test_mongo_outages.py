"""Which MongoDB failures are an outage (StoreUnavailable, a 503) and which stay what they are."""

from __future__ import annotations

import pytest
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    NotPrimaryError,
    OperationFailure,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from app.errors import StoreUnavailable
from app.store.cosigners_mongo import MongoCosignerStore
from app.store.mongo import MongoStore, client_options
from app.store.mongo_outages import is_outage
from tests.ports import free_port

PASSWORD = "hunter2-secret"


@pytest.mark.parametrize("exc", [
    ServerSelectionTimeoutError("no servers"), AutoReconnect("reset"),
    NotPrimaryError("not primary"), WTimeoutError("waiting for majority", 64),
    OperationFailure("stepped down", 189), OperationFailure("shutting down", 91)])
def test_outages(exc: Exception) -> None:
    assert is_outage(exc)


@pytest.mark.parametrize("exc", [
    DuplicateKeyError("dup", 11000), OperationFailure("bad query", 2),
    OperationFailure("authentication failed", 18)])
def test_not_outages(exc: Exception) -> None:
    assert not is_outage(exc)


def test_the_uri_options_win_over_the_defaults() -> None:
    assert client_options("mongodb://h/db") == {"serverSelectionTimeoutMS": 5000,
                                                "connectTimeoutMS": 5000}
    assert client_options("mongodb://h/db?replicaSet=rs&SERVERSELECTIONTIMEOUTMS=200") == {
        "connectTimeoutMS": 5000}


def test_an_unreachable_server_raises_store_unavailable_without_the_uri() -> None:
    uri = (f"mongodb://op:{PASSWORD}@127.0.0.1:{free_port()}/x"
           "?serverSelectionTimeoutMS=200&connectTimeoutMS=200")
    store, cosigners = MongoStore(uri), MongoCosignerStore(uri)
    try:
        calls = [lambda: store.get("0" * 64), lambda: list(store.iter_all()),
                 lambda: store.jobs.get("j"), lambda: store.controls.get("queue"),
                 lambda: cosigners.get_subscription("s")]
        for call in calls:
            with pytest.raises(StoreUnavailable) as raised:
                call()
            error = raised.value
            assert error.status == 503 and error.retry_after == 5
            assert error.cause == "MongoDB ServerSelectionTimeoutError"
            assert PASSWORD not in str(error.body()) and "127.0.0.1" not in str(error.body())
    finally:
        store.close()
        cosigners.close()
