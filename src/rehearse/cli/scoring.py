"""``rehearse scoring``: measure the answer evaluator against human grades and bad answers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from rehearse.cli.render import console, emit_json
from rehearse.errors import ConfigurationError

app = typer.Typer(help="Measure the offline answer evaluator.", no_args_is_help=True)

SUITES = ("interview",)


@app.command()
def benchmark(
    path: Path | None = typer.Argument(
        None,
        help="JSON lines, each with question, reference_answer, answer and score_avg (0-5).",
        metavar="[FILE.jsonl]",
    ),
    suite: str | None = typer.Option(
        None,
        "--suite",
        help="Run a built-in suite instead of FILE.jsonl: interview (answers of eight kinds "
        "for every bank question).",
    ),
    provider: str | None = typer.Option(
        None,
        "--provider",
        help="Score the suite with this AI provider's model instead of offline "
        "(openai, anthropic, google, ollama, test).",
    ),
    model: str | None = typer.Option(None, "--model", help="Model of the AI provider."),
    limit: int | None = typer.Option(
        None,
        "--limit",
        min=1,
        help="Suite: use this many bank questions, spread over the bank (default: all).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Measure the evaluator: against human grades in FILE.jsonl, or on the interview suite.

    With FILE.jsonl: the number of answers, the Pearson correlation (-1 to 1), the RMSE in
    grade points (0-5 scale) and the mean milliseconds per answer. With ``--suite
    interview``: the mean score (0-100) of each kind of answer, how often each bad kind
    scores at least as high as the partial answer, and milliseconds per answer.
    """
    if suite is None and path is None:
        raise ConfigurationError(
            "pass FILE.jsonl or --suite interview",
            errors=[{"field": "path", "value": None, "message": "FILE.jsonl or --suite needed"}],
        )
    if suite is not None:
        if path is not None:
            raise ConfigurationError(
                f"pass FILE.jsonl or --suite, not both (got {path} and --suite {suite})",
                errors=[{"field": "suite", "value": suite, "message": "not with FILE.jsonl"}],
            )
        _suite(suite, provider, model, limit, as_json)
        return
    if provider is not None or model is not None:
        raise ConfigurationError(
            "--provider and --model apply to --suite interview only",
            errors=[{"field": "provider", "value": provider, "message": "needs --suite"}],
        )
    assert path is not None
    from rehearse.scoring import run_benchmark

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


def _suite(
    suite: str, provider: str | None, model: str | None, limit: int | None, as_json: bool
) -> None:
    if suite not in SUITES:
        raise ConfigurationError(
            f"unknown suite {suite!r}; choose from {', '.join(SUITES)}",
            errors=[{"field": "suite", "value": suite, "message": f"one of {', '.join(SUITES)}"}],
        )
    from rehearse.ai.offline import OfflineEvaluator
    from rehearse.bank import load_bank
    from rehearse.scoring.suite import BAD_KINDS, run_suite, spread

    questions = spread(list(load_bank()), limit)
    if provider is None or provider == "offline":
        if model is not None and provider is None:
            raise ConfigurationError(
                "--model needs --provider",
                errors=[{"field": "model", "value": model, "message": "needs --provider"}],
            )
        offline = OfflineEvaluator()
        offline.contrast  # build the index before the clock starts  # noqa: B018
        result = run_suite(questions, offline.evaluate, evaluator=offline.name)
    else:
        from rehearse.ai.budget import UnmeteredAccount
        from rehearse.ai.calls import ModelCaller
        from rehearse.ai.llm import LLMEvaluator
        from rehearse.ai.providers import ModelRef, ProviderModels, require_ready

        ref = ModelRef.parse(f"{provider}:{model}" if model else provider)
        require_ready(ref)
        llm = LLMEvaluator(ModelCaller(ref, ProviderModels(), "evaluator"), UnmeteredAccount())
        result = run_suite(questions, llm.evaluate, evaluator=llm.name)
    if as_json:
        emit_json(result.model_dump())
        return
    table = Table(title=f"interview suite: {result.evaluator}, {result.questions} questions")
    for column in ("answer kind", "n", "mean score", "min", "max", ">= partial"):
        table.add_column(column, justify="left" if column == "answer kind" else "right")
    for kind, figures in result.kinds.items():
        share = figures.at_least_partial
        table.add_row(
            kind + (" (bad)" if kind in BAD_KINDS else ""),
            str(figures.n),
            f"{figures.mean_score:.1f}",
            str(figures.min_score),
            str(figures.max_score),
            "-" if share is None else f"{100 * share:.1f}%",
        )
    console.print(table)
    console.print(
        f"ms per answer: {result.ms_per_answer:.2f} wall, {result.cpu_ms_per_answer:.2f} CPU"
    )
