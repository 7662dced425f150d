"""Spoken interview answers: saved first, transcribed by the queue, then submitted.

A spoken answer (issue 13, item 3) is a recording answering one question of an
interview session. It is stored as soon as it arrives (``pending``: the answer is saved
before transcription), the transcription worker takes it (``processing``) and leaves it
``transcribed`` or, when the transcript is too poor to score, ``flagged``; the
candidate reads the transcript, may correct it, and submits it (``submitted``), which
is when it is scored like a typed answer. A recording the transcriber cannot read is
``failed``. The statuses and their moves are data (:data:`SPOKEN_TRANSITIONS`), with
one guard (:func:`check_spoken_transition`). Pure: no I/O.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from rehearse.errors import SpokenAnswerRefusedError


class SpokenAnswerStatus(StrEnum):
    """Where a spoken answer is between upload and scoring."""

    PENDING = "pending"
    PROCESSING = "processing"
    TRANSCRIBED = "transcribed"
    FLAGGED = "flagged"
    FAILED = "failed"
    SUBMITTED = "submitted"

    @property
    def awaits_candidate(self) -> bool:
        """True when the transcript is there and only the candidate's submit is missing."""
        return self in (SpokenAnswerStatus.TRANSCRIBED, SpokenAnswerStatus.FLAGGED)


_A = SpokenAnswerStatus

#: status -> statuses it may move to. ``processing -> pending`` is a retry after a
#: transient failure; ``flagged -> submitted`` needs a corrected transcript (the service
#: checks that); ``failed`` and ``submitted`` are final.
SPOKEN_TRANSITIONS: MappingProxyType[SpokenAnswerStatus, frozenset[SpokenAnswerStatus]] = (
    MappingProxyType(
        {
            _A.PENDING: frozenset({_A.PROCESSING, _A.FAILED}),
            _A.PROCESSING: frozenset({_A.TRANSCRIBED, _A.FLAGGED, _A.FAILED, _A.PENDING}),
            _A.TRANSCRIBED: frozenset({_A.SUBMITTED}),
            _A.FLAGGED: frozenset({_A.SUBMITTED}),
            _A.FAILED: frozenset(),
            _A.SUBMITTED: frozenset(),
        }
    )
)


def check_spoken_transition(
    session_id: str, sequence: int, current: SpokenAnswerStatus, target: SpokenAnswerStatus
) -> SpokenAnswerStatus:
    """Return ``target`` if :data:`SPOKEN_TRANSITIONS` allows ``current -> target``.

    Raises:
        SpokenAnswerRefusedError: the move is not allowed; names the recording, its
            status and the statuses it may move to.
    """
    allowed = SPOKEN_TRANSITIONS[current]
    if target not in allowed:
        moves = ", ".join(sorted(s.value for s in allowed)) or "nothing (it is final)"
        raise SpokenAnswerRefusedError(
            session_id,
            sequence,
            current.value,
            f"move to {target.value}",
            f"from {current.value} it may move to {moves}",
        )
    return target


def recording_name(sequence: int, extension: str) -> str:
    """The stored name of recording ``sequence``: ``001_audio.webm`` (seed 003 layout)."""
    return f"{sequence:03d}_audio.{extension}"


def transcript_file(sequence: int) -> str:
    """The transcript file of recording ``sequence``: ``001_audio.txt``."""
    return f"{sequence:03d}_audio.txt"
