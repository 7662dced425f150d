"""``rehearse interview``: a whole mock interview in the terminal.

Each question shows the remaining time and progress; an answer is typed over several
lines and finished with an empty line; code goes between lines of three backticks
(blank lines inside are kept, the code is sent verbatim as a fenced block). Commands:
``/skip``, ``/retry`` (practice mode: answer the last scored question again; the best
attempt counts), ``/pause``, ``/resume``, ``/end``, ``/help``. Ctrl-C (or end of
input) pauses and saves the session; ``rehearse interview --resume ID`` continues it.
Every answer is saved the moment it is submitted. When the session's model is slower than
``REHEARSE_AI_ANSWER_DEADLINE_SECONDS``, the offline evaluation is shown at once and a
spinner waits for the model's evaluation and follow-up; Ctrl-C skips the wait (issue 15).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.markdown import Markdown
from rich.panel import Panel

from rehearse.cli.context import manager, session_id
from rehearse.cli.options import level_option, role_option
from rehearse.cli.render import console
from rehearse.domain.config import InterviewMode
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.plan import PlanItem
from rehearse.domain.sessions import Session
from rehearse.domain.wording import format_duration, label, plural
from rehearse.errors import (
    ConfigurationError,
    InvalidStateError,
    RehearseError,
    SessionImmutableError,
)
from rehearse.rendering import render_markdown
from rehearse.scoring import AnswerEvaluation
from rehearse.service.sessions import SessionManager
from rehearse.storage.folders import write_atomic

HELP = """\
Type your answer over as many lines as you like; an empty line submits it.
Code: put it between lines of ``` (e.g. ```python); blank lines inside are kept.
  /skip    skip this question (it counts 0)
  /audio FILE  answer by voice: a recording (ogg, webm, wav, mp3, m4a) is transcribed
  /retry   practice mode: answer the last scored question again (the best attempt counts)
  /pause   pause the interview (the clock stops)
  /resume  resume after a pause
  /end     end the interview now and see the report
  /help    show this help
Ctrl-C pauses and saves; continue later with: rehearse interview --resume ID"""


class _Paused(Exception):
    """The candidate pressed Ctrl-C or closed the input.

    Attributes:
        lines: what was typed of an unfinished answer (kept as a draft).
    """

    def __init__(self, lines: list[str] | None = None) -> None:
        super().__init__("paused")
        self.lines = lines or []


def _clock(seconds: int, like: int | None = None) -> str:
    return format_duration(seconds, like=like)


def _read_line(prompt: str) -> str:
    try:
        return input(prompt)
    except (KeyboardInterrupt, EOFError):
        raise _Paused from None


_FENCE_LINE = re.compile(r"^\s*(`{3,})")


def _read_answer(draft: list[str] | None = None) -> str:
    """Lines until an empty line; a first line starting with ``/`` is a command.

    Between a line opening a fence (three backticks or more, with a language) and the
    line closing it, every line is kept verbatim, blank ones too. ``draft`` are lines
    typed before a Ctrl-C: the answer goes on after them.

    Raises:
        _Paused: Ctrl-C or the end of input; it carries the lines typed so far.
    """
    lines: list[str] = list(draft or [])
    fence: str | None = None
    while True:
        try:
            line = _read_line("> " if not lines else ("| " if fence else "  "))
        except _Paused:
            raise _Paused(lines) from None
        if not lines and line.strip().startswith("/"):
            command = line.strip()
            # a file name keeps its case
            return command if command.lower().startswith("/audio") else command.lower()
        opening = _FENCE_LINE.match(line)
        if fence is not None:
            lines.append(line)
            if line.strip() == fence:
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            lines.append(line.strip())
            continue
        if not line.strip():
            if lines:
                return "\n".join(lines)
            continue
        lines.append(line)


def _show_question(
    mgr: SessionManager, session: Session, item: PlanItem, *, retry: bool = False
) -> None:
    assert session.interview is not None
    progress = session.interview.progress()
    number = progress["answered"] + progress["skipped"] + (0 if item.kind == "follow_up" else 1)
    remaining = session.remaining_seconds_at(mgr.clock.now())
    limit = session.config.time_limit_seconds
    kind = "Follow-up" if item.kind == "follow_up" else f"Question {number} of {progress['total']}"
    if retry:
        kind = "Trying again"
    title = (
        f"{kind} · {label(item.category)} · {_clock(remaining, limit)} left of {_clock(limit)} · "
        f"suggested {_clock(item.answer_time_seconds)}"
    )
    console.print()
    console.print(Panel(item.text, title=title, title_align="left", border_style="cyan"))


def _wait_for_resume(mgr: SessionManager, session_id: str) -> bool:
    """After /pause: True to continue, False to end."""
    console.print(
        "[yellow]Paused.[/] The clock is stopped. Type /resume to continue or /end to finish."
    )
    while True:
        command = _read_line("(paused) ").strip().lower()
        if command == "/resume":
            mgr.resume_session(session_id)
            console.print("Resumed.")
            return True
        if command == "/end":
            return False
        if command == "/help":
            console.print(HELP)
        elif command:
            console.print(
                "[yellow]Ignored: the interview is paused, so nothing typed now is an "
                "answer.[/] Type /resume to continue or /end to finish."
            )


def _draft_path(mgr: SessionManager, session_id: str, item_id: str) -> Path:
    """Where an unfinished answer waits: the session folder's ``drafts/``."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", item_id)
    return mgr.folders.folder(session_id) / "drafts" / f"{safe}.txt"


