"""HTTP clients for the tests, which talk plain HTTP to servers on loopback.

httpx builds a TLS context for every client it creates by loading the whole CA bundle: about
0.05 s each, several times that on a loaded machine, and the tests open thousands of clients (one
per fuzz example, per health poll, per test). None of them uses TLS, so they share one context.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from app.ledger.http import LedgerHttp

TLS = ssl.create_default_context()


def client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(verify=TLS, **kwargs)


def ledger_http(timeout: float = 10.0) -> LedgerHttp:
    """The app's client of Stellar RPC and Horizon calls, as ``build_services`` makes it."""
    return LedgerHttp(timeout, TLS)


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    timeout = kwargs.pop("timeout", httpx.Timeout(5.0))
    with client(timeout=timeout) as c:
        return c.request(method, url, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return request("POST", url, **kwargs)
