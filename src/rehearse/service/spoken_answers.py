"""Spoken answers to interview questions: saved first, transcribed by the queue, then submitted.

Composed around the interview :class:`~rehearse.service.sessions.SessionManager` (it
does not change it). The life of a spoken answer (:mod:`rehearse.domain.spoken`):

1. :meth:`SpokenAnswers.receive` decodes the recording (refused with nothing stored if
   it is not acceptable), stores it as ``audio/NNN_audio.<ext>`` in the session's
   folder and records it as ``pending``: the answer is saved before transcription.
2. The transcription worker (:class:`~rehearse.service.voice_worker.TranscriptionWorker`)
   claims it with a lease, transcribes and measures it (:mod:`rehearse.scoring.speech`),
   writes ``transcripts/NNN_audio.txt`` / ``.json`` and leaves it ``transcribed``, or
   ``flagged`` when the transcript is too poor to score
   (:func:`~rehearse.voice.transcribers.quality_flag`): the candidate is told, not scored.
3. The candidate reads the transcript, may correct it, and :meth:`SpokenAnswers.submit`
   sends it through ``submit_answer``, scored like a typed answer. A flagged
   transcript is only taken corrected (typed over); otherwise re-record.
"""

from __future__ import annotations

import json
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import tenacity

from rehearse.domain.events import EventType
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.plan import ItemStatus
from rehearse.domain.spoken import SpokenAnswerStatus, recording_name, transcript_file
from rehearse.errors import (
    ConfigurationError,
    InvalidStateError,
    RehearseError,
    SpokenAnswerRefusedError,
    TranscriptionError,
)
from rehearse.service.interviews import AnswerOutcome
from rehearse.service.sessions import SessionManager
from rehearse.service.speech_analysis import SpeechAnalysis, analyse
from rehearse.settings import Settings, get_settings
from rehearse.storage.spoken import SpokenRecord, SpokenStore
from rehearse.voice.audio import DecodedAudio, decode_audio
from rehearse.voice.transcribers import Transcriber, transcriber_for

_S = SpokenAnswerStatus

#: The longest answer text ``submit_answer`` takes is its own rule; a transcript is
#: never cut silently: a longer correction is refused there with a clear error.


