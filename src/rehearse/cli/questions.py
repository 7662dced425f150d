"""``rehearse questions``: list the question bank, validate and import bank files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer
from rich.table import Table

from rehearse.bank import QuestionBank, import_bank, load_bank, read_bank_file, user_bank_dir
from rehearse.cli.options import level_option, role_option
from rehearse.cli.render import console, emit_json
from rehearse.domain.questions import Question, QuestionBankFile
from rehearse.errors import ConfigurationError

app = typer.Typer(
    help="List the question bank; validate and import your own bank files.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
BANK_FILE = typer.Argument(
    ..., help="Bank file: .yaml/.yml or .json (topic + questions), or .csv.", metavar="FILE"
)

_TEXT_WIDTH = 70


@app.command("list")
def list_(
    role: str | None = role_option(),
    level: str | None = level_option(),
    category: str | None = typer.Option(
        None, "--category", help="technical, behavioral, system_design or coding."
    ),
    as_json: bool = JSON,
) -> None:
    """List the questions of the shipped and imported banks, optionally filtered."""
    bank = load_bank()
    found = bank.filter(role=role, level=level, category=category)
    if as_json:
        emit_json([question.model_dump(mode="json") for question in found])
    else:
        _question_table(found, len(bank))


@app.command()
def validate(path: Path = BANK_FILE, as_json: bool = JSON) -> None:
    """Check a bank file without importing it: its questions, and that no id is taken."""
    bank_file = read_bank_file(path)
    _refuse_collisions(path, bank_file, load_bank())
    if as_json:
        emit_json({"file": str(path), "questions": len(bank_file.questions), "valid": True})
    else:
        console.print(f"{path}: {len(bank_file.questions)} questions, valid")


@app.command("import")
def import_(path: Path = BANK_FILE, as_json: bool = JSON) -> None:
    """Validate a bank file and save it with your banks; later sessions can ask its questions."""
    saved, bank_file = import_bank(path)
    if as_json:
        emit_json(
            {
                "file": str(path),
                "saved": str(saved),
                "topic": bank_file.topic,
                "questions": len(bank_file.questions),
            }
        )
    else:
        console.print(
            f"imported {len(bank_file.questions)} questions "
            f"(topic {bank_file.topic}) from {path} into {saved}"
        )


def _refuse_collisions(path: Path, bank_file: QuestionBankFile, bank: QuestionBank) -> None:
    """Raise when an id of ``bank_file`` is already used by another bank.

    Mirrors the rule of :func:`rehearse.bank.import_bank`: ids of the file itself (when it is
    already among the imported banks) and of the imported bank with the same topic (which an
    import would replace) are not collisions.

    Raises:
        ConfigurationError: naming the file, the first colliding ids and their banks.
    """
    replaced = _replaced_sources(path, bank_file.topic, bank)
    taken = [
        (question.id, bank.source(question.id))
        for question in bank_file.questions
        if question.id in bank and bank.source(question.id) not in replaced
    ]
    if not taken:
        return
    shown = "; ".join(f"{qid!r} is already used by {source}" for qid, source in taken[:3])
    more = f" (and {len(taken) - 3} more)" if len(taken) > 3 else ""
    raise ConfigurationError(
        f"{path}: question id {shown}{more}; ids must be unique across banks, rename them",
        [
            {"field": "id", "value": qid, "message": f"already used by {source}"}
            for qid, source in taken
        ],
    )


def _replaced_sources(path: Path, topic: str, bank: QuestionBank) -> set[str]:
    """The imported bank files that validating (or importing) ``path`` may overlap."""
    folder = user_bank_dir().resolve()
    sources = {bank.source(question.id) for question in bank}
    replaced: set[str] = set()
    for source in sources:
        candidate = Path(source)
        if candidate.resolve().parent != folder:
            continue  # a shipped bank: never replaced
        if candidate.resolve() == path.resolve() or read_bank_file(candidate).topic == topic:
            replaced.add(source)
    return replaced


def _levels(question: Question) -> str:
    low, high = question.levels.min.value, question.levels.max.value
    return low if low == high else f"{low}-{high}"


def _shorten(text: str, width: int = _TEXT_WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3].rstrip() + "..."


def _question_table(questions: Sequence[Question], total: int) -> None:
    table = Table(title=f"{len(questions)} of {total} questions")
    # the short columns keep their width; a narrow terminal wraps roles and text instead
    table.add_column("id", overflow="fold")
    table.add_column("category", min_width=13)
    table.add_column("levels", min_width=12)
    table.add_column("roles", overflow="fold")
    table.add_column("text", ratio=1)
    for question in questions:
        table.add_row(
            question.id,
            question.category.value,
            _levels(question),
            ", ".join(role.value for role in question.roles),
            _shorten(question.text),
        )
    console.print(table)
