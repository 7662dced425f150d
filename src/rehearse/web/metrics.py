"""``/metrics``: the realtime bridge and sweeps in the Prometheus text format, for admins.

Each worker serves its own figures (queue depth, batch sizes, flush latency, events,
subscribers, expiry sweeps); scrape every worker, not the load balancer. Access: admins
only (the local user of a single-user install is one), like every admin page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from rehearse.domain.access import PrincipalRole
from rehearse.errors import AccessDeniedError
from rehearse.service.realtime import RealtimeSessionManager
from rehearse.web.deps import PrincipalDep

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request, principal: PrincipalDep) -> Response:
    """This worker's metrics (Prometheus text format 0.0.4). Admins only."""
    if principal.role is not PrincipalRole.ADMIN:
        raise AccessDeniedError("only an admin may read /metrics")
    rt: RealtimeSessionManager = request.app.state.realtime
    rt.metrics.queue_depth.set(rt.queue_depth)
    return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)
