"""Server-rendered pages: the sessions list, the new-session form, the interview room, the report.

Thin like the API: each handler resolves the caller and the session with the API's
access rules (404 / 403 as an HTML page; no credentials in auth mode: a redirect to
``/login``), calls the session manager and renders a Jinja2 template (autoescaped).
The interview room is driven by ``static/interview.js`` over the REST API and the
WebSocket stream; everything it shows comes from the server, so a reload restores it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from annotated_types import Ge, Le, MaxLen
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from rehearse.ai.estimates import estimate_session
from rehearse.domain.access import Principal
from rehearse.domain.config import (
    AI_PROVIDERS,
    CommunicationMode,
    InterviewMode,
    InterviewType,
    Level,
    Role,
    SessionConfig,
)
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.wording import label
from rehearse.errors import ConfigurationError, RehearseError
from rehearse.rendering import install_helpers
from rehearse.settings import get_settings
from rehearse.web.auth import resolve_principal
from rehearse.web.deps import ManagerDep, principal_of
from rehearse.web.errors import NotAuthenticatedError, status_of
from rehearse.web.schemas import AnswerCreate, item_public, session_public

router = APIRouter(include_in_schema=False)

_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_environment)

#: Sessions per page of the list (the ``limit`` query parameter may ask for 1-100).
PAGE_SIZE = 20
#: Form fields whose blank value means "not given" (the config's default applies).
OPTIONAL_FIELDS = frozenset(
    {
        "candidate_email",
        "question_count",
        "plan_seed",
        "challenge_text",
        "job_description",
        "resume_text",
    }
)
#: Config fields the form does not offer: ``question_ids`` is set by a learning path
#: (``rehearse interview --path``), not typed by a person.
NOT_ON_FORM = frozenset({"question_ids"})
FORM_FIELDS = tuple(
    name
    for name in SessionConfig.model_fields
    if name != "enabled_modes" and name not in NOT_ON_FORM
)
CHOICES: dict[str, list[str]] = {
    "role": [r.value for r in Role],
    "level": [v.value for v in Level],
    "interview_type": [t.value for t in InterviewType],
    "mode": [m.value for m in InterviewMode],
    "ai_provider": list(AI_PROVIDERS),
    # issue 13: voice is recorded in the room (or uploaded), transcribed, then submitted
    "enabled_modes": [m.value for m in CommunicationMode],
}
#: Characters an answer may have (the REST API's limit, shown by the room's counter).
MAX_ANSWER_CHARS: int = next(
    meta.max_length
    for meta in AnswerCreate.model_fields["text"].metadata
    if isinstance(meta, MaxLen)
)
#: Languages the code editor offers (Pygments lexer names), the first the default.
CODE_LANGUAGES: dict[str, str] = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "java": "Java",
    "go": "Go",
    "rust": "Rust",
    "c": "C",
    "cpp": "C++",
    "csharp": "C#",
    "kotlin": "Kotlin",
    "swift": "Swift",
    "ruby": "Ruby",
    "sql": "SQL",
    "bash": "Shell",
    "text": "Plain text",
}


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.strftime("%Y-%m-%d %H:%M UTC")


install_helpers(_environment)
_environment.filters["when"] = _when
_environment.filters["dimension"] = label
_environment.globals["STATUSES"] = [s.value for s in SessionStatus]


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    context = {"csrf_token": getattr(request.state, "csrf_token", None), **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _guarded(request: Request, build: Callable[[Principal], Response]) -> Response:
    """Resolve the caller, then build the page; errors become a redirect or an error page."""
    try:
        return build(principal_of(request))
    except NotAuthenticatedError:
        return _to_login(request)
    except RehearseError as error:
        return _error_page(request, error)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _error_page(request: Request, error: RehearseError) -> HTMLResponse:
    status = status_of(error)
    titles = {404: "Not found", 403: "Access denied", 409: "Not possible now", 422: "Invalid input"}
    message = str(error)
    context = {
        "title": titles.get(status, "Something went wrong"),
        "message": message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."),
    }
    return _render(request, "error.html", context, status_code=status)


# -- the sessions list ------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def sessions_page(
    request: Request,
    manager: ManagerDep,
    status: str = "",
    q: str = "",
    cursor: str = "",
    limit: int = PAGE_SIZE,
) -> Response:
    """Sessions the caller may see, newest first, filtered by status and candidate text.

    ``limit`` (sessions per page) is kept within 1-100; ``cursor`` is the next page's.
    """
    limit = min(max(limit, 1), 100)

    def build(principal: Principal) -> Response:
        filters = {"status": status.strip(), "q": q.strip()}
        error = None
        try:
            page = manager.list_sessions(
                status=filters["status"] or None,
                candidate=filters["q"] or None,
                limit=limit,
                cursor=cursor or None,
                principal=principal,
            )
            now = manager.clock.now()
            outcomes = manager.outcomes_for(page.sessions, principal)
            rows = [
                {**session_public(s, now, principal), "outcome": outcomes[s.id]}
                for s in page.sessions
            ]
            total, next_cursor = page.total, page.next_cursor
        except ConfigurationError as exc:
            rows, total, next_cursor, error = [], 0, None, str(exc)
        query = {k: v for k, v in filters.items() if v}
        if limit != PAGE_SIZE:
            query["limit"] = str(limit)
        context = {
            "rows": rows,
            "total": total,
            "filters": filters,
            "error": error,
            "first_url": ("/?" + urlencode(query)).rstrip("?") if cursor else None,
            "next_url": "/?" + urlencode({**query, "cursor": next_cursor}) if next_cursor else None,
        }
        return _render(request, "sessions.html", context, status_code=422 if error else 200)

    return _guarded(request, build)


# -- the new-session form ---------------------------------------------------------------


def _limits() -> dict[str, dict[str, Any]]:
    """HTML constraints of every config field, read from :class:`SessionConfig` itself."""
    limits: dict[str, dict[str, Any]] = {}
    for name, info in SessionConfig.model_fields.items():
        found: dict[str, Any] = {}
        for meta in info.metadata:
            if isinstance(meta, Ge):
                found["min"] = meta.ge
            elif isinstance(meta, Le):
                found["max"] = meta.le
            elif isinstance(meta, MaxLen):
                found["maxlength"] = meta.max_length
        limits[name] = found
    return limits


def _defaults() -> tuple[dict[str, str], list[str]]:
    settings = get_settings()
    values = dict.fromkeys(FORM_FIELDS, "")
    values.update(
        role=Role.BACKEND.value,
        level=Level.MID.value,
        interview_type=InterviewType.MIXED.value,
        mode=InterviewMode.PRACTICE.value,
        time_limit_minutes=str(settings.default_time_limit_minutes),
        token_budget=str(settings.default_token_budget),
        token_warning_threshold=str(settings.default_token_warning_threshold),
        ai_provider=settings.default_ai_provider,
        ai_model=settings.default_ai_model,
        max_follow_ups=str(SessionConfig.model_fields["max_follow_ups"].default),
    )
    return values, [CommunicationMode.TEXT.value]


def _form_page(
    request: Request,
    values: dict[str, str],
    modes: list[str],
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
) -> HTMLResponse:
    context = {
        "values": values,
        "modes": modes,
        "errors": errors or {},
        "general": general or [],
        "limits": _limits(),
        "choices": CHOICES,
    }
    return _render(
        request, "new_session.html", context, status_code=422 if errors or general else 200
    )


@router.get("/sessions/new", response_class=HTMLResponse)
def new_session_page(request: Request) -> Response:
    """The form to create a session, filled with the settings' defaults."""
    return _guarded(request, lambda _principal: _form_page(request, *_defaults()))


