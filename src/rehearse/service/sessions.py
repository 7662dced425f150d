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
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from rehearse.ai.protocols import Evaluator, Interviewer
from rehearse.ai.providers import ModelSource
from rehearse.clock import Clock
from rehearse.domain.access import Principal
from rehearse.domain.config import InterviewMode
from rehearse.domain.events import Event, EventType
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.plan import InterviewState
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
from rehearse.service.interviews import AnswerOutcome, InterviewService
from rehearse.service.lifecycle import SessionService
from rehearse.service.reports import ReportService
from rehearse.storage import Store
from rehearse.storage.folders import SessionFolders

if TYPE_CHECKING:  # progress and accounts load when first used (issue 8 item 5)
    from rehearse.domain.accounts import SessionLink
    from rehearse.domain.progress import (
        LearningPath,
        Milestone,
        ProgressAnalytics,
        SessionComparison,
        UserProgress,
    )

__all__ = ["AnswerOutcome", "SessionManager"]

P = ParamSpec("P")
R = TypeVar("R")


class delegated(Generic[P, R]):
    """A facade method that *is* a composed service's method, bound at each access.

    ``SessionManager.start_session = delegated("sessions", SessionService.start_session)``
    makes ``manager.start_session`` the bound method ``manager.services.sessions
    .start_session``: the same signature (mypy sees it through the ParamSpec), the same
    docstring, no second copy of either. Methods where the facade adds something (a
    recovery, an access check, a report draft) stay written out below.

    Args:
        part: the attribute of :class:`Services` holding the service.
        method: the service's method, taken from its class (``SessionService.x``); the
            facade attribute must have the same name.
    """

    def __init__(self, part: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.part = part
        self.name = method.__name__
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.name:
            raise TypeError(f"{owner.__name__}.{name} delegates to a method named {self.name}")

    @overload
    def __get__(self, manager: None, owner: type) -> Self: ...

    @overload
    def __get__(self, manager: SessionManager, owner: type) -> Callable[P, R]: ...

    def __get__(self, manager: SessionManager | None, owner: type) -> Self | Callable[P, R]:
        if manager is None:
            return self
        bound: Callable[P, R] = getattr(getattr(manager.services, self.part), self.name)
        return bound


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
        """The facade over :meth:`Services.from_url` (the same arguments and errors)."""
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

    # -- sessions (seeds 000 and 001): SessionService's own methods ----------------------

    create_session = delegated("sessions", SessionService.create_session)
    resolve_session_id = delegated("sessions", SessionService.resolve_session_id)
    list_sessions = delegated("sessions", SessionService.list_sessions)
    get_events = delegated("sessions", SessionService.get_events)
    start_session = delegated("sessions", SessionService.start_session)
    pause_session = delegated("sessions", SessionService.pause_session)
    resume_session = delegated("sessions", SessionService.resume_session)
    cancel_session = delegated("sessions", SessionService.cancel_session)
    update_session = delegated("sessions", SessionService.update_session)
    sweep_expired = delegated("sessions", SessionService.sweep_expired)
    get_remaining_time = delegated("sessions", SessionService.get_remaining_time)
    is_session_expired = delegated("sessions", SessionService.is_session_expired)
    record_usage = delegated("sessions", SessionService.record_usage)
    get_remaining_budget = delegated("sessions", SessionService.get_remaining_budget)
    validate_session_access = delegated("sessions", SessionService.validate_session_access)
    peek_session_for = delegated("sessions", SessionService.peek_session_for)

    # -- sessions: what the facade adds ------------------------------------------------

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

    # -- access (seed 001): the rules of rehearse.service.access, as they are ---------------

    require_staff = staticmethod(access.require_staff)
    scores_visible = staticmethod(access.scores_visible)
    redact_events = staticmethod(access.events_for)

    def get_session_for(self, session_id: str, principal: Principal) -> Session:
        """The session, if ``principal`` may see it.

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see it.
        """
        return access.check_access(self.get_session(session_id), principal)

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

    # -- the interview (seeds 000 and 004): InterviewService's own methods -------------

    get_plan = delegated("interviews", InterviewService.get_plan)
    next_question = delegated("interviews", InterviewService.next_question)
    submit_answer = delegated("interviews", InterviewService.submit_answer)
    save_whiteboard = delegated("interviews", InterviewService.save_whiteboard)
    skip_question = delegated("interviews", InterviewService.skip_question)
    get_answers = delegated("interviews", InterviewService.get_answers)

    # -- the interview: what the facade adds -------------------------------------------

    def get_plan_for(self, session_id: str, principal: Principal) -> InterviewState:
        """The plan as ``principal`` may read it (no scores while they wait).

        Raises as :meth:`get_plan` and :meth:`get_session_for`.
        """
        session = self.get_session_for(session_id, principal)
        self.services.interviews.get_plan(session_id)
        plan = access.plan_for(session, principal)
        assert plan is not None
        return plan

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

    # -- reports: ReportService's own methods, and the principal-aware ones -----------

    generate_report = delegated("reports", ReportService.generate_report)
    get_report = delegated("reports", ReportService.get_report)

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
