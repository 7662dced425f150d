"""Clocks: the only place rehearse reads the time, so tests can control it.

Seed ``001_*`` computes remaining time and expiry from "now"; rehearse injects the
clock instead of calling ``datetime.now()`` in the domain (ARCHITECTURE.md: time is data).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current instant as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """The current instant from the operating system, UTC."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to; shipped for tests and demos.

    Args:
        start: the first instant it reports (default 2026-01-01T09:00Z).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The instant the clock is at."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds`` (>= 0) and return the new instant.

        Raises:
            ValueError: ``seconds`` is negative; time never runs backwards.
        """
        if seconds < 0:
            raise ValueError(f"seconds={seconds}: a clock cannot go backwards")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now
