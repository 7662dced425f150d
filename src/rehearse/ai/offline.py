"""The offline interviewer and evaluator: no network, no key, deterministic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

from rehearse.bank import QuestionBank, load_bank
from rehearse.domain.config import SessionConfig
from rehearse.domain.questions import Question, QuestionCategory, keywords
from rehearse.domain.selection import QuestionIndex, select_questions
from rehearse.scoring import (
    RUBRIC_VERSION,
    AnswerEvaluation,
    Dimension,
    TopicIndex,
    TopicQuestion,
    evaluate_answer,
    evaluate_follow_up,
)

#: Below this key-point coverage (0-100) an answer earns a follow-up.
FOLLOW_UP_BELOW = 60

STAR_PROBES = {
    "situation": "Can you set the scene first: where were you, and what was at stake?",
    "task": "What exactly were you responsible for in that situation?",
    "action": "What did you do yourself, step by step, rather than the team?",
    "result": "What was the outcome, and how did you measure it?",
}


class OfflineInterviewer:
    """Draws the plan from the question bank and asks the bank's follow-ups.

    A follow-up is asked when an answer covers less than 60% of the key points: the
    bank follow-up closest to what was missed (most shared keywords). For a behavioral
    answer missing a STAR part, the probe for the first missing part is asked instead.

    Args:
        bank: the questions to draw from (default: shipped plus imported banks).
    """

    name = "offline"

    def __init__(self, bank: QuestionBank | None = None) -> None:
        self._bank = bank
        self._index: QuestionIndex | None = None

    @property
    def bank(self) -> QuestionBank:
        """The questions, read on first use: a command that plans nothing never parses them.

        Raises:
            ConfigurationError: an imported bank file is invalid, or reuses an id.
        """
        if self._bank is None:
            self._bank = load_bank()
        return self._bank

    def plan(self, config: SessionConfig, *, seed: int, seen: frozenset[str]) -> list[Question]:
        """Questions by :func:`rehearse.domain.selection.select_questions`."""
        return select_questions(self.index, config, seed=seed, seen=seen)

    @property
    def index(self) -> QuestionIndex:
        """The bank indexed for planning, built once.

        Issue 16: a plan is drawn from data in memory, not by scanning the whole bank
        per session.
        """
        if self._index is None:
            self._index = QuestionIndex(list(self.bank))
        return self._index

    def follow_up(
        self,
        question: Question,
        answer: str,
        evaluation: AnswerEvaluation,
        asked: Sequence[str],
    ) -> str | None:
        """The follow-up for an answer that missed key points, or ``None``."""
        if question.category is QuestionCategory.BEHAVIORAL and evaluation.star is not None:
            star = evaluation.star
            for part in ("situation", "task", "action", "result"):
                if not getattr(star, part) and STAR_PROBES[part] not in asked:
                    return STAR_PROBES[part]
        coverage = evaluation.dimensions.get(Dimension.KEY_POINTS, 100)
        if coverage >= FOLLOW_UP_BELOW or not evaluation.key_points_missed:
            return None
        missed = keywords(" ".join(evaluation.key_points_missed))
        unused = [f for f in question.follow_ups if f not in asked]
        if not unused:
            return None
        return max(unused, key=lambda f: len(keywords(f) & missed))


class OfflineEvaluator:
    """The calibrated rubric scorer of :mod:`rehearse.scoring` (no model, < 5 ms an answer).

    Relevance is judged by contrast with every question of ``bank`` (an answer that fits
    another question clearly better is off-topic), so questions of a plan that are not in
    the bank can be added with ``extra``.

    Args:
        bank: the questions to contrast with (default: shipped plus imported banks).
        extra: more questions to contrast with, such as a session's LLM-written plan.
    """

    name = f"offline:{RUBRIC_VERSION}"
    #: pure and fast (under 5 ms): an answer and its evaluation share one commit (issue 16)
    inline = True
    # Class-level defaults, so a subclass that skips __init__ still contrasts with the bank.
    _bank: QuestionBank | None = None
    _extra: tuple[Question, ...] = ()

    def __init__(self, bank: QuestionBank | None = None, extra: Iterable[Question] = ()) -> None:
        self._bank = bank
        self._extra = tuple(extra)

    @cached_property
    def contrast(self) -> TopicIndex:
        """The topic index of the bank and the extra questions, built on first use."""
        questions = [*(self._bank if self._bank is not None else load_bank()), *self._extra]
        return TopicIndex(topic_question(question) for question in questions)

    def evaluate(
        self,
        question: Question,
        answer: str,
        *,
        time_spent_seconds: float | None = None,
    ) -> AnswerEvaluation:
        """Score against the question's reference answer and key points."""
        return evaluate_answer(
            question=question.text,
            reference_answer=question.reference_answer,
            answer=answer,
            key_points=question.key_points,
            category=question.category,
            time_spent_seconds=time_spent_seconds,
            contrast=self.contrast,
            question_id=question.id,
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
        """The question's evaluation after a follow-up, judged on what the follow-up adds.

        See :func:`rehearse.scoring.evaluate_follow_up`: at least the previous answer's
        score, higher only when the follow-up states a key point it missed.
        """
        return evaluate_follow_up(
            question=question.text,
            reference_answer=question.reference_answer,
            previous_answer=previous_answer,
            follow_up_question=follow_up_question,
            follow_up_answer=follow_up_answer,
            key_points=question.key_points,
            category=question.category,
            time_spent_seconds=time_spent_seconds,
            contrast=self.contrast,
            question_id=question.id,
        )


def topic_question(question: Question) -> TopicQuestion:
    """What the topic index needs of a bank question."""
    return TopicQuestion(
        id=question.id,
        text=question.text,
        reference_answer=question.reference_answer,
        key_points=tuple(question.key_points),
    )
