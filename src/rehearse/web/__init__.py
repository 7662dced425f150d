"""The web app: REST API under ``/api/v1``, a WebSocket event stream, and server-rendered pages.

Thin, like the CLI: handlers parse, call :class:`~rehearse.service.sessions.SessionManager`,
and render. Every handler that names a session checks that the caller may see it.
"""

from rehearse.web.app import create_app

__all__ = ["create_app"]
