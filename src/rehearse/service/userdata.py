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
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select

from rehearse.domain.access import LOCAL_PRINCIPAL, Principal, PrincipalRole
from rehearse.domain.events import Event
from rehearse.domain.sessions import Session
from rehearse.errors import AccessDeniedError, ConfigurationError, SessionNotFoundError
from rehearse.service.progress import EVERYONE
from rehearse.storage import transactions, userdata
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
        """
        self.manager.get_session_for(session_id, principal or LOCAL_PRINCIPAL)
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

    # -- import ----------------------------------------------------------------------

    def import_document(self, document: Any) -> int:
        """Restore the sessions of an export document (ids kept); returns how many.

        Raises:
            ConfigurationError: not a rehearse export, an unknown version, a malformed
                session or event, or a session id that already exists here.
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

    # -- deletion --------------------------------------------------------------------

    def delete_user(self, user: str, principal: Principal | None = None) -> dict[str, Any]:
        """Remove every row and file of ``user``; returns and audits the counts.

        Admins may delete anyone; a candidate only themself.

        Raises:
            AccessDeniedError: an interviewer, or a candidate deleting someone else.
            ConfigurationError: ``user`` names everyone (``*``).
        """
        who = principal or LOCAL_PRINCIPAL
        if who.role is PrincipalRole.INTERVIEWER:
            raise AccessDeniedError(
                f"interviewer {who.id!r} may not delete a user's data; ask an admin"
            )
        key, _ = self.manager.services.progress.resolve(user, who)
        if key == EVERYONE:
            raise ConfigurationError(
                "user='*': name one user to delete (an e-mail, a user id or a name)",
                [{"field": "user", "value": user, "message": "one user"}],
            )
        ids = userdata.session_ids(self.engine, key)
        account = userdata.account_email(self.engine, key)
        with transactions.write(self.engine, f"delete the data of {key}") as connection:
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

    def _file_count(self, session_id: str) -> int:
        folder = self.manager.folders.folder(session_id)
        return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0

    def audit_entries(self, principal: Principal | None = None) -> list[dict[str, Any]]:
        """The audit log, newest first (admins only).

        Raises:
            AccessDeniedError: the caller is not an admin.
        """
        who = principal or LOCAL_PRINCIPAL
        if who.role is not PrincipalRole.ADMIN:
            raise AccessDeniedError(f"{who.role.value} {who.id!r} may not read the audit log")
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
