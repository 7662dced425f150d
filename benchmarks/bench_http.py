"""HTTP throughput and latency of rehearse's API, against a bare FastAPI endpoint in the same run.

    uv run python benchmarks/bench_http.py                   # 3,000 requests a case, 64 connections
    uv run python benchmarks/bench_http.py --json            # for machines
    uv run python benchmarks/bench_http.py --requests 9000 --concurrency 32 --rounds 5

Two server processes, each on a free 127.0.0.1 port with the same uvicorn settings (one
worker, uvloop and httptools, no access log), and three cases:

- ``bare GET``, the baseline: ``benchmarks/bare_app.py``, a FastAPI app with one
  synchronous endpoint returning a session-sized dict (~1.3 KB of JSON);
- ``GET session``: ``GET /api/v1/sessions/{id}`` on ``rehearse serve`` (local mode, a
  fresh SQLite database in a temporary ``REHEARSE_DATA_DIR``), one started session;
- ``POST answer``: ``POST /api/v1/sessions/{id}/answers`` on the same server, each request
  answering a different pending question (sessions of 30 questions, no follow-ups,
  practice mode, the offline evaluator), interleaved so that requests in flight at the
  same time answer different sessions.

Each case first sends ``--warmup`` untimed requests, then ``--requests`` timed ones split
over ``--rounds`` rounds; a round runs the three cases one after the other, so that a
change in the machine's load hits every case alike. Requests go through
``--concurrency`` keep-alive HTTP/1.1 connections from one asyncio client (uvloop and
raw sockets, no HTTP library in the way). A case stops after ``--timeout`` seconds even
when unfinished. Figures: requests per second (all timed requests over their rounds'
seconds); p50 and p99 latency in milliseconds, from writing a request to reading the end
of its response; the server's CPU time per request in milliseconds (user + system, from
``/proc``, Linux only); and the client's CPU use (percent of one core).

The targets: GET session throughput at least 50% of the bare endpoint's (issue 4, item 6),
POST answer at least 25% (issue 16). Each case is printed with its share of the bare
endpoint's throughput, its target and whether it is met (``--json``: ``percent_of_bare``,
``target_percent_of_bare``, ``met``). ``--profile PATH`` then replays the case furthest
below its target (``--profile-requests`` more requests, fresh answers for POST) while
py-spy samples every thread of the rehearse server, and writes the profile to PATH:
a flame graph for ``.svg``, speedscope JSON for ``.json``, else collapsed stacks (text).

Caveats: the client shares the machine's cores with the server and takes CPU the server
could have used (the client CPU column shows how much: about 10% of one core at the bare
endpoint's ~2,500 requests/s on a 2-core machine, less for the others), and so does
anything else running (the 1-minute load average at the start is printed): compare cases
within one run rather than across machines. Server CPU per request is the figure least
disturbed by either. rehearse writes one log line per request to stderr (here a file in
the temporary directory): that is part of what it costs, and part of its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
QUESTIONS_PER_SESSION = 30
READY_SECONDS = 60.0
#: Issue 4 (item 6) and issue 16: a case's throughput at least this share of the bare one's.
TARGETS = {"GET session": 50.0, "POST answer": 25.0}
ANSWER = (
    "I would put the cache in front of the database with a read-through pattern: on a miss "
    "the service reads the row, stores it with a TTL of a few minutes and returns it. Writes "
    "go to the database first and then delete the cache key, so a reader never keeps a "
    "stale value for longer than one round trip. To avoid a stampede when a hot key expires "
    "I would add jitter to the TTL and let one request refresh it while the others wait. "
    "I would measure the hit rate, p99 latency and database load before and after."
)


@dataclass
class Run:
    """What a case measured so far: a latency per completed request, failures, time spent."""

    latencies: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    server_cpu_seconds: float | None = 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def http_request(method: str, path: str, body: Any = None) -> bytes:
    """One raw HTTP/1.1 request (keep-alive is HTTP/1.1's default)."""
    payload = b"" if body is None else json.dumps(body).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: bench_http\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    return (head + "\r\n").encode() + payload


def parse_head(head: bytes) -> tuple[int, int]:
    """Status and Content-Length of a response head (the servers never send chunks here)."""
    status = int(head[9:12])
    lowered = head.lower()
    at = lowered.find(b"\r\ncontent-length:")
    if at < 0:
        raise ValueError(f"response without Content-Length: {head[:200]!r}")
    end = lowered.index(b"\r\n", at + 2)
    return status, int(lowered[at + 17 : end])


async def drive(
    port: int, requests: Sequence[bytes], concurrency: int, timeout: float, run: Run
) -> None:
    """Send ``requests`` in order over ``concurrency`` keep-alive connections into ``run``.

    Connections are opened before the clock starts. Stops early after ``timeout`` seconds.
    """
    connections = await asyncio.gather(
        *(asyncio.open_connection(HOST, port) for _ in range(concurrency))
    )
    next_index = 0
    deadline = time.perf_counter() + timeout

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal next_index
        while next_index < len(requests) and time.perf_counter() < deadline:
            request = requests[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                writer.write(request)
                status, length = parse_head(await reader.readuntil(b"\r\n\r\n"))
                body = await reader.readexactly(length)
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                run.errors.append(f"connection failed: {exc!r}")
                return
            run.latencies.append(time.perf_counter() - started)
            run.sizes.append(length)
            if status >= 300:
                run.errors.append(f"HTTP {status}: {body[:300].decode(errors='replace')}")

    cpu, started = time.process_time(), time.perf_counter()
    try:
        workers = asyncio.gather(*(worker(r, w) for r, w in connections))
        await asyncio.wait_for(workers, timeout + 30)
    except TimeoutError:
        run.errors.append(f"stopped after {timeout + 30:.0f} s with requests in flight")
    run.seconds += time.perf_counter() - started
    run.client_cpu_seconds += time.process_time() - cpu
    for _, writer in connections:
        writer.close()


def server_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its threads, or None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A server subprocess on ``port``; its output goes to ``log``."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request through ``http.client`` (set-up only); the decoded JSON answer.

        Raises:
            RuntimeError: the server answered with an error status.
        """
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            payload = None if body is None else json.dumps(body)
            headers = {} if body is None else {"Content-Type": "application/json"}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {response.status} {data[:300]!r}")
        return json.loads(data)

    def wait_ready(self, path: str) -> None:
        """Poll ``path`` until it answers 200.

        Raises:
            RuntimeError: the process exited, or it was not ready in time; with its log.
        """
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited ({self.process.returncode}):\n{self.tail()}")
            try:
                self.call("GET", path)
                return
            except (OSError, RuntimeError):
                time.sleep(0.1)
        raise RuntimeError(f"server not ready after {READY_SECONDS:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])


@contextmanager
def serve(command: list[str], env: dict[str, str], log: Path, ready: str) -> Iterator[Server]:
    """Run ``command`` (``{port}`` filled in) until the block ends, once ``ready`` answers."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [part.format(port=port) for part in command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=HERE.parent,
        )
        server = Server(process, port, log)
        try:
            server.wait_ready(ready)
            yield server
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def server_env(data_dir: Path | None = None) -> dict[str, str]:
    """This environment without ``REHEARSE_*`` settings, plus a data directory if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REHEARSE_")}
    if data_dir is not None:
        env["REHEARSE_DATA_DIR"] = str(data_dir)
    return env


def bare_server(folder: Path) -> AbstractContextManager[Server]:
    command = [
        *(sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(HERE)),
        *("--host", HOST, "--port", "{port}", "--workers", "1", "--log-level", "warning"),
        *("--no-access-log", "--no-proxy-headers", "--timeout-graceful-shutdown", "10"),
    ]
    return serve(command, server_env(), folder / "bare.log", "/items/ready")


def rehearse_server(folder: Path) -> AbstractContextManager[Server]:
    data_dir = folder / "data"
    data_dir.mkdir()
    command = [
        *(sys.executable, "-m", "rehearse", "serve", "--host", HOST, "--port", "{port}"),
        *("--workers", "1", "--log-level", "warning"),
    ]
    return serve(command, server_env(data_dir), folder / "rehearse.log", "/readyz")


def answer_requests(server: Server, count: int, concurrency: int) -> list[bytes]:
    """``count`` answers, each to a different pending question, over enough started sessions.

    Question-major order: the same session comes back only after every other session
    had one answer, so requests in flight together rarely touch the same session. Each
    text is distinct (the shared answer plus a numbered sentence).

    Raises:
        RuntimeError: the plans hold fewer questions than ``count``.
    """
    sessions = max(concurrency, math.ceil(count / QUESTIONS_PER_SESSION))
    plans: list[tuple[str, list[str]]] = []
    for i in range(sessions):
        config = {
            "candidate_name": f"Bench Candidate {i}",
            "question_count": QUESTIONS_PER_SESSION,
            "max_follow_ups": 0,
            "time_limit_minutes": 180,
        }
        session_id = server.call("POST", "/api/v1/sessions", config)["id"]
        server.call("POST", f"/api/v1/sessions/{session_id}/start")
        plan = server.call("GET", f"/api/v1/sessions/{session_id}/plan")
        plans.append((session_id, [item["id"] for item in plan["items"]]))
    requests: list[bytes] = []
    for q in range(QUESTIONS_PER_SESSION):
        for session_id, items in plans:
            if q < len(items):
                # a distinct text each time, as real answers are: the scorer's per-text
                # caches must not answer for it
                text = f"{ANSWER} On project {len(requests) + 1} we kept this design."
                body = {"question_id": items[q], "text": text, "time_spent_seconds": 95.0}
                path = f"/api/v1/sessions/{session_id}/answers"
                requests.append(http_request("POST", path, body))
    if len(requests) < count:
        raise RuntimeError(f"plans hold {len(requests)} questions; {count} are needed")
    return requests[:count]


@dataclass
class Case:
    """One measured case: its server, its requests (warm-up first) and what it measured."""

    name: str
    server: Server
    requests: list[bytes]
    run: Run = field(default_factory=Run)


def run_cases(cases: list[Case], args: argparse.Namespace) -> None:
    """Warm every case up, then run the timed requests round by round, case after case."""
    bounds = [args.requests * r // args.rounds for r in range(args.rounds + 1)]

    async def timed(case: Case, requests: Sequence[bytes]) -> None:
        budget = max(0.0, args.timeout - case.run.seconds)
        before = server_cpu_seconds(case.server.process.pid)
        await drive(case.server.port, requests, args.concurrency, budget, case.run)
        after = server_cpu_seconds(case.server.process.pid)
        if before is None or after is None or case.run.server_cpu_seconds is None:
            case.run.server_cpu_seconds = None
        else:
            case.run.server_cpu_seconds += after - before

    async def everything() -> None:
        for case in cases:
            if args.warmup:
                untimed = Run()
                warmup = case.requests[: args.warmup]
                await drive(case.server.port, warmup, args.concurrency, args.timeout, untimed)
                if untimed.errors:
                    raise RuntimeError(f"{case.name} warm-up failed: {untimed.errors[0]}")
        for start, end in pairwise(bounds):
            for case in cases:
                await timed(case, case.requests[args.warmup + start : args.warmup + end])

    try:
        import uvloop
    except ImportError:  # the stdlib loop works too, at a higher client CPU cost
        asyncio.run(everything())
        return
    uvloop.run(everything())


def figures(case: Case, args: argparse.Namespace) -> dict[str, Any]:
    """The case's figures (see the module docstring for their units)."""
    run = case.run
    done = len(run.latencies)
    ordered = sorted(run.latencies) or [math.nan]
    seconds = run.seconds or math.nan
    server_cpu = run.server_cpu_seconds
    return {
        "case": case.name,
        "requests": done,
        "planned": len(case.requests) - args.warmup,
        "errors": len(run.errors),
        "first_error": run.errors[0] if run.errors else None,
        "seconds": round(run.seconds, 3),
        "req_per_s": round(done / seconds, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "response_bytes": int(statistics.median(run.sizes)) if run.sizes else 0,
        "server_cpu_ms_per_request": (
            round(1000 * server_cpu / done, 3) if server_cpu is not None and done else None
        ),
        "client_cpu_percent": round(100 * run.client_cpu_seconds / seconds, 1),
    }


def print_table(results: dict[str, Any]) -> None:
    print(
        f"{results['date']}, {results['machine']}, Python {results['python']}, load average "
        f"{results['load_average_1min']} at start; {results['concurrency']} connections, "
        f"{results['rounds']} rounds, {results['warmup']} warm-up requests a case"
    )
    header = ("case", "requests", "errors", "seconds", "req/s", "p50 ms", "p99 ms", "bytes")
    more = ("srv CPU ms/req", "client CPU", "% of bare", "target")
    print("{:12} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8} {:>6}".format(*header), end=" ")
    print("{:>14} {:>10} {:>9}  {}".format(*more))
    for case in results["cases"]:
        cpu = case["server_cpu_ms_per_request"]
        print(
            f"{case['case']:12} {case['requests']:>8,} {case['errors']:>6} "
            f"{case['seconds']:>8.2f} {case['req_per_s']:>8.1f} {case['p50_ms']:>8.2f} "
            f"{case['p99_ms']:>8.2f} {case['response_bytes']:>6} "
            f"{'n/a' if cpu is None else f'{cpu:.3f}':>14} "
            f"{case['client_cpu_percent']:>9.1f}% {case['percent_of_bare']:>8.1f}%  "
            f"{verdict(case)}"
        )
    for case in results["cases"]:
        if case["requests"] < case["planned"]:
            print(f"{case['case']}: stopped at --timeout after {case['requests']:,} requests")
        if case["first_error"]:
            print(f"{case['case']}: {case['errors']} errors, the first: {case['first_error']}")
    missed = [case["case"] for case in results["cases"] if case["met"] is False]
    print(f"target missed: {', '.join(missed)}" if missed else "every target met")
    if "profile" in results:
        found = results["profile"]
        print(f"profile of {found['case']} (py-spy, server threads) written to {found['path']}")


def verdict(case: dict[str, Any]) -> str:
    """``>= 50% met`` / ``>= 25% MISSED``, or nothing for a case without a target."""
    target = case["target_percent_of_bare"]
    if target is None:
        return ""
    return f">= {target:g}% {'met' if case['met'] else 'MISSED'}"


def judge(rows: list[dict[str, Any]]) -> None:
    """Each case's share of the bare endpoint's throughput, its target, whether met."""
    bare_rate = rows[0]["req_per_s"]
    for row in rows:
        row["percent_of_bare"] = round(100 * row["req_per_s"] / bare_rate, 1) if bare_rate else 0.0
        target = TARGETS.get(row["case"])
        row["target_percent_of_bare"] = target
        row["met"] = None if target is None else row["percent_of_bare"] >= target


def worst(rows: list[dict[str, Any]]) -> str:
    """The case furthest below its target (the lowest share of its target)."""
    with_target = [row for row in rows if row["target_percent_of_bare"]]
    return str(
        min(with_target, key=lambda row: row["percent_of_bare"] / row["target_percent_of_bare"])[
            "case"
        ]
    )


def profile(case: Case, requests: Sequence[bytes], path: Path, concurrency: int) -> None:
    """Replay ``requests`` of ``case`` while py-spy records its server into ``path``.

    Raises:
        RuntimeError: py-spy is missing (``uv sync`` installs it) or failed.
    """
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        raise RuntimeError(f"{spy} not found: run `uv sync` (py-spy is a dev dependency)")
    kind = {".svg": "flamegraph", ".json": "speedscope"}.get(path.suffix, "raw")
    command = [str(spy), "record", "--pid", str(case.server.process.pid), "--threads"]
    command += ["--rate", "250", "--format", kind, "--output", str(path)]
    recorder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(1.0)  # py-spy attaches before the requests start
    run = Run()

    async def replay() -> None:
        await drive(case.server.port, requests, concurrency, 120.0, run)

    asyncio.run(replay())
    recorder.send_signal(signal.SIGINT)
    output, _ = recorder.communicate(timeout=60)
    if not path.exists():
        raise RuntimeError(f"py-spy wrote no profile: {output.decode(errors='replace')[-500:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="timed requests a case")
    parser.add_argument("--warmup", type=int, default=300, help="untimed requests a case")
    parser.add_argument("--concurrency", type=int, default=64, help="keep-alive connections")
    parser.add_argument("--rounds", type=int, default=3, help="rounds the requests span")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a case may run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--profile", type=Path, metavar="PATH", help="profile the case furthest below target"
    )
    parser.add_argument(
        "--profile-requests", type=int, default=1000, help="requests replayed while profiling"
    )
    args = parser.parse_args()
    if min(args.requests, args.concurrency, args.rounds) < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --rounds must be >= 1, --warmup >= 0")
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores",
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "warmup": args.warmup,
    }
    count = args.warmup + args.requests
    extra = args.profile_requests if args.profile else 0
    with (
        tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp,
        bare_server(Path(tmp)) as bare,
        rehearse_server(Path(tmp)) as rehearse,
    ):
        config = {"candidate_name": "Bench Candidate", "question_count": QUESTIONS_PER_SESSION}
        session_id = rehearse.call("POST", "/api/v1/sessions", config)["id"]
        rehearse.call("POST", f"/api/v1/sessions/{session_id}/start")
        bare_get = http_request("GET", f"/items/{session_id}")
        session_get = http_request("GET", f"/api/v1/sessions/{session_id}")
        answers = answer_requests(rehearse, count + extra, args.concurrency)
        cases = [
            Case("bare GET", bare, [bare_get] * count),
            Case("GET session", rehearse, [session_get] * count),
            Case("POST answer", rehearse, answers[:count]),
        ]
        run_cases(cases, args)
        rows = [figures(case, args) for case in cases]
        judge(rows)
        if args.profile:
            name = worst(rows)
            replayed = answers[count:] if name == "POST answer" else [session_get] * extra
            case = next(c for c in cases if c.name == name)
            profile(case, replayed, args.profile, args.concurrency)
            results["profile"] = {"case": name, "path": str(args.profile)}
    results["cases"] = rows
    results["get_session_percent_of_bare"] = rows[1]["percent_of_bare"]
    results["post_answer_percent_of_bare"] = rows[2]["percent_of_bare"]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_table(results)


if __name__ == "__main__":
    main()
