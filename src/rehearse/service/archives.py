"""Export archives: a zip holding the JSON export, each session's Markdown report and its files.

An export whose sessions have files in their session folders (whiteboard drawings,
recorded answers and their transcripts, ``metadata.json``) is written as a zip
(``docs/export-schema.json`` describes the JSON inside)::

    export.json                          the JSON export; each session lists its
                                         ``folder`` files with size and SHA-256
    sessions/<session id>/report.md      the session's Markdown report (sessions with a plan)
    sessions/<session id>/files/<path>   every file of the session folder, byte for byte

Reading checks everything before anything is written: each member is listed in
``export.json`` with its size and SHA-256, paths are relative and stay inside their
session folder, and no listed file is missing.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any

from rehearse.errors import ConfigurationError

DOCUMENT = "export.json"
#: Refused above this many bytes of files in one archive (a zip bomb is not restored).
MAX_ARCHIVE_BYTES = 4 * 1024**3


def folder_files(folder: Path) -> list[dict[str, Any]]:
    """Every regular file under ``folder``: ``{"path", "bytes", "sha256"}``, sorted by path.

    Symbolic links are left out (an export carries the session's own files only).
    """
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        entries.append(
            {
                "path": path.relative_to(folder).as_posix(),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    return entries


def has_files(document: Mapping[str, Any]) -> bool:
    """True when a session of the export document lists a folder file."""
    return any(entry.get("folder") for entry in document.get("sessions") or [])


def write(
    target: IO[bytes],
    document: Mapping[str, Any],
    folders: Mapping[str, Path],
    reports: Mapping[str, str],
) -> int:
    """Write the archive of ``document`` to ``target``; returns the number of files stored.

    Args:
        target: a binary file open for writing.
        document: the export document (each session's ``folder`` lists its files).
        folders: session id to its folder on disk.
        reports: session id to its Markdown report.
    """
    stored = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(DOCUMENT, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        for entry in document["sessions"]:
            session_id = entry["session"]["id"]
            if session_id in reports:
                archive.writestr(f"sessions/{session_id}/report.md", reports[session_id])
            for item in entry.get("folder") or []:
                archive.write(
                    folders[session_id] / item["path"],
                    f"sessions/{session_id}/files/{item['path']}",
                )
                stored += 1
    return stored


def is_archive(path: Path) -> bool:
    """True when ``path`` is a zip file (by its signature, not its name)."""
    return zipfile.is_zipfile(path)


def read(source: Path | IO[bytes]) -> tuple[dict[str, Any], dict[str, dict[str, bytes]]]:
    """The export document and the files of each session, checked.

    Returns:
        ``(document, {session id: {relative path: bytes}})``.

    Raises:
        ConfigurationError: not a zip, no ``export.json`` or not JSON, a member not
            listed in it or listed but missing, a size or SHA-256 that differs, or a
            path that is absolute or climbs out of its session folder.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _bad("archive", f"not a readable zip file ({exc})") from None
    with archive:
        try:
            document = json.loads(archive.read(DOCUMENT).decode("utf-8"))
        except KeyError:
            raise _bad(DOCUMENT, "missing from the archive") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise _bad(DOCUMENT, f"not JSON ({exc})") from None
        if not isinstance(document, dict) or not isinstance(document.get("sessions"), list):
            raise _bad(DOCUMENT, "not a rehearse export (no sessions list)")
        expected: dict[str, tuple[str, str, int, str]] = {}
        for entry in document["sessions"]:
            try:
                session_id = str(entry["session"]["id"])
                listed = list(entry.get("folder") or [])
            except (KeyError, TypeError):
                raise _bad(DOCUMENT, "a session without an id") from None
            for item in listed:
                relative = _relative(item.get("path") if isinstance(item, dict) else None)
                member = f"sessions/{session_id}/files/{relative}"
                expected[member] = (session_id, relative, int(item["bytes"]), str(item["sha256"]))
        total = sum(size for _, _, size, _ in expected.values())
        if total > MAX_ARCHIVE_BYTES:
            raise _bad(DOCUMENT, f"lists {total} bytes of files; at most {MAX_ARCHIVE_BYTES}")
        names = set(archive.namelist())
        for name in names:
            if name == DOCUMENT or name.endswith("/report.md") or name.endswith("/"):
                continue
            if name not in expected:
                raise _bad(name, f"is in the archive but not listed in {DOCUMENT}")
        files: dict[str, dict[str, bytes]] = {}
        for member, (session_id, relative, size, digest) in expected.items():
            if member not in names:
                raise _bad(member, f"is listed in {DOCUMENT} but missing from the archive")
            if archive.getinfo(member).file_size != size:
                raise _bad(member, f"is not {size} bytes as listed")
            data = archive.read(member)
            if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
                raise _bad(member, "differs from its listed SHA-256 (a damaged archive)")
            files.setdefault(session_id, {})[relative] = data
    return document, files


def _relative(path: object) -> str:
    """``path`` if it is a plain relative path inside a folder.

    Raises:
        ConfigurationError: not a string, absolute, empty, or with ``..`` or a backslash.
    """
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        raise _bad("folder.path", f"{path!r} is not a relative file path")
    parts = PurePosixPath(path).parts
    if PurePosixPath(path).is_absolute() or any(p in ("", ".", "..") for p in parts):
        raise _bad("folder.path", f"{path!r} leaves its session folder")
    return PurePosixPath(*parts).as_posix()


def _bad(field: str, message: str) -> ConfigurationError:
    return ConfigurationError(
        f"{field}: {message}", [{"field": field, "value": None, "message": message}]
    )
