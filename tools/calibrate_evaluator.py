"""Fit the offline evaluator's content calibration and report it with cross-validation.

Usage (from the repository root)::

    uv run python tools/calibrate_evaluator.py ../shared/asag/dev.jsonl
    uv run python tools/calibrate_evaluator.py DATA --folds 5 --features recall,precision
    uv run python tools/calibrate_evaluator.py DATA --question-word-weight 0.3 --depth-bonus 5

The data is JSON lines with ``question_id``, ``question``, ``reference_answer``, ``answer``
and ``score_avg`` (0-5), such as the dev half of the short-answer grading set of Mohler,
Bunescu and Mihalcea (ACL 2011). The model is ``grade = 5 * sigmoid(b0 + w . features)``
fitted by least squares with a small L2 penalty on ``w``.

Every figure printed for the cross-validation comes from the full pipeline
(:func:`rehearse.scoring.evaluate_answer`, rounding, findings and caps included) on
questions the fit never saw. Two schemes, both grouped by ``question_id``:

- ``--folds K`` (default 5): the questions are dealt into K folds (sorted by id, every
  K-th question to the same fold); each fold is scored by a fit on the other K-1. The
  figure reported is the mean and the spread (standard deviation, min..max) of Pearson r
  and RMSE across the folds: what to expect on a new set of questions.
- leave-question-out: the pooled figure over all held-out answers, for comparison with
  earlier versions.

Choose features and hyper-parameters by these figures only, never by an in-sample
figure (none is printed). Paste the printed ``CALIBRATION`` into
``src/rehearse/scoring/content.py``.

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
    parser.add_argument("--folds", type=int, default=5, help="grouped folds for the CV")
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
        for group in dict.fromkeys(groups):
            train = (groups != group) & usable
            theta = fit(matrix[train], grades[train], args.l2)
            held_out = np.flatnonzero(groups == group)
            calibration = to_calibration(theta, names)
            cv_predicted[held_out] = pipeline_grades([rows[i] for i in held_out], calibration)

        ordered = sorted(dict.fromkeys(groups), key=_question_order)
        fold_of = {group: number % args.folds for number, group in enumerate(ordered)}
        folds = np.array([fold_of[group] for group in groups])
        fold_figures: list[tuple[float, float]] = []
        fold_thetas = []
        for fold in range(args.folds):
            train = (folds != fold) & usable
            theta = fit(matrix[train], grades[train], args.l2)
            fold_thetas.append(theta)
            held_out = np.flatnonzero(folds == fold)
            predicted = pipeline_grades([rows[i] for i in held_out], to_calibration(theta, names))
            fold_figures.append(_figures(predicted, grades[held_out].tolist()))

        theta = fit(matrix[usable], grades[usable], args.l2)
        final = to_calibration(theta, names)
        started = time.perf_counter()
        pipeline_grades(rows, final)
        ms = 1000.0 * (time.perf_counter() - started) / len(rows)

    print(f"data: {args.path} ({len(rows)} answers, {len(set(groups))} questions)")
    print(
        f"features: {', '.join(names)} ({len(names) + 1} fitted constants); l2={args.l2}; "
        f"question word weight={args.question_word_weight}; "
        f"fuzzy ratio={args.fuzzy_min_ratio}; depth bonus={args.depth_bonus}; "
        f"communication penalty={args.communication_penalty}"
    )
    print(f"{'predict the mean':<34} RMSE={float(np.std(grades)):.3f}")
    rs = np.array([r for r, _ in fold_figures])
    rmses = np.array([e for _, e in fold_figures])
    for number, (r, rmse) in enumerate(fold_figures):
        size = int(np.sum(folds == number))
        print(
            f"  fold {number + 1}/{args.folds} ({size:4d} answers){'':8} r={r:.3f}  RMSE={rmse:.3f}"
        )
    print(
        f"{args.folds}-fold grouped CV (mean ± sd)          "
        f"r={rs.mean():.3f} ± {rs.std(ddof=1):.3f} ({rs.min():.3f}..{rs.max():.3f})  "
        f"RMSE={rmses.mean():.3f} ± {rmses.std(ddof=1):.3f} ({rmses.min():.3f}..{rmses.max():.3f})"
    )
    report("leave-question-out CV (pooled)", cv_predicted.tolist(), grades.tolist())
    print(f"ms per answer (full evaluator): {ms:.2f}")
    spread = np.array(fold_thetas)
    print(
        "constants across folds (min..max):",
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


def _question_order(group: str) -> tuple[int, ...]:
    """``"10.2"`` sorts after ``"9.7"``: question ids compare as numbers where they are."""
    return tuple(int(part) if part.isdigit() else 0 for part in group.split("."))


def _figures(predicted: Sequence[float], grades: Sequence[float]) -> tuple[float, float]:
    r = float(np.corrcoef(predicted, grades)[0, 1])
    rmse = math.sqrt(float(np.mean((np.asarray(predicted) - np.asarray(grades)) ** 2)))
    return r, rmse


if __name__ == "__main__":
    main()
