"""Questions, answers and reports of a session (``/api/v1/sessions/{id}/...``)."""

from __future__ import annotations

import tempfile
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from rehearse.rendering import render_html, render_markdown
from rehearse.web.bodies import StrictJSONRoute
from rehearse.web.deps import ManagerDep, PrincipalDep, VisibleSessionDep
from rehearse.web.schemas import (
    ERROR_RESPONSES,
    AnswerCreate,
    AnswerOutcomePublic,
    AnswerPublic,
    PlanItemPublic,
    PlanPublic,
    ReportPublic,
    SessionPublic,
    WhiteboardPublic,
    item_public,
    session_public,
)

router = APIRouter(
    prefix="/api/v1/sessions",
    tags=["interview"],
    route_class=StrictJSONRoute,
    responses=ERROR_RESPONSES,
)

#: Uploads up to this size stay in memory while they stream in; larger ones spill to disk.
SPOOL_BYTES = 256 * 1024


@router.get("/{session_id}/plan", response_model=PlanPublic, response_model_exclude_unset=True)
def get_plan(
    session: VisibleSessionDep, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Every question of the plan, in order, with status and best score (when shown)."""
    plan = manager.get_plan_for(session.id, principal)
    return {
        "items": [item_public(i) for i in plan.items],
        "progress": plan.progress(),
        "seed": plan.seed,
    }


@router.get(
    "/{session_id}/questions/current",
    response_model=PlanItemPublic | None,
    response_model_exclude_unset=True,
)
def current_question(
    session: VisibleSessionDep, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any] | None:
    """The question to answer now (``null`` when every question is done)."""
    item = manager.get_plan_for(session.id, principal).current()
    return item_public(item) if item else None


@router.get(
    "/{session_id}/questions/next",
    response_model=PlanItemPublic | None,
    response_model_exclude_unset=True,
)
def next_question(
    session: VisibleSessionDep, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any] | None:
    """The same as ``current``: the first question not yet answered or skipped."""
    item = manager.get_plan_for(session.id, principal).current()
    return item_public(item) if item else None


@router.post(
    "/{session_id}/questions/{question_id:path}/skip",
    response_model=SessionPublic,
    response_model_exclude_unset=True,
)
def skip_question(
    session: VisibleSessionDep, question_id: str, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Skip a pending question (it counts 0 in the report)."""
    skipped = manager.skip_question(session.id, question_id, actor=principal.id)
    return session_public(skipped, manager.clock.now(), principal)


@router.put(
    "/{session_id}/questions/{question_id:path}/whiteboard",
    status_code=status.HTTP_201_CREATED,
    response_model=WhiteboardPublic,
    response_model_exclude_unset=True,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def put_whiteboard(
    session: VisibleSessionDep,
    question_id: str,
    request: Request,
    manager: ManagerDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Save the whiteboard drawn for a question (a PNG body, at most ``REHEARSE_MAX_UPLOAD_BYTES``).

    The body streams into a spooled temporary file (on disk past 256 KiB) while the
    edge guard counts it, so an oversized upload is refused (413) at the limit, never
    held whole in memory.
    """
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        size = spool.tell()
        spool.seek(0)
        png = spool.read()
    path = await run_in_threadpool(
        manager.save_whiteboard, session.id, question_id, png, actor=principal.id
    )
    return {"file": f"whiteboard/{path.name}", "bytes": size}


@router.post(
    "/{session_id}/answers",
    status_code=status.HTTP_201_CREATED,
    response_model=AnswerOutcomePublic,
    response_model_exclude_unset=True,
)
def submit_answer(
    session: VisibleSessionDep, body: AnswerCreate, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Save an answer (at once), evaluate it, and maybe add a follow-up."""
    outcome = manager.submit_answer(
        session.id, body.question_id, body.text, body.time_spent_seconds, actor=principal.id
    ).visible_to(principal)  # in mock and assessment modes feedback waits for the report
    now = manager.clock.now()
    evaluation = outcome.evaluation.model_dump(mode="json") if outcome.evaluation else None
    return {
        "session": session_public(outcome.session, now, principal),
        "item": item_public(outcome.item),
        "attempt": outcome.attempt,
        "evaluation": evaluation,
        "follow_up": item_public(outcome.follow_up) if outcome.follow_up else None,
        "next_question": item_public(outcome.next_question) if outcome.next_question else None,
        # e.g. the AI provider failed or the budget ran out and the offline parts took over
        "notices": list(outcome.notices),
    }


@router.get(
    "/{session_id}/answers", response_model=list[AnswerPublic], response_model_exclude_unset=True
)
def get_answers(
    session: VisibleSessionDep, manager: ManagerDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """Every answer submitted, in order, with its evaluation (when shown)."""
    return [a.model_dump(mode="json") for a in manager.get_answers_for(session.id, principal)]


@router.get(
    "/{session_id}/report",
    response_model=ReportPublic,
    response_model_exclude_unset=True,
    responses={
        200: {
            "description": "The report: JSON, Markdown (`format=md`) or HTML (`format=html`).",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        }
    },
)
def get_report(
    request: Request,
    session: VisibleSessionDep,
    manager: ManagerDep,
    principal: PrincipalDep,
    format: str = Query("json", pattern="^(json|md|html)$", description="json, md or html."),
    regenerate: bool = False,
) -> Response | dict[str, Any]:
    """The session's report (stored once the session ends; interim while it runs).

    A candidate reads it when the mode allows: practice at any time, mock once the
    session is final, assessment once staff release it (403 ``ReportHiddenError``).
    """
    report = manager.get_report_for(session.id, principal, regenerate=regenerate)
    if format in ("md", "html"):  # issue 11, item 3: each question's saved whiteboard
        boards = manager.whiteboards_for(session.id, principal)
    if format == "md":
        base = f"{request.base_url}api/v1/sessions/{session.id}/whiteboards/"
        links = {item: base + quote(item) for item in boards}
        return PlainTextResponse(render_markdown(report, links), media_type="text/markdown")
    if format == "html":
        return HTMLResponse(render_html(report, boards))
    return report.model_dump(mode="json")


@router.post(
    "/{session_id}/report/release", response_model=SessionPublic, response_model_exclude_unset=True
)
def release_report(
    session: VisibleSessionDep, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Release a final assessment's report to its candidate (staff only)."""
    released = manager.release_report(session.id, principal)
    return session_public(released, manager.clock.now(), principal)
