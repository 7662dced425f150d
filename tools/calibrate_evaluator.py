"""Fit the offline evaluator's content calibration and report it with leave-question-out CV.

Usage (from the repository root)::

    uv run python tools/calibrate_evaluator.py ../shared/asag/dev.jsonl
    uv run python tools/calibrate_evaluator.py DATA --features recall,precision,length_ratio
    uv run python tools/calibrate_evaluator.py DATA --question-word-weight 0.3 --depth-bonus 5

The data is JSON lines with ``question_id``, ``question``, ``reference_answer``, ``answer``
and ``score_avg`` (0-5), such as the dev half of the short-answer grading set of Mohler,
Bunescu and Mihalcea (ACL 2011). The model is ``grade = 5 * sigmoid(b0 + w . features)``
fitted by least squares with a small L2 penalty on ``w``.

Every figure printed for the cross-validation comes from the full pipeline
(:func:`rehearse.scoring.evaluate_answer`, rounding and caps included) on questions the fit
never saw: for each ``question_id`` the model is fitted on all other questions and scores
that question's answers. Choose features and hyper-parameters by these figures only;
the in-sample figures are printed for the regression test thresholds. Paste the printed
``CALIBRATION`` into ``src/rehearse/scoring/content.py``.

Needs the dev dependencies numpy and scipy.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from rehearse.scoring import content, evaluate_answer, evaluator
from rehearse.scoring.content import Calibration, ContentFeatures, content_features

DEFAULT_FEATURES = ",".join(content.CALIBRATION.weights)


@dataclass(frozen=True)
class Row:
    """One graded answer."""

    group: str
    question: str
    reference: str
    answer: str
    grade: float


def load(path: Path) -> list[Row]:
    """Read the JSON lines at ``path``."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(
                Row(
                    group=str(data["question_id"]),
                    question=data["question"],
                    reference=data["reference_answer"],
                    answer=data["answer"],
                    grade=float(data["score_avg"]),
                )
            )
    return rows


def fit(matrix: NDArray[np.float64], grades: NDArray[np.float64], l2: float) -> NDArray[np.float64]:
    """Least-squares fit of ``5 * sigmoid(b0 + X w)``; returns ``[b0, *w]``."""

    def loss(theta: NDArray[np.float64]) -> float:
        predicted = 5.0 / (1.0 + np.exp(-(theta[0] + matrix @ theta[1:])))
        return float(np.mean((predicted - grades) ** 2) + l2 * np.sum(theta[1:] ** 2))

    start = np.zeros(matrix.shape[1] + 1)
    start[0] = 1.0
    result = minimize(loss, start, method="L-BFGS-B")
    return np.asarray(result.x, dtype=np.float64)


def to_calibration(theta: NDArray[np.float64], names: Sequence[str]) -> Calibration:
    """A :class:`Calibration` from fitted parameters, rounded to 3 decimals."""
    weights = {name: round(float(w), 3) for name, w in zip(names, theta[1:], strict=True)}
    return Calibration(intercept=round(float(theta[0]), 3), weights=weights)


def pipeline_grades(rows: Sequence[Row], calibration: Calibration) -> list[float]:
    """Score ``rows`` with the real evaluator under ``calibration``; returns 0-5 grades."""
    with mock.patch.object(content, "CALIBRATION", calibration):
        return [
            evaluate_answer(
                question=row.question, reference_answer=row.reference, answer=row.answer
            ).score
            / 20.0
            for row in rows
        ]


def report(label: str, predicted: Sequence[float], grades: Sequence[float]) -> tuple[float, float]:
    """Print and return Pearson r and RMSE."""
    r = float(np.corrcoef(predicted, grades)[0, 1])
    rmse = math.sqrt(float(np.mean((np.asarray(predicted) - np.asarray(grades)) ** 2)))
    print(f"{label:<34} n={len(grades):5d}  r={r:.3f}  RMSE={rmse:.3f}")
    return r, rmse


