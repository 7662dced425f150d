"""Speech metrics: pace over speaking time, whole-phrase fillers, "like", long pauses."""

from __future__ import annotations

import itertools

import hypothesis.strategies as st
import pytest
from hypothesis import given

from rehearse.domain.voice import Pause, Word
from rehearse.scoring.speech import find_fillers, speech_metrics


def timed(
    text: str, *, seconds_per_word: float = 0.4, gaps: dict[int, float] | None = None
) -> list[Word]:
    """Words of ``text`` one after another; ``gaps`` adds silence before word index i."""
    words, at = [], 0.0
    for i, token in enumerate(text.split()):
        at += (gaps or {}).get(i, 0.0)
        words.append(Word(text=token, start=at, end=at + seconds_per_word * 0.9))
        at += seconds_per_word
    return words


def fillers(text: str) -> list[str]:
    return [phrase for _, _, phrase in find_fillers(timed(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So, um, I would use a cache.", ["um"]),
        ("Uh, well, umm, it depends.", ["uh", "umm"]),
        ("It is, you know, a trade-off.", ["you know"]),
        ("You know the answer already.", []),
        ("It is sort of a queue.", ["sort of"]),
        ("What sort of queue is it?", []),
        ("A kind of index.", []),
        ("It's kind of slow.", ["kind of"]),
        ("I mean, it works.", ["i mean"]),
        ("I like Python.", []),
        ("It looks like a cache.", []),
        ("So, like, we shard it.", ["like"]),
        ("It was like, huge.", ["like"]),
        ("Um like we retry.", ["um", "like"]),
        ("The umbrella and the uhlan.", []),  # whole words only
        ("Hmm. Er, erm, yes.", ["hmm", "er", "erm"]),
    ],
)
def test_filler_rules(text: str, expected: list[str]) -> None:
    assert fillers(text) == expected


def test_pace_is_over_speaking_time_not_over_pauses() -> None:
    # 20 words at 0.4 s each = 8 s of speech = 150 words per minute, with a 3 s think
    words = timed(" ".join(["word"] * 20), gaps={10: 3.0})
    pause = Pause(start=words[9].end, end=words[10].start)
    metrics = speech_metrics(words, [pause], 12.0, long_pause_seconds=1.2)
    assert metrics.long_pause_count == 1
    assert metrics.longest_pause_seconds == pytest.approx(pause.seconds, abs=1e-3)
    assert metrics.words_per_minute == pytest.approx(
        20 / ((words[-1].end - pause.seconds) / 60), rel=0.01
    )
    assert 145 <= metrics.words_per_minute <= 160 and metrics.in_target_band


def test_short_pauses_and_pauses_outside_the_answer_do_not_count() -> None:
    words = timed("one two three four", gaps={2: 0.8})
    pauses = [Pause(start=words[1].end, end=words[2].start), Pause(start=10.0, end=14.0)]
    metrics = speech_metrics(words, pauses, 15.0, long_pause_seconds=1.2)
    assert metrics.long_pause_count == 0 and metrics.longest_pause_seconds == 0


def test_fillers_per_minute_and_share() -> None:
    words = timed("so um I think uh we, you know, cache it")  # 10 words, 4 filler words
    metrics = speech_metrics(words, [], 5.0)
    assert metrics.filler_count == 3 and metrics.fillers == {"um": 1, "uh": 1, "you know": 1}
    assert metrics.filler_share == pytest.approx(0.4)
    assert metrics.fillers_per_minute == pytest.approx(
        3 / (metrics.speaking_seconds / 60), rel=0.01
    )


def test_no_words_gives_zeros() -> None:
    metrics = speech_metrics([], [Pause(start=1, end=5)], 6.0)
    assert (metrics.word_count, metrics.words_per_minute, metrics.filler_count) == (0, 0.0, 0)
    assert metrics.timeline == () or all(item.kind == "pause" for item in metrics.timeline)


def test_timeline_orders_speech_pauses_and_fillers() -> None:
    words = timed("um first part then second part", gaps={3: 2.0})
    pause = Pause(start=words[2].end, end=words[3].start)
    metrics = speech_metrics(words, [pause], 10.0)
    kinds = [item.kind for item in metrics.timeline]
    assert kinds == ["speech", "filler", "pause", "speech"]
    assert metrics.timeline[0].text == "um first part"
    assert metrics.timeline[3].text == "then second part"
    starts = [item.start for item in metrics.timeline]
    assert starts == sorted(starts)


VOCAB = ["um", "uh", "like", "you", "know", "sort", "of", "I", "cache", "queue", "so,", "like,"]


@given(
    st.lists(st.sampled_from(VOCAB), max_size=60),
    st.floats(min_value=0.15, max_value=1.0),
    st.lists(st.floats(min_value=0.0, max_value=4.0), max_size=60),
)
def test_metric_invariants(tokens: list[str], step: float, gap_list: list[float]) -> None:
    gaps = dict(enumerate(gap_list))
    words = timed(" ".join(tokens), seconds_per_word=step, gaps=gaps) if tokens else []
    pauses = [
        Pause(start=a.end, end=b.start)
        for a, b in itertools.pairwise(words)
        if b.start - a.end > 0.3
    ]
    duration = (words[-1].end if words else 0.0) + 1
    metrics = speech_metrics(words, pauses, duration, long_pause_seconds=1.2)
    assert metrics.word_count == len(words)
    assert 0 <= metrics.filler_share <= 1
    assert metrics.filler_count <= len(words)
    assert sum(metrics.fillers.values()) == metrics.filler_count
    assert metrics.speaking_seconds <= duration
    assert metrics.long_pause_count == sum(1 for p in pauses if p.seconds >= 1.2)
    found = find_fillers(words)
    for (_, end_a, _), (start_b, _, _) in itertools.pairwise(found):
        assert end_a <= start_b  # phrases never overlap
