"""Spoken samples made on the spot: espeak-ng speech, encoded in each accepted format.

Tests and ``benchmarks/bench_asr.py`` use these to push real speech through the
pipeline; nothing recorded ships with rehearse. Needs the ``espeak-ng`` program
(Debian package ``espeak-ng``).
"""

from __future__ import annotations

import io
import shutil
import subprocess

import av
import numpy as np
import numpy.typing as npt

from rehearse.voice.audio import SAMPLE_RATE, decode_audio

# format -> (PyAV container format, codec, codec sample rate)
_ENCODINGS: dict[str, tuple[str, str, int]] = {
    "ogg": ("ogg", "libopus", 48_000),
    "webm": ("webm", "libopus", 48_000),
    "wav": ("wav", "pcm_s16le", SAMPLE_RATE),
    "mp3": ("mp3", "libmp3lame", 24_000),
    "m4a": ("ipod", "aac", 24_000),
}


def espeak_available() -> bool:
    """True when the ``espeak-ng`` program is on the PATH."""
    return shutil.which("espeak-ng") is not None


def speak(ssml: str, *, voice: str = "en-us", words_per_minute: int = 150) -> bytes:
    """A WAV file of ``ssml`` spoken by espeak-ng.

    Args:
        ssml: text, or SSML (``<speak>... <break time="2s"/> ...</speak>``) for pauses.
        voice: an espeak-ng voice (``en-us``, ``en-gb``, ``en-gb-scotland`` ...).
        words_per_minute: speaking rate, words per minute (80-450).

    Raises:
        FileNotFoundError: espeak-ng is not installed.
        subprocess.CalledProcessError: espeak-ng failed.
    """
    program = shutil.which("espeak-ng")
    if program is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
    result = subprocess.run(  # noqa: S603 - fixed program, text passed as one argument
        [program, "-m", "-v", voice, "-s", str(words_per_minute), "--stdout", ssml],
        capture_output=True,
        check=True,
    )
    return result.stdout


def to_samples(data: bytes) -> npt.NDArray[np.float32]:
    """A WAV (or any accepted) file as 16 kHz mono float32 samples."""
    return decode_audio(data, max_duration_seconds=4 * 3600, max_bytes=2_000_000_000).samples


def encode(samples: npt.NDArray[np.float32], audio_format: str) -> bytes:
    """Encode 16 kHz mono samples as ``ogg`` (Opus), ``webm`` (Opus), ``wav``, ``mp3`` or ``m4a``.

    Raises:
        KeyError: an unknown format.
    """
    container_format, codec, rate = _ENCODINGS[audio_format]
    output = io.BytesIO()
    pcm = np.ascontiguousarray(np.asarray(samples, dtype=np.float32).reshape(1, -1))
    with av.open(output, mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        # PyAV resamples each frame to the codec's format and rate and re-frames it
        for start in range(0, pcm.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[:, start : start + 1024]), format="flt", layout="mono"
            )
            frame.sample_rate = SAMPLE_RATE
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return output.getvalue()
