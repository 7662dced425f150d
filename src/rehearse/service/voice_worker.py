"""The transcription worker: drains the durable queue of audio entries.

Each job is claimed with a lease (:meth:`VoiceStore.claim`), renewed by a heartbeat
while the transcriber runs, and settled only by its lease owner, so:

* **bounded parallelism**: ``parallelism`` threads (setting ``voice_workers``, default
  1 on 2 cores), each holding at most one job;
* **retries with backoff** (tenacity): a transient failure (timeout, HTTP 429/5xx) is
  retried up to ``max_attempts`` times, waiting ``retry_base_seconds`` then doubling
  (at most 5 minutes); a permanent one fails the entry at once;
* **restart safety**: after a crash or ``kill -9`` the job's lease runs out and the next
  worker takes it over; a worker that lost its lease writes nothing into the result,
  so each entry is transcribed into the session exactly once. A job taken over more
  than ``max_attempts`` times is failed, so a recording that crashes the worker cannot
  loop forever.

The same worker drains spoken interview answers (:mod:`rehearse.service.spoken_answers`)
when given them: a chat-bot job first, else the oldest spoken answer, under the same
lease, heartbeat, retry and attempt rules.

Runs standalone as ``rehearse voice work`` and inside ``rehearse serve``.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import tenacity

from rehearse.domain.voice import (
    ErrorEntry,
    TranscriptionStatus,
    VoiceSessionState,
    transcript_name,
)
from rehearse.errors import RehearseError, TranscriptionError
from rehearse.service.speech_analysis import analyse
from rehearse.service.voice import VoiceSessionManager
from rehearse.settings import Settings, get_settings
from rehearse.storage.voice import Job
from rehearse.voice.transcribers import Transcriber, transcriber_for

if TYPE_CHECKING:
    from rehearse.service.composition import Services
    from rehearse.service.spoken_answers import SpokenAnswers
    from rehearse.storage.spoken import SpokenRecord

log = logging.getLogger("rehearse.voice.worker")


class TranscriptionWorker:
    """Claims transcription jobs and writes their transcripts.

    Args:
        manager: the voice session manager (its store, folders and clock).
        transcriber: what turns audio into text.
        owner: this worker's name in leases (default ``host:pid-random``).
        parallelism: jobs run at once (threads), 1-16.
        lease_seconds: lease length, seconds; renewed every third of it.
        max_attempts: tries of one job before its entry is failed.
        retry_base_seconds: first backoff wait after a transient failure, seconds.
        sleep: how to wait (tests pass a fake).
        spoken: spoken interview answers to drain too (``None``: chat-bot jobs only).
    """

    def __init__(
        self,
        manager: VoiceSessionManager,
        transcriber: Transcriber,
        *,
        owner: str | None = None,
        parallelism: int = 1,
        lease_seconds: float = 60.0,
        max_attempts: int = 3,
        retry_base_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        spoken: SpokenAnswers | None = None,
    ) -> None:
        self.manager = manager
        self.spoken = spoken
        self.transcriber = transcriber
        self.owner = owner or f"{socket.gethostname()}:{secrets.token_hex(4)}"
        self.parallelism = parallelism
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.sleep = sleep

    @classmethod
    def from_settings(
        cls,
        manager: VoiceSessionManager,
        settings: Settings | None = None,
        transcriber: Transcriber | None = None,
        spoken: SpokenAnswers | None = None,
    ) -> TranscriptionWorker:
        """A worker configured by ``voice_*`` settings (transcriber ``voice_transcriber``).

        Raises:
            ConfigurationError: ``voice_transcriber`` names no usable transcriber.
        """
        settings = settings or get_settings()
        return cls(
            manager,
            transcriber
            or transcriber_for(
                settings.voice_transcriber, openai_base_url=settings.voice_openai_base_url
            ),
            parallelism=settings.voice_workers,
            lease_seconds=settings.voice_lease_seconds,
            max_attempts=settings.voice_max_attempts,
            retry_base_seconds=settings.voice_retry_base_seconds,
            spoken=spoken,
        )

    # -- running ------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim and settle one ready job (chat-bot first, then spoken answers).

        Returns:
            ``False`` when none was ready.
        """
        now = self.manager.clock.now()
        if self.manager.store.has_ready(now):
            job = self.manager.store.claim(
                self.owner, now, now + timedelta(seconds=self.lease_seconds)
            )
            if job is not None:
                self._settle(job)
                return True
        return self._run_spoken()

    def _run_spoken(self) -> bool:
        spoken = self.spoken
        if spoken is None:
            return False
        record = spoken.claim(self.owner, self.lease_seconds)
        if record is None:
            return False
        if record.attempts > self.max_attempts:
            spoken.record_failure(record, f"gave up after {self.max_attempts} interrupted attempts")
            return True
        heartbeat = _Heartbeat(self, lambda now, until: _renew_spoken(spoken, record, now, until))
        try:
            analysis = spoken.transcribe(record, self._retrying())
        except TranscriptionError as exc:
            heartbeat.stop()
            spoken.record_failure(record, str(exc))
            return True
        except (RehearseError, OSError) as exc:
            heartbeat.stop()
            spoken.record_failure(record, f"{type(exc).__name__}: {exc}")
            return True
        finally:
            heartbeat.stop()
        if heartbeat.lost or not spoken.record_result(record, analysis):
            log.warning("spoken answer %s/%s: lease lost", record.session_id, record.sequence)
        return True

    def drain(self) -> int:
        """Run jobs until none is ready (sequentially); returns how many ran."""
        done = 0
        while self.run_once():
            done += 1
        return done

    def recover(self) -> int:
        """Move on finalized sessions a crash left mid-pipeline; returns how many moved."""
        moved = 0
        for session in self.manager.store.unfinished():
            before = session.state
            if self.manager.advance(session.id).state is not before:
                moved += 1
        return moved

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Work until ``stop`` is set: ``parallelism`` threads, each polling when idle."""
        self.recover()

        def loop() -> None:
            while not stop.is_set():
                try:
                    worked = self.run_once()
                except RehearseError as exc:  # the database is down: wait and try again
                    log.warning("voice worker: %s", exc)
                    worked = False
                if not worked:
                    stop.wait(poll_seconds)

        threads = [
            threading.Thread(target=loop, name=f"voice-worker-{i}", daemon=True)
            for i in range(self.parallelism)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # -- one job ------------------------------------------------------------------------

    def _settle(self, job: Job) -> None:
        manager = self.manager
        session = manager.get_session(job.session_id)
        entry = None if session is None else session.entry(job.sequence)
        if session is None or entry is None:
            self._fail(job, "the audio entry no longer exists")
            return
        if job.attempts > self.max_attempts:
            self._fail(job, f"gave up after {self.max_attempts} interrupted attempts")
            return
        store = manager.store
        heartbeat = _Heartbeat(self, lambda now, until: store.renew(job, now, until))
        try:
            data = manager.folders.audio_path(job.session_id, entry.stored_filename).read_bytes()
            audio = manager.decode(data)
            analysis = analyse(
                audio,
                self.transcriber,
                long_pause_seconds=manager.long_pause_seconds,
                retrying=self._retrying(),
            )
        except TranscriptionError as exc:
            heartbeat.stop()
            self._fail(job, str(exc))
            return
        except (RehearseError, OSError) as exc:
            heartbeat.stop()
            self._fail(job, f"{type(exc).__name__}: {exc}")
            return
        finally:
            heartbeat.stop()
        name = transcript_name(job.sequence)
        if heartbeat.lost:
            log.warning("voice job %s: lease lost, result dropped", job.id)
            return
        manager.folders.write_transcript(
            job.session_id, name, analysis.transcript.text, analysis.details()
        )
        now = manager.clock.now()
        if not manager.store.complete(job, now, TranscriptionStatus.DONE, name, None):
            log.warning("voice job %s: lease lost before commit, result dropped", job.id)
            return
        self._after(job.session_id)

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=tenacity.wait_exponential(multiplier=self.retry_base_seconds, max=300),
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, TranscriptionError) and exc.transient
            ),
            sleep=self.sleep,
            reraise=True,
        )

    def _fail(self, job: Job, message: str) -> None:
        manager = self.manager
        now = manager.clock.now()
        if not manager.store.complete(job, now, TranscriptionStatus.FAILED, None, message[:2000]):
            return
        error = ErrorEntry(
            at=now, stage="transcription", message=message[:2000], sequence=job.sequence
        )
        session = manager.get_session(job.session_id)
        if session is not None and not session.state.is_final:
            manager.add_error(job.session_id, error)
        self._after(job.session_id)

    def _after(self, session_id: str) -> None:
        manager = self.manager
        manager.refresh_metadata(session_id)
        session = manager.get_session(session_id)
        if session is not None and session.state is VoiceSessionState.TRANSCRIBING:
            manager.advance(session_id)


def _renew_spoken(
    spoken: SpokenAnswers, record: SpokenRecord, now: datetime, until: datetime
) -> bool:
    return spoken.store.renew(record, now, until)


class _Heartbeat:
    """Renews a lease every third of its length until stopped (``renew(now, until)``)."""

    def __init__(
        self, worker: TranscriptionWorker, renew: Callable[[datetime, datetime], bool]
    ) -> None:
        self.worker = worker
        self.renew = renew
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        interval = self.worker.lease_seconds / 3
        while not self._stop.wait(interval):
            now = self.worker.manager.clock.now()
            until = now + timedelta(seconds=self.worker.lease_seconds)
            try:
                if not self.renew(now, until):
                    self.lost = True
                    return
            except RehearseError as exc:
                log.warning("voice worker: lease renewal failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()


#: How often a serving process whose sibling holds the worker lock tries again, seconds.
LOCK_RETRY_SECONDS = 5.0


def start_for(services: Services, settings: Settings | None = None) -> Callable[[], None]:
    """Run one transcription worker on ``services``, in a thread; returns ``stop()``.

    What :class:`~rehearse.service.background.Background` starts in ``rehearse serve``
    (setting ``voice_worker_in_serve``). Several serving processes on one machine
    (``--workers N``) share one worker: it runs in the process holding the file lock
    ``<data dir>/voice-worker.lock``; the others try again every
    :data:`LOCK_RETRY_SECONDS` and take over when the holder stops or dies. A worker
    that cannot start (an unusable ``voice_transcriber``) logs why and does not stop
    the server: recordings wait in the queue for ``rehearse voice work``.
    """
    from filelock import FileLock, Timeout

    from rehearse.service.spoken_answers import SpokenAnswers
    from rehearse.storage.voice import VoiceStore

    settings = settings or get_settings()
    stop = threading.Event()
    engine = getattr(services.store, "engine", None)
    if engine is None:
        log.warning("voice worker not started: the store has no SQL engine")
        return stop.set
    try:
        transcriber = transcriber_for(  # one model in memory for both queues
            settings.voice_transcriber, openai_base_url=settings.voice_openai_base_url
        )
    except RehearseError as exc:
        log.warning("voice worker not started: %s", exc)
        return stop.set
    voice = VoiceSessionManager.from_settings(VoiceStore(engine), settings, services.clock)
    spoken = SpokenAnswers(services.manager, transcriber, settings)
    worker = TranscriptionWorker.from_settings(voice, settings, transcriber, spoken)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.data_dir / "voice-worker.lock"))

    def run() -> None:
        while not stop.is_set():
            try:
                lock.acquire(timeout=0)
            except Timeout:
                stop.wait(LOCK_RETRY_SECONDS)
                continue
            try:
                log.info("voice worker %s: %s", worker.owner, transcriber.name)
                worker.run(stop)
            finally:
                lock.release()

    thread = threading.Thread(target=run, name="voice-worker", daemon=True)
    thread.start()

    def stop_and_wait() -> None:
        stop.set()
        thread.join(timeout=30)

    return stop_and_wait
