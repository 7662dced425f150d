"""``/api/v1/sessions/{id}/stream``: the session's events live, over a WebSocket.

On connect the server replays every event after ``?after=<seq>`` (0: all), then pushes
new events as they are stored (woken by the realtime notifier, never polling per
connection) and a server-authoritative ``tick`` every second with the
remaining time. A client that reconnects with the last ``seq`` it saw misses nothing:
events come from the durable log, so this works across several server workers.

Messages (JSON):
``{"type": "event", "event": {seq, type, at, actor, data}, "session": {...}}`` and
``{"type": "tick", "status", "remaining_seconds", "server_time"}``; a refused
connection is accepted and then closed with code 4401 (not signed in), 4403 (access
denied) or 4404 (no such session), so a browser's ``CloseEvent.code`` tells them apart
(a refusal before the accept would reach it as a bare HTTP 403 at the handshake).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from rehearse.domain.access import Principal
from rehearse.domain.events import Event
from rehearse.errors import AccessDeniedError, SessionNotFoundError
from rehearse.service.realtime import RealtimeSessionManager
from rehearse.service.sessions import SessionManager
from rehearse.web.auth import resolve_principal
from rehearse.web.errors import NotAuthenticatedError
from rehearse.web.schemas import session_public

router = APIRouter(tags=["stream"])

TICK_SECONDS = 1.0
RECHECK_SECONDS = 5.0
REPLAY_PAGE = 500


@router.websocket("/api/v1/sessions/{session_id}/stream")
async def stream(
    websocket: WebSocket, session_id: str, after: int = Query(0, ge=0, le=2**31 - 1)
) -> None:
    """Replay events after ``after``, then push new ones and a tick every second.

    A subscriber of the realtime bridge (issue 14): woken by the notifier when the
    session's log grows (on this worker or any other), it reads the log after the last
    ``seq`` it sent, so nothing is polled per connection and nothing is missed. After
    the session's ``realtime_closed`` event it sends ``{"type": "closed", "status",
    "last_seq"}`` and closes normally (1000).

    Access is checked at connect and again every :data:`RECHECK_SECONDS`: a revoked
    link, a closed sign-in or a disabled user stops receiving events.
    """
    manager: SessionManager = websocket.app.state.services.manager
    rt: RealtimeSessionManager = websocket.app.state.realtime
    principal = await _allowed(websocket, manager, session_id)
    if principal is None:
        return
    await websocket.accept()
    loop = asyncio.get_running_loop()
    subscription = rt.subscribe(session_id, after=max(after, 0))
    upcoming: asyncio.Task[Event] | None = None
    next_tick = 0.0  # the first tick goes out right after the replay
    next_check = loop.time() + RECHECK_SECONDS
    try:
        for event in await subscription.backlog():
            await _push(websocket, rt, manager, session_id, event, principal)
        while True:
            now = loop.time()
            if now >= next_tick:
                next_tick = now + TICK_SECONDS
                await websocket.send_json(await _tick(rt, manager, session_id))
            if now >= next_check:
                next_check = now + RECHECK_SECONDS
                if await _allowed(websocket, manager, session_id) is None:
                    return
                # a safety net, not the feed: if a wake-up was lost (a worker died between
                # its commit and its NOTIFY), one indexed read now catches up
                subscription.wake()
            if upcoming is None:
                upcoming = asyncio.ensure_future(anext(subscription))
            timeout = max(min(next_tick, next_check) - loop.time(), 0)
            done, _ = await asyncio.wait({upcoming}, timeout=timeout)
            if not done:
                continue
            task, upcoming = upcoming, None
            try:
                event = task.result()
            except StopAsyncIteration:
                session = await rt.get_session(session_id)
                await websocket.send_json(
                    {
                        "type": "closed",
                        "status": session.status.value,
                        "last_seq": subscription.last_seq,
                    }
                )
                await websocket.close(code=1000)
                return
            await _push(websocket, rt, manager, session_id, event, principal)
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        if upcoming is not None:
            upcoming.cancel()
        subscription.close()


async def _allowed(
    websocket: WebSocket, manager: SessionManager, session_id: str
) -> Principal | None:
    """The caller if they may see the session; otherwise close the socket and ``None``."""
    try:
        # a credential lookup is database I/O: keep it off the event loop
        principal = await run_in_threadpool(resolve_principal, websocket)
        await run_in_threadpool(manager.get_session_for, session_id, principal)
    except NotAuthenticatedError:
        await _refuse(websocket, 4401)
        return None
    except AccessDeniedError:
        await _refuse(websocket, 4403)
        return None
    except SessionNotFoundError:
        await _refuse(websocket, 4404)
        return None
    return principal


async def _refuse(websocket: WebSocket, code: int) -> None:
    """Close with ``code``, accepting first if needed so the client sees the code."""
    from starlette.websockets import WebSocketState

    if websocket.application_state is WebSocketState.CONNECTING:
        await websocket.accept()
    await websocket.close(code=code)


async def _push(
    websocket: WebSocket,
    rt: RealtimeSessionManager,
    manager: SessionManager,
    session_id: str,
    event: Event,
    principal: Principal,
) -> None:
    session = await rt.get_session(session_id)
    view = session_public(session, manager.clock.now(), principal)
    [shown] = manager.redact_events([event], session, principal)  # the service's rule
    await websocket.send_json({"type": "event", "event": shown.to_json(), "session": view})


async def _tick(
    rt: RealtimeSessionManager, manager: SessionManager, session_id: str
) -> dict[str, Any]:
    session = await rt.get_session(session_id)
    now = manager.clock.now()
    return {
        "type": "tick",
        "status": session.status.value,
        "remaining_seconds": session.remaining_seconds_at(now),
        "server_time": now.isoformat(),
    }
