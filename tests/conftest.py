"""Shared fixtures: a fake clock, and stores on every backend (SQLite file, PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.settings import get_settings
from rehearse.storage import SQLStore, open_store

POSTGRES_URL = os.environ.get(
    "REHEARSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("REHEARSE_REQUIRE_POSTGRES") == "1"


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads the developer's data directory or REHEARSE_* variables."""
    for name in list(os.environ):
        if (
            name.startswith("REHEARSE_")
            and not name.startswith("REHEARSE_TEST_")
            and name != "REHEARSE_REQUIRE_POSTGRES"
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REHEARSE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A private schema on the test PostgreSQL server, dropped at the end of the run."""
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        reason = f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()} unreachable: {exc}"
        if REQUIRE_POSTGRES:
            pytest.fail(f"REHEARSE_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    schema = f"rehearse_test_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLStore]:
    """A migrated, empty store on each backend."""
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        url = request.getfixturevalue("postgres_schema_url")
        engine = create_engine(url)
        with engine.begin() as connection:  # every test starts from an empty schema
            tables = inspect(connection).get_table_names()
            if tables:
                connection.execute(text(f"DROP TABLE {', '.join(tables)} CASCADE"))
        engine.dispose()
        opened = open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def manager(store: SQLStore, clock: FakeClock) -> SessionManager:
    return SessionManager(store, clock)
