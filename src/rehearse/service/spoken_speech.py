"""The speech metrics of a session's submitted spoken answers, as the report takes them.

Reads ``spoken_answers`` (:class:`~rehearse.storage.spoken.SpokenStore`) on the session
store's engine and turns each submitted answer's analysis into a
:class:`~rehearse.domain.reports.SpeechReport` with its delivery score
(:func:`~rehearse.scoring.speech.delivery_score`). A store without a SQL engine has no
spoken answers.
"""

from __future__ import annotations

from typing import Any

from rehearse.domain.reports import SpeechReport, TimelineEntry
from rehearse.domain.spoken import SpokenAnswerStatus
from rehearse.scoring.speech import SpeechMetrics, delivery_score
from rehearse.storage.spoken import SpokenRecord, SpokenStore


def spoken_speech(store: Any, session_id: str) -> list[tuple[str, SpeechReport]]:
    """``(text scored, speech)`` of each submitted spoken answer of the session, in order."""
    engine = getattr(store, "engine", None)
    if engine is None:
        return []
    return [
        (r.submitted_text, speech_report(r))
        for r in SpokenStore(engine).list(session_id)
        if r.status is SpokenAnswerStatus.SUBMITTED and r.submitted_text and r.analysis
    ]


def speech_report(record: SpokenRecord) -> SpeechReport:
    """The report's view of one transcribed recording.

    Raises:
        ValueError: the record has no analysis (not transcribed).
    """
    if not record.analysis or "metrics" not in record.analysis:
        raise ValueError(f"spoken answer {record.sequence} of {record.session_id} has no metrics")
    metrics = SpeechMetrics.model_validate(record.analysis["metrics"])
    return SpeechReport(
        item_id=record.question_id,
        words_per_minute=metrics.words_per_minute,
        in_target_band=metrics.in_target_band,
        word_count=metrics.word_count,
        duration_seconds=metrics.duration_seconds,
        speaking_seconds=metrics.speaking_seconds,
        filler_count=metrics.filler_count,
        fillers_per_minute=metrics.fillers_per_minute,
        filler_share=metrics.filler_share,
        fillers=dict(metrics.fillers),
        long_pause_count=metrics.long_pause_count,
        long_pause_seconds=metrics.long_pause_seconds,
        longest_pause_seconds=metrics.longest_pause_seconds,
        delivery_score=delivery_score(metrics),
        transcript_corrected=(record.submitted_text or "").strip()
        != (record.transcript or "").strip(),
        timeline=[TimelineEntry.model_validate(t.model_dump()) for t in metrics.timeline],
    )
