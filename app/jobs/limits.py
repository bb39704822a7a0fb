"""Concurrency limits that adapt (AIMD): grow by one after sustained success, halve on overload.

Used for the per-network cap on concurrent RPC/Horizon calls and for the submission pool size.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class AdaptiveLimit:
    def __init__(self, initial: int, minimum: int, maximum: int, adaptive: bool,
                 grow_after: int = 20) -> None:
        self.minimum = max(1, minimum)
        self.maximum = max(self.minimum, maximum)
        self.limit = min(max(initial, self.minimum), self.maximum)
        self.adaptive = adaptive
        self.grow_after = grow_after
        self.in_use = 0
        self._successes = 0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while self.in_use >= self.limit:
                self._cond.wait()
            self.in_use += 1
        try:
            yield
        finally:
            with self._cond:
                self.in_use -= 1
                self._cond.notify()

    def try_acquire(self) -> bool:
        with self._cond:
            if self.in_use >= self.limit:
                return False
            self.in_use += 1
            return True

    def release(self) -> None:
        with self._cond:
            self.in_use -= 1
            self._cond.notify()

    def free(self) -> int:
        with self._cond:
            return max(0, self.limit - self.in_use)

    def set(self, value: int) -> None:
        with self._cond:
            self.limit = min(max(value, self.minimum), self.maximum)
            self._cond.notify_all()

    def success(self) -> None:
        if not self.adaptive:
            return
        with self._cond:
            self._successes += 1
            if self._successes >= self.grow_after and self.limit < self.maximum:
                self.limit += 1
                self._successes = 0
                self._cond.notify()

    def overload(self) -> None:
        if not self.adaptive:
            return
        with self._cond:
            self.limit = max(self.minimum, self.limit // 2)
            self._successes = 0
