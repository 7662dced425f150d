"""The service layer: the only code that talks to storage and AI providers."""

from rehearse.service.sessions import SessionManager

__all__ = ["SessionManager"]
