"""A session's question plan: the items asked, in order, with their status and best score.

Kept in the session row (ids, texts, statuses, scores: small); answer texts and
evaluations are in the event log. The rules that change a plan are in
:mod:`rehearse.domain.interviews`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from rehearse.domain.questions import Question, QuestionCategory
from rehearse.errors import QuestionNotFoundError


class ItemStatus(StrEnum):
    """Where one question of the plan is."""

    PENDING = "pending"
    ANSWERED = "answered"
    SKIPPED = "skipped"


class ReportStatus(StrEnum):
    """Whether the session's report exists (issue 3: pending or failed can be retried)."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class PlanItem(BaseModel):
    """One question the candidate is asked, in plan order.

    Attributes:
        id: the bank question id, or ``<parent id>/follow-up-<n>`` for a follow-up.
        question_id: the bank question it belongs to (the parent's for a follow-up).
        kind: ``question`` or ``follow_up``.
        text: what the interviewer asks.
        category: technical, behavioral, system_design or coding.
        parent_id: the item a follow-up follows.
        answer_time_seconds: suggested time to answer, seconds.
        status: pending, answered or skipped.
        attempts: answers submitted (more than one only in practice mode).
        score: best evaluated score so far, 0-100, or ``None``.
        settled_attempts: attempts whose evaluation is stored or whose evaluator failed
            (recorded); any other attempt up to ``attempts`` still waits for its
            evaluation, e.g. after a crash between an answer's two commits (issue 10).
        attempt_scores: ``(attempt, score)`` of each evaluated attempt.
        provisional_attempts: attempts scored offline while the session's model was
            still thinking; the model's evaluation replaces theirs (issue 15).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    question_id: str
    kind: Literal["question", "follow_up"] = "question"
    text: str
    category: QuestionCategory
    parent_id: str | None = None
    answer_time_seconds: int
    status: ItemStatus = ItemStatus.PENDING
    attempts: int = 0
    score: int | None = None
    settled_attempts: tuple[int, ...] = ()
    attempt_scores: tuple[tuple[int, int], ...] = ()
    provisional_attempts: tuple[int, ...] = ()

    def unsettled_attempts(self) -> list[int]:
        """Attempts answered but neither evaluated nor recorded as failed, oldest first.

        Items stored before ``settled_attempts`` existed count as settled once scored.
        """
        if not self.settled_attempts and self.score is not None:
            return []
        return [n for n in range(1, self.attempts + 1) if n not in self.settled_attempts]


class InterviewState(BaseModel):
    """The plan of a session: its items in the order they are asked.

    Attributes:
        items: plan items; follow-ups stand right after their parent.
        seed: the random seed the plan was drawn with (reproducible).
        max_follow_ups: follow-ups the interviewer may add per question.
        report_released: staff released the report of an assessment to its candidate
            (issue 10, item 1; ``report_released`` event).
    """

    model_config = ConfigDict(frozen=True)

    items: tuple[PlanItem, ...]
    seed: int
    max_follow_ups: int = 1
    report_released: bool = False

    def current(self) -> PlanItem | None:
        """The first pending item, or ``None`` when every item is answered or skipped."""
        return next((item for item in self.items if item.status is ItemStatus.PENDING), None)

    def item(self, session_id: str, item_id: str) -> PlanItem:
        """The item with this id.

        Raises:
            QuestionNotFoundError: the plan has no such item.
        """
        for item in self.items:
            if item.id == item_id:
                return item
        raise QuestionNotFoundError(session_id, item_id)

    def settled_or_scored(self) -> bool:
        """True when any answer of the plan has been evaluated (or its evaluation failed)."""
        return any(item.score is not None or item.settled_attempts for item in self.items)

    def unsettled(self) -> list[tuple[PlanItem, int]]:
        """Every (item, attempt) still waiting for its evaluation, in plan order."""
        return [(item, n) for item in self.items for n in item.unsettled_attempts()]

    def follow_ups_of(self, item_id: str) -> list[PlanItem]:
        """The follow-ups asked after ``item_id``, in order."""
        return [item for item in self.items if item.parent_id == item_id]

    @property
    def questions(self) -> list[PlanItem]:
        """The main questions (no follow-ups)."""
        return [item for item in self.items if item.kind == "question"]

    def progress_text(self, final: bool) -> str:
        """The progress line a person reads: "Question 2 of 6", "6 of 6 questions done".

        The one wording of it: pages, the live stream and the room's script show this.
        """
        counts = self.progress()
        done, total = counts["answered"] + counts["skipped"], counts["total"]
        if not total:
            return "No questions"
        current = self.current()
        if final or current is None:
            return f"{done} of {total} questions done"
        if current.kind == "follow_up":
            return f"Question {max(done, 1)} of {total} · follow-up"
        return f"Question {done + 1} of {total}"

    def progress(self) -> dict[str, int]:
        """Counts for a progress bar.

        Returns:
            ``total``, ``answered``, ``skipped`` and ``pending`` main questions, and the
            number of ``follow_ups`` asked.
        """
        main = self.questions
        answered = sum(1 for i in main if i.status is ItemStatus.ANSWERED)
        skipped = sum(1 for i in main if i.status is ItemStatus.SKIPPED)
        return {
            "total": len(main),
            "answered": answered,
            "skipped": skipped,
            "pending": len(main) - answered - skipped,
            "follow_ups": len(self.items) - len(main),
        }

    def replace(self, updated: PlanItem) -> InterviewState:
        """A copy with the item of the same id replaced."""
        items = tuple(updated if item.id == updated.id else item for item in self.items)
        return self.model_copy(update={"items": items})


def plan_items(questions: list[Question]) -> tuple[PlanItem, ...]:
    """Plan items for bank questions, in order."""
    return tuple(
        PlanItem(
            id=q.id,
            question_id=q.id,
            text=q.text,
            category=q.category,
            answer_time_seconds=q.answer_time_seconds,
        )
        for q in questions
    )
