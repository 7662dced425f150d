"""The processing step of a voice session: speech metrics per recording and overall.

What ``process/output/speech_metrics.json`` holds (written by
:meth:`VoiceSessionManager.advance`): each done entry's transcript, quality flag and
:class:`~rehearse.scoring.speech.SpeechMetrics`, and totals over the session. A flagged
transcript (too uncertain or too short) is listed but left out of the totals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rehearse.domain.voice import TranscriptionStatus, VoiceSession

if TYPE_CHECKING:
    from rehearse.service.voice import VoiceSessionManager


def speech_report(manager: VoiceSessionManager, session: VoiceSession) -> dict[str, Any]:
    """The report of ``session``: ``{"session_id", "entries": [...], "totals": {...}}``.

    Totals: ``word_count``, ``speaking_seconds``, ``words_per_minute`` (over the
    summed speaking time), ``filler_count``, ``fillers_per_minute``, ``filler_share``
    (0-1), ``long_pause_count``; 0 when nothing was scored.
    """
    entries: list[dict[str, Any]] = []
    words = fillers = pauses = 0
    filler_words = 0.0
    speaking = 0.0
    for entry in session.audio_entries:
        item: dict[str, Any] = {
            "sequence": entry.sequence,
            "stored_filename": entry.stored_filename,
            "transcription_status": entry.transcription_status.value,
            "error": entry.error,
        }
        if entry.transcription_status is TranscriptionStatus.DONE and entry.transcript_filename:
            details = manager.folders.read_transcript_details(session.id, entry.transcript_filename)
            metrics = details.get("metrics") or {}
            item |= {
                "transcript": details.get("text", ""),
                "quality_flag": details.get("quality_flag"),
                "metrics": metrics,
            }
            if metrics and not details.get("quality_flag"):
                words += int(metrics["word_count"])
                speaking += float(metrics["speaking_seconds"])
                fillers += int(metrics["filler_count"])
                filler_words += float(metrics["filler_share"]) * int(metrics["word_count"])
                pauses += int(metrics["long_pause_count"])
        entries.append(item)
    minutes = speaking / 60
    return {
        "session_id": session.id,
        "entries": entries,
        "totals": {
            "word_count": words,
            "speaking_seconds": round(speaking, 3),
            "words_per_minute": round(words / minutes, 1) if minutes else 0.0,
            "filler_count": fillers,
            "fillers_per_minute": round(fillers / minutes, 2) if minutes else 0.0,
            "filler_share": round(filler_words / words, 4) if words else 0.0,
            "long_pause_count": pauses,
        },
    }
