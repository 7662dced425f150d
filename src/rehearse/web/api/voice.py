"""``/api/v1/voice/{chat_id}/messages``: the webhook through which chat bots send voice notes.

A bot authenticates with its own token (``Authorization: Bearer <token>``); only the
tokens' SHA-256 digests are configured (``voice_bot_token_hashes``). Each request is a
multipart form: ``file`` (the recording, streamed and size-bounded: more than
``max_audio_bytes`` is refused with 413 before it is decoded) and ``action``:

* ``audio`` (default): add the file to the chat's collecting session, opening one if
  there is none;
* ``new``: finalize the collecting session and open a new one (a file, if sent, goes
  into the new one);
* ``finalize``: stop collecting; transcription and processing carry on in the worker.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Header, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from rehearse.domain.voice import AudioEntry, VoiceSession
from rehearse.errors import ConfigurationError
from rehearse.service.voice import VoiceSessionManager
from rehearse.settings import get_settings
from rehearse.storage.voice import VoiceStore
from rehearse.web.errors import NotAuthenticatedError, PayloadTooLargeError
from rehearse.web.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/voice", tags=["voice"], responses=ERROR_RESPONSES)

_CHUNK = 1 << 20


class VoiceMessagePublic(BaseModel):
    """What the webhook did: the chat's session after the message, and the new entry."""

    session: VoiceSession
    entry: AudioEntry | None = None


def voice_manager(request: Request) -> VoiceSessionManager:
    """The app's voice manager, on the session manager's database (made once)."""
    voice: VoiceSessionManager | None = getattr(request.app.state, "voice", None)
    if voice is None:
        engine = request.app.state.services.store.engine
        voice = VoiceSessionManager.from_settings(VoiceStore(engine), get_settings())
        request.app.state.voice = voice
    return voice


def check_bot_token(authorization: str | None) -> None:
    """Accept the request only with a configured bot token.

    Raises:
        NotAuthenticatedError: no token, an unknown token, or the webhook is off.
    """
    digests = get_settings().voice_bot_token_hashes
    if not digests:
        raise NotAuthenticatedError(
            "the voice webhook is off: set REHEARSE_VOICE_BOT_TOKEN_HASHES to the SHA-256 "
            "digests of your bots' tokens"
        )
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticatedError("send the bot token as 'Authorization: Bearer <token>'")
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    if not any(hmac.compare_digest(digest, known) for known in digests):
        raise NotAuthenticatedError("unknown bot token")


async def read_bounded(upload: UploadFile, max_bytes: int) -> bytes:
    """The upload's bytes, read in 1 MiB chunks and refused past ``max_bytes``.

    Raises:
        PayloadTooLargeError: the file is larger than ``max_bytes``.
    """
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLargeError(
                f"audio: the file is over {max_bytes:,} bytes (max_audio_bytes)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/{chat_id}/messages")
async def post_message(
    request: Request,
    chat_id: int,
    authorization: Annotated[str | None, Header()] = None,
    file: UploadFile | None = None,
    action: Annotated[Literal["audio", "new", "finalize"], Form()] = "audio",
) -> VoiceMessagePublic:
    """Take one chat-bot message: a voice note, "new session" or "finalize"."""
    check_bot_token(authorization)
    voice = voice_manager(request)
    data = None if file is None else await read_bounded(file, voice.max_audio_bytes)
    if action == "audio" and data is None:
        raise ConfigurationError(
            "file: a voice note is required for action 'audio'",
            [{"field": "file", "value": None, "message": "required"}],
        )
    filename = None if file is None else file.filename

    def handle() -> VoiceMessagePublic:
        if action == "finalize":
            active = voice.get_active_session(chat_id)
            if active is None:
                raise ConfigurationError(
                    f"chat {chat_id} has no collecting voice session to finalize",
                    [{"field": "action", "value": action, "message": "nothing to finalize"}],
                )
            return VoiceMessagePublic(session=voice.finalize_session(active.id))
        session = voice.get_active_session(chat_id)
        if action == "new" or session is None:
            session = voice.create_session(chat_id)
        if data is None:
            return VoiceMessagePublic(session=session)
        session, entry = voice.add_audio(session.id, data, filename=filename)
        return VoiceMessagePublic(session=session, entry=entry)

    return await run_in_threadpool(handle)
