"""The app factory: ``create_app`` builds the FastAPI app; the lifespan opens and closes storage.

Background work has one owner, :class:`rehearse.service.background.Background`: the
expiry sweep every few seconds (safe with several workers: each expiry is a
version-checked change), the reports of sessions that just ended, at start the
evaluation of answers a crash left unscored and, in ``rehearse serve``, the
transcription worker (one per machine: the serving process holding its file lock).
Request logs are one structured line per request (method, path, status, milliseconds),
never with bodies, tokens or cookies; link tokens and query-string secrets in the path
are redacted (:mod:`rehearse.web.redaction`).
Every request passes :class:`~rehearse.web.guard.EdgeGuard` (allowed hosts, origin,
authentication and body limits) before the app reads its body.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rehearse import __version__
from rehearse.clock import Clock, ScaledClock
from rehearse.errors import ConfigurationError
from rehearse.service.composition import Services
from rehearse.service.realtime import RealtimeSessionManager
from rehearse.service.sessions import SessionManager
from rehearse.settings import get_settings
from rehearse.web import errors, login, metrics
from rehearse.web.api import files, interview, links, progress, realtime, sessions
from rehearse.web.api import spoken as spoken_api
from rehearse.web.api import voice as voice_api
from rehearse.web.guard import EdgeGuard, allowed_hosts_for
from rehearse.web.redaction import install_redaction, redact
from rehearse.web.schemas import HealthPublic
from rehearse.web.stream import router as stream_router

log = logging.getLogger("rehearse.web")
STATIC = Path(__file__).parent / "static"
SWEEP_SECONDS = 5.0


def create_app(
    services_factory: Callable[[], Services | SessionManager] | None = None,
    *,
    auth: bool = False,
    sweep_seconds: float = SWEEP_SECONDS,
    allowed_hosts: Collection[str] | None = None,
    max_body_bytes: int | None = None,
    max_upload_bytes: int | None = None,
    voice_worker: bool = False,
) -> FastAPI:
    """Build the web app.

    Args:
        services_factory: composes the services at start-up (default: the configured
            database, :meth:`Services.from_url`); a factory of a
            :class:`SessionManager` is accepted too (its services are used).
        auth: require sign-in (tokens, login cookie, candidate links); off means
            every request is the local user.
        sweep_seconds: how often the expiry sweep runs (0: never).
        allowed_hosts: host names the ``Host`` header may name (see
            :func:`~rehearse.web.guard.allowed_hosts_for`); ``None`` checks none, which
            only an app driven in-process should do (``rehearse serve`` always passes them).
        max_body_bytes: request body limit, bytes (default: ``REHEARSE_MAX_BODY_BYTES``).
        max_upload_bytes: whiteboard upload limit, bytes (default:
            ``REHEARSE_MAX_UPLOAD_BYTES``).
        voice_worker: run the transcription worker under the background owner
            (``rehearse serve`` passes ``voice_worker_in_serve``; off in-process, so a
            test app transcribes only when it drains the queue itself).
    """
    settings = get_settings()
    install_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = await run_in_threadpool(services_factory or Services.from_url)
        services = built.services if isinstance(built, SessionManager) else built
        app.state.services = services
        app.state.auth_enabled = auth
        app.state.accounts = services.accounts if auth else None
        # the realtime bridge (issue 14): batched writer, notifier, subscriptions
        rt = app.state.realtime = RealtimeSessionManager(services.manager)
        await rt.start()
        background = services.background(sweep_seconds=sweep_seconds, voice_worker=voice_worker)
        background.on_sweep(rt.metrics.sweeps.inc)
        await background.start()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await background.stop()
            await rt.aclose()  # writes every queued realtime event first
            await run_in_threadpool(services.close)

    app = FastAPI(
        title="rehearse",
        version=__version__,
        description="Self-hostable AI mock interviews: sessions, questions, answers, reports.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(
        EdgeGuard,
        allowed_hosts=allowed_hosts,
        max_body_bytes=max_body_bytes or settings.max_body_bytes,
        max_upload_bytes=max_upload_bytes or settings.max_upload_bytes,
        max_audio_bytes=settings.max_audio_bytes,
        max_import_bytes=settings.max_import_bytes,
    )
    app.add_middleware(RequestLog)
    app.include_router(progress.router)  # before sessions: /sessions/compare is not an id
    app.include_router(sessions.router)
    app.include_router(interview.router)
    app.include_router(stream_router)
    app.include_router(links.router)
    app.include_router(realtime.router)
    app.include_router(metrics.router)
    app.include_router(files.router)  # issue 11: whiteboards, DELETE a session
    app.include_router(login.router)
    app.include_router(voice_api.router)
    app.include_router(spoken_api.router)
    _include_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    @app.get("/healthz", tags=["health"], response_model=HealthPublic)
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        response_model=HealthPublic,
        responses={
            503: {"model": HealthPublic, "description": "Starting, stopping or no storage."}
        },
    )
    def readyz(request: Request) -> JSONResponse:
        """Storage answers and the app is not shutting down (503 otherwise)."""
        ready = getattr(request.app.state, "ready", False)
        if ready:
            try:
                request.app.state.services.manager.list_sessions(limit=1, include_total=False)
            except Exception as exc:  # any storage failure means "not ready"
                return JSONResponse(
                    {"status": "unavailable", "reason": str(exc)[:200]}, status_code=503
                )
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "starting or stopping"}, status_code=503)

    return app


def app_from_environment() -> FastAPI:
    """The app ``rehearse serve`` runs in each worker: database and auth from the environment.

    ``REHEARSE_DATABASE_URL`` (or the default SQLite file), ``REHEARSE_AUTH=1``, the
    address ``rehearse serve`` bound (``REHEARSE_SERVE_HOST``) with
    ``REHEARSE_ALLOWED_HOSTS``, and, under test only, ``REHEARSE_TEST_CLOCK``.
    """
    configure_logging()
    clock = fake_clock_from_environment()
    hosts = allowed_hosts_for(
        os.environ.get("REHEARSE_SERVE_HOST", "127.0.0.1"), get_settings().allowed_hosts
    )
    return create_app(
        (lambda: Services.from_url(clock=clock)) if clock else None,
        auth=os.environ.get("REHEARSE_AUTH") == "1",
        allowed_hosts=hosts,
        voice_worker=get_settings().voice_worker_in_serve,
    )


def fake_clock_from_environment() -> Clock | None:
    """The fake clock of ``REHEARSE_TEST_CLOCK``, honoured only when ``REHEARSE_TESTING=1``.

    ``REHEARSE_TEST_CLOCK="<ISO instant>[@<rate>]"`` starts the server's clock at that
    instant, running ``rate`` times real time (:class:`~rehearse.clock.ScaledClock`).
    Without ``REHEARSE_TESTING=1`` it is ignored with a warning: a production server
    always runs on the system clock.

    Raises:
        ConfigurationError: the variable is malformed (with the test flag set).
    """
    spec = os.environ.get("REHEARSE_TEST_CLOCK", "")
    if not spec:
        return None
    if os.environ.get("REHEARSE_TESTING") != "1":
        log.warning("REHEARSE_TEST_CLOCK ignored: honoured only with REHEARSE_TESTING=1")
        return None
    try:
        clock = ScaledClock.parse(spec)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    log.warning("test clock in use: %s at %sx real time", clock.start.isoformat(), clock.rate)
    return clock


class KeyValueFormatter(logging.Formatter):
    """One line per record: ``time level logger message key=value ...`` (no secrets are logged)."""

    FIELDS = ("method", "path", "status", "ms")

    def format(self, record: logging.LogRecord) -> str:
        """The record with its structured fields appended."""
        base = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        extra = " ".join(f"{k}={getattr(record, k)}" for k in self.FIELDS if hasattr(record, k))
        text = f"{base} {extra}".rstrip()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_logging(level: int = logging.INFO) -> None:
    """Send rehearse's logs to stderr as structured lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    logger = logging.getLogger("rehearse")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def _include_pages(app: FastAPI) -> None:
    try:
        from rehearse.web import pages
    except ImportError:  # pages are optional while they are being written
        return
    app.include_router(pages.router)
    from rehearse.web import progress_pages

    app.include_router(progress_pages.router)


class RequestLog:
    """ASGI middleware writing one structured log line per HTTP request.

    A plain ASGI middleware rather than ``@app.middleware("http")``: the latter wraps
    every request in extra tasks and streams, which measured at about 0.4 ms a request
    (benchmarks/bench_http.py).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; log its method, path, status and milliseconds."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            if log.isEnabledFor(logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": redact(scope["path"] + (f"?{query}" if query else "")),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
