"""``/api/v1/sessions/{id}``: the saved whiteboards, and deleting a session (issue 11).

The whiteboard of a question is served as the PNG it was saved as; deleting a session
removes its rows and its folder (staff, or a candidate who created it).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from rehearse.web.deps import ManagerDep, PrincipalDep
from rehearse.web.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"], responses=ERROR_RESPONSES)


@router.get(
    "/{session_id}/whiteboards/{question_id:path}",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The PNG as saved.",
        }
    },
)
async def get_whiteboard(
    session_id: str, question_id: str, manager: ManagerDep, principal: PrincipalDep
) -> FileResponse:
    """The last whiteboard saved for a question (404 when it has none)."""
    path = await run_in_threadpool(manager.whiteboard_for, session_id, question_id, principal)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_session(session_id: str, manager: ManagerDep, principal: PrincipalDep) -> Response:
    """Delete a session for good: its rows, events, candidate links and files."""
    await run_in_threadpool(manager.delete_session, session_id, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
