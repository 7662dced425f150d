"""Session engine latency, against a raw durable SQLite commit measured in the same run.

    uv run python benchmarks/bench_sessions.py            # SQLite and PostgreSQL, 10k and 100k
    uv run python benchmarks/bench_sessions.py --json     # for machines
    uv run python benchmarks/bench_sessions.py --backends sqlite --sizes 10000

For each backend and each size it fills a fresh database with that many existing
sessions (and their creation events), then times every public operation through
``SessionManager`` on sessions of its own: p50 and p99 in milliseconds. The
baseline is one single-row INSERT + COMMIT through the stdlib ``sqlite3`` with the
same durability settings (WAL, synchronous=FULL) on the same disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from rehearse.domain.config import parse_config
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.sessions import Session
from rehearse.service.sessions import SessionManager
from rehearse.storage import open_store
from rehearse.storage.schema import session_events, sessions
from rehearse.storage.sql import session_values

POSTGRES_URL = os.environ.get(
    "REHEARSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STATUS_MIX = [
    (SessionStatus.COMPLETED, 0.6),
    (SessionStatus.CREATED, 0.1),
    (SessionStatus.ACTIVE, 0.1),
    (SessionStatus.PAUSED, 0.05),
    (SessionStatus.EXPIRED, 0.1),
    (SessionStatus.CANCELLED, 0.05),
]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def raw_sqlite_commit(folder: Path, iterations: int) -> dict[str, float]:
    """The baseline: one durable single-row insert and commit with the stdlib driver."""
    connection = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT)")
    samples = []
    for _ in range(iterations):
        key = uuid.uuid4().hex

        def commit(key: str = key) -> None:
            connection.execute("BEGIN")
            connection.execute("INSERT INTO t VALUES (?, ?)", (key, "x" * 200))
            connection.execute("COMMIT")

        samples.append(timed(commit))
    connection.close()
    return percentiles(samples)


def fill(url: str, count: int) -> None:
    """Insert ``count`` existing sessions (one creation event each) in bulk."""
    store = open_store(url)
    rng = random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    config = parse_config({"candidate_name": "Existing Candidate", "role": "backend"})
    statuses = [s for s, _ in STATUS_MIX]
    weights = [w for _, w in STATUS_MIX]
    batch = 5000
    with store.engine.begin() as connection:
        for start in range(0, count, batch):
            rows, events = [], []
            for i in range(start, min(start + batch, count)):
                created = base + timedelta(seconds=i * 30)
                status = rng.choices(statuses, weights)[0]
                session = Session(
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    # many candidates, five sessions each, as in a real database
                    config=config.model_copy(update={"candidate_name": f"Candidate {i // 5}"}),
                    status=status,
                    created_at=created,
                    updated_at=created,
                    last_seq=1,
                )
                rows.append(session_values(session))
                events.append(
                    {
                        "session_id": session.id,
                        "seq": 1,
                        "type": "session_created",
                        "at": created,
                        "actor": "bench",
                        "data": {},
                    }
                )
            connection.execute(insert(sessions), rows)
            connection.execute(insert(session_events), events)
    with store.engine.begin() as connection:  # fresh statistics, as autovacuum/ANALYZE would give
        connection.execute(text("ANALYZE"))
    store.close()


def one_round(manager: SessionManager, i: int, samples: dict[str, list[float]]) -> None:
    """Time every operation once, on a session of this round's own."""
    start = time.perf_counter()
    session_id = manager.create_session({"candidate_name": f"Bench {i}"}).id
    samples["create"].append(time.perf_counter() - start)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("get", lambda: manager.get_session(session_id)),
        ("start", lambda: manager.start_session(session_id)),
        ("pause", lambda: manager.pause_session(session_id)),
        ("resume", lambda: manager.resume_session(session_id)),
        ("record_usage", lambda: manager.record_usage(session_id, 120, 40, model="bench")),
        ("end", lambda: manager.end_session(session_id)),
        ("list 50 newest", lambda: manager.list_sessions(limit=50, include_total=False)),
        (
            "list 50 newest by status",
            lambda: manager.list_sessions(status="completed", limit=50, include_total=False),
        ),
        ("list 50 with total", lambda: manager.list_sessions(limit=50)),
    ]
    for name, step in steps:
        samples[name].append(timed(step))


def measure(url: str, iterations: int) -> dict[str, dict[str, float]]:
    manager = SessionManager(open_store(url))
    samples: dict[str, list[float]] = defaultdict(list)
    for i in range(iterations):
        one_round(manager, i, samples)
    manager.close()
    return {name: percentiles(values) for name, values in samples.items()}


def postgres_schema(url: str) -> tuple[str, Callable[[], None]] | None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # report and skip the backend
        print(f"PostgreSQL unavailable ({exc}); skipping it")
        return None

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores",
        "date": datetime.now(UTC).date().isoformat(),
        "runs": [],
    }
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        results["baseline"] = {
            "raw SQLite durable insert+commit": raw_sqlite_commit(folder, args.iterations * 2)
        }
        for backend in args.backends.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                if backend == "sqlite":
                    url, cleanup = f"sqlite:///{folder / f'bench-{size}.db'}", None
                else:
                    scoped = postgres_schema(POSTGRES_URL)
                    if scoped is None:
                        continue
                    url, cleanup = scoped
                fill(url, size)
                ops = measure(url, args.iterations)
                results["runs"].append(
                    {"backend": backend, "existing_sessions": size, "operations": ops}
                )
                if cleanup:
                    cleanup()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    baseline = results["baseline"]["raw SQLite durable insert+commit"]
    base = baseline["p50_ms"]
    p99 = baseline["p99_ms"]
    print(f"baseline: raw SQLite durable insert+commit p50 {base:.3f} ms, p99 {p99:.3f} ms")
    header = ("backend", "sessions", "operation", "p50 ms", "p99 ms", "p50/base")
    print("{:9} {:>9} {:26} {:>8} {:>8} {:>9}".format(*header))
    for run in results["runs"]:
        for name, figures in run["operations"].items():
            ratio = figures["p50_ms"] / base
            print(
                f"{run['backend']:9} {run['existing_sessions']:>9,} {name:26} "
                f"{figures['p50_ms']:>8.3f} {figures['p99_ms']:>8.3f} {ratio:>8.2f}x"
            )


if __name__ == "__main__":
    main()
