"""Every answer carries a request id: the client's when sane, else one of ours, never repeated."""

from __future__ import annotations

import re

import httpx


def test_request_ids_are_unique_and_a_sane_given_one_is_kept(client: httpx.Client) -> None:
    ours = [client.get("/").headers["x-request-id"] for _ in range(50)]
    assert len(set(ours)) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ours)
    assert client.get("/", headers={"X-Request-ID": "trace-42"}).headers["x-request-id"] == "trace-42"
    long = client.get("/", headers={"X-Request-ID": "x" * 65}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", long)
