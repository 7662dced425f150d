"""One recording in, what was said and how: transcript, pauses, quality flag, speech metrics.

Shared by the transcription worker (chat-bot voice sessions) and spoken interview
answers, so both measure speech the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tenacity

from rehearse.domain.voice import Pause
from rehearse.errors import TranscriptionError
from rehearse.scoring.speech import SpeechMetrics, speech_metrics
from rehearse.voice.audio import DecodedAudio
from rehearse.voice.transcribers import (
    Transcriber,
    Transcript,
    pauses_between,
    quality_flag,
    speech_segments,
)

#: Pauses shorter than this are not kept in a transcript's details, seconds.
RECORDED_PAUSE_SECONDS = 0.5


@dataclass(frozen=True)
class SpeechAnalysis:
    """A transcribed recording.

    Attributes:
        transcript: text and timed words.
        pauses: silences of at least :data:`RECORDED_PAUSE_SECONDS` (Silero VAD), seconds.
        speech_seconds: seconds of speech the VAD found.
        quality_flag: why the transcript is too poor to score, or ``None``.
        metrics: pace, fillers, long pauses and timeline.
    """

    transcript: Transcript
    pauses: tuple[Pause, ...]
    speech_seconds: float
    quality_flag: str | None
    metrics: SpeechMetrics

    def details(self) -> dict[str, Any]:
        """JSON-ready: what ``transcripts/NNN_audio.json`` holds."""
        return {
            "text": self.transcript.text,
            "transcriber": self.transcript.transcriber,
            "language": self.transcript.language,
            "confidence": round(self.transcript.confidence, 4),
            "speech_seconds": round(self.speech_seconds, 3),
            "quality_flag": self.quality_flag,
            "words": [w.model_dump() for w in self.transcript.words],
            "pauses": [p.model_dump() for p in self.pauses],
            "metrics": self.metrics.model_dump(mode="json"),
        }


def analyse(
    audio: DecodedAudio,
    transcriber: Transcriber,
    *,
    long_pause_seconds: float,
    retrying: tenacity.Retrying | None = None,
) -> SpeechAnalysis:
    """Transcribe ``audio`` (through ``retrying`` if given) and measure the speech.

    Raises:
        TranscriptionError: the transcriber failed (after the retries).
    """
    call = transcriber.transcribe if retrying is None else _wrapped(retrying, transcriber)
    segments = speech_segments(audio.samples)
    transcript = drop_words_in_silence(call(audio), segments)
    speech = sum(end - start for start, end in segments)
    pauses = pauses_between(segments, RECORDED_PAUSE_SECONDS)
    return SpeechAnalysis(
        transcript=transcript,
        pauses=tuple(pauses),
        speech_seconds=speech,
        quality_flag=quality_flag(transcript, speech),
        metrics=speech_metrics(
            transcript.words,
            pauses,
            audio.duration_seconds,
            long_pause_seconds=long_pause_seconds,
        ),
    )


def drop_words_in_silence(
    transcript: Transcript, segments: list[tuple[float, float]], pad_seconds: float = 0.3
) -> Transcript:
    """Remove words that lie wholly outside speech: Whisper invents some in silence.

    The classic one is "Thank you." at the end of a recording. A word is kept when it
    overlaps a VAD speech segment widened by ``pad_seconds``; with no segments at all
    (the VAD heard nothing) the transcript is returned unchanged.
    """
    if not segments or not transcript.words:
        return transcript
    kept = tuple(
        w
        for w in transcript.words
        if any(
            w.end >= start - pad_seconds and w.start <= end + pad_seconds for start, end in segments
        )
    )
    if len(kept) == len(transcript.words):
        return transcript
    text = " ".join(w.text for w in kept)
    return Transcript(text, kept, transcript.transcriber, transcript.language)


def _wrapped(retrying: tenacity.Retrying, transcriber: Transcriber) -> Any:
    def call(audio: DecodedAudio) -> Transcript:
        result: Transcript = retrying(transcriber.transcribe, audio)
        return result

    return call


__all__ = ["RECORDED_PAUSE_SECONDS", "SpeechAnalysis", "TranscriptionError", "analyse"]
