"""``rehearse sessions add-audio``: answer the current question of a session by voice."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rehearse.cli.context import manager as session_manager
from rehearse.cli.render import console, emit_json
from rehearse.errors import ConfigurationError, RehearseError

if TYPE_CHECKING:  # decoding (PyAV, numpy) loads only when a recording is read
    from rehearse.service.sessions import SessionManager


def add_audio(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="An active interview session."),
    file: Path = typer.Argument(..., help="The spoken answer: ogg, webm, wav, mp3 or m4a."),
    question: str | None = typer.Option(
        None, "--question", help="The question answered (default: the current one)."
    ),
    wait: bool = typer.Option(
        False, "--wait", help="Also print the transcript and the speech metrics."
    ),
    transcriber: str | None = typer.Option(
        None, "--transcriber", help="provider:model (default REHEARSE_VOICE_TRANSCRIBER)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Answer by voice: store the recording, transcribe it, score the transcript."""
    from rehearse.service.spoken_answers import SpokenAnswers
    from rehearse.settings import get_settings
    from rehearse.voice.transcribers import transcriber_for

    settings = get_settings()
    chosen = transcriber_for(
        transcriber or settings.voice_transcriber, openai_base_url=settings.voice_openai_base_url
    )
    spoken = SpokenAnswers(session_manager(ctx), chosen, settings)
    try:
        from rehearse.voice.audio import read_limited

        data = read_limited(file, settings.max_audio_bytes)
    except OSError as exc:
        raise ConfigurationError(f"file={str(file)!r}: cannot read it: {exc.strerror}") from None
    result = spoken.answer(session_id, data, question_id=question, filename=file.name)
    data_out = result.to_json()
    if not wait:
        data_out = {k: v for k, v in data_out.items() if k not in ("transcript", "metrics")}
    if as_json:
        emit_json(data_out)
        return
    console.print(
        f"{session_id}: answer to {result.question_id} stored as audio/{result.stored_filename} "
        f"({result.duration_seconds:.1f} s)"
    )
    if result.analysis.quality_flag:
        console.print(f"not scored: {result.analysis.quality_flag}; type or re-record the answer")
    if wait:
        metrics = result.analysis.metrics
        console.print(f"transcript: {result.analysis.transcript.text}")
        console.print(
            f"{metrics.words_per_minute:.0f} words per minute, {metrics.filler_count} fillers "
            f"({metrics.fillers_per_minute:.1f} a minute), {metrics.long_pause_count} long pauses"
        )
    if result.outcome is not None and result.outcome.evaluation is not None:
        console.print(f"score: {result.outcome.evaluation.score}/100")


def terminal_answer(manager: SessionManager, session_id: str, item_id: str, path: str) -> None:
    """``/audio FILE`` in ``rehearse interview``: answer the question shown by voice.

    Problems (no such file, audio refused, a failed transcriber) print one line and the
    question stays open, so the candidate can type or try another file.
    """
    from rehearse.service.spoken_answers import SpokenAnswers

    if not path:
        console.print("Usage: /audio FILE (an ogg, webm, wav, mp3 or m4a recording)")
        return
    file = Path(path).expanduser()
    try:
        spoken = SpokenAnswers(manager)
        from rehearse.voice.audio import read_limited

        data = read_limited(file, spoken.settings.max_audio_bytes)
        result = spoken.answer(session_id, data, question_id=item_id, filename=file.name)
    except OSError as exc:
        console.print(f"[red]cannot read {file}: {exc.strerror}[/]")
        return
    except RehearseError as exc:
        console.print(f"[red]{exc}[/]")
        return
    metrics = result.analysis.metrics
    console.print(f"Transcript: {result.analysis.transcript.text}")
    console.print(
        f"{metrics.words_per_minute:.0f} words per minute, {metrics.filler_count} fillers, "
        f"{metrics.long_pause_count} long pauses"
    )
    if result.analysis.quality_flag:
        console.print(f"[yellow]Not scored: {result.analysis.quality_flag}. Type or re-record.[/]")
    elif result.outcome is not None and result.outcome.evaluation is not None:
        mode = result.outcome.session.config.mode.value
        if mode == "practice":
            console.print(f"[bold]Score {result.outcome.evaluation.score}/100.[/]")
        else:
            console.print("Answer saved.")
