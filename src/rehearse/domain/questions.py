"""Interview questions as data: the schema every question bank file must satisfy.

A bank file is YAML (or JSON) with a ``topic`` and a list of ``questions``. The
shipped banks live in ``rehearse/bank/*.yaml``; users add their own with
``rehearse questions import``. This module is pure: loading files is the job of
:mod:`rehearse.bank`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from rehearse.domain.config import Level, Role


class QuestionCategory(StrEnum):
    """What kind of answer a question expects; decides how it is scored."""

    TECHNICAL = "technical"
    BEHAVIORAL = "behavioral"
    SYSTEM_DESIGN = "system_design"
    CODING = "coding"


QUESTION_ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
QuestionId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=QUESTION_ID_PATTERN, max_length=80)
]


class LevelRange(BaseModel):
    """The levels a question suits, inclusive at both ends."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: Level = Level.JUNIOR
    max: Level = Level.STAFF

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min.rank > self.max.rank:
            raise ValueError(f"levels.min={self.min.value} is above levels.max={self.max.value}")
        return self

    def __contains__(self, level: object) -> bool:
        return isinstance(level, Level) and self.min.rank <= level.rank <= self.max.rank


class Question(BaseModel):
    """One interview question with what a good answer contains.

    Attributes:
        id: stable, unique across all banks, kebab-case (``be-http-idempotency``).
        text: the question as the interviewer asks it.
        category: technical, behavioral, system_design or coding.
        roles: the roles it is asked of (at least one).
        levels: the seniority range it suits.
        key_points: 3-6 short statements a complete answer covers; the evaluator
            measures coverage against them.
        reference_answer: a model answer, scored 100 by a fair grader.
        follow_ups: 1-3 follow-up questions the interviewer may ask.
        answer_time_seconds: suggested time to answer, 30-1800 seconds.
        tags: free topic labels, used to bias the plan towards a job description.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: QuestionId
    text: NonBlank
    category: QuestionCategory
    roles: list[Role] = Field(min_length=1)
    levels: LevelRange = LevelRange()
    key_points: list[NonBlank] = Field(min_length=3, max_length=6)
    reference_answer: NonBlank
    follow_ups: list[NonBlank] = Field(min_length=1, max_length=3)
    answer_time_seconds: int = Field(ge=30, le=1800)
    tags: list[NonBlank] = Field(default_factory=list)


#: Questions whose snapshots are kept (bank questions recur; plans written by a model don't).
SNAPSHOT_CACHE_SIZE = 4096
_snapshots: dict[int, tuple[Question, dict[str, Any]]] = {}


def snapshot(question: Question) -> dict[str, Any]:
    """The question as JSON-ready data (``model_dump(mode="json")``), made once per question.

    A question is immutable, so its snapshot is kept by identity: the bank's questions
    are planned again and again (issue 16: create drew and dumped the same questions per
    session). The dict is shared by every caller: read it, never change it.
    """
    found = _snapshots.get(id(question))
    if found is not None and found[0] is question:
        return found[1]
    data = question.model_dump(mode="json")
    if len(_snapshots) >= SNAPSHOT_CACHE_SIZE:
        _snapshots.clear()  # rare: only plans written by a model add questions
    _snapshots[id(question)] = (question, data)
    return data


class QuestionBankFile(BaseModel):
    """The top level of one bank file: a topic and its questions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: NonBlank
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} appears twice in topic {self.topic}")
            seen.add(question.id)
        return self


_WORD = re.compile(r"[a-z0-9]+")


def keywords(text: str) -> set[str]:
    """Lower-case alphanumeric words of ``text`` longer than two letters."""
    return {word for word in _WORD.findall(text.lower()) if len(word) > 2}
