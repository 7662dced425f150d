"""The question banks: the shipped one is complete, bad files are refused precisely, imports are safe."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import rehearse.bank
from rehearse.bank import (
    CSV_COLUMNS,
    QuestionBank,
    import_bank,
    load_bank,
    read_bank_file,
    shipped_files,
    user_bank_dir,
)
from rehearse.domain.config import Level, Role
from rehearse.domain.questions import Question, QuestionCategory
from rehearse.errors import ConfigurationError

SHIPPED_DIR = Path(rehearse.bank.__file__).parent
SHIPPED_PATHS = sorted(SHIPPED_DIR.glob("*.yaml"))

#: Categories each role is interviewed in; coding is not asked of product managers.
CATEGORIES: dict[Role, set[QuestionCategory]] = {
    role: set(QuestionCategory)
    - ({QuestionCategory.CODING} if role is Role.PRODUCT_MANAGEMENT else set())
    for role in Role
}


def question(question_id: str, **changes: Any) -> dict[str, Any]:
    """A valid question as plain data, with ``changes`` applied."""
    data: dict[str, Any] = {
        "id": question_id,
        "text": "How would you explain a hash map to a new colleague?",
        "category": "technical",
        "roles": ["backend"],
        "levels": {"min": "junior", "max": "mid"},
        "key_points": [
            "keys are hashed to buckets",
            "collisions are handled",
            "lookups are O(1) on average",
        ],
        "reference_answer": "A hash map hashes each key to a bucket; collisions are chained; lookups take O(1) on average.",
        "follow_ups": ["What happens when the table grows?"],
        "answer_time_seconds": 120,
        "tags": ["data-structures"],
    }
    return {**data, **changes}


def write_yaml(path: Path, topic: str, questions: list[dict[str, Any]]) -> Path:
    path.write_text(
        yaml.safe_dump({"topic": topic, "questions": questions}, sort_keys=False), encoding="utf-8"
    )
    return path


def csv_row(values: dict[str, Any]) -> str:
    cells = []
    for column in CSV_COLUMNS:
        if column.startswith("level_"):
            value: Any = values["levels"][column.removeprefix("level_")]
        else:
            value = values[column]
        if isinstance(value, list):
            value = "|".join(value)
        cells.append(f'"{value}"')
    return ",".join(cells)


def error_of(path: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        read_bank_file(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# --- the shipped bank -------------------------------------------------------------------------


def test_the_shipped_bank_loads_with_at_least_250_questions() -> None:
    assert len(load_bank()) >= 250


def test_shipped_ids_are_unique_across_files() -> None:
    ids = [q.id for bank_file in shipped_files() for q in bank_file.questions]
    assert len(ids) == len(set(ids))


#: Collected without load_bank(), which would read the data directory before the fixtures run.
SHIPPED_QUESTIONS = [q for bank_file in shipped_files() for q in bank_file.questions]


@pytest.mark.parametrize("bank_question", SHIPPED_QUESTIONS, ids=lambda q: q.id)
def test_every_shipped_question_is_complete(bank_question: Question) -> None:
    q = bank_question
    assert q.text.strip() and q.reference_answer.strip()
    assert 3 <= len(q.key_points) <= 6
    assert all(point.strip() for point in q.key_points)
    assert len({point.lower() for point in q.key_points}) == len(q.key_points)
    assert 1 <= len(q.follow_ups) <= 3
    assert all(follow_up.strip() for follow_up in q.follow_ups)
    assert q.roles and len(set(q.roles)) == len(q.roles)
    assert q.levels.min.rank <= q.levels.max.rank
    assert 30 <= q.answer_time_seconds <= 1800
    assert all(tag.strip() for tag in q.tags)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_questions_of_each_category_it_is_interviewed_in(role: Role) -> None:
    bank = load_bank()
    for category in CATEGORIES[role]:
        assert bank.filter(role=role, category=category), f"{role.value} has no {category.value}"


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_technical_and_behavioral_questions_at_every_level(
    role: Role, level: Level
) -> None:
    bank = load_bank()
    technical = bank.filter(role=role, level=level, category=QuestionCategory.TECHNICAL)
    behavioral = bank.filter(role=role, level=level, category=QuestionCategory.BEHAVIORAL)
    assert len(technical) + len(behavioral) >= 5
    assert technical and behavioral


@pytest.mark.parametrize("path", SHIPPED_PATHS, ids=lambda p: p.name)
def test_each_shipped_file_names_its_topic_and_prefixes_its_ids(path: Path) -> None:
    bank_file = read_bank_file(path)
    assert bank_file.topic == path.stem
    prefixes = {q.id.split("-", 1)[0] for q in bank_file.questions}
    assert len(prefixes) == 1, f"{path.name} mixes id prefixes {sorted(prefixes)}"


def test_shipped_files_use_distinct_id_prefixes() -> None:
    prefixes = [read_bank_file(path).questions[0].id.split("-", 1)[0] for path in SHIPPED_PATHS]
    assert len(SHIPPED_PATHS) == len(shipped_files())
    assert len(prefixes) == len(set(prefixes))


def test_filter_refuses_an_unknown_role_naming_the_allowed_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"role='wizard': must be one of backend, "):
        load_bank().filter(role="wizard")


# --- parse errors name the file, the line or record, and the field ----------------------------


def test_yaml_error_names_the_line_of_the_bad_question_and_the_field(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path / "mine.yaml",
        "mine",
        [question("mine-one"), question("mine-two", key_points=["only one"])],
    )
    bad_line = path.read_text().splitlines().index("- id: mine-two") + 1
    message = error_of(path)
    assert f"line {bad_line}: key_points:" in message
    assert "at least 3 items" in message


def test_yaml_error_names_a_misspelt_field(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "topic: mine\n"
        "questions:\n"
        "  - id: mine-one\n"
        "    text: What is a mutex?\n"
        "    category: technical\n"
        "    roles: [backend]\n"
        "    key_point: [a, b, c]\n"
        "    reference_answer: A lock.\n"
        "    follow_ups: [Why?]\n"
        "    answer_time_seconds: 60\n",
        encoding="utf-8",
    )
    message = error_of(path)
    assert "line 3: key_points: Field required" in message
    assert "line 3: key_point: Extra inputs are not permitted" in message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("topic: broken\nquestions:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"broken\.yaml: line 4: invalid YAML"):
        read_bank_file(path)


def test_json_error_names_the_record_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    records = [
        question("mine-one"),
        question("mine-two"),
        question("mine-three", category="trivia"),
    ]
    path.write_text(json.dumps({"topic": "mine", "questions": records}), encoding="utf-8")
    message = error_of(path)
    assert "record 3: category:" in message
    assert "'technical', 'behavioral', 'system_design' or 'coding'" in message


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text('{"topic": "mine",\n "questions": [\n}\n', encoding="utf-8")
    assert "line 3: invalid JSON" in error_of(path)


def test_csv_error_names_the_line_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    rows = [
        question("mine-one"),
        question("mine-two"),
        question("mine-three", answer_time_seconds=5),
    ]
    path.write_text(",".join(CSV_COLUMNS) + "\n" + "\n".join(csv_row(r) for r in rows) + "\n")
    message = error_of(path)
    assert "line 4: answer_time_seconds: Input should be greater than or equal to 30" in message


def test_csv_without_a_required_column_is_refused_at_line_1(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("id,text,category\nmine-one,What?,technical\n", encoding="utf-8")
    assert "line 1: missing column(s) roles, key_points" in error_of(path)


def test_a_valid_csv_reads_lists_and_levels(tmp_path: Path) -> None:
    path = tmp_path / "my-topic.csv"
    path.write_text(",".join(CSV_COLUMNS) + "\n" + csv_row(question("mine-one")) + "\n")
    bank_file = read_bank_file(path)
    assert bank_file.topic == "my-topic"
    [only] = bank_file.questions
    assert only.key_points[2] == "lookups are O(1) on average"
    assert (only.levels.min, only.levels.max) == (Level.JUNIOR, Level.MID)


def test_an_unknown_suffix_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("topic: mine\n", encoding="utf-8")
    assert "unknown bank format .txt" in error_of(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert "cannot read the file" in error_of(tmp_path / "absent.yaml")


def test_an_id_twice_in_one_file_is_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "mine.yaml", "mine", [question("mine-one"), question("mine-one")])
    assert "question id 'mine-one' appears twice" in error_of(path)


# --- ids are unique across banks ----------------------------------------------------------------


def test_a_bank_refuses_an_id_used_by_another_bank() -> None:
    one = Question.model_validate(question("mine-one"))
    with pytest.raises(
        ConfigurationError, match=r"b\.yaml: question id 'mine-one' is already used by a\.yaml"
    ):
        QuestionBank([(one, "a.yaml"), (one, "b.yaml")])


def test_load_bank_refuses_an_extra_bank_that_reuses_a_shipped_id(tmp_path: Path) -> None:
    folder = tmp_path / "extra"
    folder.mkdir()
    write_yaml(folder / "mine.yaml", "mine", [question("be-http-idempotency")])
    with pytest.raises(
        ConfigurationError,
        match=r"'be-http-idempotency' is already used by rehearse/bank/backend\.yaml",
    ):
        load_bank([folder])


# --- import -------------------------------------------------------------------------------------


def test_import_saves_into_the_data_directory_and_load_bank_includes_it(tmp_path: Path) -> None:
    source = write_yaml(
        tmp_path / "mine.yaml", "My Topic", [question("mine-one"), question("mine-two")]
    )
    saved, bank_file = import_bank(source)
    assert saved == user_bank_dir() / "my-topic.yaml"
    assert [p.name for p in saved.parent.iterdir()] == ["my-topic.yaml"]  # no temporary left
    assert read_bank_file(saved) == bank_file
    bank = load_bank()
    assert {"mine-one", "mine-two"} <= {q.id for q in bank}
    assert bank.source("mine-one") == str(saved)
    assert len(bank) == sum(len(f.questions) for f in shipped_files()) + 2


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_json_and_csv_banks_import_as_yaml(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"mine{suffix}"
    if suffix == ".json":
        source.write_text(json.dumps({"topic": "mine", "questions": [question("mine-one")]}))
    else:
        source.write_text(",".join(CSV_COLUMNS) + "\n" + csv_row(question("mine-one")) + "\n")
    saved, _ = import_bank(source)
    assert saved.suffix == ".yaml"
    assert load_bank().get("mine-one") == Question.model_validate(question("mine-one"))


def test_reimporting_a_topic_replaces_its_questions(tmp_path: Path) -> None:
    import_bank(
        write_yaml(tmp_path / "v1.yaml", "mine", [question("mine-one"), question("mine-two")])
    )
    import_bank(write_yaml(tmp_path / "v2.yaml", "mine", [question("mine-one", text="Changed?")]))
    bank = load_bank()
    changed = bank.get("mine-one")
    assert "mine-two" not in bank
    assert changed is not None and changed.text == "Changed?"


def test_an_import_reusing_a_shipped_id_writes_nothing(tmp_path: Path) -> None:
    source = write_yaml(
        tmp_path / "mine.yaml", "mine", [question("mine-one"), question("be-http-idempotency")]
    )
    with pytest.raises(
        ConfigurationError,
        match=r"'be-http-idempotency' is already used by rehearse/bank/backend\.yaml",
    ):
        import_bank(source)
    assert not user_bank_dir().exists() or not any(user_bank_dir().iterdir())
    assert "mine-one" not in load_bank()


def test_an_import_reusing_an_id_of_another_imported_topic_writes_nothing(tmp_path: Path) -> None:
    first, _ = import_bank(write_yaml(tmp_path / "a.yaml", "first", [question("mine-one")]))
    with pytest.raises(ConfigurationError, match="'mine-one' is already used by"):
        import_bank(write_yaml(tmp_path / "b.yaml", "second", [question("mine-one")]))
    assert [p.name for p in user_bank_dir().iterdir()] == [first.name]


def test_an_invalid_import_writes_nothing(tmp_path: Path) -> None:
    source = write_yaml(tmp_path / "mine.yaml", "mine", [question("mine-one", follow_ups=[])])
    with pytest.raises(ConfigurationError, match="follow_ups"):
        import_bank(source)
    assert not user_bank_dir().exists()


def test_an_interrupted_import_leaves_the_previous_copy_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved, _ = import_bank(write_yaml(tmp_path / "v1.yaml", "mine", [question("mine-one")]))
    before = saved.read_bytes()

    def power_cut(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, "replace", power_cut)  # the rename import_bank commits with
    with pytest.raises(OSError, match="disk unplugged"):
        import_bank(write_yaml(tmp_path / "v2.yaml", "mine", [question("mine-one", text="New?")]))
    assert saved.read_bytes() == before
    assert load_bank().get("mine-one") == Question.model_validate(question("mine-one"))


# --- bugs found in rehearse.bank by these tests, now fixed -------------------------------------


def test_a_csv_row_with_missing_cells_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(",".join(CSV_COLUMNS) + "\nmine-one,What?,technical,backend\n")
    assert "line 2: " in error_of(path)


def test_a_yaml_syntax_error_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("topic: broken\nquestions:\n  - id: [unclosed\n", encoding="utf-8")
    assert "line 4: invalid YAML" in error_of(path)


def test_a_csv_record_spanning_lines_is_named_by_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    bad = question(
        "mine-one", key_points=["one", "two"], reference_answer="First line.\nSecond line."
    )
    path.write_text(",".join(CSV_COLUMNS) + "\n" + csv_row(bad) + "\n")
    assert "line 2: key_points:" in error_of(path)


def test_a_csv_saved_by_excel_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("\ufeff" + ",".join(CSV_COLUMNS) + "\n" + csv_row(question("mine-one")) + "\n")
    assert read_bank_file(path).questions[0].id == "mine-one"


def test_an_interrupted_import_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def power_cut(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, "replace", power_cut)  # the rename import_bank commits with
    with pytest.raises(OSError, match="disk unplugged"):
        import_bank(write_yaml(tmp_path / "mine.yaml", "mine", [question("mine-one")]))
    assert list(user_bank_dir().iterdir()) == []
