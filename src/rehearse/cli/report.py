"""``rehearse report ID``: a session's report as Markdown, JSON or HTML."""

from __future__ import annotations

import shutil
import sys
from enum import StrEnum
from pathlib import Path

import typer

from rehearse.cli.context import manager, session_id
from rehearse.cli.render import emit_json
from rehearse.domain.access import LOCAL_PRINCIPAL
from rehearse.errors import ConfigurationError
from rehearse.rendering import render_html, render_markdown


class ReportFormat(StrEnum):
    """Output formats of a report."""

    MD = "md"
    JSON = "json"
    HTML = "html"


def report(
    ctx: typer.Context,
    session: str = typer.Argument(
        ..., metavar="ID", help="A session id, or a unique prefix of it (6+ characters)."
    ),
    output_format: ReportFormat = typer.Option(
        ReportFormat.MD, "--format", help="md, json or html."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout."
    ),
    regenerate: bool = typer.Option(
        False, "--regenerate", help="Rebuild the report from the answers."
    ),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
) -> None:
    """Show a session's report (generated on first use, stored with the session)."""
    whole = session_id(ctx, session)
    current = manager(ctx).get_session(whole)
    if not current.status.is_final:
        typer.echo(
            f"note: session {whole} is {current.status.value}: this is a provisional report "
            "of a session in progress",
            err=True,
        )
    found = manager(ctx).get_report(whole, regenerate=regenerate)
    fmt = ReportFormat.JSON if as_json else output_format
    if fmt is ReportFormat.JSON and output is None:
        emit_json(found.model_dump(mode="json"))
        return
    if fmt is ReportFormat.JSON:
        text = found.model_dump_json(indent=2)
    else:
        # issue 11, item 3: the saved whiteboards, embedded in HTML, files beside Markdown
        boards = manager(ctx).whiteboards_for(found.session_id, LOCAL_PRINCIPAL)
        if fmt is ReportFormat.HTML:
            text = render_html(found, boards)
        else:
            text = render_markdown(found, _whiteboard_links(boards, output))
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"output={str(output)!r}: cannot write: {exc.strerror}") from None
    print(f"report written to {output}")


def _whiteboard_links(boards: dict[str, Path], output: Path | None) -> dict[str, str]:
    """Links to the drawings: copies in ``<report>-whiteboards/`` beside a written file.

    On stdout the links point at the files in the session folder.
    """
    if output is None:
        return {item: path.as_uri() for item, path in boards.items()}
    folder = output.with_name(f"{output.stem}-whiteboards")
    links: dict[str, str] = {}
    for number, (item, path) in enumerate(boards.items(), 1):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, folder / f"{number}-{path.name}")
        except OSError as exc:
            raise ConfigurationError(
                f"output={str(output)!r}: cannot write {folder}: {exc.strerror}"
            ) from None
        links[item] = f"{folder.name}/{number}-{path.name}"
    return links
