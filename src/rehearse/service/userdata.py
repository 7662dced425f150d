"""A user's right to their data (issue 12, item 7): export, import and deletion.

Export is a JSON document with a versioned schema (``docs/export-schema.json``): each
session's current row and its whole event log, instants in ISO 8601, ids kept, so
:meth:`UserData.import_document` rebuilds the same sessions (and, through the
projections, the same progress figures) in another installation. A session also exports
as its Markdown report; a user's answers as CSV.

Deletion removes every row of the user's sessions, their progress rows, their account
(tokens, browser sessions) and their session folders in one operation, and writes what
was removed (counts, never content) to the admin ``audit_log``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import insert, select

from rehearse.domain.access import LOCAL_PRINCIPAL, Principal, PrincipalRole
from rehearse.domain.events import Event, EventType
from rehearse.domain.sessions import Session
from rehearse.errors import AccessDeniedError, ConfigurationError, SessionNotFoundError
from rehearse.service import access, archives
from rehearse.service.progress import EVERYONE
from rehearse.storage import transactions, userdata
from rehearse.storage.folders import write_atomic
from rehearse.storage.schema import answer_scores, audit_log

EXPORT_FORMAT = "rehearse-export"
EXPORT_VERSION = 1
ANSWER_COLUMNS = (
    "session_id",
    "item_id",
    "question_id",
    "kind",
    "category",
    "score",
    "key_points_hit",
    "key_points_missed",
    "key_point_coverage",
    "correctness",
    "depth",
    "structure",
    "communication",
    "at",
)


class UserData:
    """Export, import and deletion over a session manager's store and folders."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.store = manager.store
        self.engine = manager.store.engine

    # -- export ----------------------------------------------------------------------

    def export_user(self, user: str | None, principal: Principal | None = None) -> dict[str, Any]:
        """Every session of ``user`` (as :meth:`ProgressService.resolve` names them).

        Raises:
            AccessDeniedError: the caller may not see this user's sessions.
        """
        key, scope = self.manager.services.progress.resolve(user, principal)
        if key == EVERYONE:
            with transactions.read(self.engine, "list sessions") as connection:
                from rehearse.storage.schema import sessions

                ids = list(
                    connection.execute(
                        select(sessions.c.id).order_by(sessions.c.created_at)
                    ).scalars()
                )
        else:
            ids = userdata.session_ids(self.engine, key)
        if scope.created_by is not None:  # an interviewer exports what they created
            ids = [i for i in ids if (s := self.store.get(i)) and s.created_by == scope.created_by]
        return self._document(key, ids)

    def export_session(self, session_id: str, principal: Principal | None = None) -> dict[str, Any]:
        """One session as an export document.

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the caller may not see it.
            ReportHiddenError: its mode keeps the scores from the caller for now.
        """
        who = principal or LOCAL_PRINCIPAL
        session = self.manager.get_session_for(session_id, who)
        access.require_scores_visible(session, who)  # an export holds every evaluation
        return self._document(None, [session_id])

    def _document(self, key: str | None, ids: list[str]) -> dict[str, Any]:
        entries = []
        for session_id in ids:
            session = self.store.get(session_id)
            if session is None:
                raise SessionNotFoundError(session_id)
            events = self.store.get_events(session_id)
            files = self.manager.folders.metadata(session_id).get("files", [])
            entries.append(
                {
                    "session": session.model_dump(mode="json"),
                    "events": [e.model_dump(mode="json", exclude={"position"}) for e in events],
                    "files": files,
                    "folder": archives.folder_files(self.manager.folders.folder(session_id)),
                }
            )
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": self.manager.clock.now().isoformat(),
            "user": key,
            "sessions": entries,
        }

    def answers_csv(self, document: dict[str, Any]) -> str:
        """The scored answers of the document's sessions, one a line, with a header."""
        ids = [entry["session"]["id"] for entry in document["sessions"]]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ANSWER_COLUMNS)
        with transactions.read(self.engine, "export answers") as connection:
            for start in range(0, len(ids), 500):
                rows = connection.execute(
                    select(*[answer_scores.c[c] for c in ANSWER_COLUMNS])
                    .where(answer_scores.c.session_id.in_(ids[start : start + 500]))
                    .order_by(answer_scores.c.at, answer_scores.c.session_id)
                )
                for row in rows:
                    writer.writerow(
                        [
                            "" if v is None else v.isoformat() if hasattr(v, "isoformat") else v
                            for v in row
                        ]
                    )
        return out.getvalue()

    def write_archive(self, document: dict[str, Any], target: IO[bytes]) -> int:
        """Write ``document`` as a zip (:mod:`rehearse.service.archives`); returns files stored.

        Each session with a plan gets its Markdown report: the stored one, else (a
        running offline session) one built now and not stored; whiteboards are linked
        to their files inside the archive.
        """
        folders = {
            entry["session"]["id"]: self.manager.folders.folder(entry["session"]["id"])
            for entry in document["sessions"]
        }
        reports = {}
        for entry in document["sessions"]:
            markdown = self._report_markdown(entry)
            if markdown is not None:
                reports[entry["session"]["id"]] = markdown
        return archives.write(target, document, folders, reports)

    def _report_markdown(self, entry: dict[str, Any]) -> str | None:
        from rehearse.domain.reports import Report
        from rehearse.rendering import render_markdown

        events = entry["events"]
        stored = [e for e in events if e["type"] == EventType.REPORT_GENERATED.value]
        if stored:
            report = Report.model_validate(stored[-1]["data"]["report"])
        else:
            session = Session.model_validate(entry["session"])
            if session.interview is None or self.manager.services.ai.model_ref(session):
                return None  # no plan, or a model would be asked for the words
            report = self.manager.services.reports.build(session)
        listed = {item["path"] for item in entry.get("folder") or []}
        drawings = {
            str(e["data"]["item_id"]): f"files/{e['data']['file']}"
            for e in events
            if e["type"] == EventType.WHITEBOARD_SAVED.value and e["data"].get("file") in listed
        }
        return render_markdown(report, drawings)

    # -- import ----------------------------------------------------------------------

    def import_archive(
        self, source: Path | IO[bytes], principal: Principal | None = None
    ) -> tuple[int, int]:
        """Restore a zip export: its sessions (ids kept) and their files, byte for byte.

        Everything is checked first (:func:`rehearse.service.archives.read`); the files
        are written into empty session folders, then the rows in one transaction; if
        the rows are refused the folders written are removed again.

        Returns:
            ``(sessions imported, files restored)``.

        Raises:
            AccessDeniedError: the caller is not an admin.
            ConfigurationError: a malformed or damaged archive, an export this version
                cannot read, a session id that exists here, or a session folder here
                that already holds files.
        """
        access.require_admin(principal or LOCAL_PRINCIPAL, "import an export")
        document, files = archives.read(source)
        self._check_header(document)
        folders = self.manager.folders
        for session_id in files:
            folder = folders.folder(session_id)
            if folder.exists() and any(folder.iterdir()):
                raise ConfigurationError(
                    f"session {session_id}: its folder {folder} already holds files here; "
                    "import into a fresh data directory, or delete the session first",
                    [{"field": "sessions", "value": session_id, "message": "folder not empty"}],
                )
        written: list[Path] = []
        try:
            for session_id, contents in files.items():
                folder = folders.folder(session_id)
                written.append(folder)
                for relative, data in contents.items():
                    target = folder / relative
                    if not target.resolve().is_relative_to(folder.resolve()):
                        raise ConfigurationError(f"{relative!r}: leaves its session folder")
                    write_atomic(target, data)
            count = self.import_document(document, principal)
        except BaseException:
            for folder in written:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        return count, sum(len(contents) for contents in files.values())

    def import_document(self, document: Any, principal: Principal | None = None) -> int:
        """Restore the sessions of an export document (ids kept); returns how many.

        Raises:
            AccessDeniedError: the caller is not an admin.
            ConfigurationError: not a rehearse export, an unknown version, a malformed
                session or event, or a session id that already exists here.
        """
        access.require_admin(principal or LOCAL_PRINCIPAL, "import an export")
        self._check_header(document)
        entries: list[tuple[Session, list[Event]]] = []
        for index, entry in enumerate(document.get("sessions") or []):
            try:
                session = Session.model_validate(entry["session"])
                events = [
                    Event.model_validate(e | {"session_id": session.id}) for e in entry["events"]
                ]
            except (KeyError, TypeError, ValidationError) as exc:
                raise ConfigurationError(
                    f"sessions[{index}]: not a valid exported session ({exc})".splitlines()[0],
                    [{"field": f"sessions[{index}]", "value": None, "message": "malformed"}],
                ) from None
            entries.append((session, events))
        return userdata.import_sessions(self.engine, entries)

    @staticmethod
    def _check_header(document: Any) -> None:
        """Refuse what is not a rehearse export of a version this code reads.

        Raises:
            ConfigurationError: naming ``format`` or ``version``.
        """
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise ConfigurationError(
                f"format={document.get('format') if isinstance(document, dict) else None!r}: "
                f"not a rehearse export (expected format {EXPORT_FORMAT!r})",
                [{"field": "format", "value": None, "message": f"must be {EXPORT_FORMAT}"}],
            )
        version = document.get("version")
        if version != EXPORT_VERSION:
            raise ConfigurationError(
                f"version={version!r}: this rehearse reads export version {EXPORT_VERSION}",
                [{"field": "version", "value": version, "message": f"must be {EXPORT_VERSION}"}],
            )

    # -- deletion --------------------------------------------------------------------

    def delete_user(self, user: str, principal: Principal | None = None) -> dict[str, Any]:
        """Remove every row and file of ``user``; returns and audits the counts.

        Admins may delete anyone; a candidate only themself.

        Raises:
            AccessDeniedError: an interviewer, or a candidate deleting someone else.
            ConfigurationError: ``user`` names everyone (``*``).
        """
        who = principal or LOCAL_PRINCIPAL
        key = self._deletable(user, who)
        account = userdata.account_email(self.engine, key)
        with transactions.write(self.engine, f"delete the data of {key}") as connection:
            # the ids are read in the deleting transaction: a session the user creates
            # meanwhile is deleted too, or waits for this to commit
            ids = userdata.session_ids_in(connection, key)
            rows = userdata.delete_user(connection, key, ids, account)
            files = sum(self._file_count(i) for i in ids)
            details = {"sessions": len(ids), "rows": rows, "files": files}
            connection.execute(
                insert(audit_log).values(
                    at=self.manager.clock.now(),
                    actor=who.id,
                    action="user_data_deleted",
                    subject_sha256=hashlib.sha256(key.encode()).hexdigest(),
                    details=details,
                )
            )
        for session_id in ids:
            shutil.rmtree(self.manager.folders.folder(session_id), ignore_errors=True)
        return details

    def _deletable(self, user: str, who: Principal) -> str:
        """The candidate key of ``user``, if ``who`` may delete their data.

        Raises:
            AccessDeniedError: see :func:`rehearse.service.access.require_may_delete_user_data`.
            ConfigurationError: ``user`` names everyone (``*``).
        """
        if who.role is PrincipalRole.INTERVIEWER:  # refused before the name is looked up
            access.require_may_delete_user_data(who, "")
        key, _ = self.manager.services.progress.resolve(user, who)
        if key == EVERYONE:
            raise ConfigurationError(
                "user='*': name one user to delete (an e-mail, a user id or a name)",
                [{"field": "user", "value": user, "message": "one user"}],
            )
        access.require_may_delete_user_data(who, key)
        return str(key)

    def may_delete(self, user: str, principal: Principal) -> bool:
        """True when ``principal`` may delete the data of ``user`` (what a page offers)."""
        try:
            self._deletable(user, principal)
        except (AccessDeniedError, ConfigurationError):
            return False
        return True

    def deletion_preview(self, user: str, principal: Principal | None = None) -> dict[str, Any]:
        """What :meth:`delete_user` would remove, counted, nothing changed (a confirmation step).

        Returns:
            ``{"user": key, "sessions": n, "files": n, "account": bool}``.

        Raises:
            AccessDeniedError, ConfigurationError: as :meth:`delete_user`.
        """
        key = self._deletable(user, principal or LOCAL_PRINCIPAL)
        ids = userdata.session_ids(self.engine, key)
        return {
            "user": key,
            "sessions": len(ids),
            "files": sum(self._file_count(i) for i in ids),
            "account": userdata.account_email(self.engine, key) is not None,
        }

    def _file_count(self, session_id: str) -> int:
        folder = self.manager.folders.folder(session_id)
        return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0

    def audit_entries(self, principal: Principal | None = None) -> list[dict[str, Any]]:
        """The audit log, newest first (admins only).

        Raises:
            AccessDeniedError: the caller is not an admin.
        """
        access.require_admin(principal or LOCAL_PRINCIPAL, "read the audit log")
        with transactions.read(self.engine, "read the audit log") as connection:
            rows = connection.execute(select(audit_log).order_by(audit_log.c.id.desc())).all()
        return [
            {
                "at": row.at.isoformat(),
                "actor": row.actor,
                "action": row.action,
                "subject_sha256": row.subject_sha256,
                "details": row.details,
            }
            for row in rows
        ]
