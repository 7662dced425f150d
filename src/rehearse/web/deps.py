"""FastAPI dependencies, as ``Annotated`` aliases (the full-stack-fastapi-template habit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rehearse.domain.access import Principal, PrincipalRole
from rehearse.domain.sessions import Session
from rehearse.errors import AccessDeniedError
from rehearse.service.sessions import SessionManager
from rehearse.web.auth import resolve_principal


def get_manager(request: Request) -> SessionManager:
    """The app's session manager (opened by the lifespan)."""
    manager: SessionManager = request.app.state.manager
    return manager


def get_principal(request: Request) -> Principal:
    """The caller (see :mod:`rehearse.web.auth`)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is None:
        cached = resolve_principal(request)
        request.state.principal = cached
    return cached


ManagerDep = Annotated[SessionManager, Depends(get_manager)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_visible_session(session_id: str, manager: ManagerDep, principal: PrincipalDep) -> Session:
    """The session named in the path, if the caller may see it (404 / 403 otherwise)."""
    return manager.get_session_for(session_id, principal)


VisibleSessionDep = Annotated[Session, Depends(get_visible_session)]


def require_staff(principal: Principal, action: str) -> None:
    """Only interviewers and admins may ``action`` (candidates take sessions, they don't set them).

    Raises:
        AccessDeniedError: the principal is a candidate.
    """
    if principal.role is PrincipalRole.CANDIDATE:
        raise AccessDeniedError(f"a candidate may not {action}; ask your interviewer")
