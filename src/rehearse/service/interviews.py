"""The interview: plan, questions, answers, skips, whiteboards (issue 3; seeds 000, 004).

A session is planned when it is created (the interviewer draws its questions), takes
answers while active (each saved in its own transaction before it is evaluated, so a
crash loses nothing), gets follow-ups when an answer misses key points, and gets a
report when it ends. Report generation never loses answers: a failure is recorded
(``report_failed``) and :meth:`ReportService.get_report` tries again.

The interviewer and evaluator are chosen per session by its ``ai_provider`` (issue 5,
:mod:`rehearse.service.ai_parts`): the offline parts by default, an LLM with the offline
parts as fallback otherwise. An LLM session's plan is written by the model when the
session is created (its usage recorded in the same transaction), its answers are scored
and followed up by the model, and its report's words are drafted by the model when it
ends; scores and the report's figures are always computed the same way.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rehearse.ai.budget import requests_disabled
from rehearse.ai.protocols import Evaluator, Interviewer
from rehearse.ai.providers import ModelRef
from rehearse.domain.access import Principal
from rehearse.domain.events import EventType, NewEvent
from rehearse.domain.interviews import (
    apply_answer,
    apply_evaluation,
    apply_evaluation_failed,
    apply_follow_up,
    apply_plan,
    apply_skip,
)
from rehearse.domain.lifecycle import SessionStatus, guard_change
from rehearse.domain.plan import InterviewState, PlanItem
from rehearse.domain.questions import Question
from rehearse.domain.reports import Attempt
from rehearse.domain.sessions import Change, Session
from rehearse.errors import ConfigurationError, InvalidStateError, SessionNotFoundError
from rehearse.service import access
from rehearse.service.ai_parts import AIParts
from rehearse.service.writer import SessionWriter
from rehearse.settings import get_settings
from rehearse.storage.folders import SessionFolders, check_png

if TYPE_CHECKING:
    from rehearse.scoring import AnswerEvaluation

#: Sessions whose planned questions are kept in memory (oldest dropped first).
QUESTION_CACHE_SIZE = 512

#: Model calls that may run past their request at once (issue 15).
MODEL_WORKERS = 4

#: Recent sessions of the same candidate whose questions a new plan avoids.
RECENT_SESSIONS = 10


@dataclass(frozen=True)
class AnswerOutcome:
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

    A plain dataclass, not a pydantic model: its fields are already validated models,
    and the evaluation's type is imported only where answers are scored (issue 8 item 5).
    """

    session: Session
    item: PlanItem
    attempt: int
    evaluation: AnswerEvaluation | None
    follow_up: PlanItem | None
    next_question: PlanItem | None
    notices: list[str] = field(default_factory=list)

    def visible_to(self, principal: Principal) -> AnswerOutcome:
        """The outcome as ``principal`` may read it (mock and assessment keep scores back)."""
        if access.scores_visible(self.session, principal):
            return self
        session = self.session

        def hide(item: PlanItem | None) -> PlanItem | None:
            return None if item is None else access.item_for(item, session, principal)

        return replace(
            self,
            session=access.session_for(session, principal),
            item=access.item_for(self.item, session, principal),
            evaluation=None,
            follow_up=hide(self.follow_up),
            next_question=hide(self.next_question),
        )


