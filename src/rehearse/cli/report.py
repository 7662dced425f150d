"""``rehearse report ID``: a session's report as Markdown, JSON or HTML."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from rehearse.cli.context import manager, session_id
from rehearse.cli.render import emit_json
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
    found = manager(ctx).get_report(session_id(ctx, session), regenerate=regenerate)
    fmt = ReportFormat.JSON if as_json else output_format
    if fmt is ReportFormat.JSON and output is None:
        emit_json(found.model_dump(mode="json"))
        return
    if fmt is ReportFormat.JSON:
        text = found.model_dump_json(indent=2)
    else:
        text = render_html(found) if fmt is ReportFormat.HTML else render_markdown(found)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"output={str(output)!r}: cannot write: {exc.strerror}") from None
    print(f"report written to {output}")
