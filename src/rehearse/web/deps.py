"""FastAPI dependencies, as ``Annotated`` aliases (the full-stack-fastapi-template habit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from rehearse.clock import Clock
from rehearse.domain.access import Principal
from rehearse.domain.sessions import Session
from rehearse.service.accounts import AccountService
from rehearse.service.composition import Services
from rehearse.service.sessions import SessionManager
from rehearse.web.auth import resolve_principal


async def get_services(request: Request) -> Services:
    """The app's services (composed once by the lifespan)."""
    services: Services = request.app.state.services
    return services


async def get_manager(request: Request) -> SessionManager:
    """The app's session manager: the facade over its services."""
    services: Services = request.app.state.services
    return services.manager


async def get_accounts(request: Request) -> AccountService | None:
    """The account service in sign-in mode (``--auth``), else ``None``."""
    accounts: AccountService | None = request.app.state.accounts
    return accounts


def principal_of(request: Request) -> Principal:
    """The caller, resolved once per request (sync: for code already in a worker thread)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is None:
        cached = resolve_principal(request)
        request.state.principal = cached
    return cached


async def get_principal(request: Request) -> Principal:
    """The caller (see :mod:`rehearse.web.auth`), as a dependency.

    Async on purpose: a sync dependency costs a trip to the thread pool per request
    (measured in benchmarks/bench_http.py); only a credential lookup needs one.
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:  # resolved by the edge guard before the body was read
        return cached
    if request.app.state.auth_enabled:
        return await run_in_threadpool(principal_of, request)
    return principal_of(request)  # local mode: no I/O


async def get_clock(request: Request) -> Clock:
    """The clock the app runs on (the services': a fake one under test)."""
    services: Services = request.app.state.services
    return services.clock


ServicesDep = Annotated[Services, Depends(get_services)]
ManagerDep = Annotated[SessionManager, Depends(get_manager)]
AccountsDep = Annotated[AccountService | None, Depends(get_accounts)]
ClockDep = Annotated[Clock, Depends(get_clock)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_visible_session(
    session_id: str, manager: ManagerDep, principal: PrincipalDep
) -> Session:
    """The session named in the path, if the caller may see it (404 / 403 otherwise).

    On SQLite the read runs inline: it is an in-process lookup of well under a
    millisecond, and WAL readers never wait for writers, so a trip to the thread pool
    would cost more than the read (benchmarks/bench_http.py). PostgreSQL reads go to
    the thread pool, as network I/O must not block the event loop.
    """
    if getattr(manager.store, "dialect", None) == "sqlite":
        session = manager.peek_session_for(session_id, principal)
        if session is not None:
            return session
    # a session whose time ran out is expired (and reported) first: that is a write
    return await run_in_threadpool(manager.get_session_for, session_id, principal)


VisibleSessionDep = Annotated[Session, Depends(get_visible_session)]
