"""``rehearse sessions``: create, run and inspect sessions from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.text import Text

from rehearse.cli.context import manager, session_id
from rehearse.cli.options import level_option, role_option
from rehearse.cli.render import console, emit_json, event_table, session_detail, session_table
from rehearse.domain.access import LOCAL_PRINCIPAL
from rehearse.domain.sessions import Session
from rehearse.domain.wording import plural
from rehearse.errors import ConfigurationError

if TYPE_CHECKING:
    from rehearse.domain.sessions import Session
    from rehearse.service.sessions import SessionManager

app = typer.Typer(help="Create, run and inspect interview sessions.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
SESSION_ID = typer.Argument(
    ..., metavar="ID", help="A session id, or a unique prefix of it (6+ characters)."
)


def _read_text(path: Path | None, field: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{field}={str(path)!r}: cannot read the file: {exc}") from None


def _show(mgr: SessionManager, session: Session, as_json: bool) -> None:
    now = mgr.clock.now()
    if as_json:
        emit_json(session.to_json(now))
    else:
        session_detail(session, now)


@app.command()
def create(
    ctx: typer.Context,
    candidate_name: str = typer.Option(
        ..., "--candidate-name", help="Candidate's name (required)."
    ),
    candidate_email: str | None = typer.Option(
        None, "--candidate-email", help="Candidate's e-mail."
    ),
    role: str | None = role_option(),
    level: str | None = level_option(),
    interview_type: str | None = typer.Option(
        None, "--type", help="technical, behavioral, mixed, system_design or coding."
    ),
    mode: str | None = typer.Option(None, "--mode", help="practice, mock or assessment."),
    minutes: int | None = typer.Option(None, "--minutes", help="Time limit, 5-180 minutes."),
    token_budget: int | None = typer.Option(
        None, "--token-budget", help="AI token budget, 1,000-200,000."
    ),
    threshold: float | None = typer.Option(
        None, "--warning-threshold", help="Budget fraction (0-1) that triggers one warning."
    ),
    provider: str | None = typer.Option(None, "--provider", help="AI provider (default: offline)."),
    model: str | None = typer.Option(None, "--model", help="AI model of the provider."),
    modes: str | None = typer.Option(
        None, "--modes", help="Comma-separated: text, voice, whiteboard, code."
    ),
    challenge: str | None = typer.Option(
        None, "--challenge", help="Challenge text shown to the candidate."
    ),
    job_description: Path | None = typer.Option(
        None, "--job-description", help="File with the job description."
    ),
    resume: Path | None = typer.Option(None, "--resume", help="File with the candidate's resume."),
    as_json: bool = JSON,
) -> None:
    """Create a session (it starts with `rehearse sessions start ID`)."""
    from rehearse.ai.estimates import estimate_session  # the scoring stack, only here

    fields: dict[str, Any] = {
        "candidate_name": candidate_name,
        "candidate_email": candidate_email,
        "role": role,
        "level": level,
        "interview_type": interview_type,
        "mode": mode,
        "time_limit_minutes": minutes,
        "token_budget": token_budget,
        "token_warning_threshold": threshold,
        "ai_provider": provider,
        "ai_model": model,
        "enabled_modes": [m.strip() for m in modes.split(",")] if modes is not None else None,
        "challenge_text": challenge,
        "job_description": _read_text(job_description, "job_description"),
        "resume_text": _read_text(resume, "resume_text"),
    }
    mgr = manager(ctx)
    session = mgr.create_session({k: v for k, v in fields.items() if v is not None})
    estimate = estimate_session(session.config)
    if as_json:
        emit_json(session.to_json(mgr.clock.now()) | {"estimate": estimate.model_dump()})
        return
    _show(mgr, session, as_json)
    console.print(Text(f"AI estimate: {estimate.describe()}"), emoji=False, soft_wrap=True)


@app.command()
def show(ctx: typer.Context, session: str = SESSION_ID, as_json: bool = JSON) -> None:
    """Show one session with its remaining time and token usage."""
    mgr = manager(ctx)
    _show(mgr, mgr.get_session(session_id(ctx, session)), as_json)


def _transition(name: str, help_text: str) -> None:
    def command(ctx: typer.Context, session: str = SESSION_ID, as_json: bool = JSON) -> None:
        mgr = manager(ctx)
        changed = getattr(mgr, f"{name}_session")(session_id(ctx, session))
        _show(mgr, changed, as_json)

    command.__doc__ = help_text
    app.command(name)(command)


_transition("start", "Start a created session: its clock starts.")
_transition("pause", "Pause an active session: its clock stops.")
_transition("resume", "Resume a paused session.")
_transition("end", "End an active or paused session (completed).")
_transition("cancel", "Cancel a session that is not final.")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: str | None = typer.Option(
        None, "--status", help="created, active, paused, completed, expired or cancelled."
    ),
    candidate: str | None = typer.Option(
        None, "--candidate", help="Text in the candidate's name, or their e-mail."
    ),
    role: str | None = typer.Option(None, "--role", help="Only this role."),
    limit: int = typer.Option(20, "--limit", help="Page size, 1-500."),
    cursor: str | None = typer.Option(None, "--cursor", help="next_cursor of the previous page."),
    offset: int = typer.Option(0, "--offset", help="Sessions to skip."),
    as_json: bool = JSON,
) -> None:
    """List sessions, newest first."""
    mgr = manager(ctx)
    page = mgr.list_sessions(
        status=status, candidate=candidate, role=role, limit=limit, cursor=cursor, offset=offset
    )
    now = mgr.clock.now()
    if as_json:
        emit_json(
            {
                "sessions": [s.to_json(now) for s in page.sessions],
                "total": page.total,
                "next_cursor": page.next_cursor,
            }
        )
        return
    session_table(page.sessions, now, page.total)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


@app.command()
def events(
    ctx: typer.Context,
    session: str = SESSION_ID,
    after: int = typer.Option(0, "--after", help="Only events after this sequence number."),
    as_json: bool = JSON,
) -> None:
    """Show a session's event log, oldest first."""
    found = manager(ctx).get_events(session_id(ctx, session), after_seq=after)
    if as_json:
        emit_json([e.to_json() for e in found])
    else:
        event_table(found)


