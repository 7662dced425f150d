"""Who may see a session (seed ``001_*`` ``validate_session_access``, issue 2 item 8).

Rules: an admin sees every session; an interviewer the sessions they created; a
candidate only their own (the session names them as candidate by principal id,
or by e-mail address, compared case-insensitively). Any principal also sees the
sessions granted to it explicitly (a candidate link grants one session).
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class CandidateIdentity:
    """How sessions name one principal as their candidate: the one rule (issue 8 item 4).

    A session is a principal's own when its ``candidate_id`` is the principal's id, or
    its ``candidate_email`` is the principal's e-mail address compared case-insensitively
    (seed ``001_*``: "candidates their own"). Access checks (:func:`can_access`), the SQL
    filter of the store, the rule that a candidate creates sessions only for themselves
    and the progress of "me" all ask this object; none compares ids or addresses itself.

    Attributes:
        ids: the principal ids a session's ``candidate_id`` may hold (the principal's).
        emails: the lower-cased addresses a session's ``candidate_email`` may hold
            (empty for a principal without an address, such as the local user).
        key: the progress key of the principal's sessions (:func:`candidate_key` of a
            session naming them): their address in lower case, else their id.
    """

    ids: frozenset[str]
    emails: frozenset[str]
    key: str

    def names(self, candidate_id: str | None, candidate_email: str | None) -> bool:
        """True when a session with these candidate fields names this principal.

        Either field alone is enough; ``None`` or an empty address names nobody.
        """
        if candidate_id is not None and candidate_id in self.ids:
            return True
        return bool(candidate_email) and str(candidate_email).lower() in self.emails

    @property
    def keys(self) -> frozenset[str]:
        """Every progress key a session naming this principal may be counted under."""
        return self.ids | self.emails


def candidate_identity(principal: Principal) -> CandidateIdentity:
    """The identity by which sessions name ``principal`` as their candidate."""
    email = principal.email.lower() if principal.email else None
    return CandidateIdentity(
        ids=frozenset({principal.id}),
        emails=frozenset({email}) if email else frozenset(),
        key=candidate_key(email, principal.id, ""),
    )


def candidate_key(
    email: str | None, candidate_id: str | None, name: str, account_email: str | None = None
) -> str:
    """The identity progress counts a session under (the one the access rules match on).

    The session's candidate e-mail (lower case), else the e-mail of the account
    ``candidate_id`` names, else that principal id, else ``name:<lower-cased name>``.
    :attr:`CandidateIdentity.keys` of the principal a session names always holds it.
    """
    if email:
        return email.lower()
    if account_email:
        return account_email.lower()
    if candidate_id:
        return candidate_id
    return f"name:{name.strip().lower()}"


def can_access(principal: Principal, session: Session) -> bool:
    """True when ``principal`` may see and act on ``session``."""
    if principal.role is PrincipalRole.ADMIN or session.id in principal.sessions:
        return True
    if principal.role is PrincipalRole.INTERVIEWER:
        return session.created_by == principal.id
    identity = candidate_identity(principal)
    return identity.names(session.candidate_id, session.config.candidate_email)


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
