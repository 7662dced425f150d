"""Settings from the environment (``REHEARSE_*`` variables), with offline defaults.

Every setting is documented in the README's configuration table; a test checks
that the table and this class agree.

The environment is read by :func:`environment_values` into a plain pydantic model
(issue 8 item 5): pydantic-settings did the same for us but imported asyncio, dotenv and
its CLI, cloud and secrets sources, about a tenth of ``rehearse sessions show``'s start-up.
The rules are the ones pydantic-settings applied with our configuration: a field
``name`` reads ``REHEARSE_NAME`` (any case); a list or dict field is JSON unless marked
:class:`NoDecode`; values given to ``Settings(...)`` win over the environment; defaults
are validated too.
"""

from __future__ import annotations

import contextlib
import json
import os
import typing
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

APP_NAME = "rehearse"

#: The prefix of every setting's environment variable.
ENV_PREFIX = "REHEARSE_"


class NoDecode:
    """Marks a list or dict field whose variable is not JSON (a validator parses it)."""


class ModelPrice(BaseModel):
    """What a model costs, in US dollars per million tokens.

    Attributes:
        input: USD per million prompt (input) tokens.
        output: USD per million completion (output) tokens.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)


#: Built-in prices, USD per million tokens (list prices of 2025; check your provider's page).
#: Keys are ``provider:model`` or shell-style patterns (``anthropic:claude-3-5-haiku*``);
#: the most specific match wins. Local and test models cost nothing.
DEFAULT_AI_PRICES: dict[str, ModelPrice] = {
    "openai:gpt-4o-mini*": ModelPrice(input=0.15, output=0.60),
    "openai:gpt-4o*": ModelPrice(input=2.50, output=10.00),
    "openai:gpt-4.1-nano*": ModelPrice(input=0.10, output=0.40),
    "openai:gpt-4.1-mini*": ModelPrice(input=0.40, output=1.60),
    "openai:gpt-4.1*": ModelPrice(input=2.00, output=8.00),
    "anthropic:claude-3-5-haiku*": ModelPrice(input=0.80, output=4.00),
    "anthropic:claude-haiku-4*": ModelPrice(input=1.00, output=5.00),
    "anthropic:claude-sonnet-4*": ModelPrice(input=3.00, output=15.00),
    "anthropic:claude-3-7-sonnet*": ModelPrice(input=3.00, output=15.00),
    "google:gemini-2.0-flash*": ModelPrice(input=0.10, output=0.40),
    "google:gemini-2.5-flash*": ModelPrice(input=0.30, output=2.50),
    "google:gemini-2.5-pro*": ModelPrice(input=1.25, output=10.00),
    "ollama:*": ModelPrice(input=0.0, output=0.0),
    "test:*": ModelPrice(input=0.0, output=0.0),
}


def default_data_dir() -> Path:
    """The per-user data directory (``~/.local/share/rehearse`` on Linux)."""
    import platformdirs  # only when REHEARSE_DATA_DIR does not name one

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _is_json(annotation: Any, metadata: list[Any]) -> bool:
    """Whether a field's environment value is JSON: a list or dict type, not :class:`NoDecode`."""
    if NoDecode in metadata:
        return False
    origins = {typing.get_origin(annotation) or annotation}
    origins |= {typing.get_origin(a) or a for a in typing.get_args(annotation)}
    return bool(origins & {list, dict, set, tuple})


