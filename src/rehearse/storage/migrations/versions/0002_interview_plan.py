"""The interview plan and the report status on the session row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("interview", sa.JSON))
        batch.add_column(sa.Column("report_status", sa.String(16)))
    op.create_index("ix_session_events_type", "session_events", ["session_id", "type", "seq"])


def downgrade() -> None:
    op.drop_index("ix_session_events_type", "session_events")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("report_status")
        batch.drop_column("interview")