@contextmanager
def hyper_parameters(args: argparse.Namespace) -> Iterator[None]:
    """Patch the module constants the command line overrides, for the whole run."""
    with (
        mock.patch.object(content, "QUESTION_WORD_WEIGHT", args.question_word_weight),
        mock.patch.object(content, "FUZZY_MIN_RATIO", args.fuzzy_min_ratio),
        mock.patch.object(evaluator, "DEPTH_BONUS", args.depth_bonus),
        mock.patch.object(evaluator, "COMMUNICATION_PENALTY", args.communication_penalty),
    ):
        yield


def main(argv: Sequence[str] | None = None) -> None:
    """Fit, cross-validate and print the calibration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--features", default=DEFAULT_FEATURES, help="comma-separated names")
    parser.add_argument("--l2", type=float, default=1e-3)
    parser.add_argument("--question-word-weight", type=float, default=content.QUESTION_WORD_WEIGHT)
    parser.add_argument("--fuzzy-min-ratio", type=float, default=content.FUZZY_MIN_RATIO)
    parser.add_argument("--depth-bonus", type=float, default=evaluator.DEPTH_BONUS)
    parser.add_argument(
        "--communication-penalty", type=float, default=evaluator.COMMUNICATION_PENALTY
    )
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.features.split(",") if name.strip()]
    unknown = sorted(set(names) - set(content.FEATURE_NAMES))
    if unknown:
        parser.error(f"unknown features {unknown}; choose from {', '.join(content.FEATURE_NAMES)}")

    rows = load(args.path)
    grades = np.array([row.grade for row in rows])
    groups = np.array([row.group for row in rows])
    with hyper_parameters(args):
        extracted: list[ContentFeatures | None] = [
            content_features(row.question, row.reference, row.answer) for row in rows
        ]
        usable = np.array([features is not None for features in extracted])
        matrix = np.array(
            [features.vector(names) if features else [0.0] * len(names) for features in extracted]
        )

        cv_predicted = np.zeros(len(rows))
        fold_thetas = []
        for group in dict.fromkeys(groups):
            train = (groups != group) & usable
            theta = fit(matrix[train], grades[train], args.l2)
            fold_thetas.append(theta)
            held_out = np.flatnonzero(groups == group)
            calibration = to_calibration(theta, names)
            cv_predicted[held_out] = pipeline_grades([rows[i] for i in held_out], calibration)

        theta = fit(matrix[usable], grades[usable], args.l2)
        final = to_calibration(theta, names)
        started = time.perf_counter()
        in_sample = pipeline_grades(rows, final)
        ms = 1000.0 * (time.perf_counter() - started) / len(rows)

    print(f"data: {args.path} ({len(rows)} answers, {len(set(groups))} questions)")
    print(
        f"features: {', '.join(names)}; l2={args.l2}; "
        f"question word weight={args.question_word_weight}; "
        f"fuzzy ratio={args.fuzzy_min_ratio}; depth bonus={args.depth_bonus}; "
        f"communication penalty={args.communication_penalty}"
    )
    print(f"{'predict the mean':<34} RMSE={float(np.std(grades)):.3f}")
    report("leave-question-out CV", cv_predicted.tolist(), grades.tolist())
    report("in-sample (all of the data)", in_sample, grades.tolist())
    print(f"ms per answer (full evaluator): {ms:.2f}")
    spread = np.array(fold_thetas)
    print(
        "fold spread (min..max):",
        ", ".join(
            f"{label} {low:.2f}..{high:.2f}"
            for label, low, high in zip(
                ["intercept", *names], spread.min(axis=0), spread.max(axis=0), strict=True
            )
        ),
    )
    print("\nCALIBRATION = Calibration(")
    print(f"    intercept={final.intercept},")
    print(f"    weights={dict(final.weights)!r},")
    print(")")


if __name__ == "__main__":
    main()
