"""``/api/v1/sessions/{id}/links``: candidate links (sign-in mode). Staff only.

The rules (staff only, the session must be visible to the caller, sign-in required)
are the service's (:meth:`SessionManager.create_link` and friends); this module parses
and renders.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from rehearse.errors import AccessDeniedError
from rehearse.web.bodies import StrictJSONRoute
from rehearse.web.deps import AccountsDep, ManagerDep, PrincipalDep, VisibleSessionDep
from rehearse.web.schemas import ERROR_RESPONSES, LinkCreate, LinkCreatedPublic, LinkPublic

router = APIRouter(
    prefix="/api/v1/sessions",
    tags=["sessions"],
    route_class=StrictJSONRoute,
    responses=ERROR_RESPONSES,
)


def _require_sign_in(accounts: object) -> None:
    if accounts is None:
        raise AccessDeniedError("candidate links need sign-in: start the server with --auth")


@router.post(
    "/{session_id}/links",
    status_code=status.HTTP_201_CREATED,
    response_model=LinkCreatedPublic,
    response_model_exclude_unset=True,
)
def create_link(
    request: Request,
    session: VisibleSessionDep,
    body: LinkCreate,
    principal: PrincipalDep,
    manager: ManagerDep,
    accounts: AccountsDep,
) -> dict[str, Any]:
    """Create an unguessable, expiring link that lets a candidate take this one session."""
    manager.require_staff(principal, "create candidate links")
    _require_sign_in(accounts)
    token, link = manager.create_link(session.id, principal, body.ttl_seconds)
    return {
        "id": link.id,
        "url": str(request.url_for("join", token=token)),
        "expires_at": link.expires_at.isoformat(),
    }


@router.get(
    "/{session_id}/links", response_model=list[LinkPublic], response_model_exclude_unset=True
)
def list_links(
    session: VisibleSessionDep, principal: PrincipalDep, manager: ManagerDep, accounts: AccountsDep
) -> list[dict[str, Any]]:
    """The session's candidate links (never their tokens)."""
    manager.require_staff(principal, "see candidate links")
    if accounts is None:
        return []
    return [link.model_dump(mode="json") for link in manager.list_links(session.id, principal)]


@router.delete(
    "/{session_id}/links/{link_id}", response_model=LinkPublic, response_model_exclude_unset=True
)
def revoke_link(
    session: VisibleSessionDep,
    link_id: str,
    principal: PrincipalDep,
    manager: ManagerDep,
    accounts: AccountsDep,
) -> dict[str, Any]:
    """Revoke a candidate link of this session at once (a leaked link stops working)."""
    manager.require_staff(principal, "revoke candidate links")
    _require_sign_in(accounts)
    return dict(manager.revoke_link(session.id, link_id, principal).model_dump(mode="json"))
