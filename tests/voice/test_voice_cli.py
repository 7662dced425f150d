"""``rehearse voice``: in-process through the real entry point, and ``kill -9`` of a worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rehearse.cli import main
from rehearse.domain.voice import TranscriptionStatus, VoiceSessionState
from rehearse.service.voice import VoiceSessionManager
from rehearse.settings import get_settings
from rehearse.voice.samples import encode, speak, to_samples

pytestmark = pytest.mark.slow  # real processes: scheduled first (tests/conftest.py)


def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["rehearse", *args])
    monkeypatch.setenv("COLUMNS", "200")
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_collect_transcribe_finalize(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    short_clip: bytes,
) -> None:
    clip = tmp_path / "note.ogg"
    clip.write_bytes(short_clip)
    code, out, _ = cli(capsys, monkeypatch, "voice", "new", "77", "--json")
    assert code == 0
    created = json.loads(out)
    session_id = created["id"]
    assert Path(created["path"]).is_dir() and created["state"] == "collecting"
    code, out, _ = cli(capsys, monkeypatch, "voice", "add", session_id, str(clip), "--json")
    assert code == 0 and json.loads(out)["stored_filename"] == "001_audio.ogg"
    code, out, _ = cli(
        capsys, monkeypatch, "voice", "work", "--once", "--transcriber", "test:hello there"
    )
    assert code == 0 and "transcribed 1 recording" in out
    code, out, _ = cli(capsys, monkeypatch, "voice", "finalize", session_id, "--json")
    assert code == 0 and json.loads(out)["state"] == "processed"
    code, out, _ = cli(capsys, monkeypatch, "voice", "list", "--json")
    assert [s["id"] for s in json.loads(out)] == [session_id]
    folder = Path(created["path"])
    assert (folder / "process" / "input.txt").read_text() == "hello there\n"


def test_errors_are_one_line_with_exit_codes(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    short_clip: bytes,
) -> None:
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"not audio" * 100)
    _, out, _ = cli(capsys, monkeypatch, "voice", "new", "1", "--json")
    session_id = json.loads(out)["id"]
    code, _, err = cli(capsys, monkeypatch, "voice", "add", session_id, str(junk))
    assert code == 2 and err.startswith("error: audio: ") and err.count("\n") == 1
    code, _, err = cli(
        capsys, monkeypatch, "voice", "add", session_id, str(tmp_path / "missing.ogg")
    )
    assert code == 2 and "cannot read it" in err
    code, _, err = cli(capsys, monkeypatch, "voice", "show", "2026-01-01_00-00-00_000000")
    assert code == 3 and "not found" in err
    code, _, err = cli(capsys, monkeypatch, "voice", "show", "../../etc")
    assert code == 2 and "session_id" in err
    cli(capsys, monkeypatch, "voice", "finalize", session_id)
    code, _, err = cli(capsys, monkeypatch, "voice", "finalize", session_id)
    assert code == 4 and "final" in err and "Traceback" not in err
    code, _, err = cli(capsys, monkeypatch, "voice", "work", "--once", "--transcriber", "bogus:x")
    assert code == 2 and "voice_transcriber" in err


def test_kill_9_mid_transcription_then_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed while transcribing loses nothing: the next one finishes, once each."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("REHEARSE_")},
        "REHEARSE_DATA_DIR": str(tmp_path / "data"),
        "REHEARSE_VOICE_LEASE_SECONDS": "2",
        "HF_HUB_OFFLINE": "1",
    }
    monkeypatch.setenv("REHEARSE_DATA_DIR", env["REHEARSE_DATA_DIR"])
    get_settings.cache_clear()
    long_answer = " ".join(
        ["I would put a cache in front of the database and a queue for the slow writes."] * 2
    )
    clip = encode(to_samples(speak(long_answer, words_per_minute=160)), "ogg")
    voice = VoiceSessionManager.open()
    try:
        session = voice.create_session(99)
        for _ in range(2):
            voice.add_audio(session.id, clip)
        worker = subprocess.Popen(
            [sys.executable, "-m", "rehearse", "voice", "work"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                statuses = [e.transcription_status for e in voice.require(session.id).audio_entries]
                if TranscriptionStatus.PROCESSING in statuses:
                    break
                assert worker.poll() is None, "the worker exited by itself"
                time.sleep(0.02)
            else:
                pytest.fail("the worker never claimed a job")
            time.sleep(0.3)  # well inside the transcription (several seconds of audio)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        interrupted = voice.require(session.id)
        assert TranscriptionStatus.PROCESSING in [
            e.transcription_status for e in interrupted.audio_entries
        ]
        voice.finalize_session(session.id)
        time.sleep(2.1)  # the dead worker's lease runs out
        restarted = subprocess.run(
            [sys.executable, "-m", "rehearse", "voice", "work", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert restarted.returncode == 0, restarted.stderr
        final = voice.require(session.id)
        assert final.state is VoiceSessionState.PROCESSED
        assert all(e.transcription_status is TranscriptionStatus.DONE for e in final.audio_entries)
        attempts = [voice.store.job_attempts(session.id, e.sequence) for e in final.audio_entries]
        assert all(status == "done" for status, _ in attempts)
        assert sorted(n for _, n in attempts)[-1] == 2  # the killed one ran twice ...
        text = (voice.get_session_path(session.id) / "process" / "input.txt").read_text()
        assert len(text.strip().split("\n\n")) == 2  # ... but is in the result once
        assert voice.store.pending_jobs() == 0
    finally:
        voice.close()
