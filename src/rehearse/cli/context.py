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
