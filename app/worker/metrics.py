"""In-process worker figures: counters, latencies, and their JSON and Prometheus renderings."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: Counter[str] = Counter()
        self.per_network: dict[str, Counter[str]] = {}
        self.failed_by_reason: Counter[str] = Counter()  # failed records, by ``reason.code``
        self.ready_to_submitted: deque[float] = deque(maxlen=10_000)
        self.job_seconds: deque[float] = deque(maxlen=10_000)
        self.started = time.time()

    def count(self, name: str, network: str | None = None, n: int = 1) -> None:
        with self._lock:
            self.counters[name] += n
            if network is not None:
                self.per_network.setdefault(network, Counter())[name] += n

    def count_failure(self, reason: str) -> None:
        with self._lock:
            self.failed_by_reason[reason] += 1

    def observe_submission(self, seconds: float) -> None:
        with self._lock:
            self.ready_to_submitted.append(seconds)

    def observe_job(self, seconds: float) -> None:
        with self._lock:
            self.job_seconds.append(seconds)

    def success_rate(self) -> float:
        with self._lock:
            done = self.counters["processed"] + self.counters["failed"]
            return 1.0 if done == 0 else self.counters["processed"] / done

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            latencies = list(self.ready_to_submitted)
            jobs = list(self.job_seconds)
            counters = dict(self.counters)
            networks = {k: dict(v) for k, v in self.per_network.items()}
            by_reason = dict(self.failed_by_reason)

        def ms(v: float | None) -> float | None:
            return None if v is None else round(v * 1000, 2)

        return {
            "counters": counters,
            "networks": networks,
            "failedByReason": by_reason,
            "readyToSubmittedMs": {"p50": ms(percentile(latencies, 0.5)),
                                   "p90": ms(percentile(latencies, 0.9)),
                                   "p99": ms(percentile(latencies, 0.99)),
                                   "samples": len(latencies)},
            "jobMs": {"p50": ms(percentile(jobs, 0.5)), "p99": ms(percentile(jobs, 0.99))},
        }


def prometheus(report: dict[str, Any]) -> str:
    """The JSON report flattened into Prometheus text exposition format."""
    lines: list[str] = []

    def gauge(name: str, value: Any, labels: str = "") -> None:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int | float):
            lines.append(f"refractor_{name}{labels} {value}")

    fin = report["finalizer"]["metrics"]
    for key in ("queueLength", "successRate", "concurrency", "inFlight", "paused"):
        gauge(_snake(key), fin.get(key))
    for name, value in fin["counters"].items():
        gauge(f"{name}_total", value)
    for network, counters in fin["networks"].items():
        for name, value in counters.items():
            gauge(f"network_{name}_total", value, f'{{network="{network}"}}')
    for reason, value in fin.get("failedByReason", {}).items():
        gauge("failed_by_reason_total", value, f'{{reason="{reason}"}}')
    for q, value in fin["readyToSubmittedMs"].items():
        if q.startswith("p"):
            gauge("ready_to_submitted_ms", value, f'{{quantile="0.{q[1:]}"}}')
    for status, value in report["transactions"].items():
        gauge("transactions", value, f'{{status="{status}"}}')
    for status, value in report["callbacks"].items():
        gauge("callbacks", value, f'{{status="{status}"}}')
    return "\n".join(lines) + "\n"


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
