"""Shared fixtures: a fake clock, and migrated stores (SQLite file, PostgreSQL schema).

Speed without losing power (issue 8 item 6): the schema is migrated once per run, into a
SQLite template file that each test gets a copy of (``tests/stores.py``) and into one PostgreSQL schema that is
emptied (TRUNCATE) between tests; Alembic runs again only after a test broke the schema.
PostgreSQL serves the store contract, the concurrency tests and the paths that differ on
it (``store``, ``manager_on_each_backend``); the other manager, web and AI tests run on
SQLite (``sqlite_store``, ``manager``). Real model requests are off for the whole suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import models
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.settings import get_settings
from rehearse.storage import SQLStore, open_store
from stores import migrated_sqlite_url

POSTGRES_URL = os.environ.get(
    "REHEARSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("REHEARSE_REQUIRE_POSTGRES") == "1"

# An accidental request to a real model fails the test (issue 8 item 7); a test that talks
# to the local fake OpenAI server opts in with ``override_allow_model_requests(True)``
# (the ``openai_server`` fixture of tests/ai does).
models.ALLOW_MODEL_REQUESTS = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked ``slow`` first, each kept whole and in its order (a stable sort).

    The two xdist workers take modules in this order (``--no-loadscope-reorder``), so the
    longest work starts at once and the many short modules fill in behind it: the two
    workers finish together instead of one running a minute-long module alone at the end.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _no_model_requests() -> Iterator[None]:
    """Every test starts with real model requests refused, whatever the last one did."""
    with models.override_allow_model_requests(False):
        yield


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


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a migrated, empty SQLite database of this test's own (a template copy)."""
    return migrated_sqlite_url(tmp_path / "store.db")


@pytest.fixture(scope="session")
def postgres_migrated(postgres_schema_url: str) -> Iterator[tuple[Engine, frozenset[str]]]:
    """The private schema migrated once, with an engine to empty it and its table names."""
    open_store(postgres_schema_url).close()
    engine = create_engine(postgres_schema_url)
    with engine.connect() as connection:
        tables = frozenset(inspect(connection).get_table_names())
    yield engine, tables
    engine.dispose()


def _empty_postgres(engine: Engine, migrated_tables: frozenset[str]) -> None:
    """Empty every table; drop them all if a test broke the schema (Alembic rebuilds it)."""
    with engine.begin() as connection:
        tables = set(inspect(connection).get_table_names())
        if tables == migrated_tables:
            data = sorted(tables - {"alembic_version"})
            connection.execute(text(f"TRUNCATE {', '.join(data)} RESTART IDENTITY CASCADE"))
        elif tables:
            connection.execute(text(f"DROP TABLE {', '.join(sorted(tables))} CASCADE"))


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SQLStore]:
    """A migrated, empty SQLite store (a copy of the template)."""
    opened = open_store(sqlite_url)
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[SQLStore]:
    """A migrated, empty store on each backend: for contract and concurrency tests."""
    if request.param == "sqlite":
        opened = open_store(request.getfixturevalue("sqlite_url"))
    else:
        engine, tables = request.getfixturevalue("postgres_migrated")
        _empty_postgres(engine, tables)
        opened = open_store(request.getfixturevalue("postgres_schema_url"))
    yield opened
    opened.close()


@pytest.fixture
def manager(sqlite_store: SQLStore, clock: FakeClock) -> SessionManager:
    """The service on SQLite: behaviour that does not depend on the backend."""
    return SessionManager(sqlite_store, clock)


@pytest.fixture
def manager_on_each_backend(store: SQLStore, clock: FakeClock) -> SessionManager:
    """The service on each backend: races, restarts and other storage-dependent paths."""
    return SessionManager(store, clock)


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    """Playwright, once Chromium is known to be there (skip, or fail when it is required).

    One driver per browser module, stopped when the module ends: Playwright's sync API
    runs its own event loop in the test thread, and while a driver is alive every
    ``asyncio.run`` of a later test in that process fails ("cannot be called from a
    running event loop"), as a second driver would. Browser modules now run first
    (marked ``slow``), so a driver kept for the whole session broke the tests after them.
    """
    chromium = Path(os.environ.get("REHEARSE_TEST_CHROMIUM", "/usr/bin/chromium"))
    if not os.access(chromium, os.X_OK):
        reason = f"Chromium not found at {chromium}; install it with: apt-get install chromium"
        if os.environ.get("REHEARSE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"REHEARSE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver
