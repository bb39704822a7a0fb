"""A job crash reaches Sentry (a local sink standing in for the Sentry server), tagged with the job."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sentry_sdk

from app.config import parse_settings
from app.jobs.model import Job
from app.jobs.runner import _report
from app.observability import setup_sentry


@pytest.fixture
def sink() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://public@127.0.0.1:{server.server_port}/1", received
    server.shutdown()
    server.server_close()


def test_job_crash_is_reported_with_tags(sink: tuple[str, list[bytes]]) -> None:
    dsn, received = sink
    settings = parse_settings({"sentry": {"dsn": dsn, "environment": "test"}}, {})
    assert setup_sentry(settings)
    try:
        record = Job("submit_transaction:" + "ab" * 32, "submit_transaction", 0.0, 0.0, 0.0,
                     ref="ab" * 32)
        try:
            raise RuntimeError("submission exploded")
        except RuntimeError as exc:
            _report(exc, record)
        sentry_sdk.flush(5)
    finally:
        sentry_sdk.get_client().close()
    events = [json.loads(line) for body in received for line in body.splitlines()
              if line.startswith(b"{") and b'"exception"' in line]
    assert events, "no event reached the sink"
    tagged = [e for e in events if "tags" in e]
    assert tagged, "the job's own report was not sent"
    event = tagged[0]
    assert event["tags"]["job"] == "submit_transaction" and event["tags"]["key"] == "ab" * 32
    assert event["environment"] == "test"
    assert "submission exploded" in json.dumps(event["exception"])
