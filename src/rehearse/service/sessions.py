"""The session manager: creates, runs, times, budgets, records and evaluates sessions.

It is seed ``000_*``'s orchestrator, seed ``001_*``'s session service and seed
``004_*``'s practice engine behind one facade with the seeds' method names. It holds no
rule of its own: each method hands over to one of the composed services of
:class:`~rehearse.service.composition.Services` (sessions, interviews, reports, the AI
collaborator), which all write through one
:class:`~rehearse.service.writer.SessionWriter`.

Methods that take a ``principal`` return what that principal may see (issue 10, item 1,
decided in :mod:`rehearse.service.access`): the REST API, the live stream and the pages
call those, so the Python API, the web and the CLI apply the same rules.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from rehearse.ai.protocols import Evaluator, Interviewer
from rehearse.ai.providers import ModelSource
from rehearse.clock import Clock
from rehearse.domain.access import Principal
from rehearse.domain.accounts import SessionLink
from rehearse.domain.config import InterviewMode
from rehearse.domain.events import Event, EventType
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.plan import InterviewState, PlanItem
from rehearse.domain.progress import (
    LearningPath,
    Milestone,
    ProgressAnalytics,
    SessionComparison,
    UserProgress,
)
from rehearse.domain.reports import Attempt, Report
from rehearse.domain.sessions import Session
from rehearse.errors import (
    AccessDeniedError,
    QuestionNotFoundError,
    SessionNotFoundError,
    UserNotFoundError,
)
from rehearse.service import access
from rehearse.service.composition import Services
from rehearse.service.interviews import AnswerOutcome
from rehearse.storage import SessionPage, Store
from rehearse.storage.folders import SessionFolders

__all__ = ["AnswerOutcome", "SessionManager"]

#: Seconds an answer may wait for its evaluation before a read evaluates it: another
#: worker may be scoring it right now (a slow model takes tens of seconds).
RECOVERY_GRACE_SECONDS = 120.0


class SessionManager:
    """Creates and runs interview sessions (see the README for the whole API).

    The AI parts are chosen per session by its ``ai_provider`` and ``ai_model``
    (issue 5): ``offline`` sessions use the injected interviewer and evaluator (by
    default the shipped question bank and the calibrated rubric scorer, seed 000); any
    other provider uses a language model from ``models`` for that session, with the
    injected parts as its fallback.

    Args:
        store: where sessions live (:func:`rehearse.storage.open_store`).
        clock: the time source; tests pass a :class:`~rehearse.clock.FakeClock`.
        interviewer: chooses questions and follow-ups offline (and is the fallback).
        evaluator: scores answers offline (and is the fallback).
        folders: root of the session folders (default ``<data dir>/sessions``).
        models: where LLM sessions get their pydantic-ai model (default: the real
            providers, :class:`~rehearse.ai.providers.ProviderModels`; tests pass
            :class:`~rehearse.ai.providers.StaticModels`).
        services: already composed services to front (``Services.manager`` passes
            them); the other arguments are then ignored.
    """

    def __init__(
        self,
        store: Store | None = None,
        clock: Clock | None = None,
        *,
        interviewer: Interviewer | None = None,
        evaluator: Evaluator | None = None,
        folders: Path | None = None,
        models: ModelSource | None = None,
        services: Services | None = None,
    ) -> None:
        if services is None:
            if store is None:
                raise TypeError("SessionManager needs a store (or services)")
            services = Services(
                store,
                clock,
                interviewer=interviewer,
                evaluator=evaluator,
                folders=folders,
                models=models,
            )
        self.services = services

    @classmethod
    def from_url(cls, database_url: str | None = None, clock: Clock | None = None) -> Self:
        """A manager on the database ``database_url`` names, migrated to the current schema.

        No URL means ``REHEARSE_DATABASE_URL``, else the SQLite file in the user data
        directory.

        Raises:
            ConfigurationError: the URL is malformed or unsupported.
            DataStoreError: the database cannot be reached or migrated.
        """
        return cls(services=Services.from_url(database_url, clock))

    # -- the composed parts, for callers that need them -----------------------------

    @property
    def store(self) -> Store:
        """The session store."""
        return self.services.store

    @property
    def clock(self) -> Clock:
        """The time source."""
        return self.services.clock

    @property
    def interviewer(self) -> Interviewer:
        """The offline interviewer (every LLM part's fallback)."""
        return self.services.ai.interviewer

    @property
    def evaluator(self) -> Evaluator:
        """The offline evaluator (the LLM evaluator's fallback)."""
        return self.services.ai.evaluator

    @property
    def models(self) -> ModelSource:
        """Where LLM sessions get their model."""
        return self.services.ai.models

    @property
    def folders(self) -> SessionFolders:
        """The session folders on disk."""
        return self.services.folders

    def close(self) -> None:
        """Release the store's connections."""
        self.services.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sessions (seeds 000 and 001) ----------------------------------------------------

    def create_session(
        self,
        config: Any,
        *,
        created_by: Principal | None = None,
        candidate_id: str | None = None,
    ) -> Session:
        """Create a session in ``created``, with its question plan (``session_created``).

        Args:
            config: a :class:`~rehearse.domain.config.SessionConfig`, or a dict of its
                fields to validate.
            created_by: who creates it (default: the local user). A candidate creates
                sessions for themselves only.
            candidate_id: the candidate's principal id, when an interviewer creates it.

        Raises:
            ConfigurationError: the config is invalid; the message names each field,
                its value and what is allowed. Nothing is stored.
            AccessDeniedError: a candidate named another candidate.
        """
        return self.services.sessions.create_session(
            config, created_by=created_by, candidate_id=candidate_id
        )

    def get_session(self, session_id: str) -> Session:
        """The session, expired first if its time ran out.

        An answer left without its evaluation for :data:`RECOVERY_GRACE_SECONDS` (a
        crash between its two commits) is evaluated first (issue 10, item 3).

        Raises:
            SessionNotFoundError: no such session.
        """
        session = self.services.sessions.get_session(session_id)
        waiting = session.interview is not None and session.interview.unsettled()
        interviews = self.services.interviews
        if waiting and interviews.recover(session_id, grace_seconds=RECOVERY_GRACE_SECONDS):
            session = self.services.sessions.get_session(session_id)
        return session

    def resolve_session_id(self, given: str, principal: Principal | None = None) -> str:
        """The whole id of the one session (``principal`` may see) whose id starts ``given``.

        A whole id is returned as it is; a prefix needs at least 6 characters (issue 11:
        ``rehearse report 05c0f6``).

        Raises:
            ConfigurationError: a prefix too short, or shared by several sessions (they
                are named in the message).
            SessionNotFoundError: no session id starts with it.
        """
        return self.services.sessions.resolve_session_id(given, principal)

    def list_sessions(
        self,
        *,
        status: SessionStatus | str | list[SessionStatus | str] | None = None,
        candidate: str | None = None,
        role: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        offset: int = 0,
        principal: Principal | None = None,
        include_total: bool = True,
    ) -> SessionPage:
        """A page of sessions, newest first (seed 001 ``list_sessions``, with more filters).

        Args:
            status: one state or several.
            candidate: text in the candidate's name (any case), or their exact e-mail.
            role: the role interviewed for.
            created_after: only sessions created at or after this aware datetime.
            created_before: only sessions created before this aware datetime.
            limit: page size, 1-500.
            cursor: ``next_cursor`` of the previous page.
            offset: sessions to skip (instead of a cursor).
            principal: list only what this principal may see (default: everything).
            include_total: count all matches into ``total`` (one more query).

        Raises:
            ConfigurationError: an unknown status, a bad limit or a malformed cursor.
        """
        return self.services.sessions.list_sessions(
            status=status,
            candidate=candidate,
            role=role,
            created_after=created_after,
            created_before=created_before,
            limit=limit,
            cursor=cursor,
            offset=offset,
            principal=principal,
            include_total=include_total,
        )

    def get_events(
        self,
        session_id: str,
        after_seq: int = 0,
        limit: int | None = None,
        types: Sequence[str] = (),
    ) -> list[Event]:
        """The session's events with ``seq > after_seq`` (only ``types``), oldest first.

        Raises:
            SessionNotFoundError: no such session.
        """
        return self.services.sessions.get_events(session_id, after_seq, limit, types)

    def start_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Start a created session: the clock starts running.

        Raises:
            InvalidStateError: the session is not ``created``.
            SessionImmutableError: it is final.
        """
        return self.services.sessions.start_session(session_id, actor=actor)

    def pause_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Pause an active session: active time stops accumulating.

        Raises:
            InvalidStateError: the session is not ``active``.
            SessionImmutableError: it is final, or its time ran out (it is now expired).
        """
        return self.services.sessions.pause_session(session_id, actor=actor)

    def resume_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Resume a paused session.

        Raises:
            InvalidStateError: the session is not ``paused``.
            SessionImmutableError: it is final.
        """
        return self.services.sessions.resume_session(session_id, actor=actor)

    def end_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Complete an active or paused session; its report is generated.

        If its time had already run out it is expired instead (stamped at its deadline)
        and returned without error. In an LLM session the model first drafts the
        report's words (``report_drafted``); a failure or a used budget leaves the
        offline words.

        Raises:
            InvalidStateError: the session was never started.
            SessionImmutableError: it is already final.
        """
        self.services.reports.draft_words(session_id, actor)
        return self.services.sessions.end_session(session_id, actor=actor)

    def cancel_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Cancel a session that is not final (also one never started).

        Raises:
            SessionImmutableError: it is already final, or its time ran out.
        """
        return self.services.sessions.cancel_session(session_id, actor=actor)

    def update_session(
        self,
        session_id: str,
        *,
        expected_version: int | None = None,
        actor: str = "local",
        **changes: Any,
    ) -> Session:
        """Change configuration fields (seed 001 ``update_session``).

        Raises:
            ConfigurationError: an unknown, locked or invalid field.
            SessionImmutableError: the session is final.
            ConcurrentUpdateError: ``expected_version`` is not the stored version.
        """
        return self.services.sessions.update_session(
            session_id, expected_version=expected_version, actor=actor, **changes
        )

    def sweep_expired(self, limit: int = 1000) -> list[str]:
        """Expire every running session whose deadline has passed; returns their ids."""
        return self.services.sessions.sweep_expired(limit)

    def get_remaining_time(self, session_id: str) -> int:
        """Seconds of active time left, rounded up (0 once expired or final)."""
        return self.services.sessions.get_remaining_time(session_id)

    def is_session_expired(self, session_id: str) -> bool:
        """True when the session is expired (reading it expires it if its time ran out)."""
        return self.services.sessions.is_session_expired(session_id)

    def record_usage(
        self,
        session_id: str,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        model: str,
        actor: str = "local",
        latency_seconds: float | None = None,
        cost_usd: float | None = None,
    ) -> Session:
        """Add an AI call's token usage to the session (exact under concurrent callers).

        Raises:
            BudgetExceededError: the total would pass the budget; nothing is recorded.
            ConfigurationError: a negative token count, latency or cost.
            SessionImmutableError: the session is final.
        """
        return self.services.sessions.record_usage(
            session_id,
            prompt_tokens,
            completion_tokens,
            model=model,
            actor=actor,
            latency_seconds=latency_seconds,
            cost_usd=cost_usd,
        )

    def get_remaining_budget(self, session_id: str) -> int:
        """Tokens left in the session's budget."""
        return self.services.sessions.get_remaining_budget(session_id)

    # -- access (seed 001) ----------------------------------------------------------------

    def validate_session_access(self, session_id: str, principal: Principal) -> bool:
        """True when ``principal`` may see the session (seed 001 access control).

        Raises:
            SessionNotFoundError: no such session.
        """
        return self.services.sessions.validate_session_access(session_id, principal)

    def get_session_for(self, session_id: str, principal: Principal) -> Session:
        """The session, if ``principal`` may see it.

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see it.
        """
        return access.check_access(self.get_session(session_id), principal)

    def peek_session_for(self, session_id: str, principal: Principal) -> Session | None:
        """Like :meth:`get_session_for`, but never writes (``None`` when a write is due).

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see it.
        """
        return self.services.sessions.peek_session_for(session_id, principal)

    def require_staff(self, principal: Principal, action: str) -> None:
        """Refuse ``action`` to a candidate.

        Raises:
            AccessDeniedError: the principal is a candidate.
        """
        access.require_staff(principal, action)

    def events_for(
        self,
        session: Session,
        principal: Principal,
        after_seq: int = 0,
        limit: int | None = None,
        types: Sequence[str] = (),
    ) -> list[Event]:
        """The events of ``session`` after ``after_seq`` as ``principal`` may read them."""
        events = self.store.get_events(session.id, after_seq, limit, types)
        return access.events_for(events, session, principal)

    def redact_events(
        self, events: list[Event], session: Session, principal: Principal
    ) -> list[Event]:
        """Events already read, as ``principal`` may read them."""
        return access.events_for(events, session, principal)

    # -- the interview (seeds 000 and 004) ---------------------------------------------

    def get_plan(self, session_id: str) -> InterviewState:
        """The session's question plan.

        Raises:
            SessionNotFoundError: no such session.
            InvalidStateError: the session has no plan.
        """
        return self.services.interviews.get_plan(session_id)

    def get_plan_for(self, session_id: str, principal: Principal) -> InterviewState:
        """The plan as ``principal`` may read it (no scores while they wait).

        Raises as :meth:`get_plan` and :meth:`get_session_for`.
        """
        session = self.get_session_for(session_id, principal)
        self.services.interviews.get_plan(session_id)
        plan = access.plan_for(session, principal)
        assert plan is not None
        return plan

    def next_question(self, session_id: str) -> PlanItem | None:
        """The question to ask now (the first pending one), or ``None`` when all are done."""
        return self.services.interviews.next_question(session_id)

    def submit_answer(
        self,
        session_id: str,
        question_id: str,
        text: str,
        time_spent_seconds: float = 0.0,
        *,
        actor: str = "local",
    ) -> AnswerOutcome:
        """Save an answer, then evaluate it and let the interviewer follow up.

        The answer is committed with its ``answer_submitted`` event before evaluation
        starts, so it survives an evaluator failure or a crash.

        Raises:
            ConfigurationError: blank or too long text, or a bad time.
            QuestionNotFoundError: the plan has no such question.
            AnswerRefusedError: answered already (outside practice mode) or skipped.
            InvalidStateError: the session is not active.
            SessionImmutableError: the session is final or its time ran out.
        """
        return self.services.interviews.submit_answer(
            session_id, question_id, text, time_spent_seconds, actor=actor
        )

    def save_whiteboard(
        self, session_id: str, question_id: str, png: bytes, *, actor: str = "local"
    ) -> Path:
        """Store the whiteboard drawn for a question in the session folder.

        Raises:
            ConfigurationError: not a PNG.
            QuestionNotFoundError: no such question.
            InvalidStateError: the session is not active.
            SessionImmutableError: the session is final.
        """
        return self.services.interviews.save_whiteboard(session_id, question_id, png, actor=actor)

    def skip_question(self, session_id: str, question_id: str, *, actor: str = "local") -> Session:
        """Skip a pending question (seed 004 ``skip_question``); it counts 0 in the report.

        Raises:
            QuestionNotFoundError: no such question.
            AnswerRefusedError: the question is not pending.
            InvalidStateError: the session is not active.
            SessionImmutableError: the session is final or its time ran out.
        """
        return self.services.interviews.skip_question(session_id, question_id, actor=actor)

    def get_answers(self, session_id: str) -> list[Attempt]:
        """Every answer submitted, in order, with its evaluation when there is one.

        Raises:
            SessionNotFoundError: no such session.
        """
        return self.services.interviews.get_answers(session_id)

    def get_answers_for(self, session_id: str, principal: Principal) -> list[Attempt]:
        """The answers as ``principal`` may read them (no evaluations while they wait).

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see it.
        """
        session = self.get_session_for(session_id, principal)
        return access.attempts_for(self.get_answers(session_id), session, principal)

    def recover_answers(self, session_id: str) -> int:
        """Evaluate the session's answers that a crash left without an evaluation.

        Returns:
            How many were evaluated (issue 10, item 3).
        """
        return self.services.interviews.recover(session_id)

    def last_feedback(self, session: Session, principal: Principal) -> dict[str, Any] | None:
        """The feedback card the interview room shows after a reload, or ``None``.

        Practice mode only (mock and assessment keep feedback for the report): the last
        stored evaluation with the text of the question it scored.
        """
        if session.config.mode is not InterviewMode.PRACTICE or session.interview is None:
            return None
        if not access.scores_visible(session, principal):
            return None
        evaluated = self.store.get_events(session.id, types=(EventType.ANSWER_EVALUATED.value,))
        if not evaluated:
            return None
        last = evaluated[-1].data
        texts = {item.id: item.text for item in session.interview.items}
        return {"question": texts.get(last["item_id"], ""), **last["evaluation"]}

    # -- reports ---------------------------------------------------------------------

    def generate_report(self, session_id: str, *, actor: str = "system") -> Report:
        """Build the report from the stored answers; on a final session, store it.

        Raises:
            SessionNotFoundError: no such session.
            InvalidStateError: the session has no plan.
        """
        return self.services.reports.generate_report(session_id, actor=actor)

    def get_report(self, session_id: str, *, regenerate: bool = False) -> Report:
        """The session's report: the stored one when ready, else generated now.

        Raises:
            SessionNotFoundError: no such session.
            InvalidStateError: the session has no plan.
        """
        return self.services.reports.get_report(session_id, regenerate=regenerate)

    def get_report_for(
        self, session_id: str, principal: Principal, *, regenerate: bool = False
    ) -> Report:
        """The report, if ``principal`` may read it now.

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see the session, or (a candidate)
                may not regenerate it.
            ReportHiddenError: a mock or assessment session still running, or an
                assessment whose report staff have not released.
        """
        session = self.get_session_for(session_id, principal)
        access.require_scores_visible(session, principal)
        if regenerate:
            access.require_staff(principal, "regenerate a report")
        return self.get_report(session_id, regenerate=regenerate)

    def release_report(self, session_id: str, principal: Principal) -> Session:
        """Release a final session's report to its candidate (assessment mode).

        Raises:
            AccessDeniedError: the principal is a candidate, or may not see the session.
            InvalidStateError: the session is not final yet.
        """
        access.require_staff(principal, "release a report")
        self.get_session_for(session_id, principal)
        return self.services.reports.release_report(session_id, actor=principal.id)

    # -- candidate links (sign-in mode) -----------------------------------------------

    def create_link(
        self, session_id: str, principal: Principal, ttl_seconds: int
    ) -> tuple[str, SessionLink]:
        """An unguessable, expiring link that lets a candidate take this one session.

        Returns:
            ``(token, link)``; the token is shown only now (its hash is stored).

        Raises:
            AccessDeniedError: a candidate, or a principal who may not see the session.
            ConfigurationError: ``ttl_seconds`` out of range.
        """
        access.require_staff(principal, "create candidate links")
        self.get_session_for(session_id, principal)
        return self.services.accounts.create_session_link(session_id, principal, ttl_seconds)

    def list_links(self, session_id: str, principal: Principal) -> list[SessionLink]:
        """The session's candidate links, oldest first (never their tokens).

        Raises:
            AccessDeniedError: a candidate, or a principal who may not see the session.
        """
        access.require_staff(principal, "see candidate links")
        self.get_session_for(session_id, principal)
        return self.services.accounts.list_session_links(session_id)

    def revoke_link(self, session_id: str, link_id: str, principal: Principal) -> SessionLink:
        """Revoke one of the session's candidate links at once.

        Raises:
            AccessDeniedError: a candidate, or a principal who may not see the session.
            UserNotFoundError: the session has no link with this id.
        """
        access.require_staff(principal, "revoke candidate links")
        self.get_session_for(session_id, principal)
        accounts = self.services.accounts
        if link_id not in {link.id for link in accounts.list_session_links(session_id)}:
            raise UserNotFoundError("session link", "link_id", link_id)
        return accounts.revoke_session_link(link_id)

    def scores_visible(self, session: Session, principal: Principal) -> bool:
        """True when ``principal`` may read the scores of ``session`` now."""
        return access.scores_visible(session, principal)

    # -- progress across sessions (issue 12): the composed ProgressService --------

    def require_progress_visible(self, principal: Principal | None) -> None:
        """Refuse progress to a candidate while one of their sessions keeps scores back.

        Checks the principal's running sessions and their final assessments (the newest
        500 of each). Staff, trusted callers (``None``) and the local user of an install
        without sign-in (who owns every session on the machine, and whose dashboard spans
        them all) are never refused.

        Raises:
            ReportHiddenError: see :func:`rehearse.service.access.require_progress_visible`.
        """
        if principal is None or access.is_staff(principal):
            return
        hidden = [InterviewMode.MOCK, InterviewMode.ASSESSMENT]
        running = self.list_sessions(
            status=[SessionStatus.ACTIVE, SessionStatus.PAUSED],
            principal=principal,
            limit=500,
            include_total=False,
        ).sessions
        ended = self.list_sessions(
            status=[SessionStatus.COMPLETED, SessionStatus.EXPIRED],
            principal=principal,
            limit=500,
            include_total=False,
        ).sessions
        candidates = [s for s in [*running, *ended] if s.config.mode in hidden]
        access.require_progress_visible(candidates, principal)

    def get_user_progress(
        self, user: str | None = None, *, principal: Principal | None = None
    ) -> UserProgress:
        """Progress over all of ``user``'s sessions (e-mail or principal id; seed 004).

        Raises:
            AccessDeniedError: ``principal`` may not see this user's sessions.
        """
        self.require_progress_visible(principal)
        return self.services.progress.get_user_progress(user, principal=principal)

    def get_progress_analytics(
        self, user: str | None = None, period: str = "30d", *, principal: Principal | None = None
    ) -> ProgressAnalytics:
        """Progress over ``period`` (``"7d"``, ``"30d"``, ``"90d"`` or ``"all"``) with breakdowns.

        Raises:
            ConfigurationError: an unknown period.
            AccessDeniedError: ``principal`` may not see this user's sessions.
        """
        self.require_progress_visible(principal)
        return self.services.progress.get_progress_analytics(user, period, principal=principal)

    def compare_sessions(
        self, a: str, b: str, *, principal: Principal | None = None
    ) -> SessionComparison:
        """Session ``b`` against session ``a`` (deltas are b - a).

        Raises:
            SessionNotFoundError: either session does not exist.
            AccessDeniedError: ``principal`` may not see both.
        """
        compared = self.services.progress.compare_sessions(a, b, principal=principal)
        if principal is not None:  # both are visible to the principal (checked just now)
            for session_id in (a, b):
                access.require_scores_visible(self.get_session(session_id), principal)
        return compared

    def generate_learning_path(
        self, user: str | None = None, *, principal: Principal | None = None
    ) -> LearningPath:
        """Level estimate, focus areas, spaced-repetition practice set and weekly plan.

        Raises:
            AccessDeniedError: ``principal`` may not see this user's sessions.
        """
        self.require_progress_visible(principal)
        return self.services.progress.generate_learning_path(user, principal=principal)

    def get_milestones(
        self, user: str | None = None, *, principal: Principal | None = None
    ) -> list[Milestone]:
        """Every milestone with its progress; reaching one records ``milestone_achieved`` once.

        Raises:
            AccessDeniedError: ``principal`` may not see this user's sessions.
        """
        self.require_progress_visible(principal)
        return self.services.progress.get_milestones(user, principal=principal)

    # -- whiteboards and deleting (issue 11, items 3 and 14) ----------------------------

    def whiteboards_for(self, session_id: str, principal: Principal) -> dict[str, Path]:
        """The last whiteboard saved for each question, as PNG files on disk.

        Returns:
            ``{question id: path of the PNG}``, in the order they were first saved;
            questions without a drawing are absent, as are files removed from disk.

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see it.
        """
        session = self.get_session_for(session_id, principal)
        folder = self.folders.folder(session.id)
        found: dict[str, Path] = {}
        for event in self.store.get_events(session.id, types=(EventType.WHITEBOARD_SAVED.value,)):
            path = folder / str(event.data["file"])
            if path.is_file():
                found[str(event.data["item_id"])] = path
        return found

    def whiteboard_for(self, session_id: str, question_id: str, principal: Principal) -> Path:
        """The PNG of the last whiteboard saved for one question.

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see it.
            QuestionNotFoundError: the plan has no such question, or it has no drawing.
        """
        path = self.whiteboards_for(session_id, principal).get(question_id)
        if path is None:
            raise QuestionNotFoundError(session_id, f"{question_id} (with a whiteboard)")
        return path

    def delete_session(self, session_id: str, principal: Principal) -> None:
        """Remove a session for good: its row, events, candidate links and folder.

        Staff may delete any session they can see; a candidate only one they created
        themselves (not one an interviewer set for them). Works in every state: a
        running session simply stops existing (its live stream closes on the next read).

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see it, or is a candidate who did
                not create it.
        """
        session = self.get_session_for(session_id, principal)
        if not access.is_staff(principal) and session.created_by != principal.id:
            raise AccessDeniedError(
                f"a candidate may delete only sessions they created; session {session.id} "
                "was set by an interviewer"
            )
        if not self.store.delete(session.id):
            raise SessionNotFoundError(session.id)
        shutil.rmtree(self.folders.folder(session.id), ignore_errors=True)

    def outcomes_for(self, sessions: Sequence[Session], principal: Principal) -> dict[str, Any]:
        """What the sessions list shows of each session's outcome (issue 11, item 13).

        Returns:
            ``{session id: {"score", "answered", "total", "active_seconds"}}``: the
            overall score (0-100) of the stored final report, ``None`` while the session
            runs, when nothing was scored, or when ``principal`` may not see scores yet;
            questions answered and planned; active time in seconds.
        """
        now = self.clock.now()
        outcomes: dict[str, Any] = {}
        for session in sessions:
            score = None
            ready = session.report_status is not None and session.report_status.value == "ready"
            if session.status.is_final and ready and access.scores_visible(session, principal):
                stored = self.store.get_events(
                    session.id, types=(EventType.REPORT_GENERATED.value,)
                )
                if stored:
                    score = stored[-1].data["report"].get("overall_score")
            progress = session.interview.progress() if session.interview else None
            outcomes[session.id] = {
                "score": score,
                "answered": progress["answered"] if progress else 0,
                "total": progress["total"] if progress else 0,
                "active_seconds": round(session.active_us_at(now) / 1_000_000),
            }
        return outcomes
