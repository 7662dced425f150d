"""Decoding recordings to 16 kHz mono with PyAV (its wheel carries FFmpeg; no system ffmpeg).

Accepted containers are what browsers' MediaRecorder, chat apps and phones produce:
Ogg (Opus, Vorbis), WebM/Matroska (Opus), WAV, MP3 and M4A (AAC in MP4). Anything else,
and anything corrupt, truncated, empty, over the size limit or over the duration limit,
is refused with :class:`~rehearse.errors.AudioRejectedError` before anything is stored.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import av.logging
import numpy as np
import numpy.typing as npt

from rehearse.errors import AudioRejectedError

#: Sample rate of decoded audio, Hz: what Whisper and the Silero VAD take.
SAMPLE_RATE = 16_000

# FFmpeg container name -> (our format name, stored file extension, MIME type)
_FORMATS: dict[str, tuple[str, str, str]] = {
    "ogg": ("ogg", "ogg", "audio/ogg"),
    "matroska,webm": ("webm", "webm", "audio/webm"),
    "wav": ("wav", "wav", "audio/wav"),
    "mp3": ("mp3", "mp3", "audio/mpeg"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("m4a", "m4a", "audio/mp4"),
}

#: The formats :func:`decode_audio` accepts, by name.
ACCEPTED_FORMATS: tuple[str, ...] = tuple(name for name, _, _ in _FORMATS.values())

# a declared duration this much above the decoded one means the file was cut short
_TRUNCATION_TOLERANCE_SECONDS = 0.3
_TRUNCATION_TOLERANCE_SHARE = 0.05

_WAV_PLACEHOLDER = 0x7F000000

av.logging.set_level(av.logging.PANIC)  # refusals are reported as errors, not log lines


@dataclass(frozen=True)
class DecodedAudio:
    """A recording decoded to 16 kHz mono float32 samples in [-1, 1].

    Attributes:
        samples: the samples, shape ``(n,)``, float32.
        format: ``ogg``, ``webm``, ``wav``, ``mp3`` or ``m4a``.
        extension: the extension to store the original bytes under.
        mime_type: its MIME type (``audio/ogg`` ...).
        codec: the audio codec FFmpeg found (``opus``, ``pcm_s16le``, ``aac`` ...).
        size_bytes: size of the original file, bytes.
    """

    samples: npt.NDArray[np.float32]
    format: str
    extension: str
    mime_type: str
    codec: str
    size_bytes: int

    @property
    def duration_seconds(self) -> float:
        """Length, seconds."""
        return len(self.samples) / SAMPLE_RATE


def decode_audio(data: bytes, *, max_duration_seconds: float, max_bytes: int) -> DecodedAudio:
    """Decode ``data`` and resample it to 16 kHz mono.

    Args:
        data: the file's bytes, as received.
        max_duration_seconds: longest accepted recording, seconds
            (``max_audio_duration_seconds``, seed ``003_*``: 1200).
        max_bytes: largest accepted file, bytes (``max_audio_bytes``).

    Raises:
        AudioRejectedError: ``too_large`` (more than ``max_bytes``), ``empty`` (no bytes
            or no sound decoded), ``unknown_format`` (not one of :data:`ACCEPTED_FORMATS`
            or no audio stream), ``corrupt`` (FFmpeg cannot decode it), ``truncated``
            (the file ends before its declared end) or ``too_long`` (over
            ``max_duration_seconds``).
    """
    size = len(data)
    if size > max_bytes:
        raise AudioRejectedError(
            "too_large",
            f"the file is {size:,} bytes; the limit is {max_bytes:,} bytes (max_audio_bytes)",
            limit=max_bytes,
        )
    if size == 0:
        raise AudioRejectedError("empty", "the file is empty")
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, EOFError):
        raise AudioRejectedError(
            "unknown_format",
            f"not a recording in an accepted format ({', '.join(ACCEPTED_FORMATS)}), "
            "or the file is corrupt",
        ) from None
    with container:
        known = _FORMATS.get(container.format.name)
        if known is None:
            raise AudioRejectedError(
                "unknown_format",
                f"{container.format.long_name or container.format.name} is not accepted; "
                f"send {', '.join(ACCEPTED_FORMATS)}",
            )
        name, extension, mime = known
        if not container.streams.audio:
            raise AudioRejectedError("unknown_format", f"the {name} file has no audio stream")
        stream = container.streams.audio[0]
        declared = container.duration / 1_000_000 if container.duration else None
        if declared is not None and declared > max_duration_seconds + 0.5:
            raise _too_long(declared, max_duration_seconds)
        samples = _decode(container, stream, max_duration_seconds)
        codec = stream.codec_context.name
    decoded = len(samples) / SAMPLE_RATE
    if decoded == 0:
        raise AudioRejectedError("empty", f"the {name} file holds no sound")
    if _is_truncated(name, data, declared, decoded):
        raise AudioRejectedError(
            "truncated",
            f"the {name} file ends early ({decoded:.1f} s decoded"
            + (f" of {declared:.1f} s declared" if name in ("webm", "mp3", "m4a") else "")
            + "); upload the whole file",
        )
    return DecodedAudio(samples, name, extension, mime, codec, size)


def _decode(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    max_duration_seconds: float,
) -> npt.NDArray[np.float32]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[npt.NDArray[np.float32]] = []
    count = 0
    limit = int((max_duration_seconds + 0.5) * SAMPLE_RATE)
    try:
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                chunks.append(chunk)
                count += len(chunk)
            if count > limit:
                raise _too_long(count / SAMPLE_RATE, max_duration_seconds, at_least=True)
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    except (av.error.FFmpegError, EOFError, ValueError) as exc:
        if count == 0:
            raise AudioRejectedError("corrupt", "the file cannot be decoded") from None
        raise AudioRejectedError(
            "truncated",
            f"decoding stopped after {count / SAMPLE_RATE:.1f} s ({type(exc).__name__}); "
            "the file is cut short or damaged",
        ) from None
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks)


def _too_long(seconds: float, limit: float, *, at_least: bool = False) -> AudioRejectedError:
    more = "more than " if at_least else ""
    return AudioRejectedError(
        "too_long",
        f"the recording lasts {more}{seconds:.0f} s; the limit is {limit:.0f} s "
        "(max_audio_duration_seconds)",
        limit=limit,
    )


def _is_truncated(name: str, data: bytes, declared: float | None, decoded: float) -> bool:
    if name == "wav":
        return _wav_truncated(data)
    if name == "ogg":
        return _ogg_truncated(data)
    if declared is None:
        return False  # MediaRecorder's WebM declares no duration
    return declared - decoded > max(
        _TRUNCATION_TOLERANCE_SECONDS, _TRUNCATION_TOLERANCE_SHARE * declared
    )


def _wav_truncated(data: bytes) -> bool:
    """The RIFF header promises more bytes than the file has (FFmpeg decodes what is there)."""
    if len(data) < 12 or data[:4] != b"RIFF":
        return False  # RF64 and friends: trust the decoder
    (riff_size,) = struct.unpack("<I", data[4:8])
    # streaming writers (espeak-ng --stdout, some recorders) put 0 or a huge placeholder
    # when the length was unknown: only a plausible size can prove a cut
    return bool(0 < riff_size < _WAV_PLACEHOLDER and riff_size + 8 > len(data))


def _ogg_truncated(data: bytes) -> bool:
    """Walk the Ogg pages (RFC 3533, section 6): the last one must be complete."""
    position = 0
    while position < len(data):
        header = data[position : position + 27]
        if len(header) < 27 or header[:4] != b"OggS":
            return True
        segments = header[26]
        table = data[position + 27 : position + 27 + segments]
        if len(table) < segments:
            return True
        position += 27 + segments + sum(table)
    return position != len(data)


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, refusing a file over ``max_bytes`` before reading it.

    Raises:
        AudioRejectedError: ``too_large``.
        OSError: the file cannot be read.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise AudioRejectedError(
            "too_large",
            f"{path.name} is {size:,} bytes; the limit is {max_bytes:,} bytes (max_audio_bytes)",
            limit=max_bytes,
        )
    return path.read_bytes()
