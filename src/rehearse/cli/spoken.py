"""Spoken answers from the command line.

``rehearse sessions add-audio`` saves a recording as a pending answer (``--wait``
transcribes it here and shows the transcript and metrics; ``--submit`` also scores it
as heard); ``rehearse sessions submit-transcript`` scores a transcript, corrected or
not; ``/audio FILE`` in ``rehearse interview`` does all three, asking first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rehearse.cli.context import manager as session_manager
from rehearse.cli.render import console, emit_json
from rehearse.errors import ConfigurationError, RehearseError

if TYPE_CHECKING:  # decoding (PyAV, numpy) loads only when a recording is read
    from rehearse.service.sessions import SessionManager
    from rehearse.service.spoken_answers import SpokenAnswer


def _read(file: Path, limit: int) -> bytes:
    from rehearse.voice.audio import read_limited

    try:
        return read_limited(file, limit)
    except OSError as exc:
        raise ConfigurationError(f"file={str(file)!r}: cannot read it: {exc.strerror}") from None


def add_audio(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="An active interview session."),
    file: Path = typer.Argument(..., help="The spoken answer: ogg, webm, wav, mp3 or m4a."),
    question: str | None = typer.Option(
        None, "--question", help="The question answered (default: the current one)."
    ),
    wait: bool = typer.Option(
        False, "--wait", help="Transcribe it now and print the transcript and speech metrics."
    ),
    submit: bool = typer.Option(
        False, "--submit", help="With --wait: score the transcript as heard (unless flagged)."
    ),
    transcriber: str | None = typer.Option(
        None, "--transcriber", help="provider:model (default REHEARSE_VOICE_TRANSCRIBER)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Answer by voice: save the recording as a pending answer (the worker transcribes it)."""
    from rehearse.service.spoken_answers import SpokenAnswers
    from rehearse.settings import get_settings
    from rehearse.voice.transcribers import transcriber_for

    if submit and not wait:
        raise ConfigurationError(
            "--submit needs --wait: a transcript is submitted once it is there",
            [{"field": "--submit", "value": True, "message": "add --wait"}],
        )
    settings = get_settings()
    chosen = None
    if wait:
        chosen = transcriber_for(
            transcriber or settings.voice_transcriber,
            openai_base_url=settings.voice_openai_base_url,
        )
    spoken = SpokenAnswers(session_manager(ctx), chosen, settings)
    data = _read(file, settings.max_audio_bytes)
    result = spoken.receive(session_id, data, question_id=question, filename=file.name)
    if wait:
        result = spoken.transcribe_now(session_id, result.record.sequence)
        if submit and result.record.status.value == "transcribed":
            result = spoken.submit(session_id, result.record.sequence)
    _print(result, as_json, wait)


def submit_transcript(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="The interview session."),
    sequence: int = typer.Argument(..., min=1, help="The recording's number (from add-audio)."),
    text: str | None = typer.Option(
        None, "--text", help="The corrected transcript (default: as heard)."
    ),
    text_file: Path | None = typer.Option(
        None, "--text-file", help="Read the corrected transcript from this file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Score a spoken answer's transcript, as heard or corrected, like a typed answer."""
    from rehearse.service.spoken_answers import SpokenAnswers

    if text is not None and text_file is not None:
        raise ConfigurationError(
            "give --text or --text-file, not both",
            [{"field": "--text-file", "value": str(text_file), "message": "one of the two"}],
        )
    if text_file is not None:
        try:
            text = text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"--text-file={str(text_file)!r}: {exc}") from None
    manager = session_manager(ctx)
    result = SpokenAnswers(manager).submit(session_id, sequence, text)
    _print(result, as_json, True)


