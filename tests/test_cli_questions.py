"""`rehearse questions` and `rehearse scoring` (in-process, through the root group)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from command_line import refused, run, run_json
from rehearse.bank import shipped_files, user_bank_dir

SHIPPED = sum(len(bank_file.questions) for bank_file in shipped_files())


def question(question_id: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": question_id,
        "text": "How do you keep a long-running migration safe?",
        "category": "technical",
        "roles": ["backend", "devops_sre"],
        "levels": {"min": "mid", "max": "staff"},
        "key_points": ["expand then contract", "backfill in batches", "keep a rollback"],
        "reference_answer": "Expand the schema, backfill in batches, switch reads, then contract.",
        "follow_ups": ["How do you roll back?"],
        "answer_time_seconds": 240,
    }
    return {**data, **changes}


def write_bank(path: Path, topic: str, *questions: dict[str, Any]) -> Path:
    data = {"topic": topic, "questions": list(questions)}
    if path.suffix == ".json":
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- questions list -----------------------------------------------------------------------------


def test_list_as_json_prints_every_shipped_question_in_full() -> None:
    found = run_json("questions", "list")
    assert len(found) == SHIPPED
    assert set(found[0]) == {
        "id",
        "text",
        "category",
        "roles",
        "levels",
        "key_points",
        "reference_answer",
        "follow_ups",
        "answer_time_seconds",
        "tags",
    }


def test_list_filters_by_role_level_and_category() -> None:
    found = run_json(
        "questions", "list", "--role", "backend", "--level", "staff", "--category", "system_design"
    )
    assert found
    rank = ["junior", "mid", "senior", "staff"]
    for q in found:
        assert "backend" in q["roles"] and q["category"] == "system_design"
        assert (
            rank.index(q["levels"]["min"]) <= rank.index("staff") <= rank.index(q["levels"]["max"])
        )
    assert len(found) < len(run_json("questions", "list", "--role", "backend"))


def test_list_prints_a_table_with_the_count() -> None:
    out = run("questions", "list", "--role", "mobile", "--category", "behavioral").stdout
    count = len(run_json("questions", "list", "--role", "mobile", "--category", "behavioral"))
    assert f"{count} of {SHIPPED} questions" in out
    for column in ("id", "category", "levels", "roles", "text"):
        assert column in out
    assert "beh-" in out


def test_list_refuses_an_unknown_role() -> None:
    line = refused("questions", "list", "--role", "wizard")
    assert "role='wizard': must be one of backend" in line


def test_list_refuses_an_unknown_level() -> None:
    assert "level='principal': must be one of junior, mid, senior, staff" in refused(
        "questions", "list", "--level", "principal"
    )


# --- questions validate ---------------------------------------------------------------------------


def test_validate_accepts_a_good_file(tmp_path: Path) -> None:
    path = write_bank(tmp_path / "mine.yaml", "mine", question("mine-one"), question("mine-two"))
    assert run("questions", "validate", str(path)).stdout.strip() == f"{path}: 2 questions, valid"
    assert run_json("questions", "validate", str(path)) == {
        "file": str(path),
        "questions": 2,
        "valid": True,
    }
    assert not user_bank_dir().exists()  # validating imports nothing


def test_validate_refuses_a_bad_field_naming_file_line_and_field(tmp_path: Path) -> None:
    path = write_bank(
        tmp_path / "mine.yaml", "mine", question("mine-one"), question("mine-two", roles=["chef"])
    )
    bad_line = path.read_text().splitlines().index("- id: mine-two") + 1
    line = refused("questions", "validate", str(path), "--json")
    assert line.startswith(f"error: {path}: line {bad_line}: roles.0: Input should be 'backend'")


def test_validate_names_the_record_of_a_json_file(tmp_path: Path) -> None:
    path = write_bank(tmp_path / "mine.json", "mine", question("mine-one", answer_time_seconds=9))
    line = refused("questions", "validate", str(path))
    assert (
        f"{path}: record 1: answer_time_seconds: Input should be greater than or equal to 30"
        in line
    )


def test_validate_refuses_ids_taken_by_the_shipped_bank(tmp_path: Path) -> None:
    path = write_bank(tmp_path / "mine.yaml", "mine", question("be-http-idempotency"))
    line = refused("questions", "validate", str(path))
    assert f"{path}: question id 'be-http-idempotency' is already used by rehearse/bank/" in line


def test_validate_refuses_a_missing_file(tmp_path: Path) -> None:
    assert "cannot read the file" in refused("questions", "validate", str(tmp_path / "no.yaml"))


# --- questions import -----------------------------------------------------------------------------


def test_import_then_list_shows_the_questions(tmp_path: Path) -> None:
    path = write_bank(
        tmp_path / "mine.json", "Platform Team", question("plat-one"), question("plat-two")
    )
    imported = run_json("questions", "import", str(path))
    saved = user_bank_dir() / "platform-team.yaml"
    assert imported == {
        "file": str(path),
        "saved": str(saved),
        "topic": "Platform Team",
        "questions": 2,
    }
    assert saved.is_file()
    ids = [q["id"] for q in run_json("questions", "list", "--role", "devops_sre")]
    assert {"plat-one", "plat-two"} <= set(ids)
    assert len(run_json("questions", "list")) == SHIPPED + 2
    assert "plat-one" in run("questions", "list", "--level", "staff").stdout


def test_import_prints_where_it_saved(tmp_path: Path) -> None:
    path = write_bank(tmp_path / "mine.yaml", "mine", question("mine-one"))
    out = run("questions", "import", str(path)).stdout
    assert "imported 1 questions" in out
    assert str(user_bank_dir() / "mine.yaml") in " ".join(out.split())


def test_an_imported_file_and_a_new_version_of_its_topic_validate(tmp_path: Path) -> None:
    path = write_bank(tmp_path / "mine.yaml", "mine", question("mine-one"))
    run("questions", "import", str(path))
    saved = user_bank_dir() / "mine.yaml"
    assert run_json("questions", "validate", str(saved))["valid"] is True
    newer = write_bank(tmp_path / "v2.yaml", "mine", question("mine-one"), question("mine-two"))
    assert run_json("questions", "validate", str(newer))["questions"] == 2
    other_topic = write_bank(tmp_path / "other.yaml", "other", question("mine-one"))
    assert f"already used by {saved}" in refused("questions", "validate", str(other_topic))


def test_import_refuses_a_shipped_id_and_writes_nothing(tmp_path: Path) -> None:
    path = write_bank(
        tmp_path / "mine.yaml", "mine", question("mine-one"), question("sd-url-shortener")
    )
    assert "'sd-url-shortener' is already used by" in refused("questions", "import", str(path))
    assert not user_bank_dir().exists()
    assert len(run_json("questions", "list")) == SHIPPED


# --- scoring benchmark ----------------------------------------------------------------------------


def graded(answer: str, grade: float) -> str:
    return json.dumps(
        {
            "question": "What is a stack?",
            "reference_answer": "A stack is a last-in first-out collection: push adds on top, "
            "pop removes the most recently added element.",
            "answer": answer,
            "score_avg": grade,
        }
    )


@pytest.fixture
def benchmark_file(tmp_path: Path) -> Path:
    path = tmp_path / "graded.jsonl"
    lines = [
        graded("A last-in first-out collection; push adds on top, pop removes the newest.", 5.0),
        graded("A LIFO list where you push and pop the most recent element.", 4.5),
        graded("A kind of list.", 2.0),
        "",
        graded("I do not know.", 0.0),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_benchmark_as_json_gives_the_four_numbers(benchmark_file: Path) -> None:
    result = run_json("scoring", "benchmark", str(benchmark_file))
    assert set(result) == {"n", "pearson_r", "rmse", "ms_per_answer"}
    assert result["n"] == 4
    assert -1.0 <= result["pearson_r"] <= 1.0 and result["pearson_r"] > 0
    assert 0.0 <= result["rmse"] <= 5.0
    assert 0.0 < result["ms_per_answer"] < 10_000
    assert all(math.isfinite(value) for value in result.values())


def test_benchmark_prints_a_table(benchmark_file: Path) -> None:
    out = run("scoring", "benchmark", str(benchmark_file)).stdout
    for label in ("answers (n)", "Pearson r", "RMSE", "ms per answer"):
        assert label in out


def test_benchmark_refuses_a_bad_line_naming_it(benchmark_file: Path) -> None:
    with benchmark_file.open("a", encoding="utf-8") as handle:
        handle.write('{"question": "q", "reference_answer": "r", "answer": "a"}\n')
    line = refused("scoring", "benchmark", str(benchmark_file), "--json")
    assert f"{benchmark_file}, line 6, field 'score_avg': is missing" in line


def test_benchmark_refuses_a_missing_file(tmp_path: Path) -> None:
    assert "benchmark file not found" in refused("scoring", "benchmark", str(tmp_path / "x.jsonl"))


def test_help_lists_the_new_commands() -> None:
    out = run("--help").stdout
    assert "questions" in out and "scoring" in out
    out = run("questions", "--help").stdout
    for command in ("list", "validate", "import"):
        assert command in out