def _save_draft(mgr: SessionManager, session_id: str, item_id: str, lines: list[str]) -> None:
    if lines:
        path = _draft_path(mgr, session_id, item_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, "\n".join(lines).encode())


def _take_draft(mgr: SessionManager, session_id: str, item_id: str) -> list[str]:
    """The unfinished answer kept for ``item_id`` (removed: it is typed on now)."""
    path = _draft_path(mgr, session_id, item_id)
    if not path.is_file():
        return []
    lines = path.read_text().split("\n")
    path.unlink(missing_ok=True)
    return lines


def _run(mgr: SessionManager, session_id: str) -> None:
    last_scored: PlanItem | None = None  # what /retry answers again (practice mode)
    retrying: PlanItem | None = None
    while True:
        session = mgr.get_session(session_id)
        if session.status.is_final:
            return
        item = retrying or (session.interview.current() if session.interview else None)
        if item is None:
            mgr.end_session(session_id)
            return
        _show_question(mgr, session, item, retry=retrying is not None)
        shown = time.monotonic()
        draft = _take_draft(mgr, session_id, item.id)
        if draft:
            console.print("[dim]Your unfinished answer was kept; go on from here:[/]")
            for line in draft:
                console.print(f"  {line}", markup=False, highlight=False)
        while True:
            try:
                entry = _read_answer(draft)
            except _Paused as paused:
                _save_draft(mgr, session_id, item.id, paused.lines)
                raise
            draft = []
            if entry == "/help":
                console.print(HELP)
                continue
            break
        if entry == "/end":
            mgr.end_session(session_id)
            return
        if entry == "/skip":
            if retrying is not None:
                retrying = None
                console.print("Back to the current question.")
                continue
            mgr.skip_question(session_id, item.id)
            console.print("Skipped: it counts 0.")
            continue
        if entry == "/retry":
            if session.config.mode is not InterviewMode.PRACTICE:
                console.print(
                    f"/retry is for practice mode; this is a {label(session.config.mode)} "
                    "session: one answer per question."
                )
            elif last_scored is None:
                console.print("Nothing to try again yet: answer a question first.")
            else:
                retrying = last_scored
                console.print("Answer it again; the best attempt counts. /skip goes back.")
            continue
        if entry == "/pause":
            mgr.pause_session(session_id)
            if not _wait_for_resume(mgr, session_id):
                mgr.end_session(session_id)
                return
            continue
        if entry.lower().startswith("/audio"):
            from rehearse.cli.spoken import terminal_answer

            terminal_answer(mgr, session_id, item.id, entry[len("/audio") :].strip())
            continue
        if entry.startswith("/"):
            console.print(f"Unknown command {entry}; /help lists them.")
            continue
        spent = time.monotonic() - shown
        retrying = None
        outcome = mgr.submit_answer(session_id, item.id, entry, round(spent, 1))
        last_scored = item
        for notice in outcome.notices:
            console.print(f"[yellow]{notice}[/]")
        practice = session.config.mode is InterviewMode.PRACTICE
        if outcome.evaluation and practice:
            _show_score(outcome.evaluation)
        else:
            console.print("Answer saved.")
        if outcome.attempt in outcome.item.provisional_attempts:
            late = _wait_for_model(mgr, session_id, item.id, outcome.attempt)
            if late is not None and practice:
                console.print("[green]The AI's evaluation arrived; it replaces the offline one.[/]")
                _show_score(late)