class InterviewService:
    """Plans, asks, takes answers, skips and whiteboards (issue 3; seeds 000 and 004).

    Args:
        writer: the session writer.
        ai: the AI collaborator (chooses offline or LLM parts per session).
        folders: the session folders on disk (whiteboards).
    """

    def __init__(self, writer: SessionWriter, ai: AIParts, folders: SessionFolders) -> None:
        self.writer = writer
        self.ai = ai
        self.folders = folders
        self._question_cache: dict[str, dict[str, Question]] = {}
        self._question_cache_lock = threading.Lock()
        #: (session, item, attempt) being evaluated by this process right now
        self._in_flight: set[tuple[str, str, int]] = set()
        self._in_flight_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def interviewer(self) -> Interviewer:
        """The offline interviewer."""
        return self.ai.interviewer

    @property
    def evaluator(self) -> Evaluator:
        """The offline evaluator."""
        return self.ai.evaluator

    # -- planning -----------------------------------------------------------------

    def prepare(self, session: Session) -> Change:
        """What a new session gets before it is stored: its question plan."""
        seed = session.config.plan_seed
        if seed is None:
            seed = secrets.randbelow(2**31)
        if session.config.question_ids is not None:
            return apply_plan(
                session,
                self._chosen(session.config.question_ids),
                seed,
                session.config.max_follow_ups,
                self.writer.clock.now(),
            )
        seen = self._seen_by(session)
        ref = self.ai.model_ref(session)
        if ref is None:
            questions = self.interviewer.plan(session.config, seed=seed, seen=seen)
            return apply_plan(
                session, questions, seed, session.config.max_follow_ups, self.writer.clock.now()
            )
        return self.ai.plan_with(ref, session, seed, seen)

    def _chosen(self, ids: tuple[str, ...]) -> list[Question]:
        """The bank's questions ``ids``, in that order (a learning path's practice set).

        Raises:
            ConfigurationError: an id is not in the question bank.
        """
        from rehearse.bank import load_bank  # parsed only when a plan names its questions

        bank = getattr(self.interviewer, "bank", None) or load_bank()
        questions = []
        for index, question_id in enumerate(ids):
            question = bank.get(question_id)
            if question is None:
                raise ConfigurationError(
                    f"question_ids[{index}]={question_id!r}: not in the question bank "
                    "(rehearse questions list shows the ids)",
                    [
                        {
                            "field": f"question_ids[{index}]",
                            "value": question_id,
                            "message": "not in the question bank",
                        }
                    ],
                )
            questions.append(question)
        return questions

    def _seen_by(self, session: Session) -> frozenset[str]:
        """Question ids of the candidate's last :data:`RECENT_SESSIONS` sessions.

        The candidate is the same e-mail address, or, without one, the same name (any
        case); both lookups use an index, so creating a session stays fast however many
        sessions exist.
        """
        config = session.config
        found: frozenset[str] = self.writer.store.recent_question_ids(
            email=config.candidate_email or None,
            name=config.candidate_name,
            sessions_back=RECENT_SESSIONS,
        )
        return found

    def questions(self, session_id: str) -> dict[str, Question]:
        """The question snapshots stored with the plan, by id.

        A plan never changes once stored, so the snapshots are cached per session
        (the answer path needs them twice; reading and validating them was a quarter
        of an answer's cost in benchmarks/bench_http.py).
        """
        cached = self._question_cache.get(session_id)
        if cached is not None:
            return cached
        planned = self.writer.store.get_events(
            session_id, types=(EventType.QUESTIONS_PLANNED.value,)
        )
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
        session = self.writer.read(session_id)
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
        inline = getattr(self.evaluator, "inline", False)
        peek = getattr(self.writer.store, "peek", None)
        snapshot = peek(session_id) if inline and peek is not None else None
        # the newest copy this process holds, without a read: the transaction re-checks
        # everything the evaluation was computed from, and a stale one is redone
        if (
            snapshot is not None
            and self.ai.model_ref(snapshot) is None
            and _planned(snapshot, question_id)
        ):
            try:
                return self._submit_inline(snapshot, question_id, text, time_spent_seconds, actor)
            except _StaleSnapshot:
                pass
        stored = self.writer.read(session_id)
        if self.ai.model_ref(stored) is None and inline:
            return self._submit_inline(stored, question_id, text, time_spent_seconds, actor)
        session = self.writer.change(
            session_id,
            lambda s, now: apply_answer(s, question_id, text, time_spent_seconds, now),
            "answer",
            actor,
        )
        assert session.interview is not None
        item = session.interview.item(session_id, question_id)
        attempt = item.attempts
        notices: list[str] = []
        before = {i.id for i in session.interview.items}
        if self.ai.model_ref(session) is None:
            session, evaluation = self._settle(
                session, item, attempt, text.strip(), time_spent_seconds, actor, notices
            )
        else:
            session, evaluation = self._settle_by_deadline(
                session, item, attempt, text.strip(), time_spent_seconds, actor, notices
            )
        return _outcome(session, question_id, attempt, evaluation, before, notices)

    def _submit_inline(
        self, stored: Session, question_id: str, text: str, time_spent: float, actor: str
    ) -> AnswerOutcome:
        """The answer, its offline evaluation and follow-up in one transaction (issue 16).

        For an evaluator that declares itself ``inline`` (pure and fast, under 5 ms: the
        shipped offline scorer) there is nothing slow to save the answer from, so one
        durable commit stores all three. The evaluation is computed before the
        transaction from ``stored``; an evaluator that raises is recorded as its failure
        in the same transaction, and the answer is kept. When the stored row is no longer
        ``stored``'s version, the transaction checks that what the evaluation and the
        follow-up were computed from (the offline parts, the item, its follow-ups so far)
        is unchanged, and raises :class:`_StaleSnapshot`, storing nothing, otherwise.
        """
        session_id = stored.id
        assert stored.interview is not None
        item = stored.interview.item(session_id, question_id)
        answer = text.strip()
        data: dict[str, Any] | None = None
        failed: dict[str, Any] | None = None
        follow_text: str | None = None
        evaluation: AnswerEvaluation | None = None
        question = self.questions(session_id).get(item.question_id)
        if question is not None and answer:
            try:
                evaluation = self._score(
                    session_id, self.evaluator, question, item, answer, time_spent
                )
                data = _evaluation_data(evaluation, self.evaluator.name)
                asked = [f.text for f in stored.interview.follow_ups_of(item.id)]
                if item.kind == "question" and len(asked) < stored.interview.max_follow_ups:
                    follow_text = self.interviewer.follow_up(question, answer, evaluation, asked)
            except Exception as exc:
                if requests_disabled(exc):
                    raise
                failed, evaluation = _failure("evaluator", exc), None
        attempt = 0
        before: set[str] = set()
        asked_before = [f.text for f in stored.interview.follow_ups_of(item.id)]

        def rule(session: Session, now: datetime) -> Change:
            nonlocal attempt, before
            if session.version != stored.version and not _same_basis(
                session, stored, item, asked_before, self.ai.model_ref(session) is None
            ):
                raise _StaleSnapshot(session_id)
            assert session.interview is not None
            before = {i.id for i in session.interview.items}
            session, events = apply_answer(session, question_id, text, time_spent, now)
            assert session.interview is not None
            attempt = session.interview.item(session_id, question_id).attempts
            if data is not None:
                session, more = apply_evaluation(session, item.id, attempt, data, now)
                events = [*events, *more]
                if follow_text:
                    session, more = apply_follow_up(session, item.id, follow_text, now)
                    events = [*events, *more]
            elif failed is not None:
                session, more = apply_evaluation_failed(session, item.id, attempt, failed, now)
                events = [*events, *more]
            return session, events

        session = self.writer.change(session_id, rule, "answer", actor)
        return _outcome(session, question_id, attempt, evaluation, before, [])

    def _settle_by_deadline(
        self,
        session: Session,
        item: PlanItem,
        attempt: int,
        text: str,
        time_spent: float,
        actor: str,
        notices: list[str],
    ) -> tuple[Session, AnswerEvaluation | None]:
        """The model's evaluation if it comes within the deadline, else the offline one now.

        Issue 15: a candidate never waits on a model. The model's evaluation and
        follow-up are asked for in a worker thread; past
        ``ai_answer_deadline_seconds`` the offline evaluation is stored as provisional
        and returned, and the model's, when it validates, replaces it (an
        ``answer_evaluated`` event with ``replaces_provisional``) together with its
        follow-up, which reach the room over the live stream.
        """
        later: list[str] = []
        with self._in_flight_lock:  # busy from now, even while the job waits for a worker
            self._in_flight.add((session.id, item.id, attempt))
        job = self._pool().submit(
            self._settle, session, item, attempt, text, time_spent, actor, later
        )
        deadline = get_settings().ai_answer_deadline_seconds
        try:
            result = job.result(timeout=deadline)
        except FutureTimeout:
            pass
        else:
            notices.extend(later)
            return result
        question = self.questions(session.id).get(item.question_id)
        if question is None:
            return self.writer.store.get(session.id) or session, None
        offline = self._score(session.id, self.evaluator, question, item, text, time_spent)
        data = _evaluation_data(offline, self.evaluator.name)
        stored = self.writer.change(
            session.id,
            lambda s, now: apply_evaluation(s, item.id, attempt, data, now, provisional=True),
            "evaluate",
            actor,
            expire_first=False,
        )
        notices.append(
            f"The AI evaluator is taking longer than {deadline:g} s, so this is the offline "
            "evaluation; the AI's replaces it when it arrives."
        )
        if job.done() and job.exception() is None:
            notices.extend(later)
            return job.result()  # it landed first after all: it is the one stored
        return stored, offline

    def _score(
        self,
        session_id: str,
        evaluator: Evaluator,
        question: Question,
        item: PlanItem,
        text: str,
        time_spent: float,
    ) -> AnswerEvaluation:
        """``evaluator``'s evaluation of ``text`` as the answer to ``item``.

        A follow-up's answer is judged on what it adds to the candidate's last answer to
        the question it follows (issue 9: it can repair a thin answer, never raise the
        score when it adds nothing relevant); a question's answer on its own.
        """
        spent = time_spent or None
        if item.parent_id is not None:
            earlier = self.attempts(session_id, item.parent_id)
            if earlier:
                return evaluator.evaluate_follow_up(
                    question, earlier[-1].text, item.text, text, time_spent_seconds=spent
                )
        return evaluator.evaluate(question, text, time_spent_seconds=spent)

    def model_busy(self, session_id: str, item_id: str, attempt: int) -> bool:
        """True while this process's model is still evaluating (or following up) an attempt.

        The terminal waits on it after a provisional evaluation (issue 15): once it is
        False the model's evaluation and follow-up are stored, or it fell back.
        """
        with self._in_flight_lock:
            return (session_id, item_id, attempt) in self._in_flight

    def _pool(self) -> ThreadPoolExecutor:
        """Worker threads for model calls that outlive the request (created on first use)."""
        with self._in_flight_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=MODEL_WORKERS, thread_name_prefix="rehearse-model"
                )
            return self._executor

    def close(self) -> None:
        """Stop taking model work; calls under way finish in their threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def recover(self, session_id: str, *, grace_seconds: float = 0.0) -> int:
        """Evaluate every saved answer that has neither an evaluation nor a recorded failure.

        Such an answer is left by a crash between an answer's two commits (issue 10,
        item 3). Answers this process is evaluating right now are left alone, and so
        are answers younger than ``grace_seconds`` (another worker may be scoring them;
        two evaluations of one attempt keep the first, see ``apply_evaluation``).

        Returns:
            How many answers were settled.

        Raises:
            SessionNotFoundError: no such session.
        """
        session = self.writer.store.get(session_id)
        if session is None:
            raise SessionNotFoundError(session_id)
        waiting = self._unsettled(session)
        if not waiting:
            return 0
        attempts = {(a.item_id, a.attempt): a for a in self.attempts(session_id)}
        oldest = self.writer.clock.now() - timedelta(seconds=grace_seconds)
        settled = 0
        for item, number in waiting:
            answer = attempts.get((item.id, number))
            recent = (
                answer is not None
                and answer.submitted_at is not None
                and (answer.submitted_at > oldest)
            )
            if answer is None or (grace_seconds and recent):
                continue
            session, _ = self._settle(
                session, item, number, answer.text, answer.time_spent_seconds, "system", []
            )
            settled += 1
        return settled

    def is_settled(self, session: Session) -> bool:
        """True when every answer of ``session`` has an evaluation or a recorded failure."""
        return session.interview is None or not session.interview.unsettled()

    def _unsettled(self, session: Session) -> list[tuple[PlanItem, int]]:
        """Answers waiting for an evaluation that this process is not making now."""
        if session.interview is None:
            return []
        with self._in_flight_lock:
            busy = set(self._in_flight)
        return [
            (item, n)
            for item, n in session.interview.unsettled()
            if (session.id, item.id, n) not in busy
        ]

    def _settle(
        self,
        session: Session,
        item: PlanItem,
        attempt: int,
        text: str,
        time_spent: float,
        actor: str,
        notices: list[str],
    ) -> tuple[Session, AnswerEvaluation | None]:
        """Evaluate one saved attempt and store the evaluation (or the failure) and follow-up."""
        key = (session.id, item.id, attempt)
        with self._in_flight_lock:
            self._in_flight.add(key)
        try:
            ref = self.ai.model_ref(session)
            evaluation, evaluator = self._evaluate(
                session.id, ref, item, attempt, text, time_spent, actor, notices
            )
            if evaluation is None:
                return self.writer.store.get(session.id) or session, None
            assert session.interview is not None
            stored = self._record_evaluation(
                session.id,
                ref,
                item,
                attempt,
                evaluation,
                evaluator,
                text,
                actor,
                notices,
                session.interview,
            )
            return stored, evaluation
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(key)

    def _evaluate(
        self,
        session_id: str,
        ref: ModelRef | None,
        item: PlanItem,
        attempt: int,
        text: str,
        time_spent: float,
        actor: str,
        notices: list[str],
    ) -> tuple[AnswerEvaluation | None, str]:
        """The evaluation and the name of the evaluator that made it.

        ``None`` when the evaluator failed; the failure is then recorded, which settles
        the attempt (the report counts it answered, without a score).
        """
        question = self.questions(session_id).get(item.question_id)
        if question is None:
            return None, self.evaluator.name

        def offline() -> AnswerEvaluation:
            assert question is not None
            return self._score(session_id, self.evaluator, question, item, text, time_spent)

        try:
            if ref is None:
                return offline(), self.evaluator.name
            evaluation, used = self.ai.with_fallback(
                session_id,
                ref,
                "evaluator",
                actor,
                notices,
                lambda: self._score(
                    session_id,
                    self.ai.llm_evaluator(session_id, ref, actor),
                    question,
                    item,
                    text,
                    time_spent,
                ),
                offline,
            )
            return evaluation, str(ref) if used else self.evaluator.name
        except Exception as exc:
            if requests_disabled(exc):
                raise
            failed = _failure("evaluator", exc)
            self.writer.change(
                session_id,
                lambda s, now: apply_evaluation_failed(s, item.id, attempt, failed, now),
                "record a failure of",
                actor,
                expire_first=False,
            )
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
        data = _evaluation_data(evaluation, evaluator)
        follow_text: str | None = None
        if item.kind == "question":
            question = self.questions(session_id).get(item.question_id)
            asked = [f.text for f in plan.follow_ups_of(item.id)]
            if question is not None and len(asked) < plan.max_follow_ups:

                def offline() -> str | None:
                    assert question is not None
                    return self.interviewer.follow_up(question, text, evaluation, asked)

                try:
                    if ref is None:
                        follow_text = offline()
                    else:
                        follow_text = self.ai.follow_up(
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
                    self.writer.note(
                        session_id, EventType.PROVIDER_FAILED, _failure("interviewer", exc), actor
                    )

        def rule(session: Session, now: datetime) -> Change:
            assert session.interview is not None
            waiting = attempt in session.interview.item(session_id, item.id).provisional_attempts
            if waiting and evaluator == self.evaluator.name:
                # the model fell back to offline: the provisional score stands as it is
                if follow_text:
                    return apply_follow_up(session, item.id, follow_text, now)
                return session, []
            session, events = apply_evaluation(session, item.id, attempt, data, now)
            if follow_text and events:
                session, more = apply_follow_up(session, item.id, follow_text, now)
                events = [*events, *more]
            return session, events

        return self.writer.change(session_id, rule, "evaluate", actor, expire_first=False)

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
        session = self.writer.read(session_id)
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
            self.writer.change(session_id, rule, "save a whiteboard for", actor)
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
        return self.writer.change(
            session_id, lambda s, now: apply_skip(s, question_id, now), "skip a question of", actor
        )

    def attempts(self, session_id: str, item_id: str | None = None) -> list[Attempt]:
        """Answers of the session (of ``item_id`` only, if given) with their evaluations."""
        events = self.writer.store.get_events(
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
                    submitted_at=event.at,
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
        self.writer.read(session_id)
        return self.attempts(session_id)


class _StaleSnapshot(Exception):
    """The session changed since the copy an answer was evaluated from, in a way that matters."""


def _same_basis(
    session: Session, stored: Session, item: PlanItem, asked: list[str], offline: bool
) -> bool:
    """Whether an answer to ``item`` evaluated from ``stored`` is what ``session`` would give.

    The evaluation depends on the item (its question, kind and parent) and the offline
    evaluator; the follow-up also on the follow-ups asked so far and their limit.
    """
    if not offline or session.interview is None:
        return False
    assert stored.interview is not None
    if not _planned(session, item.id):
        return False
    fresh = session.interview.item(session.id, item.id)
    return (
        fresh.question_id == item.question_id
        and fresh.kind == item.kind
        and fresh.parent_id == item.parent_id
        and session.interview.max_follow_ups == stored.interview.max_follow_ups
        and [f.text for f in session.interview.follow_ups_of(item.id)] == asked
    )


def _planned(session: Session, item_id: str) -> bool:
    """Whether the session's plan has the item ``item_id``."""
    return session.interview is not None and any(i.id == item_id for i in session.interview.items)


def _failure(part: str, exc: Exception) -> dict[str, Any]:
    """The ``provider_failed`` data of a part that raised ``exc``."""
    return {"part": part, "error": type(exc).__name__, "message": str(exc)[:500]}


def _evaluation_data(evaluation: AnswerEvaluation, evaluator: str) -> dict[str, Any]:
    """The stored JSON of an evaluation: it names what made it (provider, model, versions)."""
    data: dict[str, Any] = {"provider": "offline", "model": "default", "prompt_version": None}
    return data | evaluation.model_dump(mode="json") | {"evaluator": evaluator}


def _outcome(
    session: Session,
    question_id: str,
    attempt: int,
    evaluation: AnswerEvaluation | None,
    before: set[str],
    notices: list[str],
) -> AnswerOutcome:
    """The outcome of an answer to ``question_id``: ``before`` is the plan's item ids then."""
    assert session.interview is not None
    follow_up = next((i for i in session.interview.items if i.id not in before), None)
    return AnswerOutcome(
        session=session,
        item=session.interview.item(session.id, question_id),
        attempt=attempt,
        evaluation=evaluation,
        follow_up=follow_up,
        next_question=session.interview.current(),
        notices=notices,
    )
