"""``rehearse providers``: which AI providers exist here, and whether one is ready to use.

``list`` shows every provider with its extra, key and default model; ``check
PROVIDER:MODEL`` verifies the configuration without any network call, and with
``--connect`` sends one tiny request (a few tokens, not charged to any session).
Exit codes: 0 ready, 2 not configured (the message says what to install or set), 1 the
connection failed.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from rehearse.ai.providers import PROVIDERS, ModelRef, ProviderStatus, check_provider
from rehearse.cli.render import console, emit_json
from rehearse.errors import ConfigurationError

app = typer.Typer(help="List AI providers and check that one is configured.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _state(status: ProviderStatus) -> str:
    return "ready" if status.ready else "; ".join(status.problems)


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """List the AI providers, their default models and whether each is ready here."""
    statuses = [check_provider(ModelRef.of(name, "default")) for name in PROVIDERS]
    if as_json:
        emit_json([s.to_json() for s in statuses])
        return
    table = Table()
    for column in ("provider", "default model", "extra", "key", "state"):
        table.add_column(column)
    for status in statuses:
        info = status.info
        key = " or ".join(info.key_env) or "-"
        if info.base_url_env:
            key += f" / {info.base_url_env}"
        cells = (
            info.name,
            status.ref.model,
            f"rehearse[{info.extra}]" if info.extra else "-",
            key,
            _state(status),
        )
        table.add_row(*(Text(cell) for cell in cells))
    console.print(table)


@app.command()
def check(
    model: str = typer.Argument(..., metavar="PROVIDER:MODEL", help="e.g. openai:gpt-4o-mini"),
    connect: bool = typer.Option(
        False, "--connect", help="Also send one tiny request to the model (uses a few tokens)."
    ),
    as_json: bool = JSON,
) -> None:
    """Check that PROVIDER:MODEL is installed and configured (and, with --connect, answers)."""
    ref = ModelRef.parse(model)
    status = check_provider(ref)
    result = status.to_json()
    connection: dict[str, Any] | None = None
    if status.ready and connect and not ref.is_offline:
        from rehearse.ai.checks import connect_once

        connection = connect_once(ref)
        result["connection"] = connection
    if as_json:
        emit_json(result)
    else:
        price = status.price
        lines = [f"{ref}: {status.info.description}"]
        if status.base_url:
            lines.append(f"  base URL: {status.base_url}")
        lines.append(
            "  price: "
            + (f"${price.input}/${price.output} per million tokens in/out" if price else "unknown")
        )
        if connection is not None:
            lines.append(f"  connection: {connection['message']}")
        for line in lines:
            console.print(Text(line), emoji=False, soft_wrap=True)
    if not status.ready:
        raise ConfigurationError("; ".join(status.problems))
    if connection is not None and not connection["ok"]:
        raise typer.Exit(1)
    if not as_json:
        console.print("ready")
