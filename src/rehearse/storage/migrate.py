"""Schema migrations with Alembic, applied on first use and by ``rehearse db upgrade``.

Alembic is imported only when a migration has to run: checking that a database is
current is one query on ``alembic_version`` (it keeps every CLI call fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"

#: The newest migration in ``migrations/versions`` (a test checks it matches Alembic's head).
HEAD_REVISION = "0008"


def alembic_head() -> str | None:
    """The head revision according to Alembic's script directory."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to :data:`HEAD_REVISION`; returns (before, after)."""
    before = current_revision(engine)
    if before != HEAD_REVISION:
        from alembic import command

        config = _config()
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                # several workers start at once (issue 14): one migrates, the others wait
                # for its commit and then find nothing to do
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
                if _revision(connection) == HEAD_REVISION:
                    connection.commit()
                    return before, HEAD_REVISION
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
    return before, HEAD_REVISION


#: the advisory lock migrations hold on PostgreSQL ("rehearse" as a number)
LOCK_KEY = 0x72656865617273


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
