"""What every command shares: the database URL chosen on the command line, and the services."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

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
            self._services = Services.from_url(self.database_url)
        return self._services

    def manager(self) -> SessionManager:
        """The session manager on the chosen database."""
        return self.services().manager


def services(ctx: typer.Context) -> Services:
    """The services of the running command (the composition root, as in the web app)."""
    state = ctx.find_root().obj
    assert isinstance(state, AppState)
    return state.services()


def manager(ctx: typer.Context) -> SessionManager:
    """The manager of the running command."""
    return services(ctx).manager
