"""The progress dashboard (``/progress``) and the coach's cohort view (``/progress/cohort``).

Server-rendered like the other pages (:mod:`rehearse.web.pages`): the handler asks the
service, charts are SVG made on the server (:mod:`rehearse.web.charts`), nothing is
fetched from a CDN. The access rules are the service's.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from rehearse.domain.access import Principal
from rehearse.domain.progress import local_day, parse_period, parse_time_zone
from rehearse.errors import RehearseError, SessionNotFoundError
from rehearse.service.progress import EVERYONE, CohortRow
from rehearse.service.userdata import UserData
from rehearse.web import charts
from rehearse.web.auth import SESSION_COOKIE
from rehearse.web.deps import ManagerDep
from rehearse.web.pages import _error_page, _guarded, _render, posted_form

router = APIRouter(include_in_schema=False)

#: Cohort columns a coach may sort by, and how.
SORTS: dict[str, Any] = {
    "user": lambda r: r.user,
    "sessions": lambda r: r.sessions,
    "average": lambda r: -1 if r.average_score is None else r.average_score,
    "trend": lambda r: -1e9 if r.improvement_rate is None else r.improvement_rate,
    "last_active": lambda r: r.last_active_at.isoformat() if r.last_active_at else "",
    "weakest": lambda r: r.weakest_area or "",
}


@router.get("/progress", response_class=HTMLResponse)
def progress_page(
    request: Request,
    manager: ManagerDep,
    user: str = "",
    period: str = "all",
    session: str = "",
) -> Response:
    """The dashboard of ``user`` (default: the caller), or of the candidate of ``session``."""

    def build(principal: Principal) -> Response:
        manager.require_progress_visible(principal)  # no hidden score through the charts
        service = manager.services.progress
        who: str | None = user or None
        if session:
            row = service.queries.session_row(session)
            if row is None:
                raise SessionNotFoundError(session)
            manager.get_session_for(session, principal)  # the caller may see that session
            who = row.candidate_key
        chosen = parse_period(period)
        analytics = service.get_progress_analytics(who, chosen.value, principal=principal)
        board = service.get_milestones(who, principal=principal)
        progress = analytics.progress
        zone = parse_time_zone(progress.time_zone)
        today = local_day(manager.clock.now(), zone)
        counts: dict[date, int] = {d.date: d.questions for d in analytics.questions_per_date}
        context = {
            "analytics": analytics,
            "progress": progress,
            "milestones": board,
            "user": analytics.user,
            "period": chosen.value,
            "periods": ["7d", "30d", "90d", "all"],
            "query_user": who or "",
            "trend_chart": charts.trend_chart(
                [(p.date, p.average_score) for p in analytics.score_trend],
                progress.improvement_rate,
            ),
            "dimension_chart": charts.bar_chart(progress.dimension_averages, "Dimensions"),
            "category_chart": charts.bar_chart(progress.category_averages, "Categories"),
            "calendar": charts.activity_calendar(counts, today),
            "may_delete": analytics.user != EVERYONE
            and UserData(manager).may_delete(analytics.user, principal),
        }
        return _render(request, "progress.html", context)

    return _guarded(request, build)


@router.get("/progress/cohort", response_class=HTMLResponse)
def cohort_page(
    request: Request, manager: ManagerDep, sort: str = "last_active", order: str = "desc"
) -> Response:
    """Every candidate the interviewer or admin may see, sortable, with links and a CSV."""

    def build(principal: Principal) -> Response:
        rows: list[CohortRow] = manager.services.progress.cohort(principal)
        key = SORTS.get(sort, SORTS["last_active"])
        rows.sort(key=key, reverse=order != "asc")
        links = {
            column: "/progress/cohort?"
            + urlencode(
                {"sort": column, "order": "asc" if sort == column and order != "asc" else "desc"}
            )
            for column in SORTS
        }
        context = {"rows": rows, "links": links, "sort": sort, "order": order}
        return _render(request, "cohort.html", context)

    return _guarded(request, build)


# -- deleting a user's data (issue 12, item 7): a confirmation step, then one POST ----------


@router.get("/progress/delete", response_class=HTMLResponse)
def delete_data_page(request: Request, manager: ManagerDep, user: str = "") -> Response:
    """The confirmation step: what would be removed, counted, and the form that removes it."""

    def build(principal: Principal) -> Response:
        preview = UserData(manager).deletion_preview(user or "me", principal)
        return _render(request, "delete_data.html", {"preview": preview, "error": None})

    return _guarded(request, build)


@router.post("/progress/delete", response_class=HTMLResponse)
async def delete_data(request: Request, manager: ManagerDep) -> Response:
    """Delete every row and file of the form's user (the service decides who may); audited.

    The form carries the CSRF token like every other form, and the ticked confirmation;
    without it the confirmation page comes back (422) and nothing is removed.
    """
    posted = await posted_form(request)
    if isinstance(posted, Response):
        return posted
    form, principal = posted
    user = str(form.get("user") or "")
    data = UserData(manager)
    try:
        if form.get("confirm") != "yes":
            preview = await run_in_threadpool(data.deletion_preview, user, principal)
            context = {
                "preview": preview,
                "error": "Tick the box to confirm: this cannot be undone.",
            }
            return _render(request, "delete_data.html", context, status_code=422)
        preview = await run_in_threadpool(data.deletion_preview, user, principal)
        details = await run_in_threadpool(data.delete_user, user, principal)
    except RehearseError as error:
        return _error_page(request, error)
    removed = sum(details["rows"].values())
    page = _render(
        request,
        "data_deleted.html",
        {"user": preview["user"], "details": details, "removed_rows": removed},
    )
    if preview["account"] and preview["user"] == (principal.email or "").lower():
        page.delete_cookie(SESSION_COOKIE)  # their own account is gone with its sign-in
    return page
