"""rehearse: a self-hostable AI mock-interview platform.

The engine is :class:`SessionManager`; sessions are configured by :class:`SessionConfig`::

    from rehearse import SessionManager, SessionConfig

    with SessionManager.from_url("sqlite:///interviews.db") as manager:
        session = manager.create_session(SessionConfig(candidate_name="Ada"))
        manager.start_session(session.id)
"""

from importlib.metadata import version

from rehearse.clock import Clock, FakeClock, SystemClock
from rehearse.domain.access import Principal, PrincipalRole
from rehearse.domain.config import (
    CommunicationMode,
    InterviewMode,
    InterviewType,
    Level,
    Role,
    SessionConfig,
)
from rehearse.domain.events import Event, EventType
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.sessions import Session
from rehearse.errors import (
    AccessDeniedError,
    BudgetExceededError,
    ConcurrentUpdateError,
    ConfigurationError,
    DataStoreError,
    InvalidStateError,
    RehearseError,
    SessionImmutableError,
    SessionNotFoundError,
)
from rehearse.service.realtime import RealtimeSessionManager
from rehearse.service.sessions import SessionManager
from rehearse.storage import SessionPage

__version__ = version("rehearse")

__all__ = [
    "AccessDeniedError",
    "BudgetExceededError",
    "Clock",
    "CommunicationMode",
    "ConcurrentUpdateError",
    "ConfigurationError",
    "DataStoreError",
    "Event",
    "EventType",
    "FakeClock",
    "InterviewMode",
    "InterviewType",
    "InvalidStateError",
    "Level",
    "Principal",
    "PrincipalRole",
    "RealtimeSessionManager",
    "RehearseError",
    "Role",
    "Session",
    "SessionConfig",
    "SessionImmutableError",
    "SessionManager",
    "SessionNotFoundError",
    "SessionPage",
    "SessionStatus",
    "SystemClock",
    "__version__",
]
