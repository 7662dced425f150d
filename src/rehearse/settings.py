"""Settings from the environment (``REHEARSE_*`` variables), with offline defaults.

Every setting is documented in the README's configuration table; a test checks
that the table and this class agree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "rehearse"


def default_data_dir() -> Path:
    """The per-user data directory (``~/.local/share/rehearse`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class Settings(BaseSettings):
    """rehearse settings; each field reads ``REHEARSE_<FIELD NAME>``.

    Attributes:
        data_dir: where the default SQLite file and session folders live.
        database_url: SQLAlchemy URL of the store; empty means the SQLite file
            ``<data_dir>/rehearse.db``. ``sqlite://`` (no path) is an in-memory store.
        default_time_limit_minutes: time limit of a new session, minutes (5-180).
        default_token_budget: token budget of a new session, tokens (1,000-200,000).
        default_token_warning_threshold: fraction of the budget (0-1) at which one
            ``budget_warning`` event is recorded.
        default_ai_provider: provider of a new session's interviewer and evaluator.
        default_ai_model: model of that provider.
    """

    model_config = SettingsConfigDict(env_prefix="REHEARSE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    default_time_limit_minutes: int = Field(default=45, ge=5, le=180)
    default_token_budget: int = Field(default=50_000, ge=1_000, le=200_000)
    default_token_warning_threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    default_ai_provider: str = "offline"
    default_ai_model: str = "default"

    def resolved_database_url(self) -> str:
        """The database URL in force: ``database_url``, or the SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'rehearse.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment.

    Call ``get_settings.cache_clear()`` after changing ``REHEARSE_*`` variables.

    Raises:
        pydantic.ValidationError: a ``REHEARSE_*`` variable holds an invalid value.
    """
    return Settings()
