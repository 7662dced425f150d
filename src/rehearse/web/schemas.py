"""Request bodies and response shapes of the REST API (``XCreate`` / ``XUpdate`` / ``XPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from rehearse.domain.access import Principal
from rehearse.domain.config import SessionConfig
from rehearse.domain.plan import PlanItem
from rehearse.domain.sessions import Session
from rehearse.service import access


class SessionCreate(SessionConfig):
    """A new session: the session config fields by their Python names."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    candidate_id: str | None = Field(default=None, max_length=64)


class SessionUpdate(BaseModel):
    """Fields to change (see ``update_session``); ``expected_version`` guards a stale edit."""

    model_config = ConfigDict(extra="allow")

    expected_version: int | None = None


class AnswerCreate(BaseModel):
    """An answer to one question of the plan."""

    model_config = ConfigDict(extra="forbid")

    question_id: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=20_000)
    time_spent_seconds: float = Field(default=0.0, ge=0, le=14_400)


class UsageCreate(BaseModel):
    """Token usage of one AI call."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    model: str = Field(min_length=1, max_length=200)


class LinkCreate(BaseModel):
    """A candidate link for a session."""

    model_config = ConfigDict(extra="forbid")

    ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=30 * 24 * 3600)


def session_public(session: Session, now: datetime, principal: Principal) -> dict[str, Any]:
    """A session as ``principal`` may see it: its JSON view plus the question to ask now.

    What the principal may see is the service's rule (:func:`access.session_for`).
    """
    session = access.session_for(session, principal)
    data = session.to_json(now)
    current = session.interview.current() if session.interview else None
    data["current_question"] = item_public(current) if current else None
    return data


def item_public(item: PlanItem) -> dict[str, Any]:
    """A plan item as the API shows it."""
    return item.model_dump(mode="json")


# -- response models (``XPublic``): what every 2xx and every error looks like ----------------
#
# The handlers return the JSON views the README documents (``Session.to_json``, the
# domain models' dumps); these models describe them in ``/openapi.json`` and check them
# on the way out. Each allows extra keys and every route uses
# ``response_model_exclude_unset=True``, so a response carries exactly the keys its view
# has: declaring a field here never adds a ``null`` to a body, and instants stay the
# strings the view wrote.

#: An ISO 8601 instant with its offset, as the views write it (``2026-01-01T09:00:00+00:00``).
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
#: Seconds or other figures that are whole in some views and fractional in others.
Number = int | float


class PublicModel(BaseModel):
    """Base of the response models: known fields typed, further keys passed through."""

    model_config = ConfigDict(extra="allow")


class ProgressPublic(PublicModel):
    """Questions of the plan by status (follow-ups counted apart)."""

    total: int
    answered: int
    skipped: int
    pending: int
    follow_ups: int = 0


class PlanItemPublic(PublicModel):
    """One question of the plan: status, attempts and best score (0-100) so far."""

    id: str
    question_id: str
    kind: str
    text: str
    category: str
    parent_id: str | None = None
    answer_time_seconds: int
    status: str
    attempts: int = 0
    score: int | None = None


class SessionConfigPublic(PublicModel):
    """The session's configuration (README "Session fields")."""

    candidate_name: str
    candidate_email: str | None = None
    role: str
    level: str
    interview_type: str
    mode: str
    time_limit_minutes: int
    token_budget: int
    token_warning_threshold: Number
    ai_provider: str
    ai_model: str
    enabled_modes: list[str]
    question_count: int | None = None
    max_follow_ups: int | None = None
    plan_seed: int | None = None
    question_ids: list[str] | None = None


class SessionPublic(PublicModel):
    """A session at the moment of the response: time in seconds, usage in tokens."""

    id: str
    status: str
    version: int
    config: SessionConfigPublic
    created_by: str | None = None
    candidate_id: str | None = None
    created_at: Instant
    updated_at: Instant
    started_at: Instant | None = None
    ended_at: Instant | None = None
    deadline_at: Instant | None = None
    active_seconds: Number
    remaining_seconds: Number
    time_limit_seconds: int
    prompt_tokens: int
    completion_tokens: int
    tokens_used: int
    token_budget: int
    remaining_tokens: int
    progress: ProgressPublic | None = None
    progress_text: str | None = None
    report_status: str | None = None
    current_question: PlanItemPublic | None = None