def _show_score(evaluation: AnswerEvaluation | dict[str, Any]) -> None:
    """The score and the first feedback sentences (practice mode)."""
    data = evaluation if isinstance(evaluation, dict) else evaluation.model_dump(mode="json")
    console.print(f"[bold]Score {data['score']}/100.[/]")
    for sentence in list(data.get("feedback") or [])[:3]:
        console.print(f"  • {sentence}")
    console.print("[dim]/retry answers it again; the best attempt counts.[/]")


#: How often the spinner looks whether the model is done, seconds.
WAIT_POLL_SECONDS = 0.1


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _wait_for_model(
    mgr: SessionManager, session_id: str, item_id: str, attempt: int
) -> dict[str, Any] | None:
    """Wait with a spinner for the model's late evaluation and follow-up (issue 15).

    Ctrl-C stops waiting (the interview goes on; the model's result still lands and
    replaces the offline evaluation). The wait ends by itself within the tasks'
    deadlines (``REHEARSE_AI_EVALUATION_TIMEOUT_SECONDS`` and the follow-up's).

    Returns:
        The model's stored evaluation of the attempt (JSON), or ``None`` when it fell
        back, or the wait was skipped.
    """
    interviews = mgr.services.interviews
    try:
        with console.status("Waiting for the AI's evaluation and follow-up (Ctrl-C skips)..."):
            while interviews.model_busy(session_id, item_id, attempt):
                _pause(WAIT_POLL_SECONDS)
    except KeyboardInterrupt:
        console.print(
            "[dim]Skipped waiting: the AI's evaluation replaces this one when it lands.[/]"
        )
        return None
    for answer in mgr.get_answers(session_id):
        if answer.item_id == item_id and answer.attempt == attempt and answer.evaluation:
            replaced = answer.evaluation.get("evaluator") != mgr.evaluator.name
            return answer.evaluation if replaced else None
    return None


def _path_fields(mgr: SessionManager, limit: int | None) -> dict[str, object]:
    """Config fields of the learning path's next session for ``me`` (``--as``).

    The plan is the path's practice set in its order (at most ``limit`` questions), in
    practice mode, at the path's target level; the candidate is the path's user.

    Raises:
        ConfigurationError: the practice set is empty (every bank question was answered
            well and none is due).
    """
    learning = mgr.generate_learning_path(None)
    ids = [item.question_id for item in learning.next_practice_set][:limit]
    if not ids:
        raise ConfigurationError(
            f"the learning path of {learning.user} has no question to practise now "
            "(nothing is due for review and no new question is left at its level)",
            [{"field": "path", "value": True, "message": "empty practice set"}],
        )
    reviews = sum(1 for item in learning.next_practice_set[: len(ids)] if item.reason == "review")
    console.print(
        f"[bold]Learning path[/] of {learning.user}: {label(learning.current_level)} → "
        f"{label(learning.target_level)}; {plural(reviews, 'review')} due, "
        f"{plural(len(ids) - reviews, 'new question')}.",
        soft_wrap=True,
    )
    fields: dict[str, object] = {
        "question_ids": ids,
        "mode": InterviewMode.PRACTICE.value,
        "level": learning.target_level.value,
    }
    user = learning.user
    if "@" in user:
        fields["candidate_email"] = user
    elif user.startswith("name:"):
        fields["candidate_name"] = user.removeprefix("name:")
    return fields


