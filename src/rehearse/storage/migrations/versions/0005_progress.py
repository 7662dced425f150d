"""Progress: summary tables of session and answer scores, backfilled from the event log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rehearse.storage.schema import Instant

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.String(330)


def upgrade() -> None:
    op.create_table(
        "session_scores",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("candidate_key", KEY, nullable=False),
        sa.Column("candidate_name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("interview_type", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("overall_score", sa.Integer),
        sa.Column("scored_score", sa.Integer),
        sa.Column("answered", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("questions", sa.Integer, nullable=False),
        sa.Column("active_us", sa.BigInteger, nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("started_at", Instant),
        sa.Column("ended_at", Instant),
    )
    op.create_index(
        "ix_session_scores_candidate", "session_scores", ["candidate_key", "created_at"]
    )
    op.create_index("ix_session_scores_name", "session_scores", ["candidate_name", "created_at"])
    op.create_index("ix_session_scores_created", "session_scores", ["created_at"])
    op.create_index("ix_session_scores_scored", "session_scores", ["candidate_key", "scored_score"])
    op.create_index("ix_session_scores_started", "session_scores", ["candidate_key", "started_at"])
    op.create_table(
        "answer_scores",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("item_id", sa.String(120), primary_key=True),
        sa.Column("candidate_key", KEY, nullable=False),
        sa.Column("candidate_name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("question_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("key_points_hit", sa.Integer, nullable=False),
        sa.Column("key_points_missed", sa.Integer, nullable=False),
        sa.Column("key_point_coverage", sa.Integer),
        sa.Column("correctness", sa.Integer),
        sa.Column("depth", sa.Integer),
        sa.Column("structure", sa.Integer),
        sa.Column("communication", sa.Integer),
        sa.Column("at", Instant, nullable=False),
    )
    op.create_index("ix_answer_scores_candidate", "answer_scores", ["candidate_key", "at"])
    op.create_index("ix_answer_scores_name", "answer_scores", ["candidate_name", "at"])
    op.create_index("ix_answer_scores_best", "answer_scores", ["candidate_key", "score"])
    op.create_table(
        "answer_topics",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("item_id", sa.String(120), primary_key=True),
        sa.Column("topic", sa.String(80), primary_key=True),
        sa.Column("candidate_key", KEY, nullable=False),
        sa.Column("candidate_name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("key_points_hit", sa.Integer, nullable=False),
        sa.Column("key_points_missed", sa.Integer, nullable=False),
        sa.Column("at", Instant, nullable=False),
    )
    op.create_index("ix_answer_topics_candidate", "answer_topics", ["candidate_key", "at"])
    op.create_index("ix_answer_topics_name", "answer_topics", ["candidate_name", "at"])
    op.create_table(
        "session_questions",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("question_id", sa.String(80), primary_key=True),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
    )
    op.create_table(
        "progress_milestones",
        sa.Column("candidate_key", KEY, primary_key=True),
        sa.Column("milestone", sa.String(40), primary_key=True),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("achieved_at", Instant, nullable=False),
    )
    op.create_table(
        "candidate_totals",
        sa.Column("candidate_key", KEY, primary_key=True),
        sa.Column("created_by", sa.String(64), primary_key=True),
        sa.Column("candidate_name", sa.String(200), nullable=False),
        *[
            sa.Column(name, sa.Integer, nullable=False)
            for name in ("sessions", "completed", "expired", "cancelled", "answered", "skipped")
        ],
        sa.Column("active_us", sa.BigInteger, nullable=False),
        sa.Column("scored", sa.Integer, nullable=False),
        *[
            sa.Column(name, sa.Float, nullable=False)
            for name in ("score_sum", "score_squares", "t_sum", "t_squares", "ty_sum")
        ],
        sa.Column("answers", sa.Integer, nullable=False),
        sa.Column("last_created_at", Instant),
    )
    op.create_table(
        "candidate_areas",
        sa.Column("candidate_key", KEY, primary_key=True),
        sa.Column("created_by", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("area", sa.String(80), primary_key=True),
        sa.Column("answers", sa.Integer, nullable=False),
        sa.Column("score_sum", sa.Float, nullable=False),
        sa.Column("key_points_hit", sa.Integer, nullable=False),
        sa.Column("key_points_missed", sa.Integer, nullable=False),
    )
    op.create_table(
        "candidate_questions",
        sa.Column("candidate_key", KEY, primary_key=True),
        sa.Column("created_by", sa.String(64), primary_key=True),
        sa.Column("question_id", sa.String(80), primary_key=True),
        sa.Column("answers", sa.Integer, nullable=False),
        sa.Column("poor_answers", sa.Integer, nullable=False),
        sa.Column("last_score", sa.Integer, nullable=False),
        sa.Column("last_at", Instant, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", Instant, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject_sha256", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    # backfill: the summaries of every session recorded before this migration
    from rehearse.storage.projections import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    for table in (
        "audit_log",
        "candidate_questions",
        "candidate_areas",
        "candidate_totals",
        "progress_milestones",
        "session_questions",
        "answer_topics",
        "answer_scores",
        "session_scores",
    ):
        op.drop_table(table)
