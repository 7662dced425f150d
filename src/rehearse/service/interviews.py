"""The interview flow on top of the session core (issue 3; seeds ``000_*`` and ``004_*``).

A session is planned when it is created (the interviewer draws its questions), takes
answers while active (each saved in its own transaction before it is evaluated, so a
crash loses nothing), gets follow-ups when an answer misses key points, and gets a
report when it ends. Report generation never loses answers: a failure is recorded
(``report_failed``) and :meth:`InterviewFlow.get_report` tries again.

The interviewer and evaluator are chosen per session by its ``ai_provider`` (issue 5,
:mod:`rehearse.service.ai_parts`): the offline parts by default, an LLM with the offline
parts as fallback otherwise. An LLM session's plan is written by the model when the
session is created (its usage recorded in the same transaction), its answers are scored
and followed up by the model, and its report's words are drafted by the model when it
ends; scores and the report's figures are always computed the same way.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import uuid
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from rehearse.ai.budget import requests_disabled
from rehearse.ai.protocols import Evaluator, Interviewer
from rehearse.ai.providers import ModelRef
from rehearse.domain.events import EventType, NewEvent
from rehearse.domain.interviews import (
    apply_answer,
    apply_evaluation,
    apply_follow_up,
    apply_plan,
    apply_report,
    apply_skip,
)
from rehearse.domain.lifecycle import SessionStatus, guard_change
from rehearse.domain.plan import InterviewState, PlanItem, ReportStatus
from rehearse.domain.questions import Question
from rehearse.domain.reports import Attempt, Report, build_report
from rehearse.domain.sessions import Change, Session
from rehearse.errors import InvalidStateError
from rehearse.files import SessionFolders, check_png
from rehearse.scoring import AnswerEvaluation
from rehearse.service.ai_parts import SessionAI
from rehearse.storage import SessionQuery

#: Sessions whose planned questions are kept in memory (oldest dropped first).
QUESTION_CACHE_SIZE = 512

#: Recent sessions of the same candidate whose questions a new plan avoids.
RECENT_SESSIONS = 10


class AnswerOutcome(BaseModel):
    """What happened to a submitted answer.

    Attributes:
        session: the session after the answer (and its evaluation) were stored.
        item: the question answered, with its best score.
        attempt: 1 for a first answer; more for practice retries.
        evaluation: the evaluator's result (``None`` if the evaluator failed; the
            answer is saved either way).
        follow_up: the follow-up the interviewer added, if any.
        next_question: what to ask next (``None`` when every question is done).
        notices: what the candidate should be told about the AI parts, e.g. that the
            token budget is used up and the offline parts took over (usually empty).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    session: Session
    item: PlanItem
    attempt: int
    evaluation: AnswerEvaluation | None
    follow_up: PlanItem | None
    next_question: PlanItem | None
    notices: list[str] = []