@app.command("record-usage")
def record_usage(
    ctx: typer.Context,
    session: str = SESSION_ID,
    prompt_tokens: int = typer.Option(..., "--prompt-tokens", help="Prompt tokens of the call."),
    completion_tokens: int = typer.Option(..., "--completion-tokens", help="Completion tokens."),
    model: str = typer.Option(..., "--model", help="Model that used them."),
    as_json: bool = JSON,
) -> None:
    """Record the token usage of an AI call made outside rehearse."""
    mgr = manager(ctx)
    used = mgr.record_usage(session_id(ctx, session), prompt_tokens, completion_tokens, model=model)
    _show(mgr, used, as_json)


@app.command()
def sweep(
    ctx: typer.Context,
    limit: int = typer.Option(1000, "--limit", help="At most this many sessions per run."),
    as_json: bool = JSON,
) -> None:
    """Expire every running session whose time limit has passed."""
    expired = manager(ctx).sweep_expired(limit)
    if as_json:
        emit_json({"expired": expired, "count": len(expired)})
    else:
        console.print(f"expired {plural(len(expired), 'session')}")
        for session_id in expired:
            console.print(f"  {session_id}")


@app.command()
def delete(
    ctx: typer.Context,
    session_id: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking."),
    as_json: bool = JSON,
) -> None:
    """Delete a session for good: its rows, events, links and files (asks first)."""
    mgr = manager(ctx)
    session = mgr.get_session(session_id)
    if not yes and not typer.confirm(
        f"Delete session {session.id} of {session.config.candidate_name} "
        f"({session.status.value}) and all its files?",
        err=True,
    ):
        typer.echo("nothing deleted", err=True)
        raise typer.Exit(1)
    mgr.delete_session(session.id, LOCAL_PRINCIPAL)
    if as_json:
        emit_json({"deleted": session.id})
    else:
        console.print(f"deleted session {session.id}", soft_wrap=True)


def _add_audio_command() -> None:
    """``rehearse sessions add-audio``: answer by voice (issue 13, cli/spoken.py)."""
    from rehearse.cli import spoken

    app.command("add-audio")(spoken.add_audio)
    app.command("submit-transcript")(spoken.submit_transcript)


_add_audio_command()
