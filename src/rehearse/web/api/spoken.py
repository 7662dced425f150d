"""``POST /api/v1/sessions/{id}/audio``: answer the current (or a named) question by voice.

Multipart: ``file`` (the recording, streamed and size-bounded: over ``max_audio_bytes``
is 413 before decoding) and optionally ``question_id``. The recording is stored,
transcribed and, unless the transcript is flagged as too poor, submitted as the answer
(:class:`~rehearse.service.spoken_answers.SpokenAnswers`). Transcription runs in the
request (seconds with the offline model); the queued version belongs to the service.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool

from rehearse.service.spoken_answers import SpokenAnswers
from rehearse.settings import get_settings
from rehearse.web.api.voice import read_bounded
from rehearse.web.deps import ManagerDep, PrincipalDep, VisibleSessionDep
from rehearse.web.schemas import ERROR_RESPONSES, item_public

router = APIRouter(prefix="/api/v1/sessions", tags=["interview"], responses=ERROR_RESPONSES)


def spoken_answers(request: Request) -> SpokenAnswers:
    """The app's spoken-answer service (made once, on the app's session manager)."""
    spoken: SpokenAnswers | None = getattr(request.app.state, "spoken", None)
    if spoken is None:
        spoken = SpokenAnswers(request.app.state.services.manager, settings=get_settings())
        request.app.state.spoken = spoken
    return spoken


@router.post("/{session_id}/audio", status_code=status.HTTP_201_CREATED)
async def post_audio(
    request: Request,
    session: VisibleSessionDep,
    manager: ManagerDep,
    principal: PrincipalDep,
    file: UploadFile,
    question_id: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Store a spoken answer, transcribe it and score the transcript like a typed answer."""
    spoken = spoken_answers(request)
    data = await read_bounded(file, spoken.settings.max_audio_bytes)
    result = await run_in_threadpool(
        spoken.answer,
        session.id,
        data,
        question_id=question_id,
        filename=file.filename,
        actor=principal.id,
    )
    body = result.to_json()
    # in mock and assessment modes feedback waits for the report: the service's rule
    outcome = None if result.outcome is None else result.outcome.visible_to(principal)
    if outcome is not None and outcome.evaluation is None:
        body["score"] = None
    body["next_question"] = (
        item_public(outcome.next_question) if outcome and outcome.next_question else None
    )
    return body
