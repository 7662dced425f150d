"""``POST /api/v1/sessions/{id}/realtime``: realtime updates from components that are not Python.

The body is a JSON list of events, each ``{"type": ..., <fields of that type>}``
(``audio_metadata``, ``context_injection``, ``tool_execution`` or a component's own
type). The whole list is validated first: one bad event refuses the batch with 422,
its ``fields`` naming the index and the field (``"2.data.tool"``). Accepted events are
queued (202) or, with ``?wait=durable``, committed before the answer (200).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rehearse.domain.access import PrincipalRole
from rehearse.domain.events import EventType
from rehearse.errors import AccessDeniedError, ConfigurationError
from rehearse.service.realtime import RealtimeSessionManager
from rehearse.web.bodies import StrictJSONRoute
from rehearse.web.deps import PrincipalDep, VisibleSessionDep
from rehearse.web.schemas import ERROR_RESPONSES

router = APIRouter(
    prefix="/api/v1/sessions",
    tags=["realtime"],
    route_class=StrictJSONRoute,
    responses=ERROR_RESPONSES,
)

MAX_EVENTS = 5000
#: what a candidate's own client may report (its microphone); the rest is for staff
CANDIDATE_TYPES = frozenset({EventType.AUDIO_METADATA.value})


class RealtimeAccepted(BaseModel):
    """The answer to a realtime post.

    Attributes:
        accepted: how many events were taken.
        durable: whether they are committed (``?wait=durable``).
        queue_position: the last event's place in this worker's realtime queue.
        last_seq: the last event's ``seq`` in the session's log (durable only).
        last_position: its global position in the log of every session (durable only).
    """

    accepted: int
    durable: bool
    queue_position: int | None
    last_seq: int | None = None
    last_position: int | None = None


@router.post(
    "/{session_id}/realtime",
    status_code=202,
    response_model=RealtimeAccepted,
    responses={200: {"model": RealtimeAccepted, "description": "committed (wait=durable)"}},
)
async def post_realtime(
    request: Request,
    session: VisibleSessionDep,
    principal: PrincipalDep,
    events: Annotated[list[Any], Body(description="Realtime events, each with a 'type'.")],
    wait: Literal["durable"] | None = Query(None, description="'durable': answer after commit."),
) -> Any:
    """Queue realtime updates of the session (202), or commit them first (200, wait=durable)."""
    if len(events) > MAX_EVENTS:
        raise ConfigurationError(
            f"events: {len(events)} in one request; at most {MAX_EVENTS} allowed",
            [{"field": "body", "value": len(events), "message": f"at most {MAX_EVENTS}"}],
        )
    updates = [_update(index, item, principal.role) for index, item in enumerate(events)]
    rt: RealtimeSessionManager = request.app.state.realtime
    receipts = await rt.record_many(session.id, updates, wait=wait, actor=principal.id)
    last = receipts[-1] if receipts else None
    body = RealtimeAccepted(
        accepted=len(receipts),
        durable=wait == "durable",
        queue_position=last.queue_position if last else None,
        last_seq=last.seq if last else None,
        last_position=last.position if last else None,
    )
    return JSONResponse(body.model_dump(), status_code=200 if wait == "durable" else 202)


def _update(index: int, item: Any, role: PrincipalRole) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, dict):
        raise ConfigurationError(
            f"event {index}: not a JSON object",
            [{"field": f"{index}", "value": None, "message": "a JSON object with a 'type'"}],
        )
    kind = item.get("type")
    if not isinstance(kind, str):
        shown = kind if isinstance(kind, int | float | bool | None) else None
        raise ConfigurationError(
            f"event {index}: type={shown!r}: a string is required",
            [{"field": f"{index}.type", "value": shown, "message": "a string is required"}],
        )
    if role is PrincipalRole.CANDIDATE and kind not in CANDIDATE_TYPES:
        raise AccessDeniedError(f"a candidate may not record {kind!r} events; ask your interviewer")
    return kind, {k: v for k, v in item.items() if k != "type"}
