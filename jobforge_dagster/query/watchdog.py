"""A watchdog thread that interrupts a query that runs past its deadline."""

import threading
import time
from collections.abc import Callable


class Watchdog:
    """One thread that calls `interrupt` when an armed deadline passes (cheaper than a timer per query)."""

    def __init__(self, interrupt: Callable[[], None]) -> None:
        self._interrupt = interrupt
        self._deadline: float | None = None
        self._stopped = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._watch, name="gold-query-watchdog", daemon=True)
        self._thread.start()

    def arm(self, seconds: float | None) -> None:
        with self._condition:
            self._deadline = time.monotonic() + seconds if seconds else None
            self._condition.notify()

    def disarm(self) -> None:
        with self._condition:
            self._deadline = None

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        with self._condition:
            while not self._stopped:
                if self._deadline is None:
                    self._condition.wait()
                elif time.monotonic() >= self._deadline:
                    self._deadline = None
                    self._interrupt()
                else:
                    self._condition.wait(self._deadline - time.monotonic())