def _ask_name() -> str:
    """The candidate's name, asked at a terminal (the login name is not the candidate's)."""
    if not sys.stdin.isatty():
        return "Candidate"
    try:
        given = input("Your name (as the report should show it): ").strip()
    except (KeyboardInterrupt, EOFError):
        raise typer.Exit(130) from None
    return given or "Candidate"


def interview(
    ctx: typer.Context,
    name: str | None = typer.Option(
        None, "--name", help="Your name (asked for at a terminal when not given)."
    ),
    role: str | None = role_option(),
    level: str | None = level_option(),
    interview_type: str | None = typer.Option(
        None, "--type", help="technical, behavioral, mixed, system_design or coding."
    ),
    mode: str | None = typer.Option(
        None, "--mode", help="practice (feedback after each answer), mock or assessment."
    ),
    minutes: int | None = typer.Option(None, "--minutes", help="Time limit, 5-180 minutes."),
    questions: int | None = typer.Option(None, "--questions", help="Number of questions, 1-30."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed of the question plan."),
    provider: str | None = typer.Option(
        None,
        "--provider",
        help="AI provider: offline (default), openai, anthropic, google, ollama, test.",
    ),
    model: str | None = typer.Option(None, "--model", help="Model of the AI provider."),
    resume: str | None = typer.Option(
        None,
        "--resume",
        help="Continue a paused session by id (or a unique prefix of 6+ characters).",
        metavar="ID",
    ),
    path: bool = typer.Option(
        False,
        "--path",
        help="The next session of your learning path: its practice set (reviews due by "
        "spaced repetition, then new questions in your weakest areas) at its target level.",
    ),
) -> None:
    """Run a mock interview in the terminal and print the report."""
    mgr = manager(ctx)
    if resume and path:
        raise ConfigurationError(
            "--path starts a new session; --resume continues one: give one of them",
            [{"field": "path", "value": True, "message": "not with --resume"}],
        )
    if resume:
        resume = session_id(ctx, resume)
        session = mgr.get_session(resume)
        if session.status.is_final:
            console.print(
                f"Session {session.id} is {session.status.value}: it is over and cannot "
                "continue. Its report:",
                soft_wrap=True,
            )
        else:
            if session.status is SessionStatus.PAUSED:
                session = mgr.resume_session(resume)
            elif session.status is SessionStatus.CREATED:
                session = mgr.start_session(resume)
            console.print(f"Continuing session {session.id}.", soft_wrap=True)
    else:
        chosen = {
            "candidate_name": name,
            "role": role,
            "level": level,
            "interview_type": interview_type,
            "mode": mode,
            "time_limit_minutes": minutes,
            "question_count": None if path else questions,
            "plan_seed": seed,
            "ai_provider": provider,
            "ai_model": model,
        }
        # the path's fields are defaults: an option given on the command line wins
        fields = _path_fields(mgr, questions) if path else {}
        fields |= {k: v for k, v in chosen.items() if v is not None}
        if "candidate_name" not in fields:
            fields["candidate_name"] = _ask_name()
        session = mgr.create_session(fields)
        config = session.config
        count = len(session.interview.questions) if session.interview else 0
        console.print(
            f"[bold]Mock interview[/]: {label(config.role)} · {label(config.level)} · "
            f"{label(config.interview_type)} · {label(config.mode)} mode — "
            f"{_clock(config.time_limit_seconds)}, {plural(count, 'question')}."
        )
        console.print(f"Session {session.id}.", soft_wrap=True)
        console.print(HELP)
        session = mgr.start_session(session.id)
    try:
        if not session.status.is_final:
            _run(mgr, session.id)
    except _Paused:
        current = mgr.get_session(session.id)
        if current.status is SessionStatus.ACTIVE:
            mgr.pause_session(session.id)
        console.print(
            f"\nPaused and saved. Continue with: rehearse interview --resume {session.id}",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    except SessionImmutableError:
        console.print("\n[yellow]Time is up.[/]")
    except InvalidStateError as error:
        raise RehearseError(str(error)) from error
    report = mgr.get_report(session.id)
    console.print()
    console.print(Markdown(render_markdown(report)))
    sys.stdout.flush()
