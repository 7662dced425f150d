"""Who may see a session (seed ``001_*`` ``validate_session_access``, issue 2 item 8).

Rules: an admin sees every session; an interviewer the sessions they created; a
candidate only their own (the session names them as candidate by principal id,
or by e-mail address, compared case-insensitively). Any principal also sees the
sessions granted to it explicitly (a candidate link grants one session).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from rehearse.domain.events import Event
from rehearse.domain.sessions import Session


class PrincipalRole(StrEnum):
    """What a user is allowed to do."""

    CANDIDATE = "candidate"
    INTERVIEWER = "interviewer"
    ADMIN = "admin"


class Principal(BaseModel):
    """An authenticated user, or the local user of a single-user install.

    Attributes:
        id: stable user id (``"local"`` for the local user).
        role: candidate, interviewer or admin.
        email: the user's e-mail address, used to match candidate sessions.
        sessions: sessions granted explicitly, whatever the role (a candidate link
            grants its one session).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    role: PrincipalRole
    email: str | None = None
    sessions: frozenset[str] = frozenset()


#: The user of a local, single-user install: an admin of their own machine.
LOCAL_PRINCIPAL = Principal(id="local", role=PrincipalRole.ADMIN)


def can_access(principal: Principal, session: Session) -> bool:
    """True when ``principal`` may see and act on ``session``."""
    if principal.role is PrincipalRole.ADMIN or session.id in principal.sessions:
        return True
    if principal.role is PrincipalRole.INTERVIEWER:
        return session.created_by == principal.id
    if session.candidate_id is not None and session.candidate_id == principal.id:
        return True
    email = session.config.candidate_email
    return bool(email and principal.email and email.lower() == principal.email.lower())


def redact_event(event: Event, principal: Principal, *, scores: bool, rubric: bool) -> Event:
    """The event as ``principal`` may see it.

    The question plan keeps its key points and reference answers only when ``rubric``;
    answer evaluations, the stored report and which milestone a session achieved only
    when ``scores`` (the service decides both per principal, mode and state: issue 10,
    item 1). A candidate sees provider
    failures without the provider's error text.
    """
    if event.type == "questions_planned" and not rubric:
        data = {k: v for k, v in event.data.items() if k != "questions"}
        return event.model_copy(update={"data": data})
    if event.type in _SCORED_EVENTS and not scores:
        data = {k: v for k, v in event.data.items() if k not in _SCORE_FIELDS}
        return event.model_copy(update={"data": data})
    if event.type == "milestone_achieved" and not scores:
        # "first 90+ answer" on an unreleased assessment would tell its score
        data = {k: v for k, v in event.data.items() if k == "candidate_key"}
        return event.model_copy(update={"data": data})
    if event.type in _PROVIDER_EVENTS and principal.role is PrincipalRole.CANDIDATE:
        # a provider's error text can name endpoints or masked keys: staff only
        data = {k: v for k, v in event.data.items() if k in _PROVIDER_FIELDS_FOR_CANDIDATES}
        return event.model_copy(update={"data": data})
    return event


_SCORED_EVENTS = frozenset({"answer_evaluated", "report_generated", "report_drafted"})
_SCORE_FIELDS = frozenset(
    {"evaluation", "report", "summary", "strengths", "weaknesses", "recommended_topics"}
)
_PROVIDER_EVENTS = frozenset({"provider_failed", "provider_fallback", "provider_retried"})
_PROVIDER_FIELDS_FOR_CANDIDATES = frozenset({"part", "reason", "notice", "attempt"})
