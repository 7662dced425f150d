"""The seed-003 pipeline table, walked whole, and the rules on ids and names."""

from __future__ import annotations

import itertools

import hypothesis.strategies as st
import pytest
from hypothesis import given

from rehearse.domain.voice import (
    VOICE_TRANSITIONS,
    VoiceSessionState,
    check_accepts_audio,
    check_session_id,
    check_transition,
    clean_original_filename,
    stored_audio_name,
    transcript_name,
)
from rehearse.errors import ConfigurationError, InvalidStateError, SessionImmutableError

S = VoiceSessionState
# the seed's "State Transition Validation" table, written out again independently
SEED_TABLE = {
    S.COLLECTING: {S.TRANSCRIBING, S.ERROR},
    S.TRANSCRIBING: {S.TRANSCRIBED, S.ERROR},
    S.TRANSCRIBED: {S.PROCESSING, S.ERROR},
    S.PROCESSING: {S.PROCESSED, S.ERROR},
    S.PROCESSED: set(),
    S.ERROR: set(),
}


def test_table_is_the_seeds() -> None:
    assert {k: set(v) for k, v in VOICE_TRANSITIONS.items()} == SEED_TABLE


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair(current: VoiceSessionState, target: VoiceSessionState) -> None:
    if target in SEED_TABLE[current]:
        assert check_transition("s1", current, target) is target
        return
    error_type = SessionImmutableError if current in (S.PROCESSED, S.ERROR) else InvalidStateError
    with pytest.raises(error_type) as raised:
        check_transition("s1", current, target)
    message = str(raised.value)
    assert "s1" in message and current.value in message and target.value in message
    if error_type is InvalidStateError:
        assert raised.value.allowed == tuple(
            f"move to {s.value}" for s in S if s in SEED_TABLE[current]
        )


@given(st.lists(st.sampled_from(list(S)), max_size=12))
def test_random_walks_never_leave_a_final_state(path: list[VoiceSessionState]) -> None:
    state = S.COLLECTING
    for target in path:
        try:
            state = check_transition("s", state, target)
        except InvalidStateError:
            assert target not in SEED_TABLE[state]
        else:
            assert state is target
    assert state.is_final == (not SEED_TABLE[state])


def test_only_a_collecting_session_accepts_audio() -> None:
    check_accepts_audio("s", S.COLLECTING)
    for state in (S.TRANSCRIBING, S.TRANSCRIBED, S.PROCESSING):
        with pytest.raises(InvalidStateError) as raised:
            check_accepts_audio("s", state)
        assert not isinstance(raised.value, SessionImmutableError)
    for state in (S.PROCESSED, S.ERROR):
        with pytest.raises(SessionImmutableError):
            check_accepts_audio("s", state)


@pytest.mark.parametrize(
    "bad",
    ["", "..", "../x", "a/b", "a\\b", ".hidden", "x\x00y", "a" * 65, "/etc", "ü", " a"],
)
def test_session_ids_that_could_escape_are_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        check_session_id(bad)
    assert raised.value.errors[0]["field"] == "session_id"


@given(st.text(max_size=80))
def test_an_accepted_id_is_one_plain_path_part(candidate: str) -> None:
    try:
        check_session_id(candidate)
    except ConfigurationError:
        return
    assert "/" not in candidate and "\\" not in candidate and ".." not in candidate
    assert not candidate.startswith(".") and candidate.isascii()


def test_names_follow_the_seed_layout() -> None:
    assert stored_audio_name(1, "ogg") == "001_audio.ogg"
    assert stored_audio_name(1000, "wav") == "1000_audio.wav"
    assert transcript_name(12) == "012_audio.txt"
    assert clean_original_filename("../../etc/passwd") == "passwd"
    assert clean_original_filename("C:\\Users\\me\\note.ogg") == "note.ogg"
    assert clean_original_filename("") is None
