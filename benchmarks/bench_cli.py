"""CLI start-up: the installed ``rehearse`` command as a process, against ``python -c pass``.

    uv run python benchmarks/bench_cli.py             # a Markdown table
    uv run python benchmarks/bench_cli.py --json      # for machines
    uv run python benchmarks/bench_cli.py --runs 30
    uv run python benchmarks/bench_cli.py --compare /path/to/other/.venv/bin/rehearse

Each case runs the console script installed beside this interpreter (what a person types)
as a fresh process, ``--runs`` times, interleaved with the other cases so a noisy moment
hits them all alike, and reports the median, 90th percentile and fastest wall time in
milliseconds, and the median CPU time (user + system) of the process, which a busy machine
inflates less than the wall time. The baseline is ``python -c pass`` on the same
interpreter in the same run: the floor no Python command can go below. ``sessions show``
reads a session of a SQLite database made (and migrated) before timing starts.
``--compare`` also times another installed ``rehearse`` (an older checkout's) in the same
run, on its own database, so before and after share the machine's moment.
Targets (issue 8 item 5):
``rehearse --version`` < 300 ms, ``rehearse sessions show ID`` < 600 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGETS_MS = {"rehearse --version": 300.0, "rehearse sessions show ID": 600.0}


def rehearse_script() -> Path:
    script = Path(sys.executable).with_name("rehearse")
    if not script.exists():
        raise SystemExit(f"no installed rehearse command beside {sys.executable}; run uv sync")
    return script


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``argv`` as a child process."""
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started, _children_cpu() - cpu


def summary(samples: list[tuple[float, float]]) -> dict[str, float]:
    wall = sorted(w for w, _ in samples)
    return {
        "median_ms": round(statistics.median(wall) * 1000, 1),
        "p90_ms": round(wall[min(len(wall) - 1, int(len(wall) * 0.9))] * 1000, 1),
        "min_ms": round(wall[0] * 1000, 1),
        "cpu_median_ms": round(statistics.median(c for _, c in samples) * 1000, 1),
    }


def _show_case(script: str, tmp: str, env: dict[str, str], tag: str) -> list[str]:
    """``rehearse --db D sessions show ID`` on a fresh database of this script's own."""
    db = f"sqlite:///{Path(tmp) / f'bench-{tag}.db'}"
    created = subprocess.run(
        [script, "--db", db, "sessions", "create", "--candidate-name", "Ada", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return [script, "--db", db, "sessions", "show", json.loads(created.stdout)["id"]]


def run(runs: int, compare: str | None = None) -> dict[str, Any]:
    script = str(rehearse_script())
    with tempfile.TemporaryDirectory() as tmp:
        # as a person runs it: no REHEARSE_* settings, and Python's bytecode cache on (the
        # warm-up run writes it), whatever PYTHONDONTWRITEBYTECODE this shell has
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("REHEARSE_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env |= {"REHEARSE_DATA_DIR": str(Path(tmp) / "data"), "COLUMNS": "120"}
        cases: dict[str, list[str]] = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "rehearse --version": [script, "--version"],
            "rehearse sessions show ID": _show_case(script, tmp, env, "this"),
        }
        if compare is not None:
            cases["compared: rehearse --version"] = [compare, "--version"]
            cases["compared: rehearse sessions show ID"] = _show_case(compare, tmp, env, "other")
        for argv in cases.values():  # warm the file cache and the bytecode once
            timed(argv, env)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, argv in cases.items():
                samples[name].append(timed(argv, env))
    baseline = statistics.median(w for w, _ in samples["python -c pass (baseline)"])
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "runs": runs,
        "cases": [],
    }
    for name, values in samples.items():
        stats = summary(values)
        target = TARGETS_MS.get(name)
        results["cases"].append(
            {
                "case": name,
                **stats,
                "over_baseline_ms": round(stats["median_ms"] - baseline * 1000, 1),
                "target_ms": target,
                "met": None if target is None else stats["median_ms"] < target,
            }
        )
    return results


def table(results: dict[str, Any]) -> str:
    lines = [
        "| Case | median ms | p90 ms | min ms | CPU ms (median) | over baseline ms | target |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for case in results["cases"]:
        target = (
            "-"
            if case["target_ms"] is None
            else f"< {case['target_ms']:.0f} ms ({'met' if case['met'] else 'NOT met'})"
        )
        lines.append(
            f"| `{case['case']}` | {case['median_ms']:.1f} | {case['p90_ms']:.1f} "
            f"| {case['min_ms']:.1f} | {case['cpu_median_ms']:.1f} "
            f"| {case['over_baseline_ms']:.1f} | {target} |"
        )
    machine = results["machine"]
    lines.append("")
    lines.append(
        f"{results['runs']} runs a case, Python {machine['python']}, {machine['cpus']} CPUs, "
        f"load average {machine['load_average_1m']} at the end."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each case")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--compare", metavar="REHEARSE", help="another rehearse command to time")
    args = parser.parse_args()
    results = run(args.runs, args.compare)
    print(json.dumps(results, indent=2) if args.json else table(results))


if __name__ == "__main__":
    main()
