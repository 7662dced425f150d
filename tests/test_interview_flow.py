"""The interview flow on real storage: answers, skips, follow-ups, practice retries, reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from rehearse.ai.offline import OfflineEvaluator
from rehearse.clock import FakeClock
from rehearse.domain.plan import ItemStatus, ReportStatus
from rehearse.domain.questions import Question
from rehearse.errors import (
    AnswerRefusedError,
    ConfigurationError,
    InvalidStateError,
    QuestionNotFoundError,
    SessionImmutableError,
)
from rehearse.scoring import AnswerEvaluation
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore


def _started(manager: SessionManager, **fields: Any) -> str:
    session = manager.create_session({"candidate_name": "Ada", "plan_seed": 11, **fields})
    manager.start_session(session.id)
    return session.id


def _first(manager: SessionManager, session_id: str) -> str:
    item = manager.next_question(session_id)
    assert item is not None
    return item.id


def test_answer_is_saved_evaluated_and_logged(manager: SessionManager) -> None:
    session_id = _started(manager, mode="mock", question_count=3, max_follow_ups=0)
    item_id = _first(manager, session_id)
    outcome = manager.submit_answer(
        session_id, item_id, "  A database index is a B-tree; it speeds up reads.  ", 42.5
    )
    assert outcome.attempt == 1 and outcome.evaluation is not None
    assert (
        outcome.item.status is ItemStatus.ANSWERED
        and outcome.item.score == outcome.evaluation.score
    )
    assert outcome.next_question is not None and outcome.next_question.id != item_id
    [submitted] = manager.get_events(session_id, types=["answer_submitted"])
    assert submitted.data == {
        "item_id": item_id,
        "question_id": item_id,
        "attempt": 1,
        "text": "A database index is a B-tree; it speeds up reads.",
        "time_spent_seconds": 42.5,
    }
    [evaluated] = manager.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.seq == submitted.seq + 1
    assert evaluated.data["evaluation"]["score"] == outcome.evaluation.score
    assert evaluated.data["evaluation"]["evaluator"] == "offline:offline-2"


def test_only_an_active_session_takes_answers(manager: SessionManager, clock: FakeClock) -> None:
    created = manager.create_session({"candidate_name": "Ada", "time_limit_minutes": 5})
    item_id = _first(manager, created.id)
    with pytest.raises(InvalidStateError, match="it is created"):
        manager.submit_answer(created.id, item_id, "text")
    manager.start_session(created.id)
    manager.pause_session(created.id)
    with pytest.raises(InvalidStateError, match=r"cannot answer session .*: it is paused"):
        manager.submit_answer(created.id, item_id, "text")
    manager.resume_session(created.id)
    clock.advance(301)
    with pytest.raises(SessionImmutableError, match="it is expired"):
        manager.submit_answer(created.id, item_id, "text")
    assert manager.get_answers(created.id) == []


def test_unknown_question_and_bad_text(manager: SessionManager) -> None:
    session_id = _started(manager)
    with pytest.raises(QuestionNotFoundError, match="has no question 'nope'"):
        manager.submit_answer(session_id, "nope", "text")
    item_id = _first(manager, session_id)
    with pytest.raises(ConfigurationError, match="must not be blank"):
        manager.submit_answer(session_id, item_id, "   \n ")
    with pytest.raises(ConfigurationError, match="at most 20000"):
        manager.submit_answer(session_id, item_id, "x" * 20_001)
    with pytest.raises(ConfigurationError, match="time_spent_seconds=-1"):
        manager.submit_answer(session_id, item_id, "fine", -1)
    assert manager.get_answers(session_id) == []


def test_double_answer_refused_outside_practice(manager: SessionManager) -> None:
    session_id = _started(manager, mode="mock", max_follow_ups=0)
    item_id = _first(manager, session_id)
    manager.submit_answer(session_id, item_id, "first answer about caching and invalidation")
    with pytest.raises(AnswerRefusedError, match=r"answered already .*this is mock"):
        manager.submit_answer(session_id, item_id, "second answer")
    assert len(manager.get_answers(session_id)) == 1


def test_practice_retry_is_a_new_attempt_and_the_best_counts(manager: SessionManager) -> None:
    session_id = manager.create_session(
        {
            "candidate_name": "Ada",
            "mode": "practice",
            "question_count": 1,
            "max_follow_ups": 0,
            "role": "backend",
            "interview_type": "technical",
            "plan_seed": 0,
        }
    ).id
    manager.start_session(session_id)
    item = manager.next_question(session_id)
    assert item is not None
    question = manager.services.interviews.questions(session_id)[item.question_id]
    strong = manager.submit_answer(session_id, item.id, question.reference_answer, 60)
    weak = manager.submit_answer(session_id, item.id, "I am not sure.", 10)
    assert (strong.attempt, weak.attempt) == (1, 2)
    assert strong.evaluation and weak.evaluation and strong.evaluation.score > weak.evaluation.score
    assert weak.item.score == strong.evaluation.score
    manager.end_session(session_id)
    report = manager.get_report(session_id)
    assert report.questions[0].score == strong.evaluation.score
    assert report.questions[0].attempts == 2
    assert report.questions[0].answer == question.reference_answer.strip()


def test_skip_counts_zero_and_cannot_be_answered(manager: SessionManager) -> None:
    session_id = _started(manager, question_count=2, max_follow_ups=0)
    item_id = _first(manager, session_id)
    session = manager.skip_question(session_id, item_id)
    assert (
        session.interview
        and session.interview.item(session_id, item_id).status is ItemStatus.SKIPPED
    )
    with pytest.raises(AnswerRefusedError, match="it was skipped"):
        manager.submit_answer(session_id, item_id, "late answer")
    with pytest.raises(AnswerRefusedError, match="it is skipped"):
        manager.skip_question(session_id, item_id)
    assert [e.type for e in manager.get_events(session_id)][-1] == "question_skipped"
    manager.end_session(session_id)
    report = manager.get_report(session_id)
    assert (report.skipped, report.unanswered, report.overall_score) == (1, 1, 0)


class ScriptedInterviewer:
    """Always follows up (up to the limit), to test the bound."""

    name = "scripted"

    def __init__(self, real: Any) -> None:
        self.real = real

    def plan(self, config: Any, *, seed: int, seen: frozenset[str]) -> list[Question]:
        return list(self.real.plan(config, seed=seed, seen=seen))

    def follow_up(
        self, question: Question, answer: str, evaluation: AnswerEvaluation, asked: Sequence[str]
    ) -> str | None:
        return f"Follow-up {len(asked) + 1}: say more about {question.id}?"


def test_follow_ups_are_inserted_after_the_question_and_bounded(
    store: SQLStore, clock: FakeClock
) -> None:
    base = SessionManager(store, clock)
    manager = SessionManager(store, clock, interviewer=ScriptedInterviewer(base.interviewer))
    session_id = _started(manager, question_count=2, max_follow_ups=2, mode="practice")
    first = _first(manager, session_id)
    outcome = manager.submit_answer(session_id, first, "short answer")
    assert outcome.follow_up is not None
    assert (
        outcome.follow_up.id == f"{first}/follow-up-1"
        and outcome.next_question == outcome.follow_up
    )
    manager.submit_answer(session_id, first, "retry answer")  # practice retry asks the second
    manager.submit_answer(session_id, first, "third try")  # bounded at max_follow_ups=2
    plan = manager.get_plan(session_id)
    assert [i.id for i in plan.items][:3] == [first, f"{first}/follow-up-1", f"{first}/follow-up-2"]
    assert len(plan.items) == 4
    follow = manager.submit_answer(session_id, f"{first}/follow-up-1", "more detail about it")
    assert follow.follow_up is None  # follow-ups do not get follow-ups
    assert [
        e.data["parent_id"] for e in manager.get_events(session_id, types=["follow_up_asked"])
    ] == [first, first]


def test_an_answer_scored_from_a_stale_copy_is_redone_on_the_stored_plan(
    store: SQLStore, clock: FakeClock
) -> None:
    """Another process changed the session after this one cached it (issue 16).

    The answer is scored from the newest copy this process holds; the transaction sees
    that a follow-up was asked meanwhile and redoes the follow-up on the stored plan: it
    never repeats the one asked elsewhere, and that one can be answered here.
    """
    base = SessionManager(store, clock)
    here = SessionManager(store, clock, interviewer=ScriptedInterviewer(base.interviewer))
    elsewhere = SessionManager(
        SQLStore(store.engine, migrate_on_open=False),  # its own cache, as another process
        clock,
        interviewer=ScriptedInterviewer(base.interviewer),
    )
    session_id = _started(here, question_count=2, max_follow_ups=2, mode="practice")
    first = _first(here, session_id)  # cached here at this version
    asked = elsewhere.submit_answer(session_id, first, "short answer")
    assert asked.follow_up is not None and asked.follow_up.text.startswith("Follow-up 1:")
    retry = here.submit_answer(session_id, first, "retry answer")
    assert retry.attempt == 2 and retry.evaluation is not None
    assert retry.follow_up is not None and retry.follow_up.id == f"{first}/follow-up-2"
    assert retry.follow_up.text.startswith("Follow-up 2:")  # not the one asked elsewhere
    plan = here.get_plan(session_id)
    assert [i.id for i in plan.items][:3] == [first, f"{first}/follow-up-1", f"{first}/follow-up-2"]
    follow = here.submit_answer(session_id, f"{first}/follow-up-1", "more detail about it")
    assert follow.evaluation is not None and follow.follow_up is None
    assert [a.attempt for a in here.get_answers(session_id)] == [1, 2, 1]


def test_offline_follow_up_when_key_points_are_missed(manager: SessionManager) -> None:
    session_id = _started(manager, interview_type="technical", question_count=2, mode="mock")
    item_id = _first(manager, session_id)
    outcome = manager.submit_answer(
        session_id, item_id, "It depends on the situation, I would look into it."
    )
    assert outcome.follow_up is not None
    question = manager.services.interviews.questions(session_id)[item_id]
    assert outcome.follow_up.text in question.follow_ups
    # a complete answer gets no follow-up
    second = outcome.next_question
    assert second is not None
    manager.submit_answer(session_id, second.id, "skip me")  # answer the follow-up
    nxt = manager.next_question(session_id)
    assert nxt is not None
    reference = manager.services.interviews.questions(session_id)[nxt.question_id].reference_answer
    assert manager.submit_answer(session_id, nxt.id, reference).follow_up is None


class BrokenEvaluator(OfflineEvaluator):
    def evaluate(
        self, question: Question, answer: str, *, time_spent_seconds: float | None = None
    ) -> AnswerEvaluation:
        raise RuntimeError("evaluator exploded")


def test_evaluator_failure_loses_no_answer(store: SQLStore, clock: FakeClock) -> None:
    manager = SessionManager(store, clock, evaluator=BrokenEvaluator())
    session_id = _started(manager, question_count=2)
    item_id = _first(manager, session_id)
    outcome = manager.submit_answer(session_id, item_id, "my answer survives")
    assert outcome.evaluation is None
    assert [a.text for a in manager.get_answers(session_id)] == ["my answer survives"]
    [failure] = manager.get_events(session_id, types=["provider_failed"])
    assert failure.data == {
        "part": "evaluator",
        "error": "RuntimeError",
        "message": "evaluator exploded",
        "item_id": item_id,
        "attempt": 1,
    }


def test_report_failure_is_recorded_and_retried(
    store: SQLStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = SessionManager(store, clock)
    session_id = _started(manager, question_count=2, max_follow_ups=0)
    manager.submit_answer(session_id, _first(manager, session_id), "an answer to keep")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("renderer down")

    import rehearse.service.reports as reports

    monkeypatch.setattr(reports, "build_report", broken)
    ended = manager.end_session(session_id)
    assert ended.status.value == "completed" and ended.report_status is ReportStatus.FAILED
    assert manager.get_events(session_id)[-1].data == {"error": "RuntimeError: renderer down"}
    monkeypatch.undo()
    report = manager.get_report(session_id)
    assert report.answered == 1 and report.questions[0].answer == "an answer to keep"
    assert manager.get_session(session_id).report_status is ReportStatus.READY
    # stored: read back without regenerating
    assert manager.get_report(session_id) == report


def test_interrupted_interview_resumes_where_it_was(store: SQLStore, clock: FakeClock) -> None:
    first = SessionManager(store, clock)
    session_id = _started(first, question_count=3, max_follow_ups=0, mode="mock")
    item_id = _first(first, session_id)
    first.submit_answer(session_id, item_id, "answer before the crash")
    first.pause_session(session_id)
    # a new process picks up the same session
    second = SessionManager(store, clock)
    second.resume_session(session_id)
    nxt = second.next_question(session_id)
    assert nxt is not None and nxt.id != item_id
    assert [a.text for a in second.get_answers(session_id)] == ["answer before the crash"]


def test_report_content(manager: SessionManager) -> None:
    session_id = manager.create_session(
        {
            "candidate_name": "Ada",
            "interview_type": "technical",
            "question_count": 3,
            "max_follow_ups": 0,
            "mode": "mock",
            "plan_seed": 5,
        }
    ).id
    manager.start_session(session_id)
    plan = manager.get_plan(session_id)
    questions = manager.services.interviews.questions(session_id)
    a, b, c = (item.id for item in plan.items)
    manager.submit_answer(session_id, a, questions[a].reference_answer, 120)
    manager.submit_answer(session_id, b, "No idea, sorry, I have not worked with that.", 20)
    manager.skip_question(session_id, c)
    manager.end_session(session_id)
    report = manager.get_report(session_id)
    by_id = {q.id: q for q in report.questions}
    score_a, score_b = by_id[a].score, by_id[b].score
    assert score_a is not None and score_a >= 80
    assert score_b is not None and score_b <= 25
    assert by_id[c].status == "skipped" and by_id[c].score is None
    assert report.overall_score == round((score_a + score_b + 0) / 3)
    assert report.answered == 2 and report.skipped == 1 and report.total == 3
    assert any("Strong answer" in s for s in report.strengths)
    assert any(questions[c].text in w for w in report.weaknesses)
    assert report.recommended_topics
    assert by_id[b].key_points_missed and by_id[b].feedback
    assert "Ada answered 2 of 3 questions and skipped 1" in report.summary
    assert report.evaluator == "offline:offline-2"


class SlowEvaluator(OfflineEvaluator):
    """Scoring takes longer than the time left, and the background sweep expires the
    session (and stores its report) before the score is recorded."""

    inline = False  # a slow evaluator: its answers are saved before they are scored

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sweep: Any = None

    def evaluate(
        self, question: Question, answer: str, *, time_spent_seconds: float | None = None
    ) -> AnswerEvaluation:
        self.clock.advance(600)
        assert self.sweep() != []
        return super().evaluate(question, answer, time_spent_seconds=time_spent_seconds)


def test_a_score_that_lands_after_the_session_ended_updates_its_report(
    store: SQLStore, clock: FakeClock
) -> None:
    slow = SlowEvaluator(clock)
    manager = SessionManager(store, clock, evaluator=slow)
    slow.sweep = manager.sweep_expired
    session_id = _started(manager, question_count=1, max_follow_ups=0, time_limit_minutes=5)
    item_id = _first(manager, session_id)
    outcome = manager.submit_answer(session_id, item_id, "A B-tree index keeps keys sorted.")
    assert outcome.evaluation is not None
    session = manager.get_session(session_id)
    assert session.status.value == "expired" and session.report_status is ReportStatus.READY
    report = manager.get_report(session_id)
    assert report.questions[0].score == outcome.evaluation.score


def test_racing_end_and_expiry_store_one_report(
    manager_on_each_backend: SessionManager, clock: FakeClock
) -> None:
    manager = manager_on_each_backend
    session_id = _started(manager, question_count=1, time_limit_minutes=5)
    clock.advance(301)
    manager.sweep_expired()
    manager.get_session(session_id)
    manager.services.writer.expire(
        session_id, "system"
    )  # a second worker finding it due from a stale read
    assert len(manager.get_events(session_id, types=["report_generated"])) == 1


def test_an_offline_answer_and_its_evaluation_are_one_commit(manager: SessionManager) -> None:
    """Issue 16: the offline scorer is pure and fast, so one durable commit holds all."""
    session_id = _started(manager, question_count=3, max_follow_ups=1)
    before = manager.get_session(session_id)
    item_id = _first(manager, session_id)
    outcome = manager.submit_answer(session_id, item_id, "It depends.")
    assert outcome.session.version == before.version + 1
    types = [e.type for e in manager.get_events(session_id, after_seq=before.last_seq)]
    assert types == ["answer_submitted", "answer_evaluated", "follow_up_asked"]
    assert outcome.follow_up is not None and outcome.item.settled_attempts == (1,)


def test_an_inline_evaluator_that_fails_keeps_the_answer_in_the_same_commit(
    store: SQLStore, clock: FakeClock
) -> None:
    class BrokenInline(BrokenEvaluator):
        inline = True

    manager = SessionManager(store, clock, evaluator=BrokenInline())
    session_id = _started(manager, question_count=2)
    before = manager.get_session(session_id)
    outcome = manager.submit_answer(session_id, _first(manager, session_id), "kept")
    assert outcome.evaluation is None and outcome.session.version == before.version + 1
    types = [e.type for e in manager.get_events(session_id, after_seq=before.last_seq)]
    assert types == ["answer_submitted", "provider_failed"]
    assert [a.text for a in manager.get_answers(session_id)] == ["kept"]


def test_a_plan_of_named_questions_keeps_their_order(manager: SessionManager) -> None:
    """``question_ids`` (a learning path's practice set) replaces the drawn plan."""
    from rehearse.bank import load_bank

    ids = [q.id for q in list(load_bank())[:3]][::-1]
    session = manager.create_session(
        {"candidate_name": "Ada", "question_ids": ids, "max_follow_ups": 0}
    )
    assert session.interview is not None
    assert [item.question_id for item in session.interview.items] == ids
    with pytest.raises(ConfigurationError, match=r"question_ids\[1\]='nope': not in the question"):
        manager.create_session({"candidate_name": "Ada", "question_ids": [ids[0], "nope"]})
    with pytest.raises(ConfigurationError, match="question_ids"):
        manager.create_session({"candidate_name": "Ada", "question_ids": [ids[0], ids[0]]})
