"""Output for people (Rich tables) and for scripts (``--json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from rehearse.domain.events import Event
from rehearse.domain.sessions import Session
from rehearse.domain.wording import format_duration

#: No emoji codes: a ":fire:" in a candidate's name stays as typed (and the 3,600-entry
#: emoji table is never imported, issue 8 item 5).
console = Console(highlight=False, emoji=False)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (no colour, one document)."""
    print(json.dumps(data, indent=2, default=str))


def _minutes(seconds: int, like: int | None = None) -> str:
    return format_duration(seconds, like=like)


def session_detail(session: Session, now: datetime) -> None:
    """A two-column table of one session."""
    data = session.to_json(now)
    config = data["config"]
    limit = config["time_limit_minutes"] * 60
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("id", data["id"]),
        ("status", data["status"]),
        (
            "candidate",
            config["candidate_name"]
            + (f" <{config['candidate_email']}>" if config["candidate_email"] else ""),
        ),
        (
            "interview",
            f"{config['role']} · {config['level']} · {config['interview_type']} · {config['mode']}",
        ),
        (
            "time",
            f"{_minutes(data['remaining_seconds'], limit)} left of {_minutes(limit)}",
        ),
        (
            "tokens",
            f"{data['tokens_used']:,} used of {data['token_budget']:,} "
            f"({data['remaining_tokens']:,} left)",
        ),
        ("ai", f"{config['ai_provider']}:{config['ai_model']}"),
        ("modes", ", ".join(config["enabled_modes"])),
        ("created", data["created_at"]),
    ]
    if data["started_at"]:
        rows.append(("started", data["started_at"]))
    if data["ended_at"]:
        rows.append(("ended", data["ended_at"]))
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)


def session_table(sessions: Sequence[Session], now: datetime, total: int | None) -> None:
    """One row per session."""
    table = Table(title=f"{len(sessions)} of {total} sessions" if total is not None else None)
    # ids are never cut or wrapped (issue 11 item 6): the other columns give way
    table.add_column("id", no_wrap=True, min_width=36, overflow="ignore")
    for column in ("status", "candidate", "role", "level", "left", "tokens", "created"):
        table.add_column(column)
    for session in sessions:
        table.add_row(
            session.id,
            session.status.value,
            session.config.candidate_name,
            session.config.role.value,
            session.config.level.value,
            _minutes(session.remaining_seconds_at(now)),
            f"{session.tokens_used:,}/{session.config.token_budget:,}",
            session.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


def event_table(events: Sequence[Event]) -> None:
    """One row per event."""
    table = Table()
    for column in ("seq", "at", "type", "actor", "data"):
        table.add_column(column)
    for event in events:
        table.add_row(
            str(event.seq),
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.type,
            event.actor,
            json.dumps(event.data, default=str)[:80],
        )
    console.print(table)
