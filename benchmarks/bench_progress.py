"""Progress latency (issue 12), against a raw indexed SELECT on the same table in the same run.

    uv run python benchmarks/bench_progress.py                 # the issue's sizes, both backends
    uv run python benchmarks/bench_progress.py --json          # one object per case
    uv run python benchmarks/bench_progress.py --backends sqlite --sessions 1000,10000 \\
        --cohort-answers 100000

For each backend: one candidate with 1,000 and then 10,000 sessions (10 scored answers
each, so 100,000 answers at the larger size) to show the cost stays flat; then a cohort
of 1,000 candidates sharing 1,000,000 answers. Rows are seeded with bulk inserts into
the progress tables (what the projections would have written), then each call is timed
through ``SessionManager`` / the progress service: p50 and p99 in milliseconds. The
baseline is ``SELECT count(*), avg(overall_score) FROM session_scores WHERE
candidate_key = ?`` (the index ``ix_session_scores_candidate``) on the same data.

Targets on SQLite (issue 12): progress p50 < 50 ms, 30-day analytics < 100 ms,
comparison < 10 ms, cohort of 1,000 candidates < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from rehearse.clock import FakeClock
from rehearse.domain.config import parse_config
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.sessions import Session
from rehearse.service.progress import ProgressService
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore, open_store
from rehearse.storage.projections import refresh_totals
from rehearse.storage.schema import answer_scores, answer_topics, session_scores, sessions
from rehearse.storage.sql import session_values

POSTGRES_URL = os.environ.get(
    "REHEARSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CATEGORIES = ("technical", "behavioral", "system_design", "coding")
TOPICS = ("http", "caching", "sql", "testing", "queues", "security", "api", "leadership")
ANSWERS_PER_SESSION = 10
BATCH = 20_000
TARGETS_MS = {"progress": 50, "analytics_30d": 100, "compare": 10, "cohort": 200}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


def measure(fn: Callable[[], Any], iterations: int) -> dict[str, float]:
    fn()  # warm caches and statement compilation
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


@contextmanager
def fresh_store(backend: str, folder: Path) -> Iterator[SQLStore]:
    """A migrated, empty store: a new SQLite file, or a private PostgreSQL schema."""
    if backend == "sqlite":
        store = open_store(f"sqlite:///{folder / f'progress-{uuid.uuid4().hex[:8]}.db'}")
        try:
            yield store
        finally:
            store.close()
        return
    schema = f"bench_progress_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    store = open_store(url.render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _flush(store: SQLStore, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        with store.engine.begin() as connection:
            connection.execute(insert(table), rows)
        rows.clear()


def seed(
    store: SQLStore,
    users: int,
    sessions_per_user: int,
    *,
    topics: bool,
    rng: random.Random,
    with_sessions: bool = False,
) -> list[str]:
    """Bulk-insert summary rows; returns the candidate keys. Scores rise slowly with noise.

    ``with_sessions`` also inserts the ``sessions`` rows (milestones are recorded on them).
    """
    template = session_values(
        Session(
            id="template",
            config=parse_config({"candidate_name": "Bench"}),
            status=SessionStatus.COMPLETED,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    raw_sessions: list[dict[str, Any]] = []
    keys = [f"user{u:04d}@example.com" for u in range(users)]
    session_rows: list[dict[str, Any]] = []
    answer_rows: list[dict[str, Any]] = []
    topic_rows: list[dict[str, Any]] = []
    span = timedelta(days=720)
    for key in keys:
        for s in range(sessions_per_user):
            session_id = str(uuid.UUID(int=rng.getrandbits(128)))
            created = NOW - span + span * (s + rng.random()) / sessions_per_user
            status = rng.choices(["completed", "expired", "cancelled"], [0.85, 0.1, 0.05])[0]
            base = 45 + 35 * s / sessions_per_user
            score = None if status == "cancelled" else int(min(100, max(0, rng.gauss(base, 10))))
            if with_sessions:
                raw_sessions.append(
                    template | {"id": session_id, "created_at": created, "updated_at": created}
                )
            session_rows.append(
                {
                    "session_id": session_id,
                    "candidate_key": key,
                    "candidate_name": key.split("@")[0],
                    "created_by": "local",
                    "status": status,
                    "role": rng.choice(["backend", "frontend", "fullstack"]),
                    "level": rng.choice(["junior", "mid", "senior"]),
                    "interview_type": rng.choice(["technical", "mixed", "behavioral"]),
                    "mode": rng.choice(["practice", "mock"]),
                    "overall_score": score,
                    "answered": ANSWERS_PER_SESSION,
                    "skipped": 0,
                    "questions": ANSWERS_PER_SESSION,
                    "active_us": rng.randint(600, 2700) * 1_000_000,
                    "created_at": created,
                    "started_at": created,
                    "ended_at": created + timedelta(minutes=40),
                }
            )
            for a in range(ANSWERS_PER_SESSION):
                answer = int(min(100, max(0, rng.gauss(base, 15))))
                common = {
                    "session_id": session_id,
                    "item_id": f"q{a}",
                    "candidate_key": key,
                    "candidate_name": key.split("@")[0],
                    "created_by": "local",
                    "score": answer,
                    "key_points_hit": answer // 25,
                    "key_points_missed": 4 - answer // 25,
                    "at": created + timedelta(minutes=3 * a),
                }
                answer_rows.append(
                    common
                    | {
                        "question_id": f"bench-q-{rng.randrange(300)}",
                        "kind": "question",
                        "category": CATEGORIES[a % 4],
                        **{
                            d: answer
                            for d in (
                                "key_point_coverage",
                                "correctness",
                                "depth",
                                "structure",
                                "communication",
                            )
                        },
                    }
                )
                if topics:
                    topic_rows.append(common | {"topic": TOPICS[rng.randrange(len(TOPICS))]})
            if len(answer_rows) >= BATCH:
                _flush(store, sessions, raw_sessions)
                _flush(store, session_scores, session_rows)
                _flush(store, answer_scores, answer_rows)
                _flush(store, answer_topics, topic_rows)
    _flush(store, sessions, raw_sessions)
    _flush(store, session_scores, session_rows)
    _flush(store, answer_scores, answer_rows)
    _flush(store, answer_topics, topic_rows)
    with store.engine.begin() as connection:
        refresh_totals(connection)  # the running totals the projections would have kept
        connection.execute(text("ANALYZE"))
    return keys


def comparable_pair(store: SQLStore, key: str) -> tuple[str, str]:
    """Two real sessions (rows in ``sessions`` and ``session_scores``) of ``key`` to compare."""
    ids = []
    for offset in (2, 1):
        session = Session(
            id=str(uuid.uuid4()),
            config=parse_config({"candidate_name": "Bench", "candidate_email": key}),
            status=SessionStatus.COMPLETED,
            created_at=NOW - timedelta(days=offset),
            updated_at=NOW - timedelta(days=offset),
        )
        with store.engine.begin() as connection:
            connection.execute(insert(sessions), [session_values(session)])
            connection.execute(
                insert(session_scores),
                [
                    {
                        "session_id": session.id,
                        "candidate_key": key,
                        "candidate_name": "bench",
                        "created_by": "local",
                        "status": "completed",
                        "role": "backend",
                        "level": "mid",
                        "interview_type": "mixed",
                        "mode": "mock",
                        "overall_score": 60 + 10 * (2 - offset),
                        "answered": 2,
                        "skipped": 0,
                        "questions": 2,
                        "active_us": 1_200_000_000,
                        "created_at": session.created_at,
                        "started_at": session.created_at,
                        "ended_at": session.created_at + timedelta(minutes=30),
                    }
                ],
            )
        ids.append(session.id)
    return ids[0], ids[1]


def raw_select(store: SQLStore, key: str) -> Callable[[], Any]:
    statement = text(
        "SELECT count(*), avg(overall_score) FROM session_scores WHERE candidate_key = :key"
    )

    def run() -> Any:
        with store.engine.connect() as connection:
            return connection.execute(statement, {"key": key}).one()

    return run


def single_candidate_cases(
    store: SQLStore, manager: SessionManager, key: str, a: str, b: str
) -> dict[str, Callable[[], Any]]:
    """The timed calls on one candidate, with the raw SELECT first."""
    return {
        "raw_select": raw_select(store, key),
        "progress": lambda: manager.get_user_progress(key),
        "analytics_30d": lambda: manager.get_progress_analytics(key, "30d"),
        "analytics_all": lambda: manager.get_progress_analytics(key, "all"),
        "compare": lambda: manager.compare_sessions(a, b),
        "milestones": lambda: manager.get_milestones(key),
        "learning_path": lambda: manager.generate_learning_path(key),
    }


def bench_backend(backend: str, args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    rng = random.Random(12)
    for size in args.sessions:
        with fresh_store(backend, folder) as store:
            started = time.perf_counter()
            [key] = seed(store, 1, size, topics=True, rng=rng, with_sessions=True)
            seeded = time.perf_counter() - started
            a, b = comparable_pair(store, key)
            manager = SessionManager(store, FakeClock(NOW))
            cases = single_candidate_cases(store, manager, key, a, b)
            for case, fn in cases.items():
                figures = measure(fn, args.iterations)
                results.append(
                    {
                        "case": case,
                        "backend": backend,
                        "sessions": size,
                        "answers": size * ANSWERS_PER_SESSION,
                        "seed_seconds": round(seeded, 1),
                        **figures,
                    }
                )
    if args.cohort_answers:
        users = args.cohort_users
        per_user = max(1, args.cohort_answers // users // ANSWERS_PER_SESSION)
        with fresh_store(backend, folder) as store:
            started = time.perf_counter()
            keys = seed(store, users, per_user, topics=False, rng=rng)
            seeded = time.perf_counter() - started
            service = ProgressService(store, FakeClock(NOW))
            for case, fn in {
                "cohort_raw_select": raw_select(store, keys[0]),
                "cohort": lambda: service.cohort(),
                "cohort_member_progress": lambda: service.get_user_progress(keys[0]),
            }.items():
                figures = measure(fn, max(5, args.iterations // 3))
                results.append(
                    {
                        "case": case,
                        "backend": backend,
                        "sessions": users * per_user,
                        "answers": users * per_user * ANSWERS_PER_SESSION,
                        "users": users,
                        "seed_seconds": round(seeded, 1),
                        **figures,
                    }
                )
    return results


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        f"{'backend':10} {'case':24} {'sessions':>9} {'answers':>10} "
        f"{'p50 ms':>9} {'p99 ms':>9} {'target':>8}"
    )
    for r in results:
        target = TARGETS_MS.get(r["case"]) if r["backend"] == "sqlite" else None
        mark = "" if target is None else f"<{target}" + (" ok" if r["p50_ms"] < target else " MISS")
        print(
            f"{r['backend']:10} {r['case']:24} {r['sessions']:>9,} {r['answers']:>10,} "
            f"{r['p50_ms']:>9.2f} {r['p99_ms']:>9.2f} {mark:>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON, one object per case")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument(
        "--sessions", default="1000,10000", help="sessions of the one candidate, comma-separated"
    )
    parser.add_argument("--cohort-users", type=int, default=1000)
    parser.add_argument(
        "--cohort-answers", type=int, default=1_000_000, help="answers across the cohort (0: skip)"
    )
    parser.add_argument("--iterations", type=int, default=30)
    args = parser.parse_args()
    args.sessions = [int(s) for s in args.sessions.split(",") if s]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            results.extend(bench_backend(backend, args, Path(tmp)))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)


if __name__ == "__main__":
    main()
