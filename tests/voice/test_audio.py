"""Decoding with PyAV: every accepted format, and every kind of refusal."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from rehearse.errors import AudioRejectedError
from rehearse.voice.audio import SAMPLE_RATE, DecodedAudio, decode_audio
from rehearse.voice.samples import encode

from .conftest import FORMATS


def decode(data: bytes) -> DecodedAudio:
    return decode_audio(data, max_duration_seconds=1200, max_bytes=50_000_000)


MIME = {
    "ogg": "audio/ogg",
    "webm": "audio/webm",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_decodes_to_16k_mono(
    fmt: str, clips: dict[str, bytes], answer_samples: npt.NDArray[np.float32]
) -> None:
    decoded = decode(clips[fmt])
    assert decoded.format == fmt and decoded.extension == fmt and decoded.mime_type == MIME[fmt]
    assert decoded.samples.dtype == np.float32 and decoded.samples.ndim == 1
    expected = len(answer_samples) / SAMPLE_RATE
    assert abs(decoded.duration_seconds - expected) < 0.15  # codec padding only
    assert float(np.abs(decoded.samples).max()) > 0.05  # there is sound


@pytest.mark.parametrize("fmt", ["ogg", "webm", "wav", "mp3", "m4a"])
def test_a_truncated_file_is_refused(fmt: str, clips: dict[str, bytes]) -> None:
    with pytest.raises(AudioRejectedError) as raised:
        decode(clips[fmt][: len(clips[fmt]) // 2])
    # m4a keeps its index at the end: half a file cannot even be opened
    assert raised.value.reason in (("truncated",) if fmt != "m4a" else ("unknown_format",))
    assert str(raised.value).startswith("audio: ")


@pytest.mark.parametrize(
    "data",
    [b"just some text, not audio" * 40, b"\x89PNG\r\n\x1a\n" + bytes(500), bytes(4096)],
    ids=["text", "png", "zeros"],
)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(AudioRejectedError) as raised:
        decode(data)
    assert raised.value.reason in ("unknown_format", "corrupt")
    assert raised.value.errors[0]["field"] == "audio"


# MP3 is a stream of self-synchronising frames: FFmpeg skips a damaged start, rightly
@pytest.mark.parametrize("fmt", ["ogg", "webm", "wav", "m4a"])
def test_a_damaged_header_is_refused(fmt: str, clips: dict[str, bytes]) -> None:
    data = bytearray(clips[fmt])
    data[0:64] = bytes(64)
    with pytest.raises(AudioRejectedError) as raised:
        decode(bytes(data))
    assert raised.value.reason in ("corrupt", "unknown_format", "truncated")


def test_empty_file_is_refused() -> None:
    with pytest.raises(AudioRejectedError) as raised:
        decode(b"")
    assert raised.value.reason == "empty"


def test_oversize_is_refused_before_decoding(clips: dict[str, bytes]) -> None:
    with pytest.raises(AudioRejectedError) as raised:
        decode_audio(clips["wav"], max_duration_seconds=1200, max_bytes=len(clips["wav"]) - 1)
    assert raised.value.reason == "too_large" and raised.value.limit == len(clips["wav"]) - 1
    assert "max_audio_bytes" in str(raised.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_over_long_is_refused(fmt: str, clips: dict[str, bytes]) -> None:
    with pytest.raises(AudioRejectedError) as raised:
        decode_audio(clips[fmt], max_duration_seconds=3, max_bytes=50_000_000)
    assert raised.value.reason == "too_long" and "max_audio_duration_seconds" in str(raised.value)


def test_over_long_without_a_declared_duration_stops_decoding() -> None:
    # a WAV whose header has the streaming placeholder size declares no usable length
    samples = np.zeros(SAMPLE_RATE * 8, dtype=np.float32)
    samples[::50] = 0.3
    data = bytearray(encode(samples, "wav"))
    data[4:8] = (0x7FFFFFFF).to_bytes(4, "little")
    with pytest.raises(AudioRejectedError) as raised:
        decode_audio(bytes(data), max_duration_seconds=5, max_bytes=50_000_000)
    assert raised.value.reason == "too_long"


def test_silence_only_decodes_but_has_no_sound() -> None:
    decoded = decode(encode(np.zeros(SAMPLE_RATE, dtype=np.float32), "wav"))
    assert decoded.duration_seconds == pytest.approx(1.0, abs=0.05)
