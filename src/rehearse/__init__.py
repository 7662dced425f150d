"""rehearse: a self-hostable AI mock-interview platform.

The engine is :class:`SessionManager`; sessions are configured by :class:`SessionConfig`::

    from rehearse import SessionManager, SessionConfig

    with SessionManager.from_url("sqlite:///interviews.db") as manager:
        session = manager.create_session(SessionConfig(candidate_name="Ada"))
        manager.start_session(session.id)

The names below are imported on first use (PEP 562), so ``import rehearse`` and the
``rehearse`` command start at once: the service, SQLAlchemy and pydantic load only when
a name that needs them is asked for (issue 8 item 5).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from rehearse.service.composition import Services
    from rehearse.service.realtime import RealtimeSessionManager
    from rehearse.service.sessions import SessionManager
    from rehearse.storage import SessionPage

    __version__: str

#: Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "AccessDeniedError": "rehearse.errors",
    "BudgetExceededError": "rehearse.errors",
    "Clock": "rehearse.clock",
    "CommunicationMode": "rehearse.domain.config",
    "ConcurrentUpdateError": "rehearse.errors",
    "ConfigurationError": "rehearse.errors",
    "DataStoreError": "rehearse.errors",
    "Event": "rehearse.domain.events",
    "EventType": "rehearse.domain.events",
    "FakeClock": "rehearse.clock",
    "InterviewMode": "rehearse.domain.config",
    "InterviewType": "rehearse.domain.config",
    "InvalidStateError": "rehearse.errors",
    "Level": "rehearse.domain.config",
    "Principal": "rehearse.domain.access",
    "PrincipalRole": "rehearse.domain.access",
    "RealtimeSessionManager": "rehearse.service.realtime",
    "RehearseError": "rehearse.errors",
    "Role": "rehearse.domain.config",
    "Session": "rehearse.domain.sessions",
    "SessionConfig": "rehearse.domain.config",
    "SessionImmutableError": "rehearse.errors",
    "SessionManager": "rehearse.service.sessions",
    "SessionNotFoundError": "rehearse.errors",
    "SessionPage": "rehearse.storage",
    "SessionStatus": "rehearse.domain.lifecycle",
    "Services": "rehearse.service.composition",
    "SystemClock": "rehearse.clock",
}

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
    "Services",
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


def __getattr__(name: str) -> Any:
    """Import a public name on first use and keep it (PEP 562).

    Raises:
        AttributeError: ``name`` is not one of :data:`__all__`.
    """
    if name == "__version__":
        from importlib.metadata import version

        value: Any = version("rehearse")
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'rehearse' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