def _config_from_form(form: FormData) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The config to validate, and the user's values as typed (kept when re-rendering)."""
    values = {name: str(form.get(name) or "").replace("\r\n", "\n") for name in FORM_FIELDS}
    modes = [str(mode) for mode in form.getlist("enabled_modes")]
    config: dict[str, Any] = {
        name: value
        for name, value in values.items()
        if not (name in OPTIONAL_FIELDS and not value.strip())
    }
    config["enabled_modes"] = modes
    return config, values, modes


def _field_errors(error: ConfigurationError) -> tuple[dict[str, str], list[str]]:
    by_field: dict[str, str] = {}
    general: list[str] = []
    for entry in error.errors:
        name = str(entry.get("field", "")).split(".")[0]
        message = str(entry.get("message", "is invalid"))
        text = message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
        if name in SessionConfig.model_fields:
            by_field.setdefault(name, text)
        else:
            general.append(f"{name or 'Form'}: {message}")
    if not by_field and not general:
        general.append(str(error))
    return by_field, general


async def posted_form(request: Request) -> tuple[FormData, Principal] | Response:
    """A posted form and who sent it (its CSRF token checked), or the page to answer with.

    Returns the login redirect when nobody is signed in, or the error page when the
    token (or the principal) is refused; nothing is done on the caller's side then.
    """
    form = await request.form()
    try:
        principal = await run_in_threadpool(
            resolve_principal, request, {"csrf_token": form.get("csrf_token")}
        )
    except NotAuthenticatedError:
        return _to_login(request)
    except RehearseError as error:
        return _error_page(request, error)
    return form, principal


