"""Offline answer evaluation: scores, dimensions and feedback without any model or network.

Use :func:`evaluate_answer` for one answer (with a :class:`TopicIndex` of the bank to
judge relevance by contrast), :func:`evaluate_follow_up` for a follow-up answer,
:func:`score_band` for what a score means, :func:`run_benchmark` to measure the
evaluator against human grades (Mohler, Bunescu and Mihalcea, ACL 2011) and
:func:`rehearse.scoring.suite.run_suite` for the interview-answer suite.
"""

from rehearse.scoring.bands import ScoreBand, score_band, score_band_class
from rehearse.scoring.benchmark import BenchmarkResult, run_benchmark
from rehearse.scoring.evaluator import (
    RUBRIC_VERSION,
    AnswerEvaluation,
    Dimension,
    evaluate_answer,
)
from rehearse.scoring.findings import Finding, FindingCode
from rehearse.scoring.follow_ups import evaluate_follow_up
from rehearse.scoring.star import StarAnalysis
from rehearse.scoring.topics import TopicIndex, TopicQuestion

__all__ = [
    "RUBRIC_VERSION",
    "AnswerEvaluation",
    "BenchmarkResult",
    "Dimension",
    "Finding",
    "FindingCode",
    "ScoreBand",
    "StarAnalysis",
    "TopicIndex",
    "TopicQuestion",
    "evaluate_answer",
    "evaluate_follow_up",
    "run_benchmark",
    "score_band",
    "score_band_class",
]
