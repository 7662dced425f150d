"""Session configuration: what a session is for and the limits it runs under.

The fields and ranges come from seed ``001_*`` (candidate name and email, a time
limit of 5-180 minutes, a token budget of 1,000-200,000 tokens, the AI model,
the challenge text), seed ``000_*`` (enabled communication modes, AI provider and
model) and seed ``004_*`` (role, level, interview type, mode). The domain is pure: the
installation's defaults (``REHEARSE_DEFAULT_*`` in :mod:`rehearse.settings`) are applied
by the service, through the ``defaults`` of :func:`parse_config` and
:func:`with_defaults`, to the fields a caller did not set.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, get_args

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from rehearse.errors import ConfigurationError


def _email_address(value: str) -> str:
    """``value`` checked and normalised exactly as pydantic's ``EmailStr`` does it.

    email-validator is imported at the first address checked, not with this module:
    building ``EmailStr``'s schema imports it, and reading a stored session never needs it
    (issue 8 item 5).
    """
    from pydantic.networks import validate_email

    return validate_email(value)[1]


#: A syntactically valid e-mail address (no DNS lookup): pydantic's ``EmailStr``, loaded late.
EmailAddress = Annotated[
    str, AfterValidator(_email_address), WithJsonSchema({"type": "string", "format": "email"})
]


class Level(StrEnum):
    """Seniority of the candidate, lowest first (seed 004 ``experience_level``)."""

    JUNIOR = "junior"
    MID = "mid"
    SENIOR = "senior"
    STAFF = "staff"

    @property
    def rank(self) -> int:
        """Position in the ladder: junior 0 ... staff 3."""
        return _LEVEL_RANKS[self]


_LEVEL_RANKS: dict[Level, int] = {level: rank for rank, level in enumerate(Level)}


class Role(StrEnum):
    """The roles rehearse interviews for; the shipped question bank covers each."""

    BACKEND = "backend"
    FRONTEND = "frontend"
    FULLSTACK = "fullstack"
    DATA_SCIENCE = "data_science"
    ML_ENGINEERING = "ml_engineering"
    DEVOPS_SRE = "devops_sre"
    MOBILE = "mobile"
    PRODUCT_MANAGEMENT = "product_management"


class InterviewType(StrEnum):
    """The mix of questions (seed 004 ``SessionType``)."""

    TECHNICAL = "technical"
    BEHAVIORAL = "behavioral"
    MIXED = "mixed"
    SYSTEM_DESIGN = "system_design"
    CODING = "coding"


class InterviewMode(StrEnum):
    """How strict the session is (seed 004 ``InterviewMode``).

    practice: retries allowed, feedback after each answer; mock: one attempt per
    question, feedback in the report; assessment: like mock, for a hiring team.
    """

    PRACTICE = "practice"
    MOCK = "mock"
    ASSESSMENT = "assessment"


class CommunicationMode(StrEnum):
    """Channels the candidate may answer through (seed 000 ``CommunicationMode``)."""

    TEXT = "text"
    VOICE = "voice"
    WHITEBOARD = "whiteboard"
    CODE = "code"


#: AI providers a session may name; ``offline`` needs no network (issue 5 adds the rest).
AI_PROVIDERS: tuple[str, ...] = ("offline", "test", "openai", "anthropic", "google", "ollama")

MAX_NAME_CHARS = 200
MAX_CHALLENGE_CHARS = 20_000
MAX_JOB_DESCRIPTION_CHARS = 20_000
MAX_RESUME_CHARS = 50_000


#: Built-in defaults; an installation overrides them with ``REHEARSE_DEFAULT_*``.
DEFAULT_TIME_LIMIT_MINUTES = 45
DEFAULT_TOKEN_BUDGET = 50_000
DEFAULT_TOKEN_WARNING_THRESHOLD = 0.8
DEFAULT_AI_PROVIDER = "offline"
DEFAULT_AI_MODEL = "default"


class SessionConfig(BaseModel):
    """A validated session configuration (seed 001 ``SessionConfig``).

    Attributes:
        candidate_name: required, not blank, at most 200 characters.
        candidate_email: optional, a syntactically valid address (no DNS lookup).
        role: the role interviewed for (:class:`Role`), default ``backend``.
        level: junior, mid, senior or staff, default ``mid``.
        interview_type: technical, behavioral, mixed, system_design or coding.
        mode: practice, mock or assessment.
        time_limit_minutes: active time allowed, 5-180 minutes (default 45).
        token_budget: AI tokens allowed, 1,000-200,000 tokens (default 50,000).
        token_warning_threshold: fraction of the budget, 0-1, at which one warning
            event is recorded (default 0.8).
        ai_provider: one of :data:`AI_PROVIDERS` (default ``offline``).
        ai_model: the provider's model name (default ``default``).
        enabled_modes: a non-empty set of text, voice, whiteboard, code.
        challenge_text: optional task shown to the candidate, <= 20,000 characters.
        job_description: optional, <= 20,000 characters; biases question choice.
        resume_text: optional, <= 50,000 characters; biases question choice.
        question_count: questions in the plan, 1-30 (default: what fits the time limit).
        max_follow_ups: follow-ups the interviewer may add per question, 0-3 (default 1).
        plan_seed: random seed of the question plan (default: drawn at creation and stored).
        question_ids: the plan's questions by bank id, in order, instead of a drawn plan
            (1-30 distinct ids; a learning path's practice set, ``rehearse interview
            --path``); ``question_count`` is then their number.

    Raises:
        pydantic.ValidationError: on direct construction with bad values; use
            :func:`parse_config` to get a :class:`ConfigurationError` instead.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    candidate_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    candidate_email: EmailAddress | None = None
    role: Role = Role.BACKEND
    level: Level = Level.MID
    interview_type: InterviewType = InterviewType.MIXED
    mode: InterviewMode = InterviewMode.PRACTICE
    time_limit_minutes: int = Field(default=DEFAULT_TIME_LIMIT_MINUTES, ge=5, le=180)
    token_budget: int = Field(default=DEFAULT_TOKEN_BUDGET, ge=1_000, le=200_000)
    token_warning_threshold: float = Field(default=DEFAULT_TOKEN_WARNING_THRESHOLD, ge=0.0, le=1.0)
    ai_provider: str = Field(default=DEFAULT_AI_PROVIDER, min_length=1, max_length=40)
    ai_model: str = Field(default=DEFAULT_AI_MODEL, min_length=1, max_length=200)
    enabled_modes: frozenset[CommunicationMode] = Field(
        default=frozenset({CommunicationMode.TEXT}), min_length=1
    )
    challenge_text: str | None = Field(default=None, max_length=MAX_CHALLENGE_CHARS)
    job_description: str | None = Field(default=None, max_length=MAX_JOB_DESCRIPTION_CHARS)
    resume_text: str | None = Field(default=None, max_length=MAX_RESUME_CHARS)
    question_count: int | None = Field(default=None, ge=1, le=30)
    max_follow_ups: int = Field(default=1, ge=0, le=3)
    plan_seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    question_ids: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=30)

    @field_validator("question_ids")
    @classmethod
    def _distinct_ids(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("must not repeat a question id")
        return value

    @field_validator("ai_provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in AI_PROVIDERS:
            raise ValueError(f"must be one of {', '.join(AI_PROVIDERS)}")
        return value

    @field_validator(
        "challenge_text", "job_description", "resume_text", "candidate_email", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def time_limit_seconds(self) -> int:
        """The time limit in seconds."""
        return self.time_limit_minutes * 60

    @property
    def model_ref(self) -> str:
        """The ``"provider:model"`` string of the session's AI parts."""
        return f"{self.ai_provider}:{self.ai_model}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, modes sorted for a stable order."""
        data = self.model_dump(mode="json")
        data["enabled_modes"] = sorted(data["enabled_modes"])
        return data


#: Fields that may change after the session has started (the rest shape the plan).
UPDATABLE_WHILE_RUNNING: frozenset[str] = frozenset(
    {
        "candidate_name",
        "candidate_email",
        "time_limit_minutes",
        "token_budget",
        "token_warning_threshold",
        "enabled_modes",
        "challenge_text",
    }
)


def parse_config(data: dict[str, Any], defaults: Mapping[str, Any] | None = None) -> SessionConfig:
    """Validate ``data`` into a :class:`SessionConfig`.

    Args:
        data: the fields given.
        defaults: values for fields ``data`` leaves out (the installation's defaults).

    Raises:
        ConfigurationError: one message naming every bad field, its value and the
            allowed range; ``errors`` holds one entry per field.
    """
    try:
        return SessionConfig.model_validate({**(defaults or {}), **data})
    except ValidationError as exc:
        raise configuration_error(exc, SessionConfig) from None


def with_defaults(config: SessionConfig, defaults: Mapping[str, Any]) -> SessionConfig:
    """``config`` with ``defaults`` for the fields its caller did not set.

    Raises:
        ConfigurationError: a default is out of range for its field.
    """
    missing = {k: v for k, v in defaults.items() if k not in config.model_fields_set}
    if not missing:
        return config
    given = config.model_dump(include=config.model_fields_set)
    return parse_config(given, missing)


def configuration_error(exc: ValidationError, model: type[BaseModel]) -> ConfigurationError:
    """Turn a pydantic error into a :class:`ConfigurationError` that names fields and limits."""
    entries: list[dict[str, Any]] = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "config"
        name = str(error["loc"][0]) if error["loc"] else ""
        message = _describe(error["type"], error["msg"], _limits(model, name))
        entries.append({"field": field, "value": _shown(error.get("input")), "message": message})
    text = "; ".join(f"{e['field']}={e['value']!r}: {e['message']}" for e in entries)
    return ConfigurationError(f"invalid {_label(model)}: {text}", entries)


def _label(model: type[BaseModel]) -> str:
    return "".join(f" {c.lower()}" if c.isupper() else c for c in model.__name__).strip()


def _shown(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "..."
    if isinstance(value, dict | BaseModel):
        return None
    if isinstance(value, set | frozenset | tuple):
        return sorted(str(v) for v in value)
    return value


class _Limits(BaseModel):
    low: Any = None
    high: Any = None
    choices: list[str] = []


def describe_error(error: Any, model: type[BaseModel] | None = None) -> str:
    """A person's message for one pydantic error: "must be between 5 and 180", ...

    Bounds and choices come from the field of that name on ``model`` when it has one,
    else from the error's own context.
    """
    name = str(error["loc"][-1]) if error.get("loc") else ""
    limits = _limits(model, name) if model is not None and name in model.model_fields else None
    if limits is None:
        ctx = error.get("ctx") or {}
        limits = _Limits(
            low=ctx.get("ge", ctx.get("gt", ctx.get("min_length"))),
            high=ctx.get("le", ctx.get("lt", ctx.get("max_length"))),
            choices=[
                c.strip(" '")
                for c in str(ctx.get("expected", "")).replace(" or ", ",").split(",")
                if c.strip(" '")
            ],
        )
    return _describe(error["type"], str(error["msg"]), limits)


def _describe(kind: str, pydantic_msg: str, limits: _Limits) -> str:
    choices = ", ".join(limits.choices)
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "string_too_short":
        return "must not be blank"
    if kind == "too_short":
        return f"must not be empty (choose from {choices})" if choices else "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {limits.high} characters"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        if limits.low is not None and limits.high is not None:
            return f"must be between {limits.low} and {limits.high}"
        return (
            f"must be at least {limits.low}"
            if limits.low is not None
            else f"must be at most {limits.high}"
        )
    if kind in {"enum", "literal_error"} and choices:
        return f"must be one of {choices}"
    if kind in {"int_parsing", "int_from_float", "float_parsing"}:
        return "must be a number" + (
            f" between {limits.low} and {limits.high}" if limits.low is not None else ""
        )
    return pydantic_msg.removeprefix("Value error, ")


def _limits(model: type[BaseModel], name: str) -> _Limits:
    """The bounds and choices declared on a field of ``model``."""
    info = model.model_fields.get(name)
    if info is None:
        return _Limits()
    limits = _Limits(choices=_choices(info.annotation))
    for meta in info.metadata:
        if isinstance(meta, Ge | Gt):
            limits.low = meta.ge if isinstance(meta, Ge) else meta.gt
        elif isinstance(meta, Le | Lt):
            limits.high = meta.le if isinstance(meta, Le) else meta.lt
        elif isinstance(meta, MinLen):
            limits.low = meta.min_length
        elif isinstance(meta, MaxLen):
            limits.high = meta.max_length
    return limits


def _choices(annotation: Any) -> list[str]:
    for candidate in [annotation, *get_args(annotation)]:
        if isinstance(candidate, type) and issubclass(candidate, StrEnum):
            return [member.value for member in candidate]
        for inner in get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, StrEnum):
                return [member.value for member in inner]
    return []
