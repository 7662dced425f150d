"""Spoken interview answers (issue 13): saved first, transcribed by the queue, submitted.

Revision ID: 0007
Revises: 0006 (the lead re-chains it at merge)
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rehearse.storage.schema import Instant

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spoken_answers",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("sequence", sa.Integer, primary_key=True),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("original_filename", sa.String(200)),
        sa.Column("stored_filename", sa.String(40), nullable=False),
        sa.Column("mime_type", sa.String(40), nullable=False),
        sa.Column("duration_seconds", sa.Float, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("available_at", Instant, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", Instant),
        sa.Column("transcript", sa.Text),
        sa.Column("quality_flag", sa.String(300)),
        sa.Column("analysis", sa.JSON),
        sa.Column("submitted_text", sa.Text),
        sa.Column("error", sa.String(2000)),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("updated_at", Instant, nullable=False),
    )
    op.create_index("ix_spoken_answers_ready", "spoken_answers", ["status", "available_at"])


def downgrade() -> None:
    op.drop_table("spoken_answers")
