"""``rehearse serve``: the web app on the embedded defaults (uvicorn)."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from typing import Any

import typer

from rehearse.cli.context import AppState
from rehearse.errors import ConfigurationError, PortInUseError

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_port_free(host: str, port: int) -> None:
    """Bind ``host:port`` once, as uvicorn will (``SO_REUSEADDR``), and let it go.

    Raises:
        PortInUseError: another program listens there (or the address is not this
            machine's, or binding it is not permitted).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ConfigurationError(f"--host {host}: cannot resolve the address: {exc}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or "")
            raise PortInUseError(host, port, reason) from None


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on.", min=1, max=65535),
    workers: int = typer.Option(
        1, "--workers", help="Worker processes (use PostgreSQL for more than 1).", min=1, max=64
    ),
    auth: bool = typer.Option(
        False, "--auth", help="Require sign-in (users, API tokens, candidate links)."
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="Allow a non-loopback address without --auth."
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
) -> None:
    """Run the web app: interviews in the browser, the REST API and the live stream."""
    import uvicorn

    if not is_loopback(host) and not auth and not insecure:
        raise ConfigurationError(
            f"--host {host}: a non-loopback address needs --auth (or --insecure to serve "
            "everyone on the network as the local admin)"
        )
    state = ctx.find_root().obj
    assert isinstance(state, AppState)
    if state.database_url:
        os.environ["REHEARSE_DATABASE_URL"] = state.database_url
    url = state.database_url or os.environ.get("REHEARSE_DATABASE_URL", "")
    if workers > 1 and not url.startswith("postgresql"):
        raise ConfigurationError(
            f"--workers {workers}: several workers need a shared PostgreSQL database "
            "(--db postgresql+psycopg://...); SQLite serves one worker"
        )
    check_port_free(host, port)  # before saying where it serves: it would not (issue 11)
    os.environ["REHEARSE_AUTH"] = "1" if auth else "0"
    os.environ["REHEARSE_SERVE_HOST"] = host  # the Host check allows the bound address
    mode = "sign-in required" if auth else "local mode, no sign-in"
    typer.echo(f"rehearse on http://{host}:{port} ({mode}); Ctrl-C stops it", err=True)
    # the transcription worker starts and stops with the app's background owner
    _run(uvicorn, host, port, workers, log_level)


def _run(uvicorn: Any, host: str, port: int, workers: int, log_level: str) -> None:
    uvicorn.run(
        "rehearse.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
        proxy_headers=False,
    )
