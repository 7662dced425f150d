"""Alembic environment: runs migrations on the connection rehearse hands it."""

from alembic import context
from sqlalchemy import text

from rehearse.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)

with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Several workers may start at once: one migrates, the others wait and then see head.
        connection.execute(text("SELECT pg_advisory_xact_lock(7420151)"))
    context.run_migrations()