def environment_values(
    fields: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ``REHEARSE_*`` values of ``fields`` (name -> pydantic FieldInfo), by field name.

    Variable names match in any case. A list or dict field's value is decoded as JSON; a
    value that is not JSON is passed on as text, so validation names the variable and the
    value (``REHEARSE_AI_PRICES='x': Input should be a valid dictionary``).
    """
    found = {
        key.upper()[len(ENV_PREFIX) :].lower(): value
        for key, value in (os.environ if environ is None else environ).items()
        if key.upper().startswith(ENV_PREFIX)
    }
    values: dict[str, Any] = {}
    for name, info in fields.items():
        if name not in found:
            continue
        value: Any = found[name]
        if _is_json(info.annotation, info.metadata):
            with contextlib.suppress(ValueError):  # validation will name it
                value = json.loads(value)
        values[name] = value
    return values


class Settings(BaseModel):
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
        ai_timeout_seconds: deadline of one model request, seconds (0-600); a request
            that runs out is retried like a rate limit.
        ai_answer_deadline_seconds: how long an answer waits for the session's model,
            seconds (issue 15); past it the candidate gets the offline evaluation at
            once, and the model's evaluation and follow-up arrive later as events.
        ai_output_mode: how a model is held to the reply's shape (issue 15): ``native``
            (the JSON-schema response format: OpenAI structured outputs, vLLM, Ollama,
            llama.cpp's ``llama-server``), ``tool`` (a call of one output tool, forced by
            name: servers such as llama-cpp-python constrain it by grammar), or ``auto``
            (native where pydantic-ai's profile of the model says it is supported, tool
            calls otherwise, and tool calls from then on for a model whose server refuses
            the schema format).
        ai_plan_tokens_per_question: output cap of the plan request, tokens per question.
        ai_follow_up_tokens: output cap of a follow-up decision, tokens.
        ai_evaluation_tokens: output cap of an answer's evaluation, tokens.
        ai_narrative_tokens: output cap of the report's words, tokens.
        ai_summary_tokens: output cap of a conversation summary, tokens.
        ai_plan_timeout_seconds: the plan task's deadline, seconds: every request, retry
            and re-ask of one task ends within it (each request also within
            ``ai_timeout_seconds``).
        ai_follow_up_timeout_seconds: the follow-up task's deadline, seconds.
        ai_evaluation_timeout_seconds: the evaluation task's deadline, seconds.
        ai_narrative_timeout_seconds: the report-words task's deadline, seconds.
        ai_summary_timeout_seconds: the summary task's deadline, seconds.
        ai_max_retries: retries of a model request after a timeout, a rate limit (HTTP
            429) or a provider error (HTTP 5xx, connection refused), 0-10.
        ai_retry_base_seconds: first backoff wait, seconds; it doubles with each retry
            (with jitter, at most 30 s, at least the provider's ``Retry-After``).
        ai_context_tokens: tokens of conversation an LLM interviewer sees verbatim; older
            turns are summarised to stay under it (500-200,000).
        ai_prices: price table, ``"provider:model"`` (or a pattern such as
            ``"openai:gpt-4o*"``) to :class:`ModelPrice`; given entries are added to
            (and override) :data:`DEFAULT_AI_PRICES`. JSON in the environment.
        max_body_bytes: largest request body the web app reads (JSON and forms), bytes;
            a larger one is refused with 413 while it streams in, before it is buffered.
        max_upload_bytes: largest whiteboard image (PNG) upload, bytes (413 beyond).
        allowed_hosts: host names the web app answers to besides the address it is bound
            to (``Host`` header, DNS-rebinding guard); comma-separated in the environment,
            ``*`` for any.
        realtime_batch_seconds: longest a realtime event waits in the queue before its
            batch is written, seconds (0-5; issue 14: 50 ms).
        realtime_batch_size: most events in one write transaction (1-10,000; 500).
        realtime_queue_size: events that may wait unwritten before callers are held
            back (back-pressure), 1-1,000,000.
        realtime_retry_max_seconds: longest wait between retries of a failed batch,
            seconds (a batch is retried until it lands).
        realtime_shutdown_seconds: how long shutdown keeps retrying unwritten events
            while the database is down, seconds.
        redis_url: Redis for cross-worker wake-ups (``redis://host:6379/0``); empty
            means PostgreSQL LISTEN/NOTIFY (or in-process on SQLite).
        sessions_dir: the folder of session folders (seed ``003_*``: ``SESSIONS_DIR``);
            empty means ``<data_dir>/sessions``.
        max_audio_duration_seconds: longest accepted recording, seconds (seed ``003_*``:
            1200, 20 minutes).
        max_audio_bytes: largest accepted recording file, bytes (default 50 MB).
        max_import_bytes: largest zip export ``POST /api/v1/imports/archive`` takes, bytes
            (default 512 MiB; an archive lists at most 4 GiB of files in any case).
        voice_transcriber: ``"provider:model"`` of the transcriber:
            ``faster-whisper:tiny.en`` (offline default), ``faster-whisper:base``,
            ``faster-whisper:/path/to/ctranslate2-model``, ``openai:whisper-1``, ``test:``.
        voice_openai_base_url: base URL of the OpenAI-compatible transcription endpoint.
        voice_workers: transcriptions run at once by one worker process (1-16).
        voice_lease_seconds: how long a worker holds a claimed job without renewing it,
            seconds; a crashed worker's job is taken over after this (2-3600).
        voice_max_attempts: tries of one transcription before it is marked failed (1-10).
        voice_retry_base_seconds: wait before the second try, seconds; it doubles with
            each try (at most 5 minutes).
        long_pause_seconds: a silence at least this long counts as a long pause in the
            speech metrics, seconds (0.3-10).
        voice_bot_token_hashes: SHA-256 hex digests of the chat-bot tokens the voice
            webhook accepts (``POST /api/v1/voice/{chat_id}/messages``); empty turns the
            webhook off. JSON list in the environment.
        voice_worker_in_serve: ``rehearse serve`` also runs one transcription worker.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, given: Any) -> Any:
        """Fill the fields not given from the ``REHEARSE_*`` environment variables."""
        if isinstance(given, dict):
            return {**environment_values(cls.model_fields), **given}
        return given

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    default_time_limit_minutes: int = Field(default=45, ge=5, le=180)
    default_token_budget: int = Field(default=50_000, ge=1_000, le=200_000)
    default_token_warning_threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    default_ai_provider: str = "offline"
    default_ai_model: str = "default"

    def session_defaults(self) -> dict[str, Any]:
        """The defaults of a new session's config, by field name (applied by the service)."""
        return {
            "time_limit_minutes": self.default_time_limit_minutes,
            "token_budget": self.default_token_budget,
            "token_warning_threshold": self.default_token_warning_threshold,
            "ai_provider": self.default_ai_provider,
            "ai_model": self.default_ai_model,
        }

    ai_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    ai_answer_deadline_seconds: float = Field(default=2.0, ge=0, le=600)
    ai_output_mode: Literal["auto", "native", "tool"] = "auto"
    ai_plan_tokens_per_question: int = Field(default=350, ge=50, le=4_000)
    ai_follow_up_tokens: int = Field(default=100, ge=20, le=4_000)
    ai_evaluation_tokens: int = Field(default=400, ge=50, le=8_000)
    ai_narrative_tokens: int = Field(default=400, ge=50, le=8_000)
    ai_summary_tokens: int = Field(default=250, ge=50, le=8_000)
    ai_plan_timeout_seconds: float = Field(default=90.0, gt=0, le=600)
    ai_follow_up_timeout_seconds: float = Field(default=15.0, gt=0, le=600)
    ai_evaluation_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    ai_narrative_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    ai_summary_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    ai_max_retries: int = Field(default=3, ge=0, le=10)
    ai_retry_base_seconds: float = Field(default=1.0, ge=0, le=60)
    ai_context_tokens: int = Field(default=6_000, ge=500, le=200_000)
    ai_prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_AI_PRICES))
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_upload_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    realtime_batch_seconds: float = Field(default=0.05, ge=0, le=5)
    realtime_batch_size: int = Field(default=500, ge=1, le=10_000)
    realtime_queue_size: int = Field(default=10_000, ge=1, le=1_000_000)
    realtime_retry_max_seconds: float = Field(default=5.0, gt=0, le=300)
    realtime_shutdown_seconds: float = Field(default=30.0, ge=0, le=3600)
    redis_url: str = ""

    sessions_dir: Path | None = None
    max_audio_duration_seconds: int = Field(default=1200, ge=1, le=4 * 3600)
    max_audio_bytes: int = Field(default=50_000_000, ge=1_000, le=2_000_000_000)
    max_import_bytes: int = Field(default=512 * 1024 * 1024, ge=1024, le=4 * 1024**3)
    voice_transcriber: str = "faster-whisper:tiny.en"
    voice_openai_base_url: str = "https://api.openai.com/v1"
    voice_workers: int = Field(default=1, ge=1, le=16)
    voice_lease_seconds: float = Field(default=60.0, ge=2, le=3600)
    voice_max_attempts: int = Field(default=3, ge=1, le=10)
    voice_retry_base_seconds: float = Field(default=5.0, ge=0, le=300)
    long_pause_seconds: float = Field(default=1.2, ge=0.3, le=10)
    voice_bot_token_hashes: list[str] = Field(default_factory=list)
    voice_worker_in_serve: bool = True

    @field_validator("voice_bot_token_hashes")
    @classmethod
    def _hex_digests(cls, value: list[str]) -> list[str]:
        for digest in value:
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
                raise ValueError(
                    "each entry must be the SHA-256 hex digest of a bot token (64 hex "
                    "characters), never the token itself"
                )
        return [digest.lower() for digest in value]

    @field_validator("ai_prices")
    @classmethod
    def _merge_prices(cls, value: dict[str, ModelPrice]) -> dict[str, ModelPrice]:
        return {**DEFAULT_AI_PRICES, **value}

    def resolved_sessions_dir(self) -> Path:
        """The sessions folder in force: ``sessions_dir``, or ``<data_dir>/sessions``."""
        return self.sessions_dir or self.data_dir / "sessions"

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
