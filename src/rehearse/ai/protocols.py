"""The protocols every interviewer and evaluator implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from rehearse.domain.config import SessionConfig
from rehearse.domain.questions import Question

if TYPE_CHECKING:  # the scorer loads where answers are scored, not with the protocols
    from rehearse.scoring import AnswerEvaluation


class Interviewer(Protocol):
    """Chooses the questions and reacts to answers."""

    name: str

    def plan(self, config: SessionConfig, *, seed: int, seen: frozenset[str]) -> list[Question]:
        """The session's questions, in the order they are asked.

        Args:
            config: the session configuration (role, level, type, count, job description, resume).
            seed: random seed; the same inputs and seed give the same plan.
            seen: question ids the candidate met in recent sessions, to avoid.
        """
        ...

    def follow_up(
        self,
        question: Question,
        answer: str,
        evaluation: AnswerEvaluation,
        asked: Sequence[str],
    ) -> str | None:
        """A follow-up question when the answer missed something, else ``None``.

        Args:
            question: the question answered.
            answer: the candidate's answer text.
            evaluation: its evaluation (key points missed, STAR parts).
            asked: follow-ups already asked for this question.
        """
        ...


class Evaluator(Protocol):
    """Scores answers on the rubric's 0-100 scale and dimensions."""

    name: str

    def evaluate(
        self,
        question: Question,
        answer: str,
        *,
        time_spent_seconds: float | None = None,
    ) -> AnswerEvaluation:
        """Score ``answer`` to ``question`` (0-100 overall and per dimension, with feedback)."""
        ...

    def evaluate_follow_up(
        self,
        question: Question,
        previous_answer: str,
        follow_up_question: str,
        follow_up_answer: str,
        *,
        time_spent_seconds: float | None = None,
    ) -> AnswerEvaluation:
        """The question's evaluation after a follow-up answer, judged on what it adds.

        Args:
            question: the parent question.
            previous_answer: the candidate's last answer to the parent question.
            follow_up_question: the follow-up as asked.
            follow_up_answer: the answer to the follow-up.
            time_spent_seconds: how long the follow-up answer took.

        Returns:
            At least the previous answer's score (0-100); higher only when the follow-up
            adds something relevant, with feedback about the follow-up first.
        """
        ...
