"""A job crash reaches Sentry (a local sink standing in for the Sentry server), tagged with the job."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sentry_sdk

from app.config import parse_settings
from app.jobs.model import Job
from app.jobs.runner import _report
from app.observability import setup_sentry
from tests.sentry_sink import sentry_sink as local_sentry


@pytest.fixture
def sink() -> Iterator[tuple[str, list[bytes]]]:
    with local_sentry() as sink:
        yield sink


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
