"""Signing in and out in the browser, and candidate links (``--auth`` mode).

``POST /login`` checks e-mail and password and sets the ``rehearse_session`` cookie
(HttpOnly, SameSite=Lax, Secure over HTTPS); only its hash is stored. ``GET /join/{token}``
turns a candidate link into a cookie for its one session and opens the interview.
Interviewers create links with ``POST /api/v1/sessions/{id}/links``
(:mod:`rehearse.web.api.links`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rehearse.errors import AccessDeniedError
from rehearse.web.auth import LINK_COOKIE, SESSION_COOKIE
from rehearse.web.bodies import StrictJSONRoute
from rehearse.web.deps import AccountsDep, PrincipalDep
from rehearse.web.pages import templates  # one template environment, with the app's filters

router = APIRouter(route_class=StrictJSONRoute)


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form (in local mode, straight to the app)."""
    if not request.app.state.auth_enabled:
        return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "email": ""}
    )


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login(
    request: Request,
    accounts: AccountsDep,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check the credentials; on success set the login cookie and go to ``next``."""
    if accounts is None:
        return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    try:
        principal = accounts.authenticate(email, password)
    except AccessDeniedError as error:
        context: dict[str, Any] = {"next": _safe_next(next), "error": str(error), "email": email}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    token, web_session = accounts.open_web_session(principal.id)
    response = RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    max_age = int((web_session.expires_at - web_session.created_at).total_seconds())
    _cookie(request, response, SESSION_COOKIE, token, max_age)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, principal: PrincipalDep, accounts: AccountsDep) -> Response:
    """Close the browser session (the CSRF token is checked like any unsafe request)."""
    token = request.cookies.get(SESSION_COOKIE)
    if accounts is not None and token:
        accounts.close_web_session(token)
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(LINK_COOKIE, path="/")
    return response


@router.get("/join/{token}", include_in_schema=False)
def join(request: Request, token: str, accounts: AccountsDep) -> Response:
    """Open a candidate link: remember it in a cookie and go to its interview."""
    if accounts is None:
        return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    principal = accounts.principal_for_link(token)
    [session_id] = sorted(principal.sessions)
    response = RedirectResponse(f"/sessions/{session_id}", status_code=status.HTTP_303_SEE_OTHER)
    _cookie(request, response, LINK_COOKIE, token, 30 * 24 * 3600)
    return response


def _safe_next(target: str) -> str:
    """Only same-site paths: an open redirect would let a link send people elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
