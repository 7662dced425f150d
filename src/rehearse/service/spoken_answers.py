"""Spoken answers to interview questions: a recording in, its transcript answered and scored.

Composed around the interview :class:`~rehearse.service.sessions.SessionManager` (it
does not change it): the recording is decoded (refused with nothing stored if it is
not acceptable), stored as ``audio/NNN_audio.<ext>`` in the session's folder,
transcribed, measured (:mod:`rehearse.scoring.speech`), its transcript and details
stored as ``transcripts/NNN_audio.txt`` / ``.json``, and the transcript submitted as
the answer through ``submit_answer``, scored like a typed one. A transcript too poor to
score (:func:`~rehearse.voice.transcribers.quality_flag`) is not submitted: the
candidate is told and may type or re-record.

What the service itself should take over after its refactor (see the voice report):
saving the answer before transcription, letting the candidate correct the transcript
before it is scored, and the speech metrics in the communication dimension and report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rehearse.domain.lifecycle import SessionStatus
from rehearse.errors import ConfigurationError, InvalidStateError
from rehearse.service.interviews import AnswerOutcome
from rehearse.service.sessions import SessionManager
from rehearse.service.speech_analysis import SpeechAnalysis, analyse
from rehearse.settings import Settings, get_settings
from rehearse.voice.audio import DecodedAudio, decode_audio
from rehearse.voice.transcribers import Transcriber, transcriber_for


@dataclass(frozen=True)
class SpokenAnswer:
    """A spoken answer, stored and transcribed.

    Attributes:
        session_id / question_id: what it answers.
        sequence: its number among the session's recordings (1, 2 ...).
        stored_filename: ``audio/<name>`` in the session folder.
        transcript_filename: ``transcripts/<name>``.
        mime_type / duration_seconds / size_bytes: the recording.
        analysis: transcript, pauses, quality flag and speech metrics.
        outcome: the scored answer; ``None`` when the transcript was flagged.
    """

    session_id: str
    question_id: str
    sequence: int
    stored_filename: str
    transcript_filename: str
    mime_type: str
    duration_seconds: float
    size_bytes: int
    analysis: SpeechAnalysis
    outcome: AnswerOutcome | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, with the evaluation's overall score when scored."""
        evaluation = None if self.outcome is None else self.outcome.evaluation
        return {
            "session_id": self.session_id,
            "question_id": self.question_id,
            "sequence": self.sequence,
            "stored_filename": self.stored_filename,
            "transcript_filename": self.transcript_filename,
            "mime_type": self.mime_type,
            "duration_seconds": round(self.duration_seconds, 3),
            "size_bytes": self.size_bytes,
            "transcript": self.analysis.transcript.text,
            "quality_flag": self.analysis.quality_flag,
            "metrics": self.analysis.metrics.model_dump(mode="json"),
            "scored": self.outcome is not None,
            "score": None if evaluation is None else evaluation.model_dump(mode="json"),
        }


class SpokenAnswers:
    """Answers by voice for an interview session manager.

    Args:
        manager: the interview session manager (its folders hold the recordings).
        transcriber: default from ``voice_transcriber``.
        settings: limits (``max_audio_*``, ``long_pause_seconds``); default from the
            environment.
    """

    def __init__(
        self,
        manager: SessionManager,
        transcriber: Transcriber | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.manager = manager
        self.settings = settings or get_settings()
        self.transcriber = transcriber or transcriber_for(
            self.settings.voice_transcriber, openai_base_url=self.settings.voice_openai_base_url
        )

    def decode(self, data: bytes) -> DecodedAudio:
        """Decode with the configured limits (see :func:`decode_audio`)."""
        return decode_audio(
            data,
            max_duration_seconds=self.settings.max_audio_duration_seconds,
            max_bytes=self.settings.max_audio_bytes,
        )

    def answer(
        self,
        session_id: str,
        data: bytes,
        *,
        question_id: str | None = None,
        filename: str | None = None,
        actor: str = "local",
    ) -> SpokenAnswer:
        """Store, transcribe, measure and (unless flagged) submit one spoken answer.

        Args:
            session_id: an active interview session.
            data: the recording (ogg/opus, webm/opus, wav, mp3, m4a).
            question_id: the question answered (default: the current one).
            filename: the sender's file name, kept as information.
            actor: who answered.

        Raises:
            AudioRejectedError: the recording is not acceptable; nothing is stored.
            SessionNotFoundError / InvalidStateError / SessionImmutableError: as
                ``submit_answer``; checked before anything is stored.
            ConfigurationError: no question is waiting for an answer.
            TranscriptionError: the transcriber failed (the recording stays stored).
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
        decoded = self.decode(data)
        folders = self.manager.folders
        existing = [
            f for f in folders.metadata(session_id)["files"] if f["path"].startswith("audio/")
        ]
        sequence = len(existing) + 1
        stored = f"{sequence:03d}_audio.{decoded.extension}"
        info = {
            "question_id": question_id,
            "original_filename": filename,
            "mime_type": decoded.mime_type,
            "duration_seconds": round(decoded.duration_seconds, 3),
        }
        folders.add_file(session_id, "audio", stored, data, info)
        analysis = analyse(
            decoded, self.transcriber, long_pause_seconds=self.settings.long_pause_seconds
        )
        transcript_name = f"{sequence:03d}_audio.txt"
        folders.add_file(
            session_id,
            "transcripts",
            transcript_name,
            (analysis.transcript.text.strip() + "\n").encode(),
            {"question_id": question_id, "quality_flag": analysis.quality_flag},
        )
        folders.add_file(
            session_id,
            "transcripts",
            f"{sequence:03d}_audio.json",
            json.dumps(analysis.details(), indent=2).encode(),
            {"question_id": question_id},
        )
        outcome = None
        if analysis.quality_flag is None and analysis.transcript.text.strip():
            outcome = self.manager.submit_answer(
                session_id,
                question_id,
                analysis.transcript.text.strip(),
                time_spent_seconds=min(decoded.duration_seconds, 14_400),
                actor=actor,
            )
        return SpokenAnswer(
            session_id=session_id,
            question_id=question_id,
            sequence=sequence,
            stored_filename=stored,
            transcript_filename=transcript_name,
            mime_type=decoded.mime_type,
            duration_seconds=decoded.duration_seconds,
            size_bytes=len(data),
            analysis=analysis,
            outcome=outcome,
        )
