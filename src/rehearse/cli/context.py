"""What every command shares: the database URL chosen on the command line, and the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # the service (SQLAlchemy, pydantic) loads when a command needs it
    from rehearse.service.composition import Services
    from rehearse.service.sessions import SessionManager


@dataclass
class AppState:
    """Per-invocation state set by the root callback."""

    database_url: str | None = None
    _services: Services | None = field(default=None, repr=False)

    def services(self) -> Services:
        """The services on the chosen database, composed once per invocation."""
        if self._services is None:
            from rehearse.service.composition import Services

            self._services = Services.from_url(self.database_url)
        return self._services

    def manager(self) -> SessionManager:
        """The session manager on the chosen database."""
        return self.services().manager

    def close(self) -> None:
        """Close the services (and their database connections) if the command opened them."""
        if self._services is not None:
            self._services.close()
            self._services = None


def services(ctx: typer.Context) -> Services:
    """The services of the running command (the composition root, as in the web app)."""
    state = ctx.find_root().obj
    assert isinstance(state, AppState)
    return state.services()


def manager(ctx: typer.Context) -> SessionManager:
    """The manager of the running command."""
    return services(ctx).manager


def session_id(ctx: typer.Context, given: str) -> str:
    """The whole session id for what was typed: a whole id, or a unique prefix of 6+ characters.

    Raises:
        ConfigurationError: the prefix is too short or ambiguous (the candidates are named).
        SessionNotFoundError: no session id starts with it.
    """
    return manager(ctx).resolve_session_id(given)
