"""Session folders on disk (seed ``003_*`` layout): one folder per session, atomic metadata.

``<data dir>/sessions/<session id>/`` holds ``metadata.json`` (written atomically:
temporary file, fsync, rename) and subfolders by kind (``whiteboard/``; ``audio/`` and
``transcripts/`` come with voice). Only the service layer calls this module.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rehearse.errors import ConfigurationError

if TYPE_CHECKING:  # filelock loads with the first metadata write, not with every command
    from filelock import FileLock

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SAFE = re.compile(r"[^a-zA-Z0-9_-]+")
# file names keep their extension's dot; a leading dot (".", "..", hidden) is dropped
_SAFE_FILE = re.compile(r"[^a-zA-Z0-9_.-]+")


def _safe_file_name(name: str) -> str:
    return _SAFE_FILE.sub("-", name).lstrip(".") or "file"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old or the new file, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def safe_name(name: str) -> str:
    """A file name safe on every system, keeping its extension (``q-1.png``, not ``q-1-png``)."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return _SAFE.sub("-", name)
    return f"{_SAFE.sub('-', stem)}.{_SAFE.sub('-', extension)}"


class SessionFolders:
    """The folders of every session under ``root`` (``<data dir>/sessions``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # metadata.json is read, changed and rewritten: one writer at a time
        # (a thread lock here, a file lock across processes)
        self._lock = threading.Lock()

    def folder(self, session_id: str) -> Path:
        """The folder of one session (not created)."""
        return self.root / _SAFE.sub("-", session_id)

    def metadata(self, session_id: str) -> dict[str, Any]:
        """The session's ``metadata.json`` (empty if none yet)."""
        path = self.folder(session_id) / "metadata.json"
        if not path.exists():
            return {"session_id": session_id, "files": []}
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def add_file(
        self, session_id: str, kind: str, name: str, data: bytes, info: dict[str, Any]
    ) -> Path:
        """Store ``data`` as ``<kind>/<name>`` and list it in ``metadata.json`` (both atomic)."""
        target = self.folder(session_id) / kind / safe_name(name)
        write_atomic(target, data)
        with self._lock, self._file_lock(session_id):
            metadata = self.metadata(session_id)
            files = [f for f in metadata["files"] if f.get("path") != f"{kind}/{target.name}"]
            files.append({"path": f"{kind}/{target.name}", "bytes": len(data), **info})
            metadata["files"] = files
            self._write_metadata(session_id, metadata)
        return target

    def remove_file(self, session_id: str, kind: str, name: str) -> None:
        """Delete ``<kind>/<name>`` and its ``metadata.json`` entry (no error if absent)."""
        (self.folder(session_id) / kind / name).unlink(missing_ok=True)
        with self._lock, self._file_lock(session_id):
            metadata = self.metadata(session_id)
            metadata["files"] = [f for f in metadata["files"] if f.get("path") != f"{kind}/{name}"]
            self._write_metadata(session_id, metadata)

    def _file_lock(self, session_id: str) -> FileLock:
        # another process (the transcription worker of `rehearse voice work`) may add
        # transcripts while this one adds a recording: one metadata writer at a time
        from filelock import FileLock

        folder = self.folder(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(folder / ".metadata.lock"))

    def _write_metadata(self, session_id: str, metadata: dict[str, Any]) -> None:
        write_atomic(
            self.folder(session_id) / "metadata.json",
            json.dumps(metadata, indent=2, sort_keys=True).encode(),
        )


def check_png(data: bytes) -> None:
    """Refuse anything that is not a PNG image.

    Raises:
        ConfigurationError: the bytes do not start with the PNG signature.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise ConfigurationError(
            "whiteboard: not a PNG image (send the canvas as image/png)",
            [{"field": "whiteboard", "value": None, "message": "must be a PNG image"}],
        )
