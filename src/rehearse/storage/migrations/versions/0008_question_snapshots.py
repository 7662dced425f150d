"""Question snapshots stored once by digest (issue 16): a plan's event holds ids and digests.

Events written before this revision keep their inline snapshots and read as before.

Revision ID: 0008
Revises: 0007 (the lead re-chains it at merge)
Create Date: 2026-12-02
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "question_snapshots",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    # compact plans would lose their questions: put the snapshots back inline first
    connection = op.get_bind()
    events = sa.table("session_events", sa.column("id", sa.Integer), sa.column("data", sa.JSON))
    bodies: dict[str, str] = dict(
        connection.execute(sa.text("SELECT digest, body FROM question_snapshots")).all()
    )
    planned = connection.execute(
        sa.select(events.c.id, events.c.data).where(sa.text("type = 'questions_planned'"))
    ).all()
    for event_id, data in planned:
        if "snapshots" not in data or "questions" in data:
            continue
        inline = {k: v for k, v in data.items() if k != "snapshots"}
        inline["questions"] = [json.loads(bodies[digest]) for digest in data["snapshots"]]
        connection.execute(events.update().where(events.c.id == event_id).values(data=inline))
    op.drop_table("question_snapshots")
