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


#: What a candidate may not read in the event log while being interviewed: the rubric
#: (key points, reference answers) and, outside practice mode, the per-answer scores.
def redact_event(event: Event, principal: Principal, practice: bool) -> Event:
    """The event as ``principal`` may see it.

    Staff see everything. A candidate sees the question plan without key points and
    reference answers, outside practice mode answer evaluations without their scores
    and feedback (those wait for the report, as in a real interview), and provider
    failures without the provider's error text.
    """
    if principal.role is not PrincipalRole.CANDIDATE:
        return event
    if event.type == "questions_planned":
        data = {k: v for k, v in event.data.items() if k != "questions"}
        return event.model_copy(update={"data": data})
    if event.type == "answer_evaluated" and not practice:
        data = {k: v for k, v in event.data.items() if k != "evaluation"}
        return event.model_copy(update={"data": data})
    if event.type in _PROVIDER_EVENTS:
        # a provider's error text can name endpoints or masked keys: staff only
        data = {k: v for k, v in event.data.items() if k in _PROVIDER_FIELDS_FOR_CANDIDATES}
        return event.model_copy(update={"data": data})
    return event


_PROVIDER_EVENTS = frozenset({"provider_failed", "provider_fallback", "provider_retried"})
_PROVIDER_FIELDS_FOR_CANDIDATES = frozenset({"part", "reason", "notice", "attempt"})