@router.post("/sessions/new", response_class=HTMLResponse)
async def create_session_page(request: Request, manager: ManagerDep) -> Response:
    """Create the session from the form: 303 to its interview page, or the form again (422)."""
    posted = await posted_form(request)
    if isinstance(posted, Response):
        return posted
    form, principal = posted
    config, values, modes = _config_from_form(form)
    refused = [mode for mode in modes if mode not in CHOICES["enabled_modes"]]
    if refused:
        allowed = ", ".join(CHOICES["enabled_modes"])
        message = f"{', '.join(refused)} is not offered; choose from {allowed}."
        kept = [mode for mode in modes if mode in CHOICES["enabled_modes"]]
        return _form_page(request, values, kept, {"enabled_modes": message})
    try:
        session = await run_in_threadpool(manager.create_session, config, created_by=principal)
    except ConfigurationError as error:
        return _form_page(request, values, modes, *_field_errors(error))
    return RedirectResponse(f"/sessions/{session.id}", status_code=303)


# -- the interview room ----------------------------------------------------------------


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def interview_page(request: Request, session_id: str, manager: ManagerDep) -> Response:
    """The interview room: the current question, answer box, clock, budget and controls."""

    def build(principal: Principal) -> Response:
        session = manager.get_session_for(session_id, principal)
        view = session_public(session, manager.clock.now(), principal)
        feedback = manager.last_feedback(session, principal)
        feedback_item = None
        if feedback is not None:  # the question it scored, for "Try again" (item 2)
            evaluated = manager.events_for(session, principal, types=("answer_evaluated",))
            plan = manager.get_plan_for(session.id, principal)
            last_id = evaluated[-1].data["item_id"] if evaluated else None
            feedback_item = next((item_public(i) for i in plan.items if i.id == last_id), None)
        modes = view["config"]["enabled_modes"]
        boards = manager.whiteboards_for(session.id, principal)
        base = f"/api/v1/sessions/{session.id}/whiteboards/"
        context = {
            "session": view,
            "state": {
                "session": view,
                "last_seq": session.last_seq,
                "feedback": feedback,
                "feedback_item": feedback_item,
                "max_answer_chars": MAX_ANSWER_CHARS,
                # issue 11, item 3: the drawings saved so far, shown again on return
                "whiteboards": {item: base + quote(item) for item in boards},
                "code": CommunicationMode.CODE.value in modes,
                "languages": CODE_LANGUAGES,
                "retry": view["config"]["mode"] == InterviewMode.PRACTICE.value,
            },
            "feedback": feedback,
            "progress_text": view["progress_text"],
            "whiteboard": CommunicationMode.WHITEBOARD.value in modes,
            "voice": CommunicationMode.VOICE.value in modes,
            "code": CommunicationMode.CODE.value in modes,
            "languages": CODE_LANGUAGES,
            "max_answer_chars": MAX_ANSWER_CHARS,
            # issue 5: what the AI parts will cost, shown before the candidate starts
            "estimate": estimate_session(session.config).describe(),
        }
        return _render(request, "interview.html", context)

    return _guarded(request, build)


# -- the report ----------------------------------------------------------------------------


@router.get("/sessions/{session_id}/report", response_class=HTMLResponse)
def report_page(request: Request, session_id: str, manager: ManagerDep) -> Response:
    """The session's report (interim while the session runs), printable."""

    def build(principal: Principal) -> Response:
        session = manager.get_session_for(session_id, principal)
        report = manager.get_report_for(session.id, principal)
        boards = manager.whiteboards_for(session.id, principal)
        base = f"/api/v1/sessions/{session.id}/whiteboards/"
        context = {
            "report": report,
            "final": session.status.is_final,
            "whiteboards": {item: base + quote(item) for item in boards},
        }
        return _render(request, "report_page.html", context)

    return _guarded(request, build)
