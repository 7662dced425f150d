"""Spoken answers of an interview session (``/api/v1/sessions/{id}/audio`` and ``.../spoken``).

* ``POST /{id}/audio`` (multipart: ``file``, optionally ``question_id``): the recording is
  streamed, size-bounded (over ``max_audio_bytes`` is 413 before decoding), decoded and
  stored as a ``pending`` spoken answer: 202, with its sequence number. The transcription
  worker (in ``rehearse serve`` or ``rehearse voice work``) transcribes it.
* ``GET /{id}/spoken`` and ``GET /{id}/spoken/{sequence}``: status, transcript, quality
  flag and speech metrics; the room polls the latter.
* ``POST /{id}/spoken/{sequence}/submit`` (JSON ``{"transcript": "..."}`` or ``{}``):
  the candidate's corrected (or unchanged) transcript, scored like a typed answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from rehearse.service.spoken_answers import SpokenAnswer, SpokenAnswers
from rehearse.settings import get_settings
from rehearse.web.api.voice import read_bounded
from rehearse.web.deps import ManagerDep, PrincipalDep, VisibleSessionDep
from rehearse.web.schemas import ERROR_RESPONSES, item_public

router = APIRouter(prefix="/api/v1/sessions", tags=["interview"], responses=ERROR_RESPONSES)


class TranscriptSubmit(BaseModel):
    """The transcript to score: the candidate's correction, or none to send it as heard."""

    model_config = ConfigDict(extra="forbid")

    transcript: str | None = Field(
        default=None, description="The corrected transcript; omit to submit it as heard."
    )


class SpokenAnswerPublic(BaseModel):
    """A spoken answer: its recording, status, transcript and speech metrics."""

    session_id: str
    sequence: int
    question_id: str
    status: str = Field(
        description="pending, processing, transcribed, flagged, failed or submitted"
    )
    original_filename: str | None
    stored_filename: str
    transcript_filename: str | None
    mime_type: str
    duration_seconds: float
    size_bytes: int
    transcript: str | None
    quality_flag: str | None = Field(description="Why the transcript is too poor to score.")
    confidence: float | None
    metrics: dict[str, Any] | None
    submitted_text: str | None
    error: str | None
    attempts: int
    created_at: str
    scored: bool
    score: dict[str, Any] | None
    next_question: dict[str, Any] | None = None


def spoken_answers(request: Request) -> SpokenAnswers:
    """The app's spoken-answer service (made once, on the app's session manager)."""
    spoken: SpokenAnswers | None = getattr(request.app.state, "spoken", None)
    if spoken is None:
        spoken = SpokenAnswers(request.app.state.services.manager, settings=get_settings())
        request.app.state.spoken = spoken
    return spoken


@router.post(
    "/{session_id}/audio",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SpokenAnswerPublic,
)
async def post_audio(
    request: Request,
    session: VisibleSessionDep,
    principal: PrincipalDep,
    file: UploadFile,
    question_id: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Save a spoken answer (``pending``); the worker transcribes it, then the candidate submits."""
    spoken = spoken_answers(request)
    data = await read_bounded(file, spoken.settings.max_audio_bytes)
    result = await run_in_threadpool(
        spoken.receive,
        session.id,
        data,
        question_id=question_id,
        filename=file.filename,
        actor=principal.id,
    )
    return result.to_json()


@router.get("/{session_id}/spoken", response_model=list[SpokenAnswerPublic])
def list_spoken(request: Request, session: VisibleSessionDep) -> list[dict[str, Any]]:
    """Every spoken answer of the session, in order."""
    return [a.to_json() for a in spoken_answers(request).list(session.id)]


@router.get("/{session_id}/spoken/{sequence}", response_model=SpokenAnswerPublic)
def get_spoken(request: Request, session: VisibleSessionDep, sequence: int) -> dict[str, Any]:
    """One spoken answer: poll it until ``transcribed``, ``flagged`` or ``failed``."""
    return spoken_answers(request).get(session.id, sequence).to_json()


@router.post("/{session_id}/spoken/{sequence}/submit", response_model=SpokenAnswerPublic)
def submit_spoken(
    request: Request,
    session: VisibleSessionDep,
    manager: ManagerDep,
    principal: PrincipalDep,
    sequence: int,
    body: TranscriptSubmit,
) -> dict[str, Any]:
    """Score the transcript (corrected or as heard) like a typed answer."""
    result = spoken_answers(request).submit(
        session.id, sequence, body.transcript, actor=principal.id
    )
    return _scored(result, principal)


def _scored(result: SpokenAnswer, principal: Any) -> dict[str, Any]:
    body = result.to_json()
    # in mock and assessment modes feedback waits for the report: the service's rule
    outcome = None if result.outcome is None else result.outcome.visible_to(principal)
    if outcome is None or outcome.evaluation is None:
        body["score"] = None
    body["next_question"] = (
        item_public(outcome.next_question) if outcome and outcome.next_question else None
    )
    return body
