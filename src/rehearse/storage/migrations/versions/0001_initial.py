"""Sessions and their event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rehearse.storage.schema import EventId, Instant

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("candidate_name", sa.String(200), nullable=False),
        sa.Column("candidate_email", sa.String(320)),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("interview_type", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("candidate_id", sa.String(64)),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("updated_at", Instant, nullable=False),
        sa.Column("started_at", Instant),
        sa.Column("ended_at", Instant),
        sa.Column("resumed_at", Instant),
        sa.Column("deadline_at", Instant),
        sa.Column("active_us", sa.BigInteger, nullable=False),
        sa.Column("time_limit_seconds", sa.Integer, nullable=False),
        sa.Column("token_budget", sa.Integer, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("budget_warned", sa.Boolean, nullable=False),
    )
    op.create_index("ix_sessions_created", "sessions", ["created_at", "id"])
    op.create_index("ix_sessions_status_created", "sessions", ["status", "created_at", "id"])
    op.create_index("ix_sessions_role_created", "sessions", ["role", "created_at"])
    op.create_index("ix_sessions_created_by", "sessions", ["created_by", "created_at"])
    op.create_index("ix_sessions_candidate_id", "sessions", ["candidate_id", "created_at"])
    op.create_index("ix_sessions_deadline", "sessions", ["deadline_at"])
    op.create_table(
        "session_events",
        sa.Column("id", EventId, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("at", Instant, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.UniqueConstraint("session_id", "seq", name="uq_session_events_session_seq"),
    )


def downgrade() -> None:
    op.drop_table("session_events")
    op.drop_table("sessions")
