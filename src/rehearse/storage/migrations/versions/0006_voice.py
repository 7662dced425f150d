"""Voice (seed 003): voice sessions, audio entries, the transcription job queue, events.

Revision ID: 0006
Revises: 0005 (the lead re-chains it after 0005 at merge)
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rehearse.storage.schema import EventId, Instant

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_sequence", sa.Integer, nullable=False),
        sa.Column("errors", sa.JSON, nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("updated_at", Instant, nullable=False),
        sa.Column("finalized_at", Instant),
    )
    op.create_index("ix_voice_sessions_created", "voice_sessions", ["created_at", "id"])
    op.create_index("ix_voice_sessions_chat_state", "voice_sessions", ["chat_id", "state"])
    op.create_index(
        "uq_voice_sessions_collecting",
        "voice_sessions",
        ["chat_id"],
        unique=True,
        sqlite_where=sa.text("state = 'collecting'"),
        postgresql_where=sa.text("state = 'collecting'"),
    )
    op.create_table(
        "voice_audio_entries",
        sa.Column(
            "session_id", sa.String(64), sa.ForeignKey("voice_sessions.id"), primary_key=True
        ),
        sa.Column("sequence", sa.Integer, primary_key=True),
        sa.Column("original_filename", sa.String(200)),
        sa.Column("stored_filename", sa.String(40), nullable=False),
        sa.Column("mime_type", sa.String(40), nullable=False),
        sa.Column("duration_seconds", sa.Float, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("transcription_status", sa.String(16), nullable=False),
        sa.Column("transcript_filename", sa.String(40)),
        sa.Column("error", sa.String(2000)),
        sa.Column("created_at", Instant, nullable=False),
    )
    op.create_table(
        "voice_jobs",
        sa.Column("id", EventId, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("available_at", Instant, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", Instant),
        sa.Column("last_error", sa.String(2000)),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("updated_at", Instant, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id", "sequence"],
            ["voice_audio_entries.session_id", "voice_audio_entries.sequence"],
            name="fk_voice_jobs_entry",
        ),
        sa.UniqueConstraint("session_id", "sequence", name="uq_voice_jobs_entry"),
    )
    op.create_index("ix_voice_jobs_ready", "voice_jobs", ["status", "available_at"])
    op.create_table(
        "voice_events",
        sa.Column("id", EventId, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("voice_sessions.id"), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("at", Instant, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_voice_events_session", "voice_events", ["session_id", "id"])


def downgrade() -> None:
    op.drop_table("voice_events")
    op.drop_table("voice_jobs")
    op.drop_table("voice_audio_entries")
    op.drop_table("voice_sessions")
