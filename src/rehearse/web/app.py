"""The app factory: ``create_app`` builds the FastAPI app; the lifespan opens and closes storage.

Background work has one owner, :class:`rehearse.service.background.Background`: the
expiry sweep every few seconds (safe with several workers: each expiry is a
version-checked change) and, at start, the evaluation of answers a crash left unscored.
Request logs are one structured line per request (method, path, status, milliseconds),
never with bodies, tokens or cookies.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rehearse import __version__
from rehearse.service.composition import Services
from rehearse.service.sessions import SessionManager
from rehearse.web import errors, login
from rehearse.web.api import files, interview, links, sessions
from rehearse.web.stream import router as stream_router

log = logging.getLogger("rehearse.web")
STATIC = Path(__file__).parent / "static"
SWEEP_SECONDS = 5.0


def create_app(
    services_factory: Callable[[], Services | SessionManager] | None = None,
    *,
    auth: bool = False,
    sweep_seconds: float = SWEEP_SECONDS,
) -> FastAPI:
    """Build the web app.

    Args:
        services_factory: composes the services at start-up (default: the configured
            database, :meth:`Services.from_url`); a factory of a
            :class:`SessionManager` is accepted too (its services are used).
        auth: require sign-in (tokens, login cookie, candidate links); off means
            every request is the local user.
        sweep_seconds: how often the expiry sweep runs (0: never).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = await run_in_threadpool(services_factory or Services.from_url)
        services = built.services if isinstance(built, SessionManager) else built
        app.state.services = services
        app.state.auth_enabled = auth
        app.state.accounts = services.accounts if auth else None
        background = services.background(sweep_seconds=sweep_seconds)
        await background.start()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await background.stop()
            await run_in_threadpool(services.close)

    app = FastAPI(
        title="rehearse",
        version=__version__,
        description="Self-hostable AI mock interviews: sessions, questions, answers, reports.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(RequestLog)
    app.include_router(sessions.router)
    app.include_router(interview.router)
    app.include_router(stream_router)
    app.include_router(links.router)
    app.include_router(files.router)  # issue 11: whiteboards, DELETE a session
    app.include_router(login.router)
    _include_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], response_model=None)
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

    ``REHEARSE_DATABASE_URL`` (or the default SQLite file) and ``REHEARSE_AUTH=1``.
    """
    configure_logging()
    return create_app(auth=os.environ.get("REHEARSE_AUTH") == "1")


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
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
