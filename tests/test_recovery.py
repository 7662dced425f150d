"""Issue 10 items 3 and 8: an answer torn from its evaluation by a crash is scored later,
and one ending stores one report, however evaluations and endings interleave.

A crash between an answer's two commits leaves exactly the state that applying the
answer rule alone leaves: the tests build it that way, on the real store.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from rehearse.ai.offline import OfflineEvaluator
from rehearse.clock import FakeClock
from rehearse.domain.events import EventType
from rehearse.domain.interviews import apply_answer
from rehearse.domain.plan import ReportStatus
from rehearse.domain.questions import Question
from rehearse.scoring import AnswerEvaluation
from rehearse.service.background import Background
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore

GOOD = "A B-tree index keeps keys sorted, so lookups and range scans read few pages."


def _torn(manager: SessionManager, **fields: Any) -> tuple[str, str]:
    """A started session whose first answer was saved, then the process died."""
    session = manager.create_session({"candidate_name": "Ada", "plan_seed": 11, **fields})
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    manager.services.writer.change(
        session.id,
        lambda s, now: apply_answer(s, item.id, GOOD, 30.0, now),
        "answer",
        "local",
    )
    return session.id, item.id


def _evaluated(manager: SessionManager, session_id: str) -> list[dict[str, Any]]:
    return [e.data for e in manager.get_events(session_id, types=["answer_evaluated"])]


def test_ending_a_session_scores_a_torn_answer_before_the_report(
    sqlite_store: SQLStore, clock: FakeClock
) -> None:
    manager = SessionManager(sqlite_store, clock)
    session_id, item_id = _torn(manager, mode="mock", question_count=2, max_follow_ups=0)
    assert _evaluated(manager, session_id) == []
    ended = manager.end_session(session_id)
    assert ended.report_status is ReportStatus.READY
    [evaluation] = _evaluated(manager, session_id)
    assert evaluation["item_id"] == item_id
    report = manager.get_report(session_id)
    assert report.answered == 1
    [question] = [q for q in report.questions if q.status == "answered"]
    assert question.score is not None and question.score > 0


def test_the_background_owner_scores_torn_answers_on_start(
    store: SQLStore, clock: FakeClock
) -> None:
    crashed = SessionManager(store, clock)
    session_id, _ = _torn(crashed, question_count=2)
    restarted = SessionManager(store, clock)  # a new process on the same database
    background = Background(restarted.services, sweep_seconds=0)
    assert background.recover_answers() == 1
    assert len(_evaluated(restarted, session_id)) == 1
    assert background.recover_answers() == 0  # nothing scored twice


def test_the_background_owner_runs_recovery_when_started(
    sqlite_store: SQLStore, clock: FakeClock
) -> None:
    manager = SessionManager(sqlite_store, clock)
    session_id, _ = _torn(manager, question_count=2)

    async def run() -> None:
        background = Background(manager.services, sweep_seconds=0)
        await background.start()
        for _ in range(200):
            if _evaluated(manager, session_id):
                break
            await asyncio.sleep(0.01)
        await background.stop()

    # a thread of its own: the browser tests' Playwright keeps a loop on the main thread
    runner = threading.Thread(target=lambda: asyncio.run(run()))
    runner.start()
    runner.join(30)
    assert len(_evaluated(manager, session_id)) == 1


def test_a_read_scores_an_answer_left_waiting_past_the_grace_period(
    sqlite_store: SQLStore, clock: FakeClock
) -> None:
    manager = SessionManager(sqlite_store, clock)
    session_id, item_id = _torn(manager, question_count=2, time_limit_minutes=60)
    manager.get_session(session_id)
    assert _evaluated(manager, session_id) == []  # it may still be in another worker's hands
    clock.advance(180)
    session = manager.get_session(session_id)
    assert len(_evaluated(manager, session_id)) == 1
    assert session.interview is not None
    assert session.interview.item(session_id, item_id).score is not None


def test_a_mock_question_with_a_torn_answer_gets_a_score_not_a_dead_end(
    sqlite_store: SQLStore, clock: FakeClock
) -> None:
    manager = SessionManager(sqlite_store, clock)
    session_id, item_id = _torn(manager, mode="mock", question_count=2, max_follow_ups=0)
    manager.end_session(session_id)
    report = manager.get_report(session_id, regenerate=True)
    assert report.answered == 1
    assert next(q for q in report.questions if q.id == item_id).score is not None


class GatedEvaluator(OfflineEvaluator):
    """Blocks inside ``evaluate`` until the test opens the gate (a slow evaluator).

    Not ``inline``: like a model, its answers are saved before they are evaluated.
    """

    inline = False

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()

    def evaluate(
        self, question: Question, answer: str, *, time_spent_seconds: float | None = None
    ) -> AnswerEvaluation:
        self.entered.set()
        assert self.gate.wait(10)
        return super().evaluate(question, answer, time_spent_seconds=time_spent_seconds)


def test_an_ending_during_an_evaluation_stores_one_report_with_its_score(
    sqlite_store: SQLStore, clock: FakeClock
) -> None:
    evaluator = GatedEvaluator()
    manager = SessionManager(sqlite_store, clock, evaluator=evaluator)
    session = manager.create_session(
        {"candidate_name": "Ada", "plan_seed": 11, "question_count": 2, "max_follow_ups": 0}
    )
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    answering = threading.Thread(target=manager.submit_answer, args=(session.id, item.id, GOOD))
    answering.start()
    assert evaluator.entered.wait(10)
    ended = manager.end_session(session.id)  # the answer is saved, its score is not
    assert ended.report_status is ReportStatus.PENDING
    evaluator.gate.set()
    answering.join(10)
    reports = manager.get_events(session.id, types=["report_generated"])
    assert len(reports) == 1
    assert reports[0].data["report"]["answered"] == 1
    [scored] = [q for q in reports[0].data["report"]["questions"] if q["id"] == item.id]
    assert scored["score"] is not None
    # notes on a reported session (a late provider event) report nothing again
    manager.services.writer.note(session.id, EventType.PROVIDER_RETRIED, {}, "system")
    assert len(manager.get_events(session.id, types=["report_generated"])) == 1


def test_two_evaluations_of_one_attempt_store_one(sqlite_store: SQLStore, clock: FakeClock) -> None:
    manager = SessionManager(sqlite_store, clock)
    session_id, _ = _torn(manager, question_count=2)
    assert manager.recover_answers(session_id) == 1
    assert manager.recover_answers(session_id) == 0
    assert len(_evaluated(manager, session_id)) == 1


def test_fluent_words_around_a_weak_answer_are_not_called_a_strength(
    sqlite_store: SQLStore, clock: FakeClock
) -> None:
    """Issue 9: a strength is only named when it is one (the report's too)."""
    manager = SessionManager(sqlite_store, clock)
    session = manager.create_session(
        {
            "candidate_name": "Ada",
            "plan_seed": 11,
            "question_count": 1,
            "max_follow_ups": 0,
            "interview_type": "technical",
        }
    )
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    off_topic = (
        "Situation: last spring our checkout service started timing out for about five "
        "percent of users right after a release, and I was the on-call engineer.\n"
        "Task: I had to restore service quickly and find the root cause so it would not "
        "happen again.\nAction: I rolled the release back within ten minutes, told the team "
        "and support what was happening, then reproduced the problem with a load test. I "
        "found a query that lost its index in a migration, added the index back, wrote a "
        "regression test and a short blameless post-mortem.\nResult: errors dropped to "
        "zero, p95 latency fell from 2.1 seconds to 300 milliseconds, and we added an index "
        "review to our release checklist, which caught two similar problems since."
    )
    manager.submit_answer(session.id, item.id, off_topic)
    manager.end_session(session.id)
    report = manager.get_report(session.id)
    assert report.overall_score is not None and report.overall_score < 60
    assert not any("Communication" in s or "Structure" in s for s in report.strengths)
