"""Voice session folders on disk, laid out as seed ``003_*`` shows them.

::

    {sessions_dir}/{session_id}/
        metadata.json          the session's state (atomic: temp file, fsync, rename)
        audio/001_audio.ogg    recordings, named by sequence (the original bytes)
        transcripts/001_audio.txt   transcripts (and 001_audio.json: words, pauses)
        process/input.txt      the consolidated transcript, in sequence order
        process/output/        what processing produced (speech metrics)

No input can make a path outside ``sessions_dir``: session ids are checked by
:func:`~rehearse.domain.voice.check_session_id` and every file name is one this
module makes or checks against a fixed pattern. The database is the source of truth;
``metadata.json`` is its copy for people and downstream tools, rewritten under a
per-session file lock from a fresh read, so the last writer always writes the latest
state and a reader never sees a torn file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from rehearse.domain.voice import check_session_id
from rehearse.errors import ConfigurationError
from rehearse.storage.folders import write_atomic

_AUDIO_NAME = re.compile(r"^[0-9]{3,}_audio\.(ogg|webm|wav|mp3|m4a)$")
_TRANSCRIPT_NAME = re.compile(r"^[0-9]{3,}_audio\.(txt|json)$")
_OUTPUT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

AUDIO = "audio"
TRANSCRIPTS = "transcripts"
PROCESS = "process"
OUTPUT = "output"
METADATA = "metadata.json"


class VoiceFolders:
    """The folders of every voice session under ``root``.

    Args:
        root: the sessions directory (``sessions_dir``); created on first use.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, session_id: str) -> Path:
        """The folder of ``session_id`` (not created).

        Raises:
            ConfigurationError: the id could name a path outside ``root``.
        """
        check_session_id(session_id)
        root = self.root.resolve()
        folder = (root / session_id).resolve()
        if folder.parent != root:  # defence in depth: a symlinked folder may not lead out
            raise ConfigurationError(
                f"session_id={session_id!r}: its folder resolves outside {root}",
                [{"field": "session_id", "value": session_id, "message": "outside sessions"}],
            )
        return folder

    def create(self, session_id: str) -> Path:
        """Create the folder with ``audio/``, ``transcripts/`` and ``process/output/``."""
        folder = self.path(session_id)
        for sub in (AUDIO, TRANSCRIPTS, f"{PROCESS}/{OUTPUT}"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return folder

    def audio_path(self, session_id: str, stored_filename: str) -> Path:
        """``audio/<stored_filename>``; the name must look like ``001_audio.ogg``.

        Raises:
            ConfigurationError: another name.
        """
        return self.path(session_id) / AUDIO / _checked(stored_filename, _AUDIO_NAME)

    def write_audio(self, session_id: str, stored_filename: str, data: bytes) -> Path:
        """Store a recording's bytes atomically under ``audio/``."""
        target = self.audio_path(session_id, stored_filename)
        write_atomic(target, data)
        return target

    def remove_audio(self, session_id: str, stored_filename: str) -> None:
        """Delete a recording (no error if absent): undoes a write whose commit failed."""
        self.audio_path(session_id, stored_filename).unlink(missing_ok=True)

    def write_transcript(
        self, session_id: str, transcript_filename: str, text: str, details: dict[str, Any]
    ) -> Path:
        """Write ``transcripts/001_audio.txt`` and its ``001_audio.json`` (words, pauses)."""
        name = _checked(transcript_filename, _TRANSCRIPT_NAME)
        folder = self.path(session_id) / TRANSCRIPTS
        target = folder / name
        write_atomic(target.with_suffix(".json"), _json(details))
        write_atomic(target, (text.strip() + "\n").encode())
        return target

    def read_transcript(self, session_id: str, transcript_filename: str) -> str:
        """The text of a transcript file.

        Raises:
            FileNotFoundError: it was never written.
        """
        name = _checked(transcript_filename, _TRANSCRIPT_NAME)
        return (self.path(session_id) / TRANSCRIPTS / name).read_text(encoding="utf-8").strip()

    def read_transcript_details(self, session_id: str, transcript_filename: str) -> dict[str, Any]:
        """The JSON beside a transcript (words, pauses, quality).

        Raises:
            FileNotFoundError: it was never written.
        """
        name = _checked(transcript_filename, _TRANSCRIPT_NAME)
        path = (self.path(session_id) / TRANSCRIPTS / name).with_suffix(".json")
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def write_process_input(self, session_id: str, text: str) -> Path:
        """Write ``process/input.txt``, the consolidated transcript."""
        target = self.path(session_id) / PROCESS / "input.txt"
        write_atomic(target, text.encode())
        return target

    def write_output(self, session_id: str, name: str, data: bytes) -> Path:
        """Write ``process/output/<name>`` (a plain file name: letters, digits, ``_.-``).

        Raises:
            ConfigurationError: another name.
        """
        target = self.path(session_id) / PROCESS / OUTPUT / _checked(name, _OUTPUT_NAME)
        write_atomic(target, data)
        return target

    def refresh_metadata(self, session_id: str, snapshot: Callable[[], dict[str, Any]]) -> None:
        """Rewrite ``metadata.json`` from ``snapshot()``, called under the folder's lock.

        ``snapshot`` reads the session from the database; reading it under the lock
        means two writers (threads or processes) can only ever leave the newest state.
        """
        folder = self.path(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(folder / ".metadata.lock"):
            write_atomic(folder / METADATA, _json(snapshot()))

    def read_metadata(self, session_id: str) -> dict[str, Any] | None:
        """The parsed ``metadata.json``, or ``None`` when there is none."""
        path = self.path(session_id) / METADATA
        try:
            loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return loaded


def _checked(name: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(name):
        raise ConfigurationError(
            f"file name {name!r} is not allowed here",
            [{"field": "filename", "value": name, "message": f"must match {pattern.pattern}"}],
        )
    return name


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False).encode()
