"""Offline answer evaluation: scores, dimensions and feedback without any model or network.

Use :func:`evaluate_answer` for one answer and :func:`run_benchmark` to measure the
evaluator against human grades (Mohler, Bunescu and Mihalcea, ACL 2011).
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
