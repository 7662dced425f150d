"""``rehearse voice``: chat-bot voice sessions (seed ``003_*``) and the transcription worker.

Thin: it parses, calls :class:`~rehearse.service.voice.VoiceSessionManager` or the
worker, and renders. Expected errors print one line on stderr (see ``rehearse.cli``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from rehearse.cli.context import AppState
from rehearse.cli.render import console, emit_json
from rehearse.domain.voice import VoiceSession
from rehearse.errors import ConfigurationError
from rehearse.service.voice import VoiceSessionManager
from rehearse.voice.audio import read_limited

app = typer.Typer(
    help="Voice sessions: collect recordings, transcribe them, measure the speech.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON.")


@contextmanager
def _manager(ctx: typer.Context) -> Iterator[VoiceSessionManager]:
    state = ctx.find_root().obj
    assert isinstance(state, AppState)
    manager = VoiceSessionManager.open(state.database_url)
    try:
        yield manager
    finally:
        manager.close()


def _show(session: VoiceSession, as_json: bool, path: Path | None = None) -> None:
    data: dict[str, Any] = session.model_dump(mode="json")
    if path is not None:
        data["path"] = str(path)
    if as_json:
        emit_json(data)
        return
    console.print(f"{session.id}  {session.state.value}  chat {session.chat_id}")
    for entry in session.audio_entries:
        console.print(
            f"  {entry.sequence:3d}  {entry.stored_filename}  {entry.duration_seconds:.1f} s  "
            f"{entry.transcription_status.value}" + (f"  {entry.error}" if entry.error else "")
        )
    for error in session.errors:
        console.print(f"  error ({error.stage}): {error.message}")
    if path is not None:
        console.print(f"  folder: {path}")


@app.command("new")
def new(
    ctx: typer.Context,
    chat_id: int = typer.Argument(..., help="The chat's id."),
    as_json: bool = JSON,
) -> None:
    """Open a collecting session for a chat (finalizing its collecting one first)."""
    with _manager(ctx) as manager:
        session = manager.create_session(chat_id)
        _show(session, as_json, manager.get_session_path(session.id))


@app.command("add")
def add(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="A collecting voice session."),
    file: Path = typer.Argument(..., help="ogg, webm, wav, mp3 or m4a recording."),
    as_json: bool = JSON,
) -> None:
    """Add a recording to a collecting session; it is queued for transcription."""
    with _manager(ctx) as manager:
        try:
            data = read_limited(file, manager.max_audio_bytes)
        except OSError as exc:
            raise ConfigurationError(
                f"file={str(file)!r}: cannot read it: {exc.strerror}"
            ) from None
        _session, entry = manager.add_audio(session_id, data, filename=file.name)
        if as_json:
            emit_json(entry.model_dump(mode="json"))
        else:
            console.print(
                f"{session_id}: audio {entry.sequence} stored as {entry.stored_filename} "
                f"({entry.duration_seconds:.1f} s), "
                f"transcription {entry.transcription_status.value}"
            )


@app.command("finalize")
def finalize(
    ctx: typer.Context, session_id: str = typer.Argument(...), as_json: bool = JSON
) -> None:
    """Stop collecting and move the session through its pipeline."""
    with _manager(ctx) as manager:
        _show(manager.finalize_session(session_id), as_json)


@app.command("show")
def show(ctx: typer.Context, session_id: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """One voice session: state, audio entries, errors and folder."""
    with _manager(ctx) as manager:
        path = manager.get_session_path(session_id)
        _show(manager.require(session_id), as_json, path)


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: int = typer.Option(10, "--limit", help="How many, 1-1000."),
    as_json: bool = JSON,
) -> None:
    """Voice sessions, newest first."""
    with _manager(ctx) as manager:
        sessions = manager.list_sessions(limit)
    if as_json:
        emit_json([s.model_dump(mode="json") for s in sessions])
        return
    for session in sessions:
        console.print(
            f"{session.id}  {session.state.value:12}  chat {session.chat_id}  "
            f"{len(session.audio_entries)} recordings"
        )


@app.command("work")
def work(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Transcribe what is queued, then exit."),
    transcriber: str | None = typer.Option(
        None, "--transcriber", help="provider:model (default REHEARSE_VOICE_TRANSCRIBER)."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        max=16,
        help="Transcriptions at once (default REHEARSE_VOICE_WORKERS).",
    ),
) -> None:
    """Run the transcription worker: drain the queue, resuming whatever a crash left.

    It transcribes chat-bot recordings and spoken interview answers alike.
    """
    from rehearse.cli.context import manager as session_manager
    from rehearse.service.spoken_answers import SpokenAnswers
    from rehearse.service.voice_worker import TranscriptionWorker
    from rehearse.settings import get_settings
    from rehearse.voice.transcribers import transcriber_for

    settings = get_settings()
    with _manager(ctx) as manager:
        chosen = transcriber_for(
            transcriber or settings.voice_transcriber,
            openai_base_url=settings.voice_openai_base_url,
        )
        spoken = SpokenAnswers(session_manager(ctx), chosen, settings)
        worker = TranscriptionWorker.from_settings(manager, settings, chosen, spoken)
        if workers is not None:
            worker.parallelism = workers
        if once:
            worker.recover()
            done = worker.drain()
            console.print(f"transcribed {done} recording{'s' if done != 1 else ''}")
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        console.print(f"voice worker {worker.owner}: {chosen.name}, {worker.parallelism} at once")
        worker.run(stop)
