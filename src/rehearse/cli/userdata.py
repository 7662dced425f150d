"""``rehearse export``, ``rehearse import`` and ``rehearse users delete``: a user's data.

JSON exports follow ``docs/export-schema.json`` (versioned); an export whose sessions have
files (whiteboards, recordings, transcripts) is a zip of that JSON, the Markdown reports
and the files (:mod:`rehearse.service.archives`). ``import`` restores either into another
installation with the same ids. Deletion asks for confirmation unless ``--yes``.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from rehearse.cli.context import manager
from rehearse.cli.render import console, emit_json
from rehearse.errors import ConfigurationError
from rehearse.rendering import render_markdown
from rehearse.service import archives
from rehearse.service.userdata import UserData


class ExportFormat(StrEnum):
    """What ``rehearse export`` writes."""

    JSON = "json"
    MD = "md"
    CSV = "csv"


def export(
    ctx: typer.Context,
    session_id: str | None = typer.Argument(None, help="One session to export."),
    user: str | None = typer.Option(None, "--user", help="Export every session of this user."),
    output_format: ExportFormat = typer.Option(
        ExportFormat.JSON, "--format", help="json (restorable), md (the report) or csv (answers)."
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to FILE."),
) -> None:
    """Export a session or a user's sessions (JSON, Markdown report or CSV of answers)."""
    if (session_id is None) == (user is None):
        raise ConfigurationError(
            "give a SESSION_ID or --user USER (exactly one)",
            [{"field": "session_id", "value": session_id, "message": "or --user, not both"}],
        )
    mgr = manager(ctx)
    data = UserData(mgr)
    if output_format is ExportFormat.MD:
        if session_id is None:
            raise ConfigurationError(
                "--format md exports one session's report; give a SESSION_ID",
                [{"field": "format", "value": "md", "message": "needs a SESSION_ID"}],
            )
        data.export_session(session_id)  # access and existence first
        text = render_markdown(mgr.get_report(session_id))
    else:
        document = data.export_session(session_id) if session_id else data.export_user(user)
        if output_format is ExportFormat.CSV:
            text = data.answers_csv(document)
        elif archives.has_files(document) or (output and output.suffix.lower() == ".zip"):
            _write_archive(data, document, output)
            return
        else:
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"output={str(output)!r}: cannot write the file: {exc}") from None
    console.print(f"exported to {output}")


def _write_archive(data: UserData, document: dict[str, Any], output: Path | None) -> None:
    """Write the export as a zip (JSON, Markdown reports, files) to ``output``.

    For an export with files, or any export asked for as ``-o FILE.zip``.
    """
    files = sum(len(entry["folder"]) for entry in document["sessions"])
    if output is None or output.suffix.lower() != ".zip":
        given = "none" if output is None else repr(str(output))
        raise ConfigurationError(
            f"output={given}: this export has {files} file(s) (whiteboards, recordings, "
            "transcripts), so it is a zip; give -o FILE.zip",
            [{"field": "output", "value": None if output is None else str(output),
              "message": "a .zip file"}],
        )  # fmt: skip
    temporary = output.with_name(f".{output.name}.tmp")
    try:
        with temporary.open("wb") as handle:
            data.write_archive(document, handle)
        temporary.replace(output)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ConfigurationError(f"output={str(output)!r}: cannot write the file: {exc}") from None
    console.print(
        f"exported {len(document['sessions'])} session(s) and {files} file(s) to {output}"
    )


def import_(
    ctx: typer.Context,
    path: Path = typer.Argument(
        ..., help="A JSON export, or a zip export with files (rehearse export)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Restore an export into this installation (session ids kept; a zip's files too)."""
    data = UserData(manager(ctx))
    files = 0
    if path.is_file() and archives.is_archive(path):
        count, files = data.import_archive(path)
    else:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigurationError(
                f"path={str(path)!r}: not a readable JSON or zip export: {exc}"
            ) from None
        count = data.import_document(document)
    if as_json:
        emit_json({"imported_sessions": count, "restored_files": files})
    else:
        console.print(f"imported {count} session(s) and {files} file(s)")


def delete(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="E-mail, user id or name of the user."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Delete every session, answer, progress row, file and the account of USER (audited)."""
    if not yes and not typer.confirm(
        f"Delete every session, file and the account of {user}? This cannot be undone"
    ):
        raise typer.Exit(1)
    details = UserData(manager(ctx)).delete_user(user)
    if as_json:
        emit_json(details)
        return
    removed = sum(details["rows"].values())
    console.print(
        f"deleted {details['sessions']} session(s), {removed} row(s) and "
        f"{details['files']} file(s); recorded in the audit log"
    )