@dataclass(frozen=True)
class SpokenAnswer:
    """A spoken answer as the candidate sees it.

    Attributes:
        record: the stored recording, its status and (once there) transcript and analysis.
        outcome: the scored answer, only from :meth:`SpokenAnswers.submit`.
    """

    record: SpokenRecord
    outcome: AnswerOutcome | None = None

    @property
    def metrics(self) -> dict[str, Any] | None:
        """The speech metrics (JSON-ready), once transcribed."""
        analysis = self.record.analysis
        return None if analysis is None else analysis.get("metrics")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready; ``score`` is the evaluation when submitted and shown."""
        r = self.record
        evaluation = None if self.outcome is None else self.outcome.evaluation
        return {
            "session_id": r.session_id,
            "sequence": r.sequence,
            "question_id": r.question_id,
            "status": r.status.value,
            "original_filename": r.original_filename,
            "stored_filename": r.stored_filename,
            "transcript_filename": transcript_file(r.sequence)
            if r.transcript is not None
            else None,
            "mime_type": r.mime_type,
            "duration_seconds": round(r.duration_seconds, 3),
            "size_bytes": r.size_bytes,
            "transcript": r.transcript,
            "quality_flag": r.quality_flag,
            "confidence": None if r.analysis is None else r.analysis.get("confidence"),
            "metrics": self.metrics,
            "submitted_text": r.submitted_text,
            "error": r.error,
            "attempts": r.attempts,
            "created_at": r.created_at.isoformat(),
            "scored": evaluation is not None,
            "score": None if evaluation is None else evaluation.model_dump(mode="json"),
        }


class SpokenAnswers:
    """Answers by voice for an interview session manager.

    Args:
        manager: the interview session manager (its folders hold the recordings, its
            database engine the ``spoken_answers`` table).
        transcriber: default from ``voice_transcriber``, made on first use (storing a
            recording never loads a model).
        settings: limits (``max_audio_*``, ``long_pause_seconds``, ``voice_lease_seconds``);
            default from the environment.
    """

    def __init__(
        self,
        manager: SessionManager,
        transcriber: Transcriber | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.manager = manager
        self.settings = settings or get_settings()
        self._transcriber = transcriber
        engine = getattr(manager.store, "engine", None)
        if engine is None:
            raise ConfigurationError("spoken answers need a SQL store (SQLite or PostgreSQL)")
        self.store = SpokenStore(engine)

    @property
    def transcriber(self) -> Transcriber:
        """The transcriber (``voice_transcriber`` unless one was given).

        Raises:
            ConfigurationError: ``voice_transcriber`` names no usable transcriber.
        """
        if self._transcriber is None:
            self._transcriber = transcriber_for(
                self.settings.voice_transcriber, openai_base_url=self.settings.voice_openai_base_url
            )
        return self._transcriber

    def decode(self, data: bytes) -> DecodedAudio:
        """Decode with the configured limits (see :func:`decode_audio`)."""
        return decode_audio(
            data,
            max_duration_seconds=self.settings.max_audio_duration_seconds,
            max_bytes=self.settings.max_audio_bytes,
        )

    # -- 1. saved first -------------------------------------------------------------

    def receive(
        self,
        session_id: str,
        data: bytes,
        *,
        question_id: str | None = None,
        filename: str | None = None,
        actor: str = "local",
    ) -> SpokenAnswer:
        """Store a recording answering a question, as ``pending`` (the queue transcribes it).

        Args:
            session_id: an active interview session.
            data: the recording (ogg/opus, webm/opus, wav, mp3, m4a).
            question_id: the question answered (default: the current one).
            filename: the sender's file name, kept as information.
            actor: who answered.

        Raises:
            AudioRejectedError: the recording is not acceptable; nothing is stored.
            SessionNotFoundError / InvalidStateError: no such session, or it is not
                active; checked before anything is stored.
            QuestionNotFoundError: the plan has no question ``question_id``.
            ConfigurationError: no question is waiting for an answer.
        """
        session = self.manager.get_session(session_id)
        if session.status is not SessionStatus.ACTIVE:
            raise InvalidStateError(session_id, session.status.value, "answer by voice in")
        if question_id is None:
            current = self.manager.next_question(session_id)
            if current is None:
                raise ConfigurationError(
                    f"session {session_id} has no question waiting for an answer",
                    [{"field": "question_id", "value": None, "message": "nothing to answer"}],
                )
            question_id = current.id
        else:
            self.manager.get_plan(session_id).item(session_id, question_id)
        decoded = self.decode(data)
        folders = self.manager.folders
        written: list[str] = []

        def values(sequence: int) -> dict[str, Any]:
            return {
                "question_id": question_id,
                "actor": actor[:64],
                "original_filename": None if filename is None else filename[-200:],
                "stored_filename": recording_name(sequence, decoded.extension),
                "mime_type": decoded.mime_type,
                "duration_seconds": decoded.duration_seconds,
                "size_bytes": len(data),
            }

        def store_file(sequence: int, stored: str) -> None:
            info = {
                "question_id": question_id,
                "original_filename": filename,
                "mime_type": decoded.mime_type,
                "duration_seconds": round(decoded.duration_seconds, 3),
            }
            written.append(stored)  # first: a write that fails half way is removed too
            folders.add_file(session_id, "audio", stored, data, info)

        try:
            record = self.store.add(session_id, values, store_file, self.manager.clock.now())
        except BaseException:
            for stored in written:  # the row was not inserted: no file without its row
                folders.remove_file(session_id, "audio", stored)
            raise
        return SpokenAnswer(record)

    # -- 2. transcribed by the queue -----------------------------------------------

    def claim(
        self, owner: str, lease_seconds: float, only: tuple[str, int] | None = None
    ) -> SpokenRecord | None:
        """Lease the oldest recording waiting for transcription (or ``only`` that one)."""
        now = self.manager.clock.now()
        if only is None and not self.store.has_ready(now):
            return None
        return self.store.claim(owner, now, now + timedelta(seconds=lease_seconds), only)

    def transcribe(
        self, record: SpokenRecord, retrying: tenacity.Retrying | None = None
    ) -> SpeechAnalysis:
        """Transcribe and measure one claimed recording (no write).

        Raises:
            TranscriptionError: the transcriber failed (after the retries).
            AudioRejectedError / OSError: the stored file cannot be read or decoded.
        """
        path = self.manager.folders.folder(record.session_id) / "audio" / record.stored_filename
        audio = self.decode(path.read_bytes())
        return analyse(
            audio,
            self.transcriber,
            long_pause_seconds=self.settings.long_pause_seconds,
            retrying=retrying,
        )

    def record_result(self, record: SpokenRecord, analysis: SpeechAnalysis) -> bool:
        """Write the transcript files and settle the recording (``transcribed``/``flagged``).

        Returns:
            ``False`` when the lease was lost (another worker owns it): the database
            is untouched; the files it wrote are the same transcript's.
        """
        text = analysis.transcript.text.strip()
        flag = analysis.quality_flag
        if flag is None and not text:
            flag = "no words were recognised in the recording"
        name = transcript_file(record.sequence)
        folders = self.manager.folders
        info = {"question_id": record.question_id, "quality_flag": flag}
        folders.add_file(record.session_id, "transcripts", name, (text + "\n").encode(), info)
        folders.add_file(
            record.session_id,
            "transcripts",
            name.removesuffix(".txt") + ".json",
            json.dumps(analysis.details(), indent=2).encode(),
            {"question_id": record.question_id},
        )
        return self.store.settle(
            record,
            _S.FLAGGED if flag else _S.TRANSCRIBED,
            self.manager.clock.now(),
            transcript=text,
            quality_flag=None if flag is None else flag[:300],
            analysis=analysis.details(),
            error=None,
        )

    def record_failure(self, record: SpokenRecord, message: str) -> bool:
        """Settle the recording as ``failed`` (the candidate types or re-records)."""
        return self.store.settle(record, _S.FAILED, self.manager.clock.now(), error=message[:2000])

    def process(
        self, record: SpokenRecord, retrying: tenacity.Retrying | None = None
    ) -> SpokenAnswer:
        """Transcribe a claimed recording and settle it; failures settle it as ``failed``."""
        try:
            analysis = self.transcribe(record, retrying)
        except TranscriptionError as exc:
            self.record_failure(record, str(exc))
        except (RehearseError, OSError) as exc:
            self.record_failure(record, f"{type(exc).__name__}: {exc}")
        else:
            self.record_result(record, analysis)
        return self.get(record.session_id, record.sequence)

    def transcribe_now(self, session_id: str, sequence: int) -> SpokenAnswer:
        """Transcribe one recording in this process (``--wait``, the terminal's ``/audio``).

        A recording a worker is already transcribing, or has transcribed, is returned
        as it is.
        """
        owner = f"{socket.gethostname()}:inline-{secrets.token_hex(4)}"
        record = self.claim(owner, self.settings.voice_lease_seconds, (session_id, sequence))
        if record is None:
            return self.get(session_id, sequence)
        return self.process(record)

    # -- 3. read, corrected, submitted ---------------------------------------------

    def get(self, session_id: str, sequence: int) -> SpokenAnswer:
        """One recording of the session.

        Raises:
            SpokenAnswerNotFoundError: the session has no recording ``sequence``.
        """
        return SpokenAnswer(self.store.get(session_id, sequence))

    def list(self, session_id: str) -> list[SpokenAnswer]:
        """Every recording of the session, in sequence order."""
        return [SpokenAnswer(r) for r in self.store.list(session_id)]

    def submit(
        self,
        session_id: str,
        sequence: int,
        text: str | None = None,
        *,
        actor: str = "local",
    ) -> SpokenAnswer:
        """Send the transcript (or the candidate's correction of it) to be scored.

        Args:
            session_id: the interview session.
            sequence: the recording's number in it.
            text: the corrected transcript; ``None`` sends the transcript as heard.
            actor: who submits.

        Raises:
            SpokenAnswerNotFoundError: no such recording.
            SpokenAnswerRefusedError: not transcribed yet, failed, already submitted,
                or flagged and sent without a correction.
            ConfigurationError / AnswerRefusedError / InvalidStateError: as
                ``submit_answer`` (blank or too long text, answered already, the
                session is not active).
        """
        record = self.store.get(session_id, sequence)
        if not record.status.awaits_candidate:
            reasons = {
                _S.PENDING: "its transcript is not ready yet; try again in a moment",
                _S.PROCESSING: "its transcript is not ready yet; try again in a moment",
                _S.FAILED: f"it could not be transcribed ({record.error}); type or re-record",
                _S.SUBMITTED: "it was submitted already",
            }
            raise SpokenAnswerRefusedError(
                session_id, sequence, record.status.value, "submit", reasons[record.status]
            )
        corrected = None if text is None else text.strip()
        if record.status is _S.FLAGGED and (not corrected or corrected == record.transcript):
            raise SpokenAnswerRefusedError(
                session_id,
                sequence,
                record.status.value,
                "submit",
                f"the transcript is too poor to score ({record.quality_flag}); "
                "correct it or re-record",
            )
        final = corrected or (record.transcript or "")
        outcome = None
        if not self._saved_already(record, final):
            outcome = self.manager.submit_answer(
                session_id,
                record.question_id,
                final,
                time_spent_seconds=min(record.duration_seconds, 14_400),
                actor=actor,
            )
        moved = self.store.move(
            session_id, sequence, _S.SUBMITTED, self.manager.clock.now(), submitted_text=final
        )
        return SpokenAnswer(moved, outcome)

    def _saved_already(self, record: SpokenRecord, text: str) -> bool:
        """True when an earlier submit of ``record`` saved ``text`` but did not finish.

        A submit is two commits (the answer, then the recording's status), so a crash
        between them leaves the answer saved and the recording ``transcribed``; sending
        it again must finish the submit, not answer twice (practice mode) or be refused
        as answered (the other modes). The sign is the question answered with exactly
        this text after the recording arrived; only an answered question is looked up.
        """
        session = self.manager.get_session(record.session_id)
        items = session.interview.items if session.interview else ()
        item = next((i for i in items if i.id == record.question_id), None)
        if item is None or item.status is not ItemStatus.ANSWERED:
            return False
        submitted = self.manager.get_events(
            record.session_id, types=[EventType.ANSWER_SUBMITTED.value]
        )
        return any(
            event.data.get("item_id") == record.question_id
            and event.data.get("text") == text
            and event.at >= record.created_at
            for event in submitted
        )

    def answer(
        self,
        session_id: str,
        data: bytes,
        *,
        question_id: str | None = None,
        filename: str | None = None,
        actor: str = "local",
        submit: bool = False,
    ) -> SpokenAnswer:
        """Receive and transcribe in this process; with ``submit``, score it as heard.

        A flagged or failed recording is never submitted (the result says why).

        Raises:
            As :meth:`receive`; with ``submit``, as :meth:`submit`.
        """
        received = self.receive(
            session_id, data, question_id=question_id, filename=filename, actor=actor
        )
        done = self.transcribe_now(session_id, received.record.sequence)
        if submit and done.record.status is _S.TRANSCRIBED:
            return self.submit(session_id, done.record.sequence, actor=actor)
        return done
