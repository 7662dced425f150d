"""Session engine latency, against a raw durable SQLite commit measured in the same run.

    uv run python benchmarks/bench_sessions.py            # SQLite and PostgreSQL, 10k and 100k
    uv run python benchmarks/bench_sessions.py --json     # for machines
    uv run python benchmarks/bench_sessions.py --backends sqlite --sizes 10000
    uv run python benchmarks/bench_sessions.py --profile slowest.html   # and profile it

For each backend and each size it fills a fresh database with that many existing
sessions (and their creation events), then times every public operation through
``SessionManager`` on sessions of its own: p50 and p99 in milliseconds, and the p50 of
the CPU time the process spent (``time.process_time``, the figure least disturbed when
other work shares the machine). The baseline is one single-row INSERT + COMMIT through
the stdlib ``sqlite3`` with the same durability settings (WAL, synchronous=FULL) on the
same disk, measured in the same run.

A raw commit (same settings, its own file on the same disk) is also timed after each
operation of every round, and each operation's p50 is printed as a multiple of both
baselines: ``p50/base`` (the baseline timed alone, which the verdict uses) and
``/inter`` (the interleaved one, which saw the same load but also pays for the disk work
the operation before it left behind, so it flatters). Where issue 16 sets one, the line
shows its target (start, pause, resume, record_usage <= 2x; create and end <= 3x) and
whether it is met. ``end`` is timed as ``rehearse serve`` runs it: the report is built
right after, off the caller's path (the background owner), so it is built here after the
timing stops. ``--profile PATH`` then runs the operation furthest over its target (or,
with every target met, the slowest one with a target) again under pyinstrument and
writes the profile to PATH (HTML when PATH ends in ``.html``, else text).

With PostgreSQL among the backends, the answers case follows (issue 16, item 4: ">=
2,000 answers/s on PostgreSQL across 64 sessions"), in a fresh schema of its own,
dropped at the end: ``--answer-sessions`` (64) sessions, each answered by a thread of
its own through ``SessionManager.submit_answer`` (the offline evaluator, practice mode,
no follow-ups, a distinct answer text each time), all threads at once. It is a Python
API case rather than an HTTP one because the figure is the engine's: one HTTP worker's
ceiling is the bare endpoint's rate, which POST answers is judged against in
``bench_http.py``. Its baseline, in the same run: as many threads each doing a raw
single-row INSERT + COMMIT through psycopg on the same server, before and after the
case (the lower rate kept). Printed: answers per second, their p50 / p99, CPU per
answer, the raw commit rate and the share of it, and ``>= 2,000/s met`` or ``MISSED``.
``--only-answers`` runs that case alone.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import sqlite3
import statistics
import tempfile
import threading
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
#: Issue 16's targets: an operation's p50 at most this many raw durable commits.
TARGETS = {
    "start": 2.0,
    "pause": 2.0,
    "resume": 2.0,
    "record_usage": 2.0,
    "create": 3.0,
    "end": 3.0,
}
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


def timed(fn: Callable[[], Any], cpu: list[float] | None = None) -> float:
    """Wall seconds of one call; its CPU seconds are appended to ``cpu``, if given."""
    cpu_start, start = time.process_time(), time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - cpu_start)
    return elapsed


class RawCommit:
    """The baseline: one durable single-row insert and commit with the stdlib driver."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=FULL")
        self.connection.execute("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, body TEXT)")

    def commit(self) -> None:
        self.connection.execute("BEGIN")
        self.connection.execute("INSERT INTO t VALUES (?, ?)", (uuid.uuid4().hex, "x" * 200))
        self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


def raw_sqlite_commit(folder: Path, iterations: int) -> dict[str, float]:
    """The baseline on its own, before any run."""
    raw = RawCommit(folder / "baseline.db")
    samples = [timed(raw.commit) for _ in range(iterations)]
    raw.close()
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


Step = tuple[str, Callable[[str], object]]