class SessionListPublic(PublicModel):
    """A page of sessions, newest first; ``next_cursor`` is ``null`` on the last page."""

    sessions: list[SessionPublic]
    total: int | None = None
    next_cursor: str | None = None


class PlanPublic(PublicModel):
    """Every question of the plan, in order, with the progress and the plan's seed."""

    items: list[PlanItemPublic]
    progress: ProgressPublic
    seed: int | None = None


class EvaluationPublic(PublicModel):
    """The evaluation of one answer: score and dimensions 0-100, key points, feedback."""

    score: int | None = None
    dimensions: dict[str, Number] | None = None
    key_points_hit: list[str] | None = None
    key_points_missed: list[str] | None = None
    feedback: list[str] | None = None
    strengths: list[str] | None = None


class AnswerOutcomePublic(PublicModel):
    """What an answer did: the session and item after it, the follow-up, the next question.

    ``evaluation`` is ``null`` outside practice mode (feedback waits for the report);
    ``notices`` says when the offline parts took over (provider failure, budget).
    """

    session: SessionPublic
    item: PlanItemPublic
    attempt: int
    evaluation: EvaluationPublic | None = None
    follow_up: PlanItemPublic | None = None
    next_question: PlanItemPublic | None = None
    notices: list[str] = []


class AnswerPublic(PublicModel):
    """One submitted answer, with its evaluation when it has one."""

    item_id: str
    attempt: int
    text: str
    time_spent_seconds: Number
    evaluation: EvaluationPublic | None = None


class EventPublic(PublicModel):
    """One event of the session's log (``seq`` per session, ``position`` across all)."""

    session_id: str
    seq: int
    type: str
    at: Instant
    actor: str | None = None
    data: dict[str, Any]
    position: int | None = None


class UsageCallPublic(PublicModel):
    """One recorded AI call: its tokens, model and the totals after it."""

    seq: int
    at: Instant


class UsagePublic(PublicModel):
    """Token usage and budget of a session (tokens), and every recorded call."""

    prompt_tokens: int
    completion_tokens: int
    tokens_used: int
    token_budget: int
    remaining_tokens: int
    warning_threshold: Number
    calls: list[UsageCallPublic]


class ReportQuestionPublic(PublicModel):
    """One question of the report: the answer, its score (0-100) and feedback."""

    id: str
    text: str
    status: str
    score: int | None = None


class ReportPublic(PublicModel):
    """The session's report: overall and per-category scores (0-100), per-question detail."""

    session_id: str
    status: str
    overall_score: Number | None = None
    questions: list[ReportQuestionPublic] = []


class WhiteboardPublic(PublicModel):
    """A saved whiteboard: its file in the session folder and its size in bytes."""

    file: str
    bytes: int


class LinkCreatedPublic(PublicModel):
    """A new candidate link: its ``url`` holds the secret and is shown this once."""

    id: str
    url: str
    expires_at: Instant


class LinkPublic(PublicModel):
    """A candidate link as listed (never its token)."""

    id: str
    session_id: str
    expires_at: Instant
    revoked_at: Instant | None = None


class HealthPublic(PublicModel):
    """Liveness or readiness: ``ok`` / ``ready``, or why not (with a 503)."""

    status: str


class FieldErrorPublic(PublicModel):
    """One invalid field: its dotted name, the value sent (when it can be echoed), why."""

    field: str
    value: Any = None
    message: str


class ErrorPublic(PublicModel):
    """Every error body: the error class and a one-line message (a 409 adds state, action)."""

    error: str
    message: str


class ValidationErrorPublic(ErrorPublic):
    """A 422: the message and one entry per invalid field."""

    fields: list[FieldErrorPublic] = []


#: Error responses of every API route, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "Not signed in, or the credential is not valid."},
    403: {"model": ErrorPublic, "description": "Access denied (role, origin, host or CSRF)."},
    404: {"model": ErrorPublic, "description": "No such session, question or link."},
    405: {"model": ErrorPublic, "description": "Method not allowed; `Allow` lists the methods."},
    409: {"model": ErrorPublic, "description": "Refused in the session's state."},
    413: {"model": ErrorPublic, "description": "Request body over the limit."},
    422: {"model": ValidationErrorPublic, "description": "Invalid input, naming each field."},
    503: {"model": ErrorPublic, "description": "The database failed; nothing was written."},
}
