"""Indexes to find one candidate's sessions by e-mail or name, in any case.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_sessions_email_lower", "sessions", [sa.text("lower(candidate_email)"), "created_at"]
    )
    op.create_index(
        "ix_sessions_name_lower", "sessions", [sa.text("lower(candidate_name)"), "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_name_lower", "sessions")
    op.drop_index("ix_sessions_email_lower", "sessions")
