"""The database tables, as SQLAlchemy Core metadata (Alembic migrations mirror it).

Instants are stored as integer microseconds since the Unix epoch (:class:`Instant`):
exact, portable between SQLite and PostgreSQL, and cheap to index and compare.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.types import TypeDecorator

from rehearse.domain.sessions import from_us, to_us


class Instant(TypeDecorator[datetime]):
    """An aware UTC datetime stored as BIGINT microseconds since the epoch."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        """Datetime to microseconds."""
        return None if value is None else to_us(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Microseconds to datetime."""
        return None if value is None else from_us(int(value))


metadata = MetaData()

# SQLite makes an INTEGER PRIMARY KEY the rowid; PostgreSQL gets a 64-bit key.
EventId = BigInteger().with_variant(Integer(), "sqlite")

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("candidate_name", String(200), nullable=False),
    Column("candidate_email", String(320)),
    Column("role", String(40), nullable=False),
    Column("level", String(16), nullable=False),
    Column("interview_type", String(20), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("created_by", String(64)),
    Column("candidate_id", String(64)),
    Column("config", JSON, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Column("started_at", Instant),
    Column("ended_at", Instant),
    Column("resumed_at", Instant),
    Column("deadline_at", Instant),
    Column("active_us", BigInteger, nullable=False),
    Column("time_limit_seconds", Integer, nullable=False),
    Column("token_budget", Integer, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("budget_warned", Boolean, nullable=False),
    Column("interview", JSON),
    Column("report_status", String(16)),
    Index("ix_sessions_created", "created_at", "id"),
    Index("ix_sessions_status_created", "status", "created_at", "id"),
    Index("ix_sessions_role_created", "role", "created_at"),
    Index("ix_sessions_created_by", "created_by", "created_at"),
    Index("ix_sessions_candidate_id", "candidate_id", "created_at"),
    Index("ix_sessions_deadline", "deadline_at"),
)

# One candidate's sessions, any case (new plans avoid their recent questions).
Index("ix_sessions_email_lower", func.lower(sessions.c.candidate_email), sessions.c.created_at)
Index("ix_sessions_name_lower", func.lower(sessions.c.candidate_name), sessions.c.created_at)

session_events = Table(
    "session_events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(40), nullable=False),
    Column("at", Instant, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("session_id", "seq", name="uq_session_events_session_seq"),
    Index("ix_session_events_type", "session_id", "type", "seq"),
)

# -- accounts (migration 0003): secrets are stored only as SHA-256 / scrypt hashes ---------

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(320), nullable=False),  # lower-cased
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200)),  # None: the user signs in with API tokens only
    Column("created_at", Instant, nullable=False),
    Column("disabled", Boolean, nullable=False),
    UniqueConstraint("email", name="uq_users_email"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False),  # sha256 hex of the token
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant),
    Column("revoked_at", Instant),
    Column("last_used_at", Instant),
    UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    Index("ix_api_tokens_user", "user_id", "created_at"),
)

session_links = Table(
    "session_links",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Column("revoked_at", Instant),
    UniqueConstraint("token_hash", name="uq_session_links_token_hash"),
    Index("ix_session_links_session", "session_id", "created_at"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False),  # sha256 hex of the cookie value
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Column("revoked_at", Instant),
    UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
    Index("ix_web_sessions_user", "user_id"),
)

# -- progress (migration 0005): summary rows kept current by rehearse.storage.projections ----
# in the transaction of the event that changes them; progress reads only these.
# ``candidate_key`` is the identity the access rules use: the candidate's e-mail (lower
# case; a linked account's e-mail when the session names only its principal id), else the
# principal id, else ``name:<lower-cased name>`` (a single-user install without e-mails).