class InterviewFlow(SessionAI):
    """Interview operations of the session manager (see :class:`SessionManager`)."""

    interviewer: Interviewer
    evaluator: Evaluator
    folders: SessionFolders
    _question_cache: dict[str, dict[str, Question]]
    _question_cache_lock: threading.Lock

    # -- planning -----------------------------------------------------------------

    def _prepare(self, session: Session) -> Change:
        seed = session.config.plan_seed
        if seed is None:
            seed = secrets.randbelow(2**31)
        seen = self._seen_by(session)
        ref = self._model_ref(session)
        if ref is None:
            questions = self.interviewer.plan(session.config, seed=seed, seen=seen)
            return apply_plan(
                session, questions, seed, session.config.max_follow_ups, self.clock.now()
            )
        return self._prepare_with(ref, session, seed, seen)

    def _seen_by(self, session: Session) -> frozenset[str]:
        """Question ids of the candidate's last :data:`RECENT_SESSIONS` sessions.

        The candidate is the same e-mail address, or, without one, the same name (any
        case); both lookups use an index, so creating a session stays fast however many
        sessions exist.
        """
        config = session.config
        if config.candidate_email:
            query = SessionQuery(
                candidate_email_is=config.candidate_email,
                limit=RECENT_SESSIONS,
                include_total=False,
            )
        else:
            query = SessionQuery(
                candidate_name_is=config.candidate_name, limit=RECENT_SESSIONS, include_total=False
            )
        seen: set[str] = set()
        for other in self.store.list_sessions(query).sessions:
            if other.interview is not None:
                seen.update(item.question_id for item in other.interview.items)
        return frozenset(seen)

    def _questions(self, session_id: str) -> dict[str, Question]:
        """The question snapshots stored with the plan, by id.

        A plan never changes once stored, so the snapshots are cached per session
        (the answer path needs them twice; reading and validating them was a quarter
        of an answer's cost in benchmarks/bench_http.py).
        """
        cached = self._question_cache.get(session_id)
        if cached is not None:
            return cached
        planned = self.store.get_events(session_id, types=(EventType.QUESTIONS_PLANNED.value,))
        questions: dict[str, Question] = {}
        for event in planned:
            for data in event.data.get("questions", []):
                question = Question.model_validate(data)
                questions[question.id] = question
        if questions:
            with self._question_cache_lock:
                if len(self._question_cache) >= QUESTION_CACHE_SIZE:
                    self._question_cache.pop(next(iter(self._question_cache)))
                self._question_cache[session_id] = questions
        return questions

    # -- asking and answering ---------------------------------------------------------

    def get_plan(self, session_id: str) -> InterviewState:
        """The session's question plan.

        Raises:
            SessionNotFoundError: no such session.
            InvalidStateError: the session has no plan (created before plans existed).
        """
        session = self.get_session(session_id)
        if session.interview is None:
            raise InvalidStateError(session_id, "without a question plan", "read the plan of")
        return session.interview

    def next_question(self, session_id: str) -> PlanItem | None:
        """The question to ask now (the first pending one), or ``None`` when all are done.

        Reading does not change the session. Raises as :meth:`get_plan`.
        """
        return self.get_plan(session_id).current()

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
        starts, so it survives an evaluator failure or a crash. A follow-up answer is
        evaluated together with the answer it follows, against the parent question.

        Args:
            session_id: the session (must be active).
            question_id: the plan item answered (a question or follow-up id).
            text: the answer, 1-20,000 characters.
            time_spent_seconds: time the candidate took, 0-14,400 seconds.
            actor: who answered.

        Raises:
            ConfigurationError: blank or too long text, or a bad time.
            QuestionNotFoundError: the plan has no such question.
            AnswerRefusedError: answered already (outside practice mode) or skipped.
            InvalidStateError: the session is not active.
            SessionImmutableError: the session is final or its time ran out.
        """
        session = self._change(
            session_id,
            lambda s, now: apply_answer(s, question_id, text, time_spent_seconds, now),
            "answer",
            actor,
        )
        assert session.interview is not None
        item = session.interview.item(session_id, question_id)
        attempt = item.attempts
        ref = self._model_ref(session)
        notices: list[str] = []
        evaluation, evaluator = self._evaluate(
            session_id, ref, item, text.strip(), time_spent_seconds, actor, notices
        )
        follow_up: PlanItem | None = None
        if evaluation is not None:
            before = {i.id for i in session.interview.items}
            session = self._record_evaluation(
                session_id,
                ref,
                item,
                attempt,
                evaluation,
                evaluator,
                text.strip(),
                actor,
                notices,
                session.interview,
            )
            assert session.interview is not None
            follow_up = next((i for i in session.interview.items if i.id not in before), None)
            item = session.interview.item(session_id, question_id)
        return AnswerOutcome(
            session=session,
            item=item,
            attempt=attempt,
            evaluation=evaluation,
            follow_up=follow_up,
            next_question=session.interview.current() if session.interview else None,
            notices=notices,
        )

    def _evaluate(
        self,
        session_id: str,
        ref: ModelRef | None,
        item: PlanItem,
        text: str,
        time_spent: float,
        actor: str,
        notices: list[str],
    ) -> tuple[AnswerEvaluation | None, str]:
        """The evaluation and the name of the evaluator that made it."""
        question = self._questions(session_id).get(item.question_id)
        if question is None:
            return None, self.evaluator.name
        answer = text
        if item.parent_id is not None:
            parent_answers = self._attempts(session_id, item.parent_id)
            if parent_answers:
                answer = f"{parent_answers[-1].text}\n\n{text}"
        spent = time_spent or None

        def offline() -> AnswerEvaluation:
            return self.evaluator.evaluate(question, answer, time_spent_seconds=spent)

        try:
            if ref is None:
                return offline(), self.evaluator.name
            evaluation, used = self._with_fallback(
                session_id,
                ref,
                "evaluator",
                actor,
                notices,
                lambda: self._llm_evaluator(session_id, ref, actor).evaluate(
                    question, answer, time_spent_seconds=spent
                ),
                offline,
            )
            return evaluation, str(ref) if used else self.evaluator.name
        except Exception as exc:
            if requests_disabled(exc):
                raise
            self._record_failure(session_id, "evaluator", exc, actor)
            return None, self.evaluator.name

    def _record_evaluation(
        self,
        session_id: str,
        ref: ModelRef | None,
        item: PlanItem,
        attempt: int,
        evaluation: AnswerEvaluation,
        evaluator: str,
        text: str,
        actor: str,
        notices: list[str],
        plan: InterviewState,
    ) -> Session:
        # every stored score names what made it: provider, model, prompt and rubric version
        data = {"provider": "offline", "model": "default", "prompt_version": None}
        data |= evaluation.model_dump(mode="json") | {"evaluator": evaluator}
        follow_text: str | None = None
        if item.kind == "question":
            question = self._questions(session_id).get(item.question_id)
            asked = [f.text for f in plan.follow_ups_of(item.id)]
            if question is not None and len(asked) < plan.max_follow_ups:

                def offline() -> str | None:
                    assert question is not None
                    return self.interviewer.follow_up(question, text, evaluation, asked)

                try:
                    if ref is None:
                        follow_text = offline()
                    else:
                        follow_text = self._llm_follow_up(
                            session_id,
                            ref,
                            item.id,
                            question,
                            text,
                            evaluation,
                            asked,
                            actor,
                            notices,
                            offline,
                        )
                except Exception as exc:
                    if requests_disabled(exc):
                        raise
                    self._record_failure(session_id, "interviewer", exc, actor)

        def rule(session: Session, now: datetime) -> Change:
            session, events = apply_evaluation(session, item.id, attempt, data, now)
            if follow_text:
                session, more = apply_follow_up(session, item.id, follow_text, now)
                events = [*events, *more]
            return session, events

        return self._change(session_id, rule, "evaluate", actor, expire_first=False)

    def _record_failure(self, session_id: str, part: str, exc: Exception, actor: str) -> None:
        def rule(session: Session, now: datetime) -> Change:
            data = {"part": part, "error": type(exc).__name__, "message": str(exc)[:500]}
            return session, [NewEvent(type=EventType.PROVIDER_FAILED, at=now, data=data)]

        self._change(session_id, rule, "record a failure of", actor, expire_first=False)

    def save_whiteboard(
        self, session_id: str, question_id: str, png: bytes, *, actor: str = "local"
    ) -> Path:
        """Store the whiteboard drawn for a question in the session folder.

        The PNG goes to ``<data dir>/sessions/<id>/whiteboard/<question>-<random>.png``
        (two saves never share a name) and a ``whiteboard_saved`` event records it. Only
        an active session accepts one; if it stopped meanwhile, the file is removed.

        Raises:
            ConfigurationError: not a PNG.
            QuestionNotFoundError: no such question.
            InvalidStateError: the session is not active.
            SessionImmutableError: the session is final.
        """
        check_png(png)
        session = self.get_session(session_id)
        if session.status is not SessionStatus.ACTIVE:
            guard_change(session_id, session.status, "save a whiteboard for")
            raise InvalidStateError(session_id, session.status.value, "save a whiteboard for")
        if session.interview is None:
            raise InvalidStateError(session_id, "without a question plan", "save a whiteboard for")
        item = session.interview.item(session_id, question_id)
        name = f"{item.id.replace('/', '-')}-{uuid.uuid4().hex[:12]}.png"
        path = self.folders.add_file(session_id, "whiteboard", name, png, {"question_id": item.id})

        def rule(current: Session, now: datetime) -> Change:
            if current.status is not SessionStatus.ACTIVE:
                guard_change(session_id, current.status, "save a whiteboard for")
                raise InvalidStateError(session_id, current.status.value, "save a whiteboard for")
            data = {"item_id": item.id, "file": f"whiteboard/{path.name}", "bytes": len(png)}
            return current, [NewEvent(type=EventType.WHITEBOARD_SAVED, at=now, data=data)]

        try:
            self._change(session_id, rule, "save a whiteboard for", actor)
        except Exception:
            self.folders.remove_file(session_id, "whiteboard", path.name)
            raise
        return path

    def skip_question(self, session_id: str, question_id: str, *, actor: str = "local") -> Session:
        """Skip a pending question (seed 004 ``skip_question``); it counts 0 in the report.

        Raises:
            QuestionNotFoundError: no such question.
            AnswerRefusedError: the question is not pending.
            InvalidStateError: the session is not active.
            SessionImmutableError: the session is final or its time ran out.
        """
        return self._change(
            session_id, lambda s, now: apply_skip(s, question_id, now), "skip a question of", actor
        )

    def _attempts(self, session_id: str, item_id: str | None = None) -> list[Attempt]:
        events = self.store.get_events(
            session_id,
            types=(EventType.ANSWER_SUBMITTED.value, EventType.ANSWER_EVALUATED.value),
        )
        attempts: dict[tuple[str, int], Attempt] = {}
        for event in events:
            data = event.data
            key = (data["item_id"], int(data["attempt"]))
            if event.type == EventType.ANSWER_SUBMITTED.value:
                attempts[key] = Attempt(
                    item_id=data["item_id"],
                    attempt=int(data["attempt"]),
                    text=data["text"],
                    time_spent_seconds=float(data["time_spent_seconds"]),
                )
            elif key in attempts:
                attempts[key] = attempts[key].model_copy(update={"evaluation": data["evaluation"]})
        found = list(attempts.values())
        return [a for a in found if a.item_id == item_id] if item_id else found

    def get_answers(self, session_id: str) -> list[Attempt]:
        """Every answer submitted, in order, with its evaluation when there is one.

        Raises:
            SessionNotFoundError: no such session.
        """
        self.get_session(session_id)
        return self._attempts(session_id)

    # -- reports ------------------------------------------------------------------------

    def _finished(self, session: Session) -> None:
        if session.report_status is ReportStatus.PENDING:
            # a failure is recorded as report_failed (not pending), and get_report retries
            with contextlib.suppress(Exception):
                self.generate_report(session.id)

    def generate_report(self, session_id: str, *, actor: str = "system") -> Report:
        """Build the report from the stored answers; on a final session, store it.

        A failure is recorded as ``report_failed`` (``report_status`` failed) and re-raised;
        the answers are untouched and the report can be generated again.

        Raises:
            SessionNotFoundError: no such session.
            InvalidStateError: the session has no plan.
        """
        session = self.get_session(session_id)
        if session.interview is None:
            raise InvalidStateError(session_id, "without a question plan", "report on")
        try:
            attempts = self._attempts(session_id)
            report = build_report(
                session,
                self._questions(session_id),
                attempts,
                now=self.clock.now(),
                evaluator=self._evaluator_label(session, attempts),
            )
            if self._model_ref(session) is not None:
                report = self._with_ai_words(session_id, report, len(attempts))
        except Exception as exc:
            if session.status.is_final:
                message = f"{type(exc).__name__}: {exc}"[:500]
                self._change(
                    session_id,
                    lambda s, now: apply_report(s, None, message, now),
                    "report on",
                    actor,
                    expire_first=False,
                )
            raise
        if session.status.is_final:
            data = report.model_dump(mode="json")
            self._change(
                session_id,
                lambda s, now: apply_report(s, data, None, now),
                "report on",
                actor,
                expire_first=False,
            )
        return report

    def get_report(self, session_id: str, *, regenerate: bool = False) -> Report:
        """The session's report: the stored one when ready, else generated now.

        A running session gets an interim report (not stored). ``regenerate`` rebuilds
        and stores a fresh one.

        Raises:
            SessionNotFoundError: no such session.
            InvalidStateError: the session has no plan.
        """
        session = self.get_session(session_id)
        if session.report_status is ReportStatus.READY and not regenerate:
            stored = self.store.get_events(session_id, types=(EventType.REPORT_GENERATED.value,))
            if stored:
                return Report.model_validate(stored[-1].data["report"])
        return self.generate_report(session_id)

    def end_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Complete an active or paused session (see :meth:`SessionCore.end_session`).

        In an LLM session the model first drafts the report's words (``report_drafted``,
        its usage recorded while the session can still record usage); a failure or a used
        budget leaves the offline words.
        """
        stored = self.store.get(session_id)
        ref = self._model_ref(stored) if stored is not None else None
        if (
            ref is not None
            and stored is not None
            and stored.status in (SessionStatus.ACTIVE, SessionStatus.PAUSED)
            and not stored.is_due_to_expire(self.clock.now())
        ):
            attempts = self._attempts(session_id)
            if any(a.evaluation for a in attempts):
                draft = build_report(
                    stored,
                    self._questions(session_id),
                    attempts,
                    now=self.clock.now(),
                    evaluator=str(ref),
                )
                self._draft_report(stored, ref, draft, len(attempts), actor)
        return super().end_session(session_id, actor=actor)
