"""Test helpers for progress: an evaluator with scripted scores, and whole sessions run fast."""

from __future__ import annotations

from collections.abc import Sequence

from rehearse.clock import FakeClock
from rehearse.domain.questions import Question
from rehearse.scoring import AnswerEvaluation
from rehearse.scoring.evaluator import Dimension
from rehearse.service.sessions import SessionManager


class ScriptedEvaluator:
    """Scores an answer by the number it starts with ("72 because ..."): exact expectations."""

    name = "scripted"

    def evaluate(
        self, question: Question, answer: str, *, time_spent_seconds: float | None = None
    ) -> AnswerEvaluation:
        score = int(answer.split()[0])
        covered = round(len(question.key_points) * score / 100)
        return AnswerEvaluation(
            score=score,
            dimensions={d: score for d in Dimension},
            key_points_hit=question.key_points[:covered],
            key_points_missed=question.key_points[covered:],
            feedback=["ok"],
            strengths=[],
            star=None,
            word_count=len(answer.split()),
            filler_words={},
            words_per_minute=None,
            rubric_version="scripted",
        )

    def evaluate_follow_up(
        self,
        question: Question,
        previous_answer: str,
        follow_up_question: str,
        follow_up_answer: str,
        *,
        time_spent_seconds: float | None = None,
    ) -> AnswerEvaluation:
        return self.evaluate(question, follow_up_answer, time_spent_seconds=time_spent_seconds)


def run_session(
    manager: SessionManager,
    clock: FakeClock,
    scores: Sequence[int | None],
    *,
    email: str = "ada@example.com",
    seed: int = 1,
    end: str = "complete",
) -> str:
    """One session answering (score) or skipping (None) each question, then ending it."""
    session = manager.create_session(
        {
            "candidate_name": "Ada",
            "candidate_email": email,
            "plan_seed": seed,
            "question_count": len(scores),
            "max_follow_ups": 0,
            "mode": "mock",
        }
    )
    manager.start_session(session.id)
    for score in scores:
        item = manager.next_question(session.id)
        assert item is not None
        clock.advance(60)
        if score is None:
            manager.skip_question(session.id, item.id)
        else:
            manager.submit_answer(session.id, item.id, f"{score} points of answer", 60)
    if end == "complete":
        manager.end_session(session.id)
    elif end == "cancel":
        manager.cancel_session(session.id)
    return session.id
