"""PostgreSQL engines: the scale backend, shared by several ``rehearse serve`` workers.

URLs look like ``postgresql+psycopg://user@host:5432/dbname`` (psycopg 3). Plain
``postgresql://`` URLs are taken to mean psycopg 3 too. Transactions run at READ
COMMITTED; conflicting writers are caught by the session ``version`` check.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver when the URL names no driver."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_postgres_engine(url: str) -> Engine:
    """An engine with a pool sized for one server worker and pre-ping for restarts."""
    return create_engine(
        normalise_url(url),
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10},
    )
