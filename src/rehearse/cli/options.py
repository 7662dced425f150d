"""Options several commands share, with help text drawn from the domain's own choices."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer

from rehearse.domain.config import Level, Role


def _choices(kind: type[StrEnum]) -> str:
    values = [member.value for member in kind]
    return ", ".join(values[:-1]) + f" or {values[-1]}"


def role_option() -> Any:
    """``--role``: one of the roles the question bank covers."""
    return typer.Option(None, "--role", help=f"Role: {_choices(Role)}.")


def level_option() -> Any:
    """``--level``: junior, mid, senior or staff."""
    return typer.Option(None, "--level", help=f"Level: {_choices(Level)}.")
