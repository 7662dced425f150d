"""``/api/v1/progress``: progress, analytics, learning path, milestones, cohort; session comparison.

Thin: each handler passes the caller to the service, which applies the access rules
(a candidate sees only themself, an interviewer the sessions they created, an admin
everyone). ``{user}`` is an e-mail, a principal id, a candidate name or ``me``.
``GET /api/v1/sessions/compare`` lives here too, registered before the sessions
router so ``compare`` is not taken for a session id.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from rehearse.domain.progress import (
    LearningPath,
    Milestone,
    ProgressAnalytics,
    SessionComparison,
    UserProgress,
)
from rehearse.errors import ConfigurationError
from rehearse.service import access
from rehearse.service.progress import CohortRow, cohort_csv
from rehearse.service.userdata import UserData
from rehearse.web.bodies import StrictJSONRoute
from rehearse.web.deps import ManagerDep, PrincipalDep
from rehearse.web.schemas import ERROR_RESPONSES

#: Bytes an upload or archive is held in memory before it spills to a temporary file.
SPOOL_BYTES = 256 * 1024

router = APIRouter(tags=["progress"], route_class=StrictJSONRoute, responses=ERROR_RESPONSES)


class MilestonesPublic(BaseModel):
    """Every milestone of one user, with progress and the date achieved."""

    user: str
    milestones: list[Milestone]


class CohortPublic(BaseModel):
    """Every candidate the caller may see."""

    candidates: list[CohortRow]


@router.get("/api/v1/progress/cohort", response_model=CohortPublic)
def cohort(
    manager: ManagerDep,
    principal: PrincipalDep,
    format: str = Query("json", description="json or csv."),
) -> CohortPublic | Response:
    """Per candidate (interviewers and admins): sessions, average, trend, last active, weakest."""
    rows = manager.services.progress.cohort(principal)
    if format == "csv":
        return Response(
            cohort_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="cohort.csv"'},
        )
    return CohortPublic(candidates=rows)


@router.get("/api/v1/progress/{user}", response_model=UserProgress)
def user_progress(user: str, manager: ManagerDep, principal: PrincipalDep) -> UserProgress:
    """Progress over all of the user's sessions."""
    return manager.get_user_progress(user, principal=principal)


@router.get("/api/v1/progress/{user}/analytics", response_model=ProgressAnalytics)
def analytics(
    user: str,
    manager: ManagerDep,
    principal: PrincipalDep,
    period: str = Query("30d", description="7d, 30d, 90d or all."),
) -> ProgressAnalytics:
    """Progress over a period with breakdowns, distribution, trend and focus recommendations."""
    return manager.get_progress_analytics(user, period, principal=principal)


@router.get("/api/v1/progress/{user}/learning-path", response_model=LearningPath)
def learning_path(
    user: str,
    manager: ManagerDep,
    principal: PrincipalDep,
    target_level: str | None = Query(None, description="junior, mid, senior or staff."),
) -> LearningPath:
    """Level estimate, focus areas, the next practice set (spaced repetition) and a weekly plan."""
    manager.require_progress_visible(principal)
    return manager.services.progress.generate_learning_path(
        user, principal=principal, target_level=target_level
    )


@router.get("/api/v1/progress/{user}/milestones", response_model=MilestonesPublic)
def milestones(user: str, manager: ManagerDep, principal: PrincipalDep) -> MilestonesPublic:
    """Milestones with progress; newly reached ones are recorded once."""
    board = manager.get_milestones(user, principal=principal)
    key, _ = manager.services.progress.resolve(user, principal)
    return MilestonesPublic(user=key, milestones=board)


class DeletionPublic(BaseModel):
    """What a deletion removed: sessions, rows per table and files (never content)."""

    sessions: int
    rows: dict[str, int]
    files: int


class ImportPublic(BaseModel):
    """How many sessions (and, from a zip, session files) an import restored."""

    imported_sessions: int
    restored_files: int = 0


ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The JSON export, or with ``format=zip`` an archive "
        "(export.json, each session's report.md and files).",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _export(data: UserData, document: dict[str, Any], format: str, name: str) -> Any:
    if format == "json":
        return document
    if format != "zip":
        raise ConfigurationError(
            f"format={format!r}: allowed are json and zip",
            [{"field": "format", "value": format, "message": "json or zip"}],
        )
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed below)
    data.write_archive(document, spool)
    size = spool.tell()
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(1 << 16):
                yield block

    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.zip"',
            "Content-Length": str(size),
        },
    )


@router.get("/api/v1/progress/{user}/export", responses=ZIP_RESPONSE)
def export_user(
    user: str,
    manager: ManagerDep,
    principal: PrincipalDep,
    format: str = Query("json", description="json, or zip (with the session files)."),
) -> Any:
    """Every session of the user as a JSON export (``docs/export-schema.json``) or a zip."""
    manager.require_progress_visible(principal)  # an export holds every evaluation
    data = UserData(manager)
    return _export(data, data.export_user(user, principal), format, "rehearse-export")


@router.get("/api/v1/sessions/{session_id}/export", responses=ZIP_RESPONSE)
def export_session(
    session_id: str,
    manager: ManagerDep,
    principal: PrincipalDep,
    format: str = Query("json", description="json, or zip (with the session files)."),
) -> Any:
    """One session as a JSON export or a zip (its report, whiteboards, recordings)."""
    data = UserData(manager)
    return _export(data, data.export_session(session_id, principal), format, session_id)


@router.delete("/api/v1/progress/{user}", response_model=DeletionPublic)
def delete_user(user: str, manager: ManagerDep, principal: PrincipalDep) -> DeletionPublic:
    """Delete every row and file of the user (admins; a candidate their own); audited."""
    return DeletionPublic(**UserData(manager).delete_user(user, principal))


@router.post("/api/v1/imports", response_model=ImportPublic, status_code=201)
def import_export(
    document: dict[str, Any], manager: ManagerDep, principal: PrincipalDep
) -> ImportPublic:
    """Restore a JSON export (admins only); session ids are kept."""
    return ImportPublic(imported_sessions=UserData(manager).import_document(document, principal))


@router.post(
    "/api/v1/imports/archive",
    response_model=ImportPublic,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def import_archive(
    request: Request, manager: ManagerDep, principal: PrincipalDep
) -> ImportPublic:
    """Restore a zip export with its files (admins only; ids kept, files byte for byte).

    Who may import is checked before the body is read (up to ``max_import_bytes``), so
    nobody but an admin can make the server spool an archive.
    """
    access.require_admin(principal, "import an export")
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        sessions, files = await run_in_threadpool(
            UserData(manager).import_archive, spool, principal
        )
    return ImportPublic(imported_sessions=sessions, restored_files=files)


@router.get("/api/v1/sessions/compare", response_model=SessionComparison)
def compare(
    manager: ManagerDep,
    principal: PrincipalDep,
    a: str = Query(..., description="The earlier session id."),
    b: str = Query(..., description="The later session id."),
) -> SessionComparison:
    """Session b against session a (deltas are b - a); both must be visible to the caller."""
    return manager.compare_sessions(a, b, principal=principal)
