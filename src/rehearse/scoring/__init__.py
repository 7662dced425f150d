"""Offline answer evaluation: scores, dimensions and feedback without any model or network.

Use :func:`evaluate_answer` for one answer and :func:`run_benchmark` to measure the
evaluator against human grades (Mohler, Bunescu and Mihalcea, ACL 2011).
"""

from rehearse.scoring.benchmark import BenchmarkResult, run_benchmark
from rehearse.scoring.evaluator import (
    RUBRIC_VERSION,
    AnswerEvaluation,
    Dimension,
    evaluate_answer,
)
from rehearse.scoring.star import StarAnalysis

__all__ = [
    "RUBRIC_VERSION",
    "AnswerEvaluation",
    "BenchmarkResult",
    "Dimension",
    "StarAnalysis",
    "evaluate_answer",
    "run_benchmark",
]
