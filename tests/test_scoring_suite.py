"""The interview suite, through ``rehearse scoring benchmark --suite interview``, and reports
that say how much of the interview their overall score covers."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from rehearse.bank import load_bank
from rehearse.cli import main
from rehearse.domain.reports import overall_label
from rehearse.rendering import render_html, render_markdown
from rehearse.scoring import score_band_class
from rehearse.scoring.suite import BAD_KINDS, KINDS, build_answers, suite_answers
from rehearse.service.sessions import SessionManager


def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["rehearse", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_the_suite_has_paraphrases_of_our_own_for_at_least_40_bank_questions() -> None:
    ids = {question.id for question in load_bank()}
    paraphrases: dict[str, str] = suite_answers()["paraphrases"]
    assert len(paraphrases) >= 40
    assert set(paraphrases) <= ids
    questions = {q.id: q for q in load_bank()}
    for question_id, text in paraphrases.items():
        assert text.strip() != questions[question_id].reference_answer.strip()
    assert len(suite_answers()["content_free"]) >= 5


def test_every_question_gets_every_kind_except_missing_paraphrases() -> None:
    questions = list(load_bank())[::26]
    built = build_answers(questions)
    kinds = {(question.id, kind) for question, kind, _ in built}
    for question in questions:
        for kind in KINDS:
            if kind != "paraphrase":
                assert (question.id, kind) in kinds


def test_suite_json_reports_every_kind_and_bad_kinds_stay_below_partial(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        capsys, monkeypatch, "scoring", "benchmark", "--suite", "interview", "--limit", "24"
    )
    assert code == 0 and "interview suite" in out
    code, out, _ = run(
        capsys,
        monkeypatch,
        "scoring",
        "benchmark",
        "--suite",
        "interview",
        "--limit",
        "24",
        "--json",
    )
    result: dict[str, Any] = json.loads(out)
    assert result["questions"] == 24 and result["evaluator"].startswith("offline:")
    kinds = result["kinds"]
    assert set(kinds) >= set(KINDS) - {"paraphrase"}
    assert kinds["reference"]["mean_score"] >= 85
    assert 40 <= kinds["partial"]["mean_score"] <= 75
    assert kinds["term_list"]["max_score"] <= 45
    for kind in BAD_KINDS:
        assert kinds[kind]["mean_score"] < kinds["partial"]["mean_score"]
    assert result["worst_bad_kind_share"] <= 0.1
    assert result["ms_per_answer"] > 0


def test_the_suite_runs_against_a_configured_model(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        capsys,
        monkeypatch,
        "scoring",
        "benchmark",
        "--suite",
        "interview",
        "--provider",
        "test",
        "--limit",
        "2",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["evaluator"].startswith("test:")
    assert result["kinds"]["reference"]["n"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "pass FILE.jsonl or --suite interview"),
        (("--suite", "nope"), "unknown suite 'nope'"),
        (("--suite", "interview", "--provider", "nope"), "unknown AI provider 'nope'"),
        (("x.jsonl", "--suite", "interview"), "not both"),
    ],
)
def test_bad_benchmark_arguments_fail_in_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    code, _, err = run(capsys, monkeypatch, "scoring", "benchmark", *args)
    assert code != 0
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -- reports -------------------------------------------------------------------------


def test_overall_label_names_the_questions_it_covers() -> None:
    assert overall_label(85, 1, 5) == "85 on 1 of 5 questions"
    assert overall_label(None, 0, 5) == "not scored (0 of 5 questions)"
    assert overall_label(70, 1, 1) == "70 on 1 of 1 question"


def test_an_interview_ended_after_one_answer_says_so_in_its_overall_figure(
    manager: SessionManager,
) -> None:
    session = manager.create_session(
        {"candidate_name": "Ada", "plan_seed": 3, "question_count": 5, "max_follow_ups": 0}
    )
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    manager.submit_answer(session.id, item.id, "A B-tree index keeps keys sorted for lookups.")
    manager.end_session(session.id)
    report = manager.get_report(session.id)
    assert report.scored == 1 and report.total == 5
    assert report.overall_label == f"{report.overall_score} on 1 of 5 questions"
    assert report.overall_label in report.summary
    html = render_html(report)
    assert "on 1 of 5 questions" in html
    assert f'class="score-ring {score_band_class(report.overall_score)}"' in html
    assert f"**Overall score: {report.overall_score}/100** on 1 of 5 questions" in (
        render_markdown(report)
    )
