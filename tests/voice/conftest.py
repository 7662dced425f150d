"""Voice fixtures: real espeak-ng speech (made once per test run) and managers on each backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from rehearse.clock import FakeClock
from rehearse.service.voice import VoiceSessionManager
from rehearse.storage import SQLStore
from rehearse.storage.voice import VoiceStore
from rehearse.storage.voice_folders import VoiceFolders
from rehearse.voice.samples import encode, espeak_available, speak, to_samples

FORMATS = ("ogg", "webm", "wav", "mp3", "m4a")

#: What the spoken answer says (with a 2 s pause after "cache.").
ANSWER_TEXT = (
    "So, um, I would start with a cache in front of the database. "
    "Then, uh, I would add a queue for the slow writes."
)
ANSWER_SSML = (
    "<speak>So, um, I would start with a cache in front of the database. "
    '<break time="2s"/> Then, uh, I would add a queue for the slow writes.</speak>'
)


@pytest.fixture(scope="session")
def answer_samples() -> npt.NDArray[np.float32]:
    """The spoken answer as 16 kHz mono samples (about 10 s)."""
    if not espeak_available():
        pytest.fail("espeak-ng is not installed: apt-get install espeak-ng (.ci/run does)")
    return to_samples(speak(ANSWER_SSML, voice="en-us", words_per_minute=150))


@pytest.fixture(scope="session")
def clips(answer_samples: npt.NDArray[np.float32]) -> dict[str, bytes]:
    """The answer encoded in each accepted format with PyAV."""
    return {fmt: encode(answer_samples, fmt) for fmt in FORMATS}


@pytest.fixture(scope="session")
def short_clip() -> bytes:
    """A short spoken sentence as Ogg/Opus (about 2 s)."""
    if not espeak_available():
        pytest.fail("espeak-ng is not installed")
    return encode(to_samples(speak("Hello, this is my answer.")), "ogg")


@pytest.fixture
def voice(store: SQLStore, clock: FakeClock, tmp_path: Path) -> VoiceSessionManager:
    """A voice manager on each backend, with its own sessions folder."""
    return VoiceSessionManager(VoiceStore(store.engine), VoiceFolders(tmp_path / "sessions"), clock)