session_scores = Table(
    "session_scores",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("candidate_key", String(330), nullable=False),
    Column("candidate_name", String(200), nullable=False),  # lower-cased
    Column("created_by", String(64)),
    Column("status", String(16), nullable=False),
    Column("role", String(40), nullable=False),
    Column("level", String(16), nullable=False),
    Column("interview_type", String(20), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("overall_score", Integer),  # the report's, 0-100
    Column("scored_score", Integer),  # overall_score of a completed or expired session, else NULL
    Column("answered", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("questions", Integer, nullable=False),
    Column("active_us", BigInteger, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("started_at", Instant),
    Column("ended_at", Instant),
    Index("ix_session_scores_candidate", "candidate_key", "created_at"),
    Index("ix_session_scores_name", "candidate_name", "created_at"),
    Index("ix_session_scores_created", "created_at"),
    Index("ix_session_scores_scored", "candidate_key", "scored_score"),
    Index("ix_session_scores_started", "candidate_key", "started_at"),
)

answer_scores = Table(
    "answer_scores",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("item_id", String(120), primary_key=True),
    Column("candidate_key", String(330), nullable=False),
    Column("candidate_name", String(200), nullable=False),
    Column("created_by", String(64)),
    Column("question_id", String(80), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("category", String(20), nullable=False),
    Column("score", Integer, nullable=False),  # the item's best attempt, 0-100
    Column("key_points_hit", Integer, nullable=False),
    Column("key_points_missed", Integer, nullable=False),
    Column("key_point_coverage", Integer),
    Column("correctness", Integer),
    Column("depth", Integer),
    Column("structure", Integer),
    Column("communication", Integer),
    Column("at", Instant, nullable=False),
    Index("ix_answer_scores_candidate", "candidate_key", "at"),
    Index("ix_answer_scores_name", "candidate_name", "at"),
    Index("ix_answer_scores_best", "candidate_key", "score"),
)

answer_topics = Table(
    "answer_topics",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("item_id", String(120), primary_key=True),
    Column("topic", String(80), primary_key=True),
    Column("candidate_key", String(330), nullable=False),
    Column("candidate_name", String(200), nullable=False),
    Column("created_by", String(64)),
    Column("score", Integer, nullable=False),
    Column("key_points_hit", Integer, nullable=False),
    Column("key_points_missed", Integer, nullable=False),
    Column("at", Instant, nullable=False),
    Index("ix_answer_topics_candidate", "candidate_key", "at"),
    Index("ix_answer_topics_name", "candidate_name", "at"),
)

session_questions = Table(
    "session_questions",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("question_id", String(80), primary_key=True),
    Column("category", String(20), nullable=False),
    Column("tags", JSON, nullable=False),
)

progress_milestones = Table(
    "progress_milestones",
    metadata,
    Column("candidate_key", String(330), primary_key=True),
    Column("milestone", String(40), primary_key=True),
    Column("session_id", String(36), nullable=False),
    Column("achieved_at", Instant, nullable=False),
)

# Running totals per candidate (and per interviewer who created the sessions: ``created_by``,
# "" when none), kept by the projections in the same transaction: all-time figures and the
# cohort read a handful of these rows instead of every session or answer.
# ``t`` is a session's creation instant in weeks since the epoch (least-squares sums).

candidate_totals = Table(
    "candidate_totals",
    metadata,
    Column("candidate_key", String(330), primary_key=True),
    Column("created_by", String(64), primary_key=True),
    Column("candidate_name", String(200), nullable=False),
    Column("sessions", Integer, nullable=False),
    Column("completed", Integer, nullable=False),
    Column("expired", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("active_us", BigInteger, nullable=False),
    Column("scored", Integer, nullable=False),
    Column("score_sum", Float, nullable=False),
    Column("score_squares", Float, nullable=False),
    Column("t_sum", Float, nullable=False),
    Column("t_squares", Float, nullable=False),
    Column("ty_sum", Float, nullable=False),
    Column("answers", Integer, nullable=False),
    Column("last_created_at", Instant),
)

candidate_areas = Table(
    "candidate_areas",
    metadata,
    Column("candidate_key", String(330), primary_key=True),
    Column("created_by", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),  # category, dimension or topic
    Column("area", String(80), primary_key=True),
    Column("answers", Integer, nullable=False),
    Column("score_sum", Float, nullable=False),
    Column("key_points_hit", Integer, nullable=False),
    Column("key_points_missed", Integer, nullable=False),
)

# One row per candidate and main question answered: the spaced-repetition schedule's inputs.
candidate_questions = Table(
    "candidate_questions",
    metadata,
    Column("candidate_key", String(330), primary_key=True),
    Column("created_by", String(64), primary_key=True),
    Column("question_id", String(80), primary_key=True),
    Column("answers", Integer, nullable=False),
    Column("poor_answers", Integer, nullable=False),
    Column("last_score", Integer, nullable=False),
    Column("last_at", Instant, nullable=False),
)

# What a deletion removed (counts, never content); the subject is a SHA-256 of its key.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("at", Instant, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("subject_sha256", String(64), nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_audit_log_at", "at"),
)


# -- voice (migration 0006, seed 003_*): voice sessions, audio entries, transcription jobs ---

voice_sessions = Table(
    "voice_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("last_sequence", Integer, nullable=False),  # gap-free: bumped in add_audio's txn
    Column("errors", JSON, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Column("finalized_at", Instant),
    Index("ix_voice_sessions_created", "created_at", "id"),
    Index("ix_voice_sessions_chat_state", "chat_id", "state"),
    # At most one collecting session per chat, even with two create_session at once: the
    # partial unique index uq_voice_sessions_collecting (chat_id WHERE state =
    # 'collecting') is created by migration 0006, the schema's source of truth. It is not
    # declared here because a ``postgresql_where`` makes SQLAlchemy import its PostgreSQL
    # dialect in every process, SQLite ones included (issue 8 item 5: CLI start-up).
)

voice_audio_entries = Table(
    "voice_audio_entries",
    metadata,
    Column("session_id", String(64), ForeignKey("voice_sessions.id"), primary_key=True),
    Column("sequence", Integer, primary_key=True),
    Column("original_filename", String(200)),
    Column("stored_filename", String(40), nullable=False),
    Column("mime_type", String(40), nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("transcription_status", String(16), nullable=False),
    Column("transcript_filename", String(40)),
    Column("error", String(2000)),
    Column("created_at", Instant, nullable=False),
)

# The durable queue: one row per entry to transcribe, claimed with a lease.
voice_jobs = Table(
    "voice_jobs",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("session_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # queued | leased | done | failed
    Column("attempts", Integer, nullable=False),
    Column("available_at", Instant, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", Instant),
    Column("last_error", String(2000)),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    ForeignKeyConstraint(
        ["session_id", "sequence"],
        ["voice_audio_entries.session_id", "voice_audio_entries.sequence"],
        name="fk_voice_jobs_entry",
    ),
    UniqueConstraint("session_id", "sequence", name="uq_voice_jobs_entry"),
    Index("ix_voice_jobs_ready", "status", "available_at"),
)

voice_events = Table(
    "voice_events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("session_id", String(64), ForeignKey("voice_sessions.id"), nullable=False),
    Column("type", String(20), nullable=False),
    Column("at", Instant, nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_voice_events_session", "session_id", "id"),
)


# -- spoken interview answers (migration 0007, issue 13): saved first, then transcribed ---

# One row per recording answering an interview question: the entry, its transcription
# job (leased like voice_jobs) and, once there, its transcript and speech analysis.
spoken_answers = Table(
    "spoken_answers",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("sequence", Integer, primary_key=True),  # gap-free per session
    Column("question_id", String(64), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("original_filename", String(200)),
    Column("stored_filename", String(40), nullable=False),
    Column("mime_type", String(40), nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("available_at", Instant, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", Instant),
    Column("transcript", Text),
    Column("quality_flag", String(300)),
    Column("analysis", JSON),
    Column("submitted_text", Text),
    Column("error", String(2000)),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Index("ix_spoken_answers_ready", "status", "available_at"),
)

# -- question snapshots (migration 0008, issue 16): each planned question's text once ---

# A ``questions_planned`` event stores its questions' ids and the digests of their
# snapshots (text, key points, reference answer ...); each snapshot is stored here once,
# by the digest of its canonical JSON, however many sessions plan it. Rows are never
# changed or deleted, so an event's plan reads back exactly as it was planned.
question_snapshots = Table(
    "question_snapshots",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("body", Text, nullable=False),  # the snapshot's canonical JSON
)
