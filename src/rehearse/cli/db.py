"""``rehearse db``: database maintenance."""

from __future__ import annotations

import typer

from rehearse.cli.context import AppState
from rehearse.cli.render import console, emit_json
from rehearse.settings import get_settings
from rehearse.storage import open_store

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command()
def upgrade(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Apply pending schema migrations (also done automatically on first use)."""
    state = ctx.find_root().obj
    assert isinstance(state, AppState)
    url = state.database_url or get_settings().resolved_database_url()
    store = open_store(url, migrate_on_open=False)
    try:
        before, after = store.upgrade()
    finally:
        store.close()
    if as_json:
        emit_json(
            {"database": store.engine.url.render_as_string(), "before": before, "after": after}
        )
    elif before == after:
        console.print(f"database is up to date (revision {after})")
    else:
        console.print(f"database upgraded from {before or 'empty'} to {after}")
