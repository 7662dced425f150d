"""Measure the evaluator against human grades stored as JSON lines.

The calibration set is the dev half of the short-answer grading data of Mohler, Bunescu
and Mihalcea (ACL 2011): every line holds a question, its reference answer, a student
answer and the mean of two human grades (0-5).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from rehearse.errors import ConfigurationError
from rehearse.scoring.evaluator import evaluate_answer

_TEXT_FIELDS = ("question", "reference_answer", "answer")
_GRADE_FIELD = "score_avg"
_MAX_GRADE = 5.0


class BenchmarkResult(BaseModel):
    """How well the evaluator's ``score / 20`` tracks the human 0-5 grades.

    Attributes:
        n: answers scored.
        pearson_r: Pearson correlation with the human grades, -1 to 1 (0.0 when either
            series is constant).
        rmse: root-mean-square error in grade points (0-5 scale).
        ms_per_answer: mean wall-clock milliseconds per evaluated answer.
    """

    model_config = ConfigDict(frozen=True)

    n: int
    pearson_r: float
    rmse: float
    ms_per_answer: float


@dataclass(frozen=True, slots=True)
class _GradedAnswer:
    question: str
    reference_answer: str
    answer: str
    grade: float


def run_benchmark(path: Path) -> BenchmarkResult:
    """Score every answer in a JSONL file from its reference alone and compare with humans.

    Each non-blank line is a JSON object with string fields ``question``,
    ``reference_answer`` and ``answer`` and a number ``score_avg`` from 0 to 5; other fields
    are ignored. Answers are scored with :func:`evaluate_answer` without key points.

    Args:
        path: the JSONL file.

    Returns:
        The number of answers, Pearson r and RMSE of ``score / 20`` against
        ``score_avg``, and the mean time per answer in milliseconds.

    Raises:
        ConfigurationError: the file is missing or unreadable, holds no answers, a line is
            not a JSON object, or a field is missing or invalid; the message names the
            file, the line number and the field.
    """
    rows = _read(path)
    started = time.perf_counter()
    predicted = [
        evaluate_answer(
            question=row.question, reference_answer=row.reference_answer, answer=row.answer
        ).score
        / 20.0
        for row in rows
    ]
    elapsed = time.perf_counter() - started
    grades = [row.grade for row in rows]
    return BenchmarkResult(
        n=len(rows),
        pearson_r=pearson(predicted, grades),
        rmse=math.sqrt(
            sum((p - g) ** 2 for p, g in zip(predicted, grades, strict=True)) / len(rows)
        ),
        ms_per_answer=1000.0 * elapsed / len(rows),
    )


def pearson(xs: list[float], ys: list[float]) -> float:
    """Pearson correlation of two equally long series; 0.0 when either is constant."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_x == 0.0 or var_y == 0.0:
        return 0.0
    return cov / math.sqrt(var_x * var_y)


def _read(path: Path) -> list[_GradedAnswer]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise _file_error(path, "benchmark file not found; pass a JSONL file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _file_error(path, f"cannot read the benchmark file: {error}") from None
    rows = [_parse(path, number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        raise _file_error(path, "the benchmark file holds no answers; expected JSON lines")
    return rows


def _parse(path: Path, number: int, line: str) -> _GradedAnswer:
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as error:
        raise _line_error(path, number, None, line[:60], f"not valid JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise _line_error(path, number, None, line[:60], "must be a JSON object")
    for field in (*_TEXT_FIELDS, _GRADE_FIELD):
        if field not in data:
            raise _line_error(path, number, field, None, "is missing")
    for field in _TEXT_FIELDS:
        if not isinstance(data[field], str):
            raise _line_error(path, number, field, data[field], "must be a string")
    grade = data[_GRADE_FIELD]
    valid_number = isinstance(grade, int | float) and not isinstance(grade, bool)
    if not valid_number or not 0.0 <= grade <= _MAX_GRADE:
        raise _line_error(path, number, _GRADE_FIELD, grade, "must be a number from 0 to 5")
    return _GradedAnswer(
        question=data["question"],
        reference_answer=data["reference_answer"],
        answer=data["answer"],
        grade=float(grade),
    )


def _file_error(path: Path, problem: str) -> ConfigurationError:
    return ConfigurationError(
        f"{path}: {problem}", errors=[{"field": "path", "value": str(path), "message": problem}]
    )


def _line_error(
    path: Path, line: int, field: str | None, value: object, problem: str
) -> ConfigurationError:
    where = f"{path}, line {line}" + (f", field {field!r}" if field else "")
    shown = f" (got {value!r})" if value is not None else ""
    return ConfigurationError(
        f"{where}: {problem}{shown}",
        errors=[{"field": field or "line", "value": value, "message": problem, "line": line}],
    )
