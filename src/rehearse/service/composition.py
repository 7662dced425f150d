"""The composition root: every service built once, from one database URL.

The web app, the CLI and the Python API all start here (issue 8), so each part is wired
in exactly one place::

    services = Services.from_url("sqlite:///rehearse.db")
    services.manager.create_session({...})     # the seed-named facade
    services.accounts.create_user(...)         # users, tokens, links (sign-in mode)

Tests build one over a store of their own with :meth:`Services.build`, passing a
:class:`~rehearse.clock.FakeClock` and the offline or scripted AI parts.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rehearse.ai.protocols import Evaluator, Interviewer
from rehearse.ai.providers import ModelSource, ProviderModels
from rehearse.clock import Clock, SystemClock
from rehearse.service.ai_parts import AIParts
from rehearse.service.interviews import InterviewService
from rehearse.service.lifecycle import SessionService
from rehearse.service.reports import ReportService
from rehearse.service.writer import SessionWriter
from rehearse.settings import get_settings
from rehearse.storage import Store, open_store
from rehearse.storage.folders import SessionFolders

if TYPE_CHECKING:
    from rehearse.service.accounts import AccountService
    from rehearse.service.background import Background
    from rehearse.service.progress import ProgressService
    from rehearse.service.sessions import SessionManager


class Services:
    """Every service of one installation, composed around one :class:`SessionWriter`.

    Attributes:
        store: the session store.
        clock: the time source.
        writer: the one writer every session change goes through.
        sessions: lifecycle, time, budget, listing and access.
        interviews: plan, questions, answers, skips, whiteboards.
        reports: report generation and release.
        ai: the AI collaborator (offline or LLM parts per session, budget, fallbacks).
        folders: the session folders on disk.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock | None = None,
        *,
        interviewer: Interviewer | None = None,
        evaluator: Evaluator | None = None,
        folders: Path | None = None,
        models: ModelSource | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.writer = SessionWriter(store, self.clock)
        self.folders = SessionFolders(folders or get_settings().data_dir / "sessions")
        self.sessions = SessionService(self.writer)
        self.ai = AIParts(
            self.writer,
            models or ProviderModels(),
            interviewer,  # None: the offline part, built on first use
            evaluator,
            self.sessions.record_usage,
        )
        self.interviews = InterviewService(self.writer, self.ai, self.folders)
        self.sessions.prepare = self.interviews.prepare
        self.reports = ReportService(self.writer, self.interviews, self.ai)
        if getattr(store, "engine", None) is not None:  # progress needs the SQL tables
            # milestones are recorded when achieved: once the ending's report is stored
            self.reports.on_stored(lambda session: self.progress.record_milestones(session.id))

    @classmethod
    def from_url(cls, database_url: str | None = None, clock: Clock | None = None) -> Services:
        """Services on the database ``database_url`` names, migrated to the current schema.

        No URL means ``REHEARSE_DATABASE_URL``, else the SQLite file in the user data
        directory.

        Raises:
            ConfigurationError: the URL is malformed or unsupported.
            DataStoreError: the database cannot be reached or migrated.
        """
        url = database_url or get_settings().resolved_database_url()
        return cls(open_store(url), clock)

    @cached_property
    def manager(self) -> SessionManager:
        """The seed-named facade over these services."""
        from rehearse.service.sessions import SessionManager

        return SessionManager(services=self)

    @cached_property
    def accounts(self) -> AccountService:
        """Users, API tokens, candidate links and browser sessions, on the same database.

        Raises:
            ConfigurationError: the store is not a SQL store (accounts need SQL tables).
        """
        from rehearse.errors import ConfigurationError
        from rehearse.service.accounts import AccountService
        from rehearse.storage.accounts import AccountStore

        engine = getattr(self.store, "engine", None)
        if engine is None:
            raise ConfigurationError("accounts need a SQL database (SQLite or PostgreSQL)")
        return AccountService(AccountStore(engine), self.clock)

    @cached_property
    def progress(self) -> ProgressService:
        """Progress across sessions (seed 004): SQL aggregates over the score projections.

        Preferences (``me``, time zone, target level) are read from
        ``<data dir>/progress.json`` at each call, so ``rehearse progress --as`` takes
        effect at once.
        """
        from rehearse.service.progress import ProgressService, load_preferences, preferences_path

        path = preferences_path()
        return ProgressService(self.store, self.clock, preferences=lambda: load_preferences(path))

    def background(self, *, sweep_seconds: float, voice_worker: bool = False) -> Background:
        """The owner of this installation's background work (see :mod:`.background`)."""
        from rehearse.service.background import Background

        return Background(self, sweep_seconds=sweep_seconds, voice_worker=voice_worker)

    def close(self) -> None:
        """Stop the model workers and release the store's connections."""
        self.interviews.close()
        self.store.close()
