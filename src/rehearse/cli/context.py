"""What every command shares: the database URL chosen on the command line, and the manager."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # the service (SQLAlchemy, pydantic) loads when a command needs it
    from rehearse.service.sessions import SessionManager


@dataclass
class AppState:
    """Per-invocation state set by the root callback."""

    database_url: str | None = None
    _manager: SessionManager | None = field(default=None, repr=False)

    def manager(self) -> SessionManager:
        """The session manager on the chosen database, opened once per invocation."""
        if self._manager is None:
            from rehearse.service.sessions import SessionManager

            self._manager = SessionManager.from_url(self.database_url)
        return self._manager

    def close(self) -> None:
        """Close the manager (and its database connections) if the command opened one."""
        if self._manager is not None:
            self._manager.close()
            self._manager = None


def manager(ctx: typer.Context) -> SessionManager:
    """The manager of the running command."""
    state = ctx.find_root().obj
    assert isinstance(state, AppState)
    return state.manager()


def session_id(ctx: typer.Context, given: str) -> str:
    """The whole session id for what was typed: a whole id, or a unique prefix of 6+ characters.

    Raises:
        ConfigurationError: the prefix is too short or ambiguous (the candidates are named).
        SessionNotFoundError: no session id starts with it.
    """
    mgr = manager(ctx)
    # the service exposes the store's look-up once it is composed (issue 8); until then the
    # CLI, a local admin, asks the store
    resolve = getattr(mgr, "resolve_session_id", None) or mgr.store.resolve_session_id
    whole: str = resolve(given)
    return whole
