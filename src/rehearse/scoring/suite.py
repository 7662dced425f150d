"""The interview-answer suite: answers of several kinds for every bank question, scored.

For each question the suite builds answers a candidate might give and scores them with
an evaluator (the offline one by default, or a language model):

- ``reference``: the bank's model answer;
- ``partial``: the first half of the model answer's sentences;
- ``paraphrase``: a complete answer in other words, written for rehearse
  (``suite_answers.yaml``, 40+ questions);
- ``term_list``: the words of the key points, comma-separated;
- ``off_topic``: the model answer of a question from another topic;
- ``content_free``: generic interview language of our own writing;
- ``copy``: the question itself;
- ``gibberish``: random letters.

It reports the mean score of each kind and, for the bad kinds, how often one scores at
least as high as the partial answer to the same question (the share of questions on
which the evaluator can be gamed that way).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from statistics import mean
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from rehearse.domain.questions import Question
from rehearse.scoring.evaluator import AnswerEvaluation
from rehearse.scoring.keypoints import polar_terms
from rehearse.scoring.text import sentences

#: Answer kinds, in the order the report lists them.
KINDS: tuple[str, ...] = (
    "reference",
    "partial",
    "paraphrase",
    "term_list",
    "off_topic",
    "content_free",
    "copy",
    "gibberish",
)
#: Kinds that must never score as high as a partial answer.
BAD_KINDS: tuple[str, ...] = ("term_list", "off_topic", "content_free", "copy", "gibberish")

#: Something that scores an answer to a bank question (an evaluator's ``evaluate``).
Scorer = Callable[[Question, str], AnswerEvaluation]


class KindResult(BaseModel):
    """Scores of one kind of answer across the questions.

    Attributes:
        n: answers of this kind scored.
        mean_score: mean score, 0-100.
        min_score: lowest score.
        max_score: highest score.
        at_least_partial: share (0-1) of questions where this kind scored at least as
            high as the partial answer; ``None`` for the partial answer itself.
    """

    model_config = ConfigDict(frozen=True)

    n: int
    mean_score: float
    min_score: int
    max_score: int
    at_least_partial: float | None


class SuiteResult(BaseModel):
    """The interview suite's figures.

    Attributes:
        evaluator: name of the evaluator measured.
        questions: questions the suite covered.
        kinds: per kind of answer (:data:`KINDS`), its figures.
        worst_bad_kind_share: the highest ``at_least_partial`` among :data:`BAD_KINDS`.
        ms_per_answer: mean wall-clock milliseconds per evaluated answer.
        cpu_ms_per_answer: mean CPU milliseconds of this process per answer: the cost of
            the evaluator itself, which wall-clock time overstates on a busy machine.
    """

    model_config = ConfigDict(frozen=True)

    evaluator: str
    questions: int
    kinds: dict[str, KindResult]
    worst_bad_kind_share: float
    ms_per_answer: float
    cpu_ms_per_answer: float


@cache
def suite_answers() -> dict[str, Any]:
    """The suite's hand-written answers: ``{"content_free": [...], "paraphrases": {...}}``."""
    text = resources.files("rehearse.scoring").joinpath("suite_answers.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def partial_answer(reference: str) -> str:
    """The first half of the reference's sentences (at least one)."""
    parts = sentences(reference)
    return " ".join(parts[: max(len(parts) // 2, 1)])


def term_list_answer(key_points: Sequence[str]) -> str:
    """The key points' content words, each once, comma-separated: the buzzword answer."""
    seen: dict[str, str] = {}
    for point in key_points:
        for word in polar_terms(point):
            seen.setdefault(word.term.stem, word.term.word)
    return ", ".join(seen.values())


def gibberish_answer(seed: str, words: int = 30) -> str:
    """Random lower-case letter groups, the same for the same ``seed``."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join(
        "".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(words)
    )


def build_answers(questions: Sequence[Question]) -> list[tuple[Question, str, str]]:
    """Every ``(question, kind, answer)`` of the suite for ``questions``, in order."""
    data = suite_answers()
    paraphrases: dict[str, str] = data["paraphrases"]
    generic: list[str] = data["content_free"]
    built: list[tuple[Question, str, str]] = []
    count = len(questions)
    for number, question in enumerate(questions):
        topic = question.id.split("-", 1)[0]
        others = [
            questions[(number + step) % count]
            for step in range(count // 2, count // 2 + count)
            if questions[(number + step) % count].id.split("-", 1)[0] != topic
        ]
        answers = {
            "reference": question.reference_answer,
            "partial": partial_answer(question.reference_answer),
            "term_list": term_list_answer(question.key_points),
            "content_free": generic[number % len(generic)],
            "copy": question.text,
            "gibberish": gibberish_answer(question.id),
        }
        if others:
            answers["off_topic"] = others[0].reference_answer
        if question.id in paraphrases:
            answers["paraphrase"] = paraphrases[question.id]
        built.extend((question, kind, answers[kind]) for kind in KINDS if kind in answers)
    return built


def spread(questions: Sequence[Question], limit: int | None) -> list[Question]:
    """``limit`` questions taken evenly across ``questions`` (all when ``limit`` is ``None``)."""
    if limit is None or limit >= len(questions):
        return list(questions)
    step = len(questions) / limit
    return [questions[int(number * step)] for number in range(limit)]


def run_suite(
    questions: Sequence[Question], score: Scorer, *, evaluator: str = "offline"
) -> SuiteResult:
    """Score the suite's answers to ``questions`` with ``score`` and summarise by kind.

    Args:
        questions: the bank questions to build answers for.
        score: scores one answer to one question.
        evaluator: the evaluator's name, for the report.

    Returns:
        The figures per kind and the mean milliseconds per answer.
    """
    answers = build_answers(questions)
    scores: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
    started, cpu_started = time.perf_counter(), time.process_time()
    for question, kind, answer in answers:
        scores[kind][question.id] = score(question, answer).score
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    partial = scores["partial"]
    kinds: dict[str, KindResult] = {}
    for kind in KINDS:
        values = scores[kind]
        if not values:
            continue
        share = None
        if kind != "partial":
            compared = [qid for qid in values if qid in partial]
            share = (
                sum(1 for qid in compared if values[qid] >= partial[qid]) / len(compared)
                if compared
                else 0.0
            )
        kinds[kind] = KindResult(
            n=len(values),
            mean_score=round(mean(values.values()), 1),
            min_score=min(values.values()),
            max_score=max(values.values()),
            at_least_partial=None if share is None else round(share, 3),
        )
    worst = max((kinds[k].at_least_partial or 0.0 for k in BAD_KINDS if k in kinds), default=0.0)
    return SuiteResult(
        evaluator=evaluator,
        questions=len(questions),
        kinds=kinds,
        worst_bad_kind_share=worst,
        ms_per_answer=round(1000.0 * elapsed / max(len(answers), 1), 2),
        cpu_ms_per_answer=round(1000.0 * cpu / max(len(answers), 1), 2),
    )
