"""Question banks: the shipped YAML files beside this module, and the user's imported ones.

The shipped bank is rehearse's own writing (``*.yaml`` here, one file per topic). Users
add banks with ``rehearse questions import FILE`` (YAML, JSON or CSV); an import is
validated whole, then saved as YAML in ``<data dir>/banks/``, and loaded with the shipped
files from then on. Ids are unique across every bank: an imported question may not
reuse a shipped id.

Errors name the file, the line (YAML, CSV) or record (JSON) and the field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rehearse.domain.config import Level, Role
from rehearse.domain.questions import Question, QuestionBankFile, QuestionCategory
from rehearse.errors import ConfigurationError
from rehearse.settings import get_settings
from rehearse.storage.folders import write_atomic

#: libyaml's safe loader when the wheel has it (10x faster than the pure-Python one).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".csv": "csv"}

#: CSV columns; list fields are separated by ``|`` (roles, key_points, follow_ups, tags).
CSV_COLUMNS = (
    "id",
    "text",
    "category",
    "roles",
    "level_min",
    "level_max",
    "key_points",
    "reference_answer",
    "follow_ups",
    "answer_time_seconds",
    "tags",
)


class QuestionBank:
    """An immutable set of questions with unique ids, in a stable order.

    Raises:
        ConfigurationError: two questions share an id (the message names both sources).
    """

    def __init__(self, questions: Iterable[tuple[Question, str]]) -> None:
        self._by_id: dict[str, Question] = {}
        self._source: dict[str, str] = {}
        for question, source in questions:
            if question.id in self._by_id:
                raise ConfigurationError(
                    f"{source}: question id {question.id!r} is already used by "
                    f"{self._source[question.id]}; ids must be unique across banks"
                )
            self._by_id[question.id] = question
            self._source[question.id] = source

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Question]:
        return iter(self._by_id.values())

    def __contains__(self, question_id: object) -> bool:
        return question_id in self._by_id

    def get(self, question_id: str) -> Question | None:
        """The question with this id, or ``None``."""
        return self._by_id.get(question_id)

    def source(self, question_id: str) -> str:
        """The file a question came from."""
        return self._source[question_id]

    def filter(
        self,
        *,
        role: Role | str | None = None,
        level: Level | str | None = None,
        category: QuestionCategory | str | None = None,
    ) -> list[Question]:
        """Questions for a role, a level and a category (each optional), in bank order.

        Raises:
            ConfigurationError: an unknown role, level or category.
        """
        wanted_role = _enum(Role, role, "role")
        wanted_level = _enum(Level, level, "level")
        wanted_category = _enum(QuestionCategory, category, "category")
        return [
            q
            for q in self._by_id.values()
            if (wanted_role is None or wanted_role in q.roles)
            and (wanted_level is None or wanted_level in q.levels)
            and (wanted_category is None or q.category is wanted_category)
        ]


def _enum(kind: Any, value: Any, field: str) -> Any:
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ConfigurationError(
            f"{field}={value!r}: must be one of {allowed}",
            [{"field": field, "value": value, "message": f"must be one of {allowed}"}],
        ) from None


def user_bank_dir() -> Path:
    """Where imported banks are kept: ``<data dir>/banks``."""
    return get_settings().data_dir / "banks"


@cache
def shipped_files() -> tuple[QuestionBankFile, ...]:
    """The banks shipped with rehearse, parsed and validated once per process."""
    files = []
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            files.append(
                parse_bank(entry.read_text(encoding="utf-8"), f"rehearse/bank/{entry.name}")
            )
    return tuple(files)


def load_bank(extra_dirs: Sequence[Path] | None = None) -> QuestionBank:
    """The shipped bank plus every imported bank (``<data dir>/banks/*.yaml``).

    Raises:
        ConfigurationError: an imported file is invalid, or reuses an id.
    """
    pairs: list[tuple[Question, str]] = []
    for bank_file in shipped_files():
        pairs += [(q, f"rehearse/bank/{bank_file.topic}.yaml") for q in bank_file.questions]
    for folder in [user_bank_dir(), *(extra_dirs or [])]:
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                pairs += [(q, str(path)) for q in read_bank_file(path).questions]
    return QuestionBank(pairs)


def read_bank_file(path: Path) -> QuestionBankFile:
    """Read and validate a bank file; the format comes from the suffix (.yaml, .json, .csv).

    A CSV file has the columns of :data:`CSV_COLUMNS`; its topic is the file name.

    Raises:
        ConfigurationError: unreadable file, unknown suffix, bad syntax, or invalid
            question; the message names the file, the line or record, and the field.
    """
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ConfigurationError(
            f"{path}: unknown bank format {path.suffix or '(none)'}; use .yaml, .yml, .json or .csv"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read the file: {exc}") from None
    if kind == "csv":
        return _parse_csv(text, str(path), path.stem)
    return parse_bank(text, str(path), json_format=kind == "json")


def parse_bank(text: str, source: str, *, json_format: bool = False) -> QuestionBankFile:
    """Parse and validate bank text (YAML, or JSON when ``json_format``).

    Raises:
        ConfigurationError: naming ``source``, the line (YAML) or record (JSON), and the field.
    """
    lines: list[int] = []
    if json_format:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"{source}: line {exc.lineno}: invalid JSON: {exc.msg}"
            ) from None
    else:
        try:
            data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader, in C when available
            lines = _yaml_question_lines(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigurationError(f"{source}: {where}invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: expected a mapping with 'topic' and 'questions'")
    try:
        return QuestionBankFile.model_validate(data)
    except ValidationError as exc:
        raise _bank_error(exc, source, lines, "line" if lines else "record") from None


def _yaml_question_lines(text: str) -> list[int]:
    """1-based line of each item of the top-level ``questions`` sequence."""
    node = yaml.compose(text, Loader=_Loader)
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "questions" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _bank_error(
    exc: ValidationError, source: str, lines: list[int], unit: str
) -> ConfigurationError:
    entries = []
    messages = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
            index = loc[1]
            where = (
                f"line {lines[index]}"
                if unit == "line" and index < len(lines)
                else f"record {index + 1}"
            )
            loc = loc[2:]
        field = ".".join(str(part) for part in loc) or "question"
        message = error["msg"].removeprefix("Value error, ")
        entries.append(
            {
                "field": field,
                "where": where,
                "value": _short(error.get("input")),
                "message": message,
            }
        )
        messages.append(f"{where + ': ' if where else ''}{field}: {message}")
    return ConfigurationError(
        f"{source}: " + "; ".join(messages[:5]) + ("; ..." if len(messages) > 5 else ""), entries
    )


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "..."
    return value if isinstance(value, str | int | float | bool | type(None)) else None


def _parse_csv(text: str, source: str, topic: str) -> QuestionBankFile:
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c
        for c in (
            "id",
            "text",
            "category",
            "roles",
            "key_points",
            "reference_answer",
            "follow_ups",
            "answer_time_seconds",
        )
        if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise ConfigurationError(
            f"{source}: line 1: missing column(s) {', '.join(missing)}; "
            f"columns are {', '.join(CSV_COLUMNS)}"
        )
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    ended = reader.line_num  # the header's last line
    for row in reader:
        # a quoted cell may span lines: the record starts after the previous one ended
        lines.append(_first_content_line(text, ended))
        ended = reader.line_num

        def cell(name: str, row: dict[str, Any] = row) -> str:
            return str(row.get(name) or "")

        record: dict[str, Any] = {
            "id": cell("id"),
            "text": cell("text"),
            "category": cell("category"),
            "roles": _split(cell("roles")),
            "key_points": _split(cell("key_points")),
            "reference_answer": cell("reference_answer"),
            "follow_ups": _split(cell("follow_ups")),
            "answer_time_seconds": cell("answer_time_seconds"),
            "tags": _split(cell("tags")),
        }
        levels = {k: row[f"level_{k}"] for k in ("min", "max") if row.get(f"level_{k}")}
        if levels:
            record["levels"] = levels
        records.append(record)
    try:
        return QuestionBankFile.model_validate({"topic": topic, "questions": records})
    except ValidationError as exc:
        raise _bank_error(exc, source, lines, "line") from None


def _first_content_line(text: str, after: int) -> int:
    """The first non-blank line after line ``after`` (1-based): where a CSV record begins."""
    all_lines = text.splitlines()
    line = after + 1
    while line <= len(all_lines) and not all_lines[line - 1].strip():
        line += 1
    return line


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def import_bank(path: Path) -> tuple[Path, QuestionBankFile]:
    """Validate ``path`` and save it as ``<data dir>/banks/<topic>.yaml``; returns (saved, bank).

    The whole file is checked, including that no id collides with another bank,
    before anything is written; the copy is written atomically.

    Raises:
        ConfigurationError: invalid file or colliding ids; nothing is written.
    """
    bank_file = read_bank_file(path)
    folder = user_bank_dir()
    target = folder / f"{_safe_name(bank_file.topic)}.yaml"
    existing = load_bank()
    replaced = {q.id for q in read_bank_file(target).questions} if target.exists() else set()
    for question in bank_file.questions:
        if question.id in existing and question.id not in replaced:
            raise ConfigurationError(
                f"{path}: question id {question.id!r} is already used by "
                f"{existing.source(question.id)}; ids must be unique across banks"
            )
    folder.mkdir(parents=True, exist_ok=True)
    data = bank_file.model_dump(mode="json", exclude_defaults=False)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    write_atomic(target, text.encode("utf-8"))
    return target, bank_file


def _safe_name(topic: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in topic.lower()).strip("-")
    return cleaned or "imported"
