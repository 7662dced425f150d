"""Speech metrics of one spoken answer: pace, fillers, long pauses, length, a timeline.

Pure: computed from the transcript's timed words and the pauses the voice-activity
model found. Typed answers get none of this (typing speed is not speaking pace).

* **Words per minute over speaking time**: words / (last word end - first word start -
  long pauses inside that span), so a long think does not read as slow speech. The
  target band 130-160 words per minute is the one interview coaches use (issue 13).
* **Fillers**: whole-phrase matches of :data:`FILLER_PHRASES` ("um", "uh", "you know",
  "sort of" ...). "like" counts only where it is a filler: set off by a comma, or after
  another filler ("um like"), never in "I like it" or "looks like a cache".
* **Long pauses**: silences of at least ``long_pause_seconds`` (default 1.2 s).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from rehearse.domain.voice import TARGET_WPM, Pause, Word

__all__ = [
    "DELIVERY_WEIGHTS",
    "FILLERS_PER_MINUTE_FREE",
    "FILLER_PHRASES",
    "TARGET_WPM",
    "SpeechMetrics",
    "TimelineItem",
    "delivery_score",
    "find_fillers",
    "normalise",
    "speech_metrics",
]

#: Filler phrases matched as whole phrases (lower case, no punctuation). "like" is
#: handled apart (see the module docstring).
FILLER_PHRASES: tuple[str, ...] = (
    "um",
    "umm",
    "uh",
    "uhh",
    "uhm",
    "er",
    "erm",
    "hmm",
    "mm",
    "you know",
    "sort of",
    "kind of",
    "i mean",
)
_SINGLE = frozenset(p for p in FILLER_PHRASES if " " not in p)
_MULTI = tuple(tuple(p.split()) for p in FILLER_PHRASES if " " in p)
_TOKEN = re.compile(r"[a-z']+")


class TimelineItem(BaseModel):
    """One stretch of the answer: speech (with its pace), a long pause, or a filler.

    Attributes:
        kind: ``speech``, ``pause`` or ``filler``.
        start / end: seconds from the start of the recording.
        text: the words spoken (speech, filler); empty for a pause.
        words_per_minute: pace of this stretch of speech, else ``None``.
    """

    model_config = ConfigDict(frozen=True)

    kind: str
    start: float
    end: float
    text: str = ""
    words_per_minute: float | None = None


class SpeechMetrics(BaseModel):
    """Pace, fillers and pauses of one spoken answer.

    Attributes:
        word_count: words spoken, fillers included.
        duration_seconds: length of the recording, seconds.
        speaking_seconds: first word to last word, minus long pauses, seconds.
        words_per_minute: word_count per minute of speaking time (0 with no words).
        in_target_band: pace within :data:`TARGET_WPM`.
        filler_count: filler phrases found.
        fillers_per_minute: per minute of speaking time.
        filler_share: filler words / all words, 0-1.
        fillers: each filler phrase and how often it occurred.
        long_pause_count: pauses of at least ``long_pause_seconds``.
        long_pause_seconds: the threshold used, seconds.
        longest_pause_seconds: the longest pause, seconds (0 with none).
        timeline: speech stretches, pauses and fillers in time order.
    """

    model_config = ConfigDict(frozen=True)

    word_count: int = Field(ge=0)
    duration_seconds: float = Field(ge=0)
    speaking_seconds: float = Field(ge=0)
    words_per_minute: float = Field(ge=0)
    in_target_band: bool
    filler_count: int = Field(ge=0)
    fillers_per_minute: float = Field(ge=0)
    filler_share: float = Field(ge=0, le=1)
    fillers: dict[str, int]
    long_pause_count: int = Field(ge=0)
    long_pause_seconds: float
    longest_pause_seconds: float = Field(ge=0)
    timeline: tuple[TimelineItem, ...]


def normalise(word: str) -> str:
    """Lower case, letters and apostrophes only: ``"Um,"`` -> ``"um"``."""
    return "".join(_TOKEN.findall(word.lower()))


def find_fillers(words: Sequence[Word]) -> list[tuple[int, int, str]]:
    """Filler phrases in ``words``: ``(first index, last index + 1, phrase)``, in order.

    Phrases never overlap; a longer phrase wins over a single word.
    """
    tokens = [normalise(w.text) for w in words]
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        phrase = next(
            (m for m in _MULTI if tuple(tokens[i : i + len(m)]) == m and _phrase_ok(words, i, m)),
            None,
        )
        if phrase is not None:
            found.append((i, i + len(phrase), " ".join(phrase)))
            i += len(phrase)
            continue
        spoken = tokens[i]
        if spoken in _SINGLE or (spoken == "like" and _like_is_filler(words, tokens, i, found)):
            found.append((i, i + 1, spoken))
        i += 1
    return found


def _phrase_ok(words: Sequence[Word], i: int, phrase: tuple[str, ...]) -> bool:
    # "kind of"/"sort of" are fillers unless they name a kind ("a kind of cache",
    # "what sort of queue"); "you know" unless it has an object ("you know the answer")
    before = normalise(words[i - 1].text) if i > 0 else ""
    if phrase[0] in ("kind", "sort") and before in ("a", "the", "what", "which", "this", "that"):
        return False
    if phrase == ("you", "know"):
        last = words[i + 1].text
        after_end = i + 2 >= len(words)
        return after_end or last.endswith((",", ".", "?", "!")) or words[i].text.endswith(",")
    return True


def _like_is_filler(
    words: Sequence[Word], tokens: Sequence[str], i: int, found: Sequence[tuple[int, int, str]]
) -> bool:
    if words[i].text.endswith(","):
        return True  # "so, like, we ..." / "it's like, huge"
    if i > 0 and words[i - 1].text.endswith(","):
        return tokens[i - 1] not in ("things", "languages", "tools")  # lists: "tools, like X"
    return bool(found) and found[-1][1] == i  # right after another filler: "um like"


def speech_metrics(
    words: Sequence[Word],
    pauses: Sequence[Pause],
    duration_seconds: float,
    *,
    long_pause_seconds: float = 1.2,
) -> SpeechMetrics:
    """The metrics of one spoken answer.

    Args:
        words: timed words in order (seconds).
        pauses: silences found by the voice-activity model (seconds); only those of at
            least ``long_pause_seconds`` that fall between the first and last word count.
        duration_seconds: length of the recording, seconds.
        long_pause_seconds: the long-pause threshold, seconds (setting, default 1.2).

    Returns:
        Zero pace and no fillers when there are no words.
    """
    ordered = sorted(words, key=lambda w: w.start)
    first = ordered[0].start if ordered else 0.0
    last = max((w.end for w in ordered), default=0.0)
    long_pauses = sorted(
        (
            p
            for p in pauses
            if p.seconds >= long_pause_seconds and p.start >= first - 0.05 and p.end <= last + 0.05
        ),
        key=lambda p: p.start,
    )
    paused = sum(p.seconds for p in long_pauses)
    speaking = max(last - first - paused, 0.0)
    minutes = speaking / 60
    wpm = len(ordered) / minutes if minutes > 0 else 0.0
    fillers = find_fillers(ordered)
    filler_words = sum(end - start for start, end, _ in fillers)
    counts: dict[str, int] = {}
    for _, _, phrase in fillers:
        counts[phrase] = counts.get(phrase, 0) + 1
    return SpeechMetrics(
        word_count=len(ordered),
        duration_seconds=round(duration_seconds, 3),
        speaking_seconds=round(speaking, 3),
        words_per_minute=round(wpm, 1),
        in_target_band=TARGET_WPM[0] <= wpm <= TARGET_WPM[1],
        filler_count=len(fillers),
        fillers_per_minute=round(len(fillers) / minutes, 2) if minutes > 0 else 0.0,
        filler_share=round(filler_words / len(ordered), 4) if ordered else 0.0,
        fillers=counts,
        long_pause_count=len(long_pauses),
        long_pause_seconds=long_pause_seconds,
        longest_pause_seconds=round(max((p.seconds for p in long_pauses), default=0.0), 3),
        timeline=_timeline(ordered, long_pauses, fillers),
    )


def _timeline(
    words: Sequence[Word], pauses: Sequence[Pause], fillers: Sequence[tuple[int, int, str]]
) -> tuple[TimelineItem, ...]:
    items: list[TimelineItem] = []
    stretch: list[Word] = []
    remaining = list(pauses)

    def close() -> None:
        if stretch:
            seconds = stretch[-1].end - stretch[0].start
            items.append(
                TimelineItem(
                    kind="speech",
                    start=stretch[0].start,
                    end=stretch[-1].end,
                    text=" ".join(w.text for w in stretch),
                    words_per_minute=round(len(stretch) / (seconds / 60), 1) if seconds else None,
                )
            )
            stretch.clear()

    for word in words:
        while remaining and remaining[0].end <= word.start + 0.05:
            close()
            pause = remaining.pop(0)
            items.append(TimelineItem(kind="pause", start=pause.start, end=pause.end))
        stretch.append(word)
    close()
    items.extend(TimelineItem(kind="pause", start=p.start, end=p.end) for p in remaining)
    items.extend(
        TimelineItem(
            kind="filler",
            start=words[start].start,
            end=words[end - 1].end,
            text=" ".join(w.text for w in words[start:end]),
        )
        for start, end, _ in fillers
    )
    return tuple(sorted(items, key=lambda item: (item.start, item.kind != "speech")))


# -- delivery: how a spoken answer sounds, into the communication dimension --------------

#: Fillers a minute that cost nothing; beyond, each costs :data:`_FILLER_COST` points.
FILLERS_PER_MINUTE_FREE = 2.0
_FILLER_COST = 8.0
#: Words a minute outside :data:`TARGET_WPM` at which the pace part reaches 0.
_PACE_SPAN = 60.0
#: Points each long pause a minute costs.
_PAUSE_COST = 10.0
#: Weights of pace, fillers and long pauses in :func:`delivery_score`.
DELIVERY_WEIGHTS = (0.4, 0.4, 0.2)


def delivery_score(metrics: SpeechMetrics) -> int:
    """How a spoken answer is delivered, 0-100: pace, fillers and long pauses.

    * pace: 100 inside :data:`TARGET_WPM` (130-160), falling linearly to 0 at 60 words
      a minute outside it;
    * fillers: 100 up to 2 a minute, minus 8 points for each further one a minute;
    * long pauses: 100 minus 10 points for each long pause a minute of speaking.

    Weighted 0.4 / 0.4 / 0.2 (:data:`DELIVERY_WEIGHTS`). The band is the one interview
    coaches use (issue 13); the filler and pause costs are ours, chosen so that a
    fluent answer keeps 90+ and one with a filler every ten seconds falls under 60.
    Returns 0 for an answer with no words.
    """
    if not metrics.word_count or not metrics.speaking_seconds:
        return 0
    low, high = TARGET_WPM
    wpm = metrics.words_per_minute
    off = max(low - wpm, wpm - high, 0.0)
    pace = max(0.0, 100.0 * (1 - off / _PACE_SPAN))
    extra = max(0.0, metrics.fillers_per_minute - FILLERS_PER_MINUTE_FREE)
    fillers = max(0.0, 100.0 - _FILLER_COST * extra)
    minutes = metrics.speaking_seconds / 60
    pauses = max(0.0, 100.0 - _PAUSE_COST * metrics.long_pause_count / max(minutes, 1 / 6))
    a, b, c = DELIVERY_WEIGHTS
    return round(a * pace + b * fillers + c * pauses)