def _print(result: SpokenAnswer, as_json: bool, wait: bool) -> None:
    record = result.record
    data: dict[str, Any] = result.to_json()
    if result.outcome is not None:
        mode = result.outcome.session.config.mode.value
        if mode != "practice":  # mock and assessment: the score waits for the report
            data["score"] = None
    if as_json:
        emit_json(data)
        return
    console.print(
        f"{record.session_id}: spoken answer {record.sequence} to {record.question_id} "
        f"saved as audio/{record.stored_filename} ({record.duration_seconds:.1f} s), "
        f"{record.status.value}"
    )
    if record.status.value == "pending":
        console.print("the transcription worker (rehearse serve / rehearse voice work) takes it")
    if record.error:
        console.print(f"transcription failed: {record.error}; type or re-record the answer")
    if wait and record.transcript is not None:
        console.print(f"transcript: {record.transcript}")
        metrics = result.metrics or {}
        console.print(
            f"{metrics.get('words_per_minute', 0):.0f} words per minute, "
            f"{metrics.get('filler_count', 0)} fillers "
            f"({metrics.get('fillers_per_minute', 0):.1f} a minute), "
            f"{metrics.get('long_pause_count', 0)} long pauses"
        )
    if record.quality_flag:
        console.print(
            f"not scored: {record.quality_flag}; correct it (submit-transcript --text) or re-record"
        )
    elif record.status.value == "transcribed":
        console.print(
            f"submit it: rehearse sessions submit-transcript {record.session_id} "
            f"{record.sequence} [--text 'corrected']"
        )
    if data.get("score") is not None and result.outcome and result.outcome.evaluation:
        console.print(f"score: {result.outcome.evaluation.score}/100")
    elif record.status.value == "submitted":
        console.print("answer submitted")


def terminal_answer(manager: SessionManager, session_id: str, item_id: str, path: str) -> None:
    """``/audio FILE`` in ``rehearse interview``: answer the question shown by voice.

    The recording is saved, transcribed here, and its transcript shown; Enter submits
    it, a typed line replaces it (a correction), ``/cancel`` keeps it unsent. Problems
    (no such file, audio refused, a failed transcriber) print one line and the question
    stays open, so the candidate can type or try another file.
    """
    from rehearse.service.spoken_answers import SpokenAnswers

    if not path:
        console.print("Usage: /audio FILE (an ogg, webm, wav, mp3 or m4a recording)")
        return
    file = Path(path).expanduser()
    try:
        spoken = SpokenAnswers(manager)
        data = _read(file, spoken.settings.max_audio_bytes)
        received = spoken.receive(session_id, data, question_id=item_id, filename=file.name)
        result = spoken.transcribe_now(session_id, received.record.sequence)
    except ConfigurationError as exc:
        console.print(f"[red]{exc}[/]")
        return
    except RehearseError as exc:
        console.print(f"[red]{exc}[/]")
        return
    record = result.record
    if record.error:
        console.print(f"[red]Transcription failed: {record.error}. Type or re-record.[/]")
        return
    metrics = result.metrics or {}
    console.print(f"Transcript: {record.transcript}")
    console.print(
        f"{metrics.get('words_per_minute', 0):.0f} words per minute, "
        f"{metrics.get('filler_count', 0)} fillers, {metrics.get('long_pause_count', 0)} "
        "long pauses"
    )
    if record.quality_flag:
        console.print(
            f"[yellow]Too poor to score: {record.quality_flag}. "
            "Type a corrected transcript, or /cancel and re-record.[/]"
        )
    else:
        console.print("Enter submits it; type a line to correct it; /cancel keeps it unsent.")
    correction = input("transcript> ").strip()
    if correction.lower() == "/cancel" or (record.quality_flag and not correction):
        console.print("Not submitted; the question is still open.")
        return
    try:
        submitted = spoken.submit(session_id, record.sequence, correction or None)
    except RehearseError as exc:
        console.print(f"[red]{exc}[/]")
        return
    outcome = submitted.outcome
    if outcome is not None and outcome.evaluation is not None:
        if outcome.session.config.mode.value == "practice":
            console.print(f"[bold]Score {outcome.evaluation.score}/100.[/]")
        else:
            console.print("Answer saved.")
