"""Who may see and do what: decided once here, for the Python API, REST, stream and pages.

Session access follows seed ``001_*`` (:func:`rehearse.domain.access.can_access`):
admins see every session, interviewers the sessions they created, candidates their own.
Staff-only actions (changing settings, recording usage, links, releasing a report) are
refused to candidates here, so the Python API enforces them too.

What a candidate may read of a session they may see (issue 10, item 1):

- **practice** mode: scores and feedback after each answer; the rubric (key points,
  reference answers) only once the session is final;
- **mock** mode: no score, feedback, key point or reference answer of the running
  session through any endpoint, page, export or stream; everything once it is final;
- **assessment** mode: as mock, but the report only once staff release it
  (``report_released``).

Staff see everything, always. The local user of a single-user install (no sign-in) is
an admin of their own machine but also the candidate taking the interview, so they get
the candidate's view of a running session's scores: a mock interview on a laptop keeps
its feedback for the report, as in a real one.
"""

from __future__ import annotations

from typing import Any

from rehearse.domain.access import (
    LOCAL_PRINCIPAL,
    Principal,
    PrincipalRole,
    can_access,
    redact_event,
)
from rehearse.domain.config import InterviewMode
from rehearse.domain.events import Event
from rehearse.domain.plan import InterviewState, PlanItem
from rehearse.domain.reports import Attempt
from rehearse.domain.sessions import Session
from rehearse.errors import AccessDeniedError, ReportHiddenError


def is_staff(principal: Principal) -> bool:
    """True for interviewers and admins (the local user of a single-user install is admin)."""
    return principal.role is not PrincipalRole.CANDIDATE


def require_staff(principal: Principal, action: str) -> None:
    """Refuse ``action`` to a candidate (candidates take sessions, they do not set them).

    Raises:
        AccessDeniedError: the principal is a candidate.
    """
    if not is_staff(principal):
        raise AccessDeniedError(f"a candidate may not {action}; ask your interviewer")


def require_admin(principal: Principal, action: str) -> None:
    """Refuse ``action`` to anyone but an admin (importing exports, reading the audit log).

    Raises:
        AccessDeniedError: the principal is a candidate or an interviewer.
    """
    if principal.role is not PrincipalRole.ADMIN:
        raise AccessDeniedError(
            f"{principal.role.value} {principal.id!r} may not {action}; ask an admin"
        )


def require_may_delete_user_data(principal: Principal, key: str) -> None:
    """Refuse deleting the data of candidate ``key`` unless ``principal`` may (issue 12).

    Admins may delete any user's data; a candidate only their own (their principal id
    or e-mail is ``key``); interviewers never (an assessment they ran is not theirs to
    erase, nor the candidate's other sessions).

    Raises:
        AccessDeniedError: an interviewer, or a candidate naming someone else.
    """
    if principal.role is PrincipalRole.ADMIN:
        return
    if principal.role is PrincipalRole.INTERVIEWER:
        raise AccessDeniedError(
            f"interviewer {principal.id!r} may not delete a user's data; ask an admin"
        )
    if key not in {principal.id, (principal.email or "").lower()}:
        raise AccessDeniedError(
            f"candidate {principal.id!r} may delete only their own data, not {key!r}"
        )


def check_access(session: Session, principal: Principal) -> Session:
    """``session``, if ``principal`` may see it.

    Raises:
        AccessDeniedError: the principal may not see it.
    """
    if not can_access(principal, session):
        raise AccessDeniedError(
            f"{principal.role.value} {principal.id!r} may not access session {session.id}"
        )
    return session


def _is_local(principal: Principal) -> bool:
    return principal.id == LOCAL_PRINCIPAL.id and principal.role is LOCAL_PRINCIPAL.role


def scores_visible(session: Session, principal: Principal) -> bool:
    """True when ``principal`` may read the session's scores, feedback and report now."""
    local = _is_local(principal)
    if is_staff(principal) and not local:
        return True
    mode = session.config.mode
    if mode is InterviewMode.PRACTICE:
        return True
    if not session.status.is_final:
        return False
    if mode is InterviewMode.ASSESSMENT and not local:
        return session.interview is not None and session.interview.report_released
    return True


