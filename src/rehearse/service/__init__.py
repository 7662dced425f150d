"""The service layer: the only code that talks to storage and AI providers.

Composed, not inherited (issue 8): :class:`~rehearse.service.composition.Services` builds
the writer and the services around it once; :class:`SessionManager` is the facade with
the seeds' method names.
"""

from rehearse.service.composition import Services
from rehearse.service.sessions import SessionManager

__all__ = ["Services", "SessionManager"]
