"""Clocks: the only place rehearse reads the time, so tests can control it.

Seed ``001_*`` computes remaining time and expiry from "now"; rehearse injects the
clock instead of calling ``datetime.now()`` in the domain (ARCHITECTURE.md: time is data).
"""

from __future__ import annotations

import threading
import time
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


class ScaledClock:
    """A clock that starts at a chosen instant and runs at ``rate`` times real time.

    Used by ``rehearse serve`` under test only (``REHEARSE_TEST_CLOCK`` with
    ``REHEARSE_TESTING=1``), so time-limit and expiry tests of a real server take seconds.

    Args:
        start: the instant reported when the clock is made (aware).
        rate: clock seconds per real second (0: frozen; 60: a minute a second).
    """

    def __init__(self, start: datetime, rate: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError(f"start={start.isoformat()}: needs a time zone (e.g. +00:00)")
        if not rate >= 0:
            raise ValueError(f"rate={rate}: must be >= 0; a clock cannot go backwards")
        self.start = start.astimezone(UTC)
        self.rate = rate
        self._origin = time.monotonic()

    @classmethod
    def parse(cls, spec: str) -> ScaledClock:
        """A clock from ``"<ISO instant>[@<rate>]"``, e.g. ``"2026-01-01T09:00:00+00:00@60"``.

        Raises:
            ValueError: the instant is malformed or naive, or the rate is not a number >= 0.
        """
        instant, _, rate = spec.strip().partition("@")
        try:
            start = datetime.fromisoformat(instant.replace("Z", "+00:00"))
            return cls(start, float(rate) if rate else 1.0)
        except ValueError as error:
            raise ValueError(
                f"REHEARSE_TEST_CLOCK={spec!r}: expected '<ISO instant with zone>[@<rate>]' "
                f"({error})"
            ) from None

    def now(self) -> datetime:
        """``start`` plus the real time elapsed since, times ``rate``."""
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.rate)
