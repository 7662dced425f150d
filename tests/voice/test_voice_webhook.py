"""``POST /api/v1/voice/{chat_id}/messages``: the chat-bot webhook, in-process on real storage."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.settings import get_settings
from rehearse.storage import SQLStore
from rehearse.web import create_app

TOKEN = "bot-token-for-tests-0123456789"
URL = "/api/v1/voice/{chat}/messages"


@pytest.fixture
def client(
    store: SQLStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    monkeypatch.setenv("REHEARSE_VOICE_BOT_TOKEN_HASHES", json.dumps([digest]))
    monkeypatch.setenv("REHEARSE_MAX_AUDIO_BYTES", "200000")
    get_settings.cache_clear()
    app = create_app(lambda: SessionManager(store, clock), sweep_seconds=0)
    with TestClient(app) as test_client:
        yield test_client


def post(
    client: TestClient,
    chat: int,
    *,
    data: bytes | None = None,
    action: str | None = None,
    token: str = TOKEN,
) -> tuple[int, dict]:  # type: ignore[type-arg]
    files = {"file": ("voice.ogg", data, "audio/ogg")} if data is not None else None
    form = {"action": action} if action else None
    response = client.post(
        URL.format(chat=chat),
        files=files,
        data=form,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    return response.status_code, response.json()


def test_voice_notes_collect_into_the_chats_session(client: TestClient, short_clip: bytes) -> None:
    status, first = post(client, 5, data=short_clip)
    assert status == 200, first
    assert first["entry"]["sequence"] == 1 and first["entry"]["stored_filename"] == "001_audio.ogg"
    status, second = post(client, 5, data=short_clip)
    assert second["session"]["id"] == first["session"]["id"] and second["entry"]["sequence"] == 2
    status, new = post(client, 5, action="new")
    assert status == 200 and new["session"]["id"] != first["session"]["id"] and new["entry"] is None
    status, done = post(client, 5, action="finalize")
    assert status == 200 and done["session"]["state"] == "processed"  # empty: straight through
    status, error = post(client, 5, action="finalize")
    assert status == 422 and "no collecting voice session" in error["message"]


def test_the_webhook_needs_a_known_bot_token(client: TestClient, short_clip: bytes) -> None:
    for token in ("", "wrong-token"):
        status, body = post(client, 1, data=short_clip, token=token)
        assert status == 401 and body["error"] == "NotAuthenticatedError"


def test_bad_audio_is_422_and_oversize_is_413(client: TestClient, short_clip: bytes) -> None:
    status, body = post(client, 2, data=b"not audio" * 100)
    assert status == 422 and body["fields"][0]["field"] == "audio"
    status, body = post(client, 2, data=bytes(300_000))
    assert status == 413 and "max_audio_bytes" in body["message"]
    status, body = post(client, 2)
    assert status == 422 and body["fields"][0]["field"] == "file"
    status, body = post(client, 2, data=short_clip, action="explode")
    assert status == 422


def test_the_webhook_is_off_without_tokens(
    store: SQLStore, clock: FakeClock, short_clip: bytes
) -> None:
    get_settings.cache_clear()
    app = create_app(lambda: SessionManager(store, clock), sweep_seconds=0)
    with TestClient(app) as client:
        status, body = post(client, 1, data=short_clip)
    assert status == 401 and "REHEARSE_VOICE_BOT_TOKEN_HASHES" in body["message"]


def test_a_plain_token_in_the_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("REHEARSE_VOICE_BOT_TOKEN_HASHES", json.dumps([TOKEN]))
    get_settings.cache_clear()
    with pytest.raises(ValidationError, match="SHA-256 hex digest"):
        get_settings()
