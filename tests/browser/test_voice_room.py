"""Voice in the interview room, in Debian's Chromium with a fake microphone (issue 13).

Chromium plays a WAV file made here with espeak-ng as its microphone
(``--use-fake-device-for-media-stream --use-fake-ui-for-media-stream
--use-file-for-fake-audio-capture``); the room records it with MediaRecorder, the real
``rehearse serve`` stores it, its transcription worker transcribes it with the bundled
faster-whisper model, and the candidate corrects and submits the transcript. An upload
takes the same path. Without Chromium the tests skip, unless ``REHEARSE_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from test_pages import CHROMIUM, CHROMIUM_ARGS, Server, screenshot, start_server

from rehearse.voice.samples import encode, espeak_available, speak, to_samples

pytestmark = pytest.mark.slow  # real processes: scheduled first (tests/conftest.py)

SPOKEN = "I would put a cache in front of the database and a queue for the slow writes."
CORRECTED = "I would put a cache in front of the database, and a queue for the slow writes."


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone says: espeak-ng speech with a second of silence after it."""
    if not espeak_available():
        pytest.fail("espeak-ng is not installed: apt-get install espeak-ng (.ci/run does)")
    path = tmp_path_factory.mktemp("mic") / "answer.wav"
    path.write_bytes(speak(f'<speak>{SPOKEN}<break time="1s"/></speak>'))
    return path


@pytest.fixture(scope="module")
def voice_browser(playwright_driver: Playwright, microphone: Path) -> Iterator[Browser]:
    """Chromium whose microphone plays ``microphone`` (and that never asks for permission)."""
    launched = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def voice_server(
    voice_browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """``rehearse serve`` with its transcription worker (the default tiny.en model)."""
    running = start_server(tmp_path_factory.mktemp("rehearse-voice"))
    yield running
    running.stop()


@pytest.fixture
def room_page(voice_browser: Browser, voice_server: Server) -> Iterator[Page]:
    context = voice_browser.new_context(
        base_url=voice_server.base_url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def _spoken(server: Server, session_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = server.api("GET", f"/api/v1/sessions/{session_id}/spoken")
    return found


def test_the_form_offers_voice_and_the_room_records_transcribes_and_scores(
    room_page: Page, voice_server: Server
) -> None:
    page = room_page
    page.goto("/sessions/new")
    voice = page.locator("#f-enabled_modes-voice")
    expect(voice).to_be_visible()
    page.fill("#f-candidate_name", "Voice Candidate")
    voice.check()
    page.get_by_role("button", name="Create session").click()
    page.wait_for_url("**/sessions/*")
    session_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    if page.locator("#start-btn").is_visible():
        page.click("#start-btn")
    expect(page.locator("#voice-box")).to_be_visible()
    question_id = page.locator("#room").get_attribute("data-question-id")
    assert question_id

    # record, listen, record again, send
    page.click("#voice-record")
    expect(page.locator("#voice-stop")).to_be_visible()
    page.wait_for_timeout(2500)
    expect(page.locator("#voice-timer")).not_to_have_text("0:00")
    page.click("#voice-stop")
    expect(page.locator("#voice-playback")).to_be_visible()
    expect(page.locator("#voice-send")).to_be_visible()
    page.click("#voice-rerecord")
    expect(page.locator("#voice-stop")).to_be_visible()
    page.wait_for_timeout(6000)  # the whole sentence (about 5 s) at least once
    peak = float(page.locator("#voice-level").get_attribute("data-peak") or 0)
    assert peak > 0.02, "the level meter never moved"
    page.click("#voice-stop")
    expect(page.locator("#voice-playback")).to_be_visible()
    assert _spoken(voice_server, session_id) == []  # nothing sent before Send
    page.click("#voice-send")

    # saved first (pending), then transcribed by the worker in rehearse serve
    expect(page.locator("#voice-review")).to_be_visible(timeout=90_000)
    heard = page.locator("#voice-transcript").input_value().lower()
    assert "database" in heard and "queue" in heard, heard
    expect(page.locator("#voice-metrics")).to_contain_text("words per minute")
    spoken = _spoken(voice_server, session_id)
    assert len(spoken) == 1 and spoken[0]["status"] == "transcribed"
    assert spoken[0]["stored_filename"] == "001_audio.webm"
    assert spoken[0]["question_id"] == question_id
    screenshot(page, "room-voice-review")

    page.fill("#voice-transcript", CORRECTED)
    page.click("#voice-submit")
    expect(page.locator("#feedback")).to_be_visible(timeout=30_000)
    answers = voice_server.api("GET", f"/api/v1/sessions/{session_id}/answers")
    assert answers[0]["item_id"] == question_id and answers[0]["text"] == CORRECTED
    assert _spoken(voice_server, session_id)[0]["status"] == "submitted"
    expect(page.locator("#room")).not_to_have_attribute("data-question-id", question_id)


def test_an_uploaded_recording_takes_the_same_path(
    room_page: Page, voice_server: Server, microphone: Path, tmp_path: Path
) -> None:
    session = voice_server.started(enabled_modes=["text", "voice"])
    page = room_page
    page.goto(f"/sessions/{session['id']}")
    upload = tmp_path / "my answer.ogg"
    upload.write_bytes(encode(to_samples(microphone.read_bytes()), "ogg"))
    page.set_input_files("#voice-file", str(upload))
    expect(page.locator("#voice-review")).to_be_visible(timeout=90_000)
    assert "database" in page.locator("#voice-transcript").input_value().lower()
    page.click("#voice-submit")  # as heard
    # the reply to the submit, not the hidden review box: the stream's next question can
    # hide the box before the server has marked the recording submitted
    expect(page.locator("#voice-status")).to_have_text("Transcript submitted.", timeout=30_000)
    expect(page.locator("#voice-review")).to_be_hidden()
    spoken = _spoken(voice_server, session["id"])
    assert spoken[0]["original_filename"] == "my answer.ogg"
    assert spoken[0]["status"] == "submitted"
    assert spoken[0]["submitted_text"] == spoken[0]["transcript"]


def test_a_room_without_voice_has_no_recorder(room_page: Page, voice_server: Server) -> None:
    session = voice_server.started(enabled_modes=["text"])
    room_page.goto(f"/sessions/{session['id']}")
    expect(room_page.locator("#answer")).to_be_visible()
    expect(room_page.locator("#voice-box")).to_have_count(0)
