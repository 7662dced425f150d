"""``/api/v1/sessions``: create, read, list, update and move sessions through their lifecycle."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from rehearse.domain.events import Event
from rehearse.web.bodies import StrictJSONRoute
from rehearse.web.deps import ManagerDep, PrincipalDep, VisibleSessionDep
from rehearse.web.schemas import (
    ERROR_RESPONSES,
    EventPublic,
    SessionCreate,
    SessionListPublic,
    SessionPublic,
    SessionUpdate,
    UsageCreate,
    UsagePublic,
    session_public,
)

router = APIRouter(
    prefix="/api/v1/sessions",
    tags=["sessions"],
    route_class=StrictJSONRoute,
    responses=ERROR_RESPONSES,
)

#: Largest ``offset`` and ``after``: event ``seq`` is a 32-bit column on PostgreSQL, and no
#: list is anywhere near 2**31 rows; beyond it is a 422, never a database overflow.
MAX_POSITION = 2**31 - 1


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    response_model_exclude_unset=True,
)
def create_session(
    body: SessionCreate, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Create a session (status ``created``) with its question plan."""
    config = body.model_dump(exclude={"candidate_id"}, exclude_unset=True)
    session = manager.create_session(config, created_by=principal, candidate_id=body.candidate_id)
    return session_public(session, manager.clock.now(), principal)


@router.get("", response_model=SessionListPublic, response_model_exclude_unset=True)
def list_sessions(
    manager: ManagerDep,
    principal: PrincipalDep,
    status_: list[str] | None = Query(None, alias="status", description="One or more states."),
    candidate: str | None = Query(
        None, description="Text in the candidate's name, or their e-mail."
    ),
    role: str | None = None,
    created_after: AwareDatetime | None = Query(
        None, description="Only sessions created at or after this instant (with a time zone)."
    ),
    created_before: AwareDatetime | None = Query(
        None, description="Only sessions created before this instant (with a time zone)."
    ),
    limit: int = Query(50, ge=1, le=500, description="Page size, 1-500."),
    cursor: str | None = Query(None, max_length=200, description="next_cursor of a page."),
    offset: int = Query(0, ge=0, le=MAX_POSITION, description="Sessions to skip."),
) -> dict[str, Any]:
    """Sessions the caller may see, newest first, with the total and the next page's cursor."""
    page = manager.list_sessions(
        status=list(status_) if status_ else None,
        candidate=candidate,
        role=role,
        created_after=created_after,
        created_before=created_before,
        limit=limit,
        cursor=cursor,
        offset=offset,
        principal=principal,
    )
    now = manager.clock.now()
    return {
        "sessions": [session_public(s, now, principal) for s in page.sessions],
        "total": page.total,
        "next_cursor": page.next_cursor,
    }


@router.get("/{session_id}", response_model=SessionPublic, response_model_exclude_unset=True)
async def get_session(
    session: VisibleSessionDep, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any]:
    """One session with its remaining time, token usage, progress and current question."""
    return session_public(session, manager.clock.now(), principal)


@router.patch("/{session_id}", response_model=SessionPublic, response_model_exclude_unset=True)
def update_session(
    session: VisibleSessionDep, body: SessionUpdate, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Change configuration fields (only some once started; none once final). Not for candidates."""
    manager.require_staff(principal, "change a session's settings")
    changes = dict(body.model_extra or {})
    updated = manager.update_session(
        session.id, expected_version=body.expected_version, actor=principal.id, **changes
    )
    return session_public(updated, manager.clock.now(), principal)


def _transition(name: str, summary: str) -> None:
    def handler(
        session: VisibleSessionDep, manager: ManagerDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        moved = getattr(manager, f"{name}_session")(session.id, actor=principal.id)
        return session_public(moved, manager.clock.now(), principal)

    handler.__name__ = f"{name}_session"
    handler.__doc__ = summary
    router.post(
        f"/{{session_id}}/{name}",
        name=f"{name}_session",
        response_model=SessionPublic,
        response_model_exclude_unset=True,
    )(handler)


_transition("start", "Start a created session: its clock starts.")
_transition("pause", "Pause an active session: its clock stops.")
_transition("resume", "Resume a paused session.")
_transition("end", "End an active or paused session; its report is generated.")
_transition("cancel", "Cancel a session that is not final.")


@router.get(
    "/{session_id}/events", response_model=list[EventPublic], response_model_exclude_unset=True
)
def get_events(
    session: VisibleSessionDep,
    manager: ManagerDep,
    principal: PrincipalDep,
    after: int = Query(
        0, ge=0, le=MAX_POSITION, description="Only events after this sequence number."
    ),
    limit: int = Query(500, ge=1, le=5000),
) -> list[dict[str, Any]]:
    """The session's event log, oldest first."""
    events: list[Event] = manager.events_for(session, principal, after_seq=after, limit=limit)
    return [e.to_json() for e in events]


@router.post("/{session_id}/usage", response_model=SessionPublic, response_model_exclude_unset=True)
def record_usage(
    session: VisibleSessionDep, body: UsageCreate, manager: ManagerDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Record the token usage of an AI call (409 past the budget). Not for candidates."""
    manager.require_staff(principal, "record token usage")
    updated = manager.record_usage(
        session.id, body.prompt_tokens, body.completion_tokens, model=body.model, actor=principal.id
    )
    return session_public(updated, manager.clock.now(), principal)


@router.get("/{session_id}/usage", response_model=UsagePublic, response_model_exclude_unset=True)
def get_usage(session: VisibleSessionDep, manager: ManagerDep) -> dict[str, Any]:
    """Token usage, budget and every recorded call."""
    calls = manager.get_events(session.id, types=["usage_recorded"])
    return {
        "prompt_tokens": session.prompt_tokens,
        "completion_tokens": session.completion_tokens,
        "tokens_used": session.tokens_used,
        "token_budget": session.config.token_budget,
        "remaining_tokens": session.remaining_tokens,
        "warning_threshold": session.config.token_warning_threshold,
        "calls": [{"seq": e.seq, "at": e.at.isoformat(), **e.data} for e in calls],
    }