def steps(manager: SessionManager) -> list[Step]:
    """The operations on one session, in lifecycle order."""
    return [
        ("get", manager.get_session),
        ("start", manager.start_session),
        ("pause", manager.pause_session),
        ("resume", manager.resume_session),
        ("record_usage", lambda sid: manager.record_usage(sid, 120, 40, model="bench")),
        ("end", manager.end_session),
        ("list 50 newest", lambda sid: manager.list_sessions(limit=50, include_total=False)),
        (
            "list 50 newest by status",
            lambda sid: manager.list_sessions(status="completed", limit=50, include_total=False),
        ),
        ("list 50 with total", lambda sid: manager.list_sessions(limit=50)),
    ]


#: The row of the raw commit timed between the operations of each round.
INTERLEAVED = "raw durable commit"


def one_round(
    manager: SessionManager,
    i: int,
    samples: dict[str, list[float]],
    cpu: dict[str, list[float]],
    reports: list[str],
    raw: RawCommit,
) -> None:
    """Time every operation once, on a session of this round's own.

    A raw commit is timed after each operation, so the baseline sees the same load.
    """
    created: list[str] = []

    def create() -> None:
        created.append(manager.create_session({"candidate_name": f"Bench {i}"}).id)

    samples["create"].append(timed(create, cpu["create"]))
    samples[INTERLEAVED].append(timed(raw.commit, cpu[INTERLEAVED]))
    session_id = created[0]
    for name, step in steps(manager):
        samples[name].append(timed(functools.partial(step, session_id), cpu[name]))
        if name in TARGETS:
            samples[INTERLEAVED].append(timed(raw.commit, cpu[INTERLEAVED]))
    while reports:  # what the background owner does right after the request
        manager.services.reports.finish(reports.pop())


def open_manager(url: str) -> tuple[SessionManager, list[str]]:
    """A manager whose reports are queued as ``rehearse serve`` queues them."""
    manager = SessionManager(open_store(url))
    reports: list[str] = []
    manager.services.reports.defer_to(reports.append)
    return manager, reports


def measure(url: str, iterations: int, raw: RawCommit) -> dict[str, dict[str, float]]:
    manager, reports = open_manager(url)
    samples: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    warm: dict[str, list[float]] = defaultdict(list)
    for i in range(min(5, iterations)):  # the bank is parsed, statements compiled, once
        one_round(manager, -i - 1, defaultdict(list), warm, reports, raw)
    for i in range(iterations):
        one_round(manager, i, samples, cpu, reports, raw)
    manager.close()
    out = {}
    for name, values in samples.items():
        out[name] = percentiles(values) | {
            "cpu_p50_ms": round(statistics.median(cpu[name]) * 1000, 3)
        }
    return out


def profile(url: str, operation: str, iterations: int, path: Path) -> None:
    """Run rounds with ``operation`` under pyinstrument; write its profile to ``path``."""
    from pyinstrument import Profiler

    manager, reports = open_manager(url)
    profiler = Profiler(interval=0.0002)
    for i in range(iterations):
        session_id = ""
        if operation == "create":
            profiler.start()
        session_id = manager.create_session({"candidate_name": f"Profiled {i}"}).id
        if operation == "create":
            profiler.stop()
        for name, step in steps(manager):
            if name == operation:
                profiler.start()
            step(session_id)
            if name == operation:
                profiler.stop()
        while reports:
            manager.services.reports.finish(reports.pop())
    manager.close()
    if path.suffix == ".html":
        path.write_text(profiler.output_html())
    else:
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))


def judge(results: dict[str, Any]) -> None:
    """Add each operation's ratios to the baselines, its target and whether it is met.

    The verdict uses the baseline timed alone (the stricter: the interleaved commit
    also pays for the disk work the operation before it left behind).
    """
    alone = results["baseline"]["raw SQLite durable insert+commit"]["p50_ms"]
    for run in results["runs"]:
        interleaved = run["operations"][INTERLEAVED]["p50_ms"]
        run["interleaved_baseline_p50_ms"] = interleaved
        for name, figures in run["operations"].items():
            figures["ratio"] = round(figures["p50_ms"] / alone, 2)
            figures["ratio_interleaved"] = round(figures["p50_ms"] / interleaved, 2)
            target = TARGETS.get(name)
            figures["target_ratio"] = target
            figures["met"] = None if target is None else figures["ratio"] <= target


