"""``rehearse scoring``: measure the offline answer evaluator against human grades."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from rehearse.cli.render import console, emit_json
from rehearse.scoring import run_benchmark

app = typer.Typer(help="Measure the offline answer evaluator.", no_args_is_help=True)


@app.command()
def benchmark(
    path: Path = typer.Argument(
        ...,
        help="JSON lines, each with question, reference_answer, answer and score_avg (0-5).",
        metavar="FILE.jsonl",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Score every graded answer in FILE.jsonl and compare the scores with the human grades.

    Prints the number of answers, the Pearson correlation (-1 to 1), the RMSE in grade
    points (0-5 scale) and the mean milliseconds per answer.
    """
    result = run_benchmark(path)
    if as_json:
        emit_json(result.model_dump())
        return
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("file", str(path))
    table.add_row("answers (n)", str(result.n))
    table.add_row("Pearson r", f"{result.pearson_r:.3f}")
    table.add_row("RMSE (0-5)", f"{result.rmse:.3f}")
    table.add_row("ms per answer", f"{result.ms_per_answer:.2f}")
    console.print(table)
