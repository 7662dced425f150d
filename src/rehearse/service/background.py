"""The one owner of background work: started by ``rehearse serve``, usable standalone.

Today it runs the expiry sweep (every ``sweep_seconds``), builds the reports of sessions
that just ended (off the path of the request that ended them, issue 16), once at start the
recovery of answers left without an evaluation by a crash (issue 10, item 3) and, with
``voice_worker=True``, the transcription worker (issue 13), which starts and stops with it.
Later capabilities register their jobs here with :meth:`Background.every` (periodic) or
:meth:`Background.alongside` (long-running parts with their own threads) instead of
starting tasks of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from rehearse.domain.lifecycle import SessionStatus
from rehearse.storage import SessionQuery

if TYPE_CHECKING:
    from rehearse.service.composition import Services

log = logging.getLogger("rehearse.background")

#: How often queued reports are picked up, seconds (an ended session waits about this).
REPORT_POLL_SECONDS = 0.05

#: How far back the start-up recovery looks for sessions with unscored answers.
RECOVERY_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Job:
    """A blocking function run in a worker thread every ``seconds`` (0: once, at start)."""

    name: str
    seconds: float
    run: Callable[[], object]


class Background:
    """Runs the installation's periodic jobs on the running event loop.

    Args:
        services: the installation.
        sweep_seconds: how often the expiry sweep runs (0: never).
        voice_worker: also run the transcription worker
            (:func:`rehearse.service.voice_worker.start_for`).
    """

    def __init__(
        self, services: Services, *, sweep_seconds: float, voice_worker: bool = False
    ) -> None:
        self.services = services
        self._parts: list[tuple[str, Callable[[], Callable[[], None]]]] = []
        self._stops: list[Callable[[], None]] = []
        if voice_worker:
            self.alongside("transcription worker", self._start_voice_worker)
        self.jobs: list[Job] = [Job("recover unscored answers", 0, self.recover_answers)]
        if sweep_seconds:
            self.jobs.append(Job("expiry sweep", sweep_seconds, self.sweep))
        self.jobs.append(Job("reports", REPORT_POLL_SECONDS, self.build_reports))
        self._reports: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._tasks: list[asyncio.Task[None]] = []
        self._sweep_listeners: list[Callable[[], object]] = []

    def on_sweep(self, listener: Callable[[], object]) -> None:
        """Call ``listener`` at every sweep run (the ``/metrics`` counter of sweeps)."""
        self._sweep_listeners.append(listener)

    def every(self, name: str, seconds: float, run: Callable[[], object]) -> None:
        """Register another job (before :meth:`start`)."""
        self.jobs.append(Job(name, seconds, run))

    def alongside(self, name: str, start: Callable[[], Callable[[], None]]) -> None:
        """Register a long-running part: ``start()`` at :meth:`start`, returning its ``stop()``.

        ``stop()`` is called at :meth:`stop`, before the last reports are built.
        """
        self._parts.append((name, start))

    def _start_voice_worker(self) -> Callable[[], None]:
        from rehearse.service.voice_worker import start_for

        return start_for(self.services)

    def sweep(self) -> int:
        """Expire every session whose time ran out; returns how many."""
        for listener in self._sweep_listeners:
            listener()
        expired = self.services.sessions.sweep_expired()
        if expired:
            log.info("expired %d session(s)", len(expired))
        return len(expired)

    def recover_answers(self) -> int:
        """Evaluate answers a crash left without an evaluation; returns how many.

        Looks at sessions created in the last :data:`RECOVERY_WINDOW` that are running
        or ended (their plans say which answers wait), and refreshes their reports.
        """
        services = self.services
        since = services.clock.now() - RECOVERY_WINDOW
        statuses = (
            SessionStatus.ACTIVE,
            SessionStatus.PAUSED,
            SessionStatus.COMPLETED,
            SessionStatus.EXPIRED,
        )
        settled = 0
        cursor: str | None = None
        while True:
            page = services.store.list_sessions(
                SessionQuery(
                    statuses=statuses,
                    created_after=since,
                    limit=500,
                    cursor=cursor,
                    include_total=False,
                )
            )
            for session in page.sessions:
                if session.interview is not None and session.interview.unsettled():
                    settled += services.interviews.recover(session.id)
                    if session.status.is_final:
                        with contextlib.suppress(Exception):  # recorded as report_failed
                            services.reports.generate_report(session.id, only_if_pending=True)
            cursor = page.next_cursor
            if cursor is None:
                break
        if settled:
            log.info("evaluated %d answer(s) left unscored by a crash", settled)
        return settled

    def build_reports(self) -> int:
        """Build the reports of sessions that ended since the last run; returns how many."""
        built = 0
        while True:
            try:
                session_id = self._reports.get_nowait()
            except queue.Empty:
                return built
            self.services.reports.finish(session_id)
            built += 1

    async def start(self) -> None:
        """Start every job on the running loop; reports are built here from now on."""
        self.services.reports.defer_to(self._reports.put)
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._loop(job), name=job.name))
        for name, start in self._parts:
            try:
                self._stops.append(await asyncio.to_thread(start))
            except Exception:  # a part that cannot start must not stop the server
                log.exception("%s did not start", name)

    async def stop(self) -> None:
        """Cancel every job, wait for them to stop, and build the reports still queued."""
        self.services.reports.defer_to(None)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for stop in reversed(self._stops):
            await asyncio.to_thread(stop)
        self._stops.clear()
        await asyncio.to_thread(self.build_reports)

    async def _loop(self, job: Job) -> None:
        while True:
            try:
                await asyncio.to_thread(job.run)
            except Exception:  # a failed run is retried next time; keep the server up
                log.exception("%s failed", job.name)
            if not job.seconds:
                return
            await asyncio.sleep(job.seconds)