def slowest(results: dict[str, Any]) -> tuple[str, str, float]:
    """(backend, operation, ratio over target) of the case furthest over its target."""
    worst = ("sqlite", "create", -1.0)
    for run in results["runs"]:
        for name, figures in run["operations"].items():
            if figures["target_ratio"] is None:
                continue
            over = figures["ratio"] / figures["target_ratio"]
            if over > worst[2]:
                worst = (run["backend"], name, over)
    return worst


#: Issue 16 (item 4): answers stored per second on PostgreSQL across this many sessions.
ANSWER_SESSIONS = 64
ANSWER_TARGET_PER_SECOND = 2000.0
ANSWER_QUESTIONS = 30


class RawPostgresCommits:
    """The answers case's baseline: ``threads`` writers, each a single-row INSERT + COMMIT.

    Plain psycopg (the driver rehearse uses), one connection per thread, on a table of
    its own in the benchmark's schema; ``synchronous_commit`` as the server has it (on).
    """

    def __init__(self, url: str, threads: int) -> None:
        import psycopg

        parsed = make_url(url)
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.dsn = self.dsn.split("?")[0]
        self.options = parsed.query.get("options")
        self.threads = threads
        self.psycopg = psycopg

    def connect(self) -> Any:
        options = self.options if isinstance(self.options, str) else None
        return self.psycopg.connect(self.dsn, options=options or "")

    def run(self, per_thread: int) -> dict[str, float]:
        """Commits per second over ``threads`` writers doing ``per_thread`` commits each."""
        with self.connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS raw_commit (id text PRIMARY KEY, body text)"
            )
            connection.commit()
        connections = [self.connect() for _ in range(self.threads)]
        barrier = threading.Barrier(self.threads + 1)
        latencies: list[float] = []

        def writer(connection: Any) -> None:
            own: list[float] = []
            barrier.wait()
            for _ in range(per_thread):
                started = time.perf_counter()
                connection.execute(
                    "INSERT INTO raw_commit VALUES (%s, %s)", (uuid.uuid4().hex, "x" * 200)
                )
                connection.commit()
                own.append(time.perf_counter() - started)
            latencies.extend(own)

        workers = [threading.Thread(target=writer, args=(c,)) for c in connections]
        for worker in workers:
            worker.start()
        barrier.wait()
        started = time.perf_counter()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - started
        for connection in connections:
            connection.close()
        return {"per_second": round(len(latencies) / seconds, 1)} | percentiles(latencies)


def answer_text(reference: str, session: int, question: int) -> str:
    """A distinct answer per (session, question): half the model answer, then a remark.

    Distinct texts keep the scorer's per-text caches from answering for it: a real
    candidate's answer is new every time.
    """
    from rehearse.scoring.suite import partial_answer

    return (
        f"{partial_answer(reference)} In project {session} we measured this on service "
        f"{question} before and after the change."
    )