def rubric_visible(session: Session, principal: Principal) -> bool:
    """True when ``principal`` may read key points and reference answers."""
    if _is_local(principal):
        return scores_visible(session, principal)
    return is_staff(principal) or (session.status.is_final and scores_visible(session, principal))


def require_scores_visible(session: Session, principal: Principal) -> None:
    """Refuse a candidate the scores of a session whose mode keeps them for later.

    Raises:
        ReportHiddenError: the session is mock or assessment and not yet final, or an
            assessment whose report staff have not released.
    """
    if scores_visible(session, principal):
        return
    if session.config.mode is InterviewMode.ASSESSMENT and session.status.is_final:
        raise ReportHiddenError(
            session.id, "the report of an assessment is shown once your interviewer releases it"
        )
    raise ReportHiddenError(
        session.id,
        f"scores and feedback of a {session.config.mode.value} interview are shown when it ends",
    )


def event_for(event: Event, session: Session, principal: Principal) -> Event:
    """The event as ``principal`` may read it (see :func:`redact_event`)."""
    return redact_event(
        event,
        principal,
        scores=scores_visible(session, principal),
        rubric=rubric_visible(session, principal),
    )


def events_for(events: list[Event], session: Session, principal: Principal) -> list[Event]:
    """Each event as ``principal`` may read it."""
    scores, rubric = scores_visible(session, principal), rubric_visible(session, principal)
    return [redact_event(e, principal, scores=scores, rubric=rubric) for e in events]


def item_for(item: PlanItem, session: Session, principal: Principal) -> PlanItem:
    """The plan item, without its score while the candidate may not see scores."""
    if item.score is None or scores_visible(session, principal):
        return item
    return item.model_copy(update={"score": None})


def plan_for(session: Session, principal: Principal) -> InterviewState | None:
    """The session's plan as ``principal`` may read it (scores hidden while they wait)."""
    plan = session.interview
    if plan is None or scores_visible(session, principal):
        return plan
    return plan.model_copy(
        update={"items": tuple(item_for(i, session, principal) for i in plan.items)}
    )


def session_for(session: Session, principal: Principal) -> Session:
    """The session as ``principal`` may read it (its plan's scores hidden while they wait)."""
    plan = plan_for(session, principal)
    if plan is session.interview:
        return session
    return session.model_copy(update={"interview": plan})


def attempts_for(attempts: list[Attempt], session: Session, principal: Principal) -> list[Attempt]:
    """The answers as ``principal`` may read them (no evaluation while scores wait)."""
    if scores_visible(session, principal):
        return attempts
    return [a.model_copy(update={"evaluation": None}) for a in attempts]


def evaluation_for(
    evaluation: dict[str, Any] | None, session: Session, principal: Principal
) -> dict[str, Any] | None:
    """An answer's evaluation, if ``principal`` may read it now."""
    return evaluation if scores_visible(session, principal) else None


def require_progress_visible(sessions: list[Session], principal: Principal) -> None:
    """Refuse progress figures while they would reveal scores the candidate must not see yet.

    Progress (seed 004) aggregates every evaluated answer as it is scored, so while one of
    the candidate's mock or assessment sessions keeps its scores back (running, or an
    assessment whose report is not released), the progress calls, comparisons, learning
    path and export are refused to that candidate (issue 10, item 1). Staff are never
    refused.

    Args:
        sessions: the principal's sessions to check (those that may hold hidden scores).
        principal: who asks.

    Raises:
        ReportHiddenError: a session keeps its scores from ``principal`` now.
    """
    for session in sessions:
        if session.interview is None or not session.interview.settled_or_scored():
            continue
        if not scores_visible(session, principal):
            raise ReportHiddenError(
                session.id,
                f"progress is shown again once your {session.config.mode.value} interview's "
                "scores are (when it ends; an assessment when your interviewer releases it)",
            )