def answers_case(url: str, sessions: int, questions: int) -> dict[str, Any]:
    """``sessions`` threads, each answering every question of its own session, on ``url``.

    Each session is practice mode, ``questions`` questions, no follow-ups, the offline
    evaluator (answer and evaluation in one commit). The first answer of every session is
    the warm-up (untimed); then all threads start together and every answer is timed.
    Figures: answers per second (all timed answers over the wall time of the whole
    batch), p50 / p99 latency of one ``submit_answer`` in ms, and the process CPU time
    per answer in ms (one process: its threads share one interpreter lock, so
    ``1000 / cpu_ms`` bounds its answers per second whatever the database does).
    """
    manager, _ = open_manager(url)
    plans: list[tuple[str, list[tuple[str, str]]]] = []
    for i in range(sessions):
        config = {
            "candidate_name": f"Answers Candidate {i}",
            "question_count": questions,
            "max_follow_ups": 0,
            "time_limit_minutes": 180,
        }
        session_id = manager.create_session(config).id
        manager.start_session(session_id)
        bank = manager.services.interviews.questions(session_id)
        items = manager.get_plan(session_id).items
        texts = [
            (item.id, answer_text(bank[item.question_id].reference_answer, i, q))
            for q, item in enumerate(items)
        ]
        plans.append((session_id, texts))
    for session_id, texts in plans:  # warm-up: statements, caches, pool connections
        manager.submit_answer(session_id, texts[0][0], texts[0][1], 95.0)
    barrier = threading.Barrier(sessions + 1)
    latencies: list[float] = []
    errors: list[str] = []

    def answer_all(session_id: str, texts: list[tuple[str, str]]) -> None:
        own: list[float] = []
        barrier.wait()
        for item_id, answer in texts[1:]:
            started = time.perf_counter()
            try:
                manager.submit_answer(session_id, item_id, answer, 95.0)
            except Exception as exc:  # counted and shown, the others go on
                errors.append(repr(exc))
                continue
            own.append(time.perf_counter() - started)
        latencies.extend(own)

    workers = [threading.Thread(target=answer_all, args=plan) for plan in plans]
    for worker in workers:
        worker.start()
    barrier.wait()
    cpu, started = time.process_time(), time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    manager.close()
    done = len(latencies)
    return {
        "sessions": sessions,
        "answers": done,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(seconds, 3),
        "per_second": round(done / seconds, 1) if seconds else 0.0,
        "cpu_ms_per_answer": round(1000 * cpu / done, 3) if done else None,
    } | (percentiles(latencies) if latencies else {})


def measure_answers(url: str, sessions: int, questions: int) -> dict[str, Any]:
    """The answers case and its baseline (raw commits by as many writers), in one run.

    The baseline runs first and again after the case; the lower of the two is kept, so
    a load change during the run does not flatter the ratio.
    """
    raw = RawPostgresCommits(url, sessions)
    per_thread = max(5, questions - 1)
    before = raw.run(per_thread)
    case = answers_case(url, sessions, questions)
    after = raw.run(per_thread)
    baseline = min(before, after, key=lambda figures: figures["per_second"])
    case["raw_commits_per_second"] = baseline["per_second"]
    case["raw_commit_p50_ms"] = baseline["p50_ms"]
    case["percent_of_raw"] = round(100 * case["per_second"] / baseline["per_second"], 1)
    case["target_per_second"] = ANSWER_TARGET_PER_SECOND
    case["met"] = case["per_second"] >= ANSWER_TARGET_PER_SECOND
    return case


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
    parser.add_argument(
        "--profile", type=Path, metavar="PATH", help="write a profile of the slowest case"
    )
    parser.add_argument(
        "--answer-sessions",
        type=int,
        default=ANSWER_SESSIONS,
        help="sessions (one thread each) of the PostgreSQL answers case; 0 skips it",
    )
    parser.add_argument(
        "--answer-questions", type=int, default=ANSWER_QUESTIONS, help="questions a session"
    )
    parser.add_argument(
        "--only-answers", action="store_true", help="run the PostgreSQL answers case alone"
    )
    args = parser.parse_args()
    if args.answer_questions < 2:
        parser.error("--answer-questions must be >= 2 (the first answer is the warm-up)")
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores",
        "date": datetime.now(UTC).date().isoformat(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "runs": [],
    }
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        results["baseline"] = {
            "raw SQLite durable insert+commit": raw_sqlite_commit(folder, args.iterations * 2)
        }
        urls: dict[str, str] = {}
        cleanups: list[Callable[[], None]] = []
        try:
            for backend in [] if args.only_answers else args.backends.split(","):
                for size in (int(s) for s in args.sizes.split(",")):
                    if backend == "sqlite":
                        url = f"sqlite:///{folder / f'bench-{size}.db'}"
                    else:
                        scoped = postgres_schema(POSTGRES_URL)
                        if scoped is None:
                            continue
                        url, cleanup = scoped
                        cleanups.append(cleanup)
                    fill(url, size)
                    urls.setdefault(backend, url)
                    raw = RawCommit(folder / "interleaved.db")
                    ops = measure(url, args.iterations, raw)
                    raw.close()
                    results["runs"].append(
                        {"backend": backend, "existing_sessions": size, "operations": ops}
                    )
            judge(results)
            if args.answer_sessions > 0 and "postgres" in args.backends.split(","):
                scoped = postgres_schema(POSTGRES_URL)
                if scoped is not None:
                    url, cleanup = scoped
                    cleanups.append(cleanup)
                    results["answers"] = measure_answers(
                        url, args.answer_sessions, args.answer_questions
                    )
            if args.profile and results["runs"]:
                backend, operation, over = slowest(results)
                profile(urls[backend], operation, max(20, args.iterations // 2), args.profile)
                results["profile"] = {
                    "path": str(args.profile),
                    "backend": backend,
                    "operation": operation,
                    "ratio_over_target": round(over, 2),
                }
        finally:
            for cleanup in cleanups:
                cleanup()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_table(results)


def print_table(results: dict[str, Any]) -> None:
    baseline = results["baseline"]["raw SQLite durable insert+commit"]
    base, p99 = baseline["p50_ms"], baseline["p99_ms"]
    print(
        f"{results['date']}, {results['machine']}, load average "
        f"{results['load_average_1min']} at start"
    )
    print(f"baseline alone: raw SQLite durable insert+commit p50 {base:.3f} ms, p99 {p99:.3f} ms")
    print(f"/inter: ratio to the '{INTERLEAVED}' row of its run, timed between its operations")
    header = ("backend", "sessions", "operation", "p50 ms", "p99 ms", "cpu ms", "p50/base")
    print("{:9} {:>9} {:26} {:>8} {:>8} {:>8} {:>9} {:>7}  target".format(*header, "/inter"))
    misses = 0
    for run in results["runs"]:
        for name, figures in run["operations"].items():
            target = figures["target_ratio"]
            verdict = "" if target is None else f"<= {target:g}x "
            if figures["met"] is not None:
                verdict += "met" if figures["met"] else "MISSED"
                misses += not figures["met"]
            print(
                f"{run['backend']:9} {run['existing_sessions']:>9,} {name:26} "
                f"{figures['p50_ms']:>8.3f} {figures['p99_ms']:>8.3f} "
                f"{figures['cpu_p50_ms']:>8.3f} {figures['ratio']:>8.2f}x "
                f"{figures['ratio_interleaved']:>6.2f}x  {verdict}"
            )
    answers = results.get("answers")
    if answers is not None:
        print_answers(answers)
        misses += not answers["met"]
    print(f"{misses} target(s) missed" if misses else "every target met")
    if "profile" in results:
        found = results["profile"]
        print(
            f"profile of {found['operation']} on {found['backend']} "
            f"({found['ratio_over_target']:.2f}x its target) written to {found['path']}"
        )


def print_answers(answers: dict[str, Any]) -> None:
    """The PostgreSQL answers case: its rate beside the raw commits' rate, and its verdict."""
    print(
        f"postgres answers, {answers['sessions']} sessions in {answers['sessions']} threads: "
        f"{answers['answers']:,} answers in {answers['seconds']:.2f} s = "
        f"{answers['per_second']:,.1f}/s (p50 {answers.get('p50_ms', 0):.2f} ms, p99 "
        f"{answers.get('p99_ms', 0):.2f} ms, CPU {answers['cpu_ms_per_answer']} ms an answer); "
        f"raw commits by as many writers {answers['raw_commits_per_second']:,.1f}/s "
        f"(p50 {answers['raw_commit_p50_ms']:.2f} ms), {answers['percent_of_raw']:.1f}% of it; "
        f">= {answers['target_per_second']:,.0f}/s {'met' if answers['met'] else 'MISSED'}"
    )
    if answers["errors"]:
        print(f"postgres answers: {answers['errors']} errors, the first: {answers['first_error']}")


if __name__ == "__main__":
    main()
