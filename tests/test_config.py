"""Session configuration: validation messages name the field, the value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from rehearse.domain.config import CommunicationMode, SessionConfig, parse_config
from rehearse.errors import ConfigurationError
from rehearse.settings import get_settings


def _error(data: dict[str, Any]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        parse_config(data)
    return caught.value


def test_defaults() -> None:
    config = parse_config({"candidate_name": "Ada"})
    assert config.time_limit_minutes == 45
    assert config.token_budget == 50_000
    assert config.token_warning_threshold == 0.8
    assert config.model_ref == "offline:default"
    assert config.enabled_modes == frozenset({CommunicationMode.TEXT})
    assert (config.role, config.level, config.interview_type, config.mode) == (
        "backend",
        "mid",
        "mixed",
        "practice",
    )


def test_defaults_come_from_settings(monkeypatch: pytest.MonkeyPatch, manager: Any) -> None:
    monkeypatch.setenv("REHEARSE_DEFAULT_TIME_LIMIT_MINUTES", "60")
    monkeypatch.setenv("REHEARSE_DEFAULT_TOKEN_BUDGET", "9000")
    get_settings.cache_clear()
    config = manager.create_session({"candidate_name": "Ada"}).config
    assert (config.time_limit_minutes, config.token_budget) == (60, 9000)
    # a SessionConfig object gets them too, for the fields its caller left out
    given = SessionConfig(candidate_name="Ada", token_budget=2000)
    config = manager.create_session(given).config
    assert (config.time_limit_minutes, config.token_budget) == (60, 2000)
    # the domain itself reads no environment: its own defaults are constants
    assert parse_config({"candidate_name": "Ada"}).time_limit_minutes == 45


@pytest.mark.parametrize(
    ("data", "field", "value", "message"),
    [
        ({"candidate_name": "   "}, "candidate_name", "   ", "must not be blank"),
        ({}, "candidate_name", None, "is required"),
        (
            {"candidate_name": "x" * 201},
            "candidate_name",
            "x" * 57 + "...",
            "must be at most 200 characters",
        ),
        (
            {"candidate_name": "A", "candidate_email": "not-an-email"},
            "candidate_email",
            "not-an-email",
            "valid email",
        ),
        (
            {"candidate_name": "A", "time_limit_minutes": 4},
            "time_limit_minutes",
            4,
            "must be between 5 and 180",
        ),
        (
            {"candidate_name": "A", "time_limit_minutes": 181},
            "time_limit_minutes",
            181,
            "must be between 5 and 180",
        ),
        (
            {"candidate_name": "A", "token_budget": 999},
            "token_budget",
            999,
            "must be between 1000 and 200000",
        ),
        (
            {"candidate_name": "A", "token_budget": 200_001},
            "token_budget",
            200_001,
            "must be between 1000 and 200000",
        ),
        (
            {"candidate_name": "A", "token_warning_threshold": 1.5},
            "token_warning_threshold",
            1.5,
            "must be between 0.0 and 1.0",
        ),
        (
            {"candidate_name": "A", "level": "lead"},
            "level",
            "lead",
            "must be one of junior, mid, senior, staff",
        ),
        (
            {"candidate_name": "A", "interview_type": "chat"},
            "interview_type",
            "chat",
            "must be one of technical, behavioral, mixed, system_design, coding",
        ),
        (
            {"candidate_name": "A", "mode": "real"},
            "mode",
            "real",
            "must be one of practice, mock, assessment",
        ),
        (
            {"candidate_name": "A", "enabled_modes": []},
            "enabled_modes",
            [],
            "must not be empty (choose from text, voice, whiteboard, code)",
        ),
        (
            {"candidate_name": "A", "enabled_modes": ["smoke"]},
            "enabled_modes.0",
            "smoke",
            "must be one of text, voice, whiteboard, code",
        ),
        (
            {"candidate_name": "A", "ai_provider": "skynet"},
            "ai_provider",
            "skynet",
            "must be one of offline",
        ),
        (
            {"candidate_name": "A", "resume_text": "r" * 50_001},
            "resume_text",
            "r" * 57 + "...",
            "must be at most 50000 characters",
        ),
        ({"candidate_name": "A", "colour": "red"}, "colour", "red", "is not a known field"),
        (
            {"candidate_name": "A", "time_limit_minutes": "soon"},
            "time_limit_minutes",
            "soon",
            "must be a number between 5 and 180",
        ),
    ],
)
def test_invalid_fields_are_named(
    data: dict[str, Any], field: str, value: Any, message: str
) -> None:
    error = _error(data)
    [entry] = [e for e in error.errors if e["field"] == field]
    assert entry["value"] == value
    assert message in entry["message"]
    assert f"{field}=" in str(error)


def test_all_errors_reported_at_once() -> None:
    error = _error({"candidate_name": "", "time_limit_minutes": 1, "token_budget": 5})
    assert {e["field"] for e in error.errors} == {
        "candidate_name",
        "time_limit_minutes",
        "token_budget",
    }


def test_blank_optional_text_becomes_none() -> None:
    config = parse_config(
        {"candidate_name": " Ada ", "candidate_email": "", "challenge_text": "  "}
    )
    assert config.candidate_name == "Ada"
    assert config.candidate_email is None
    assert config.challenge_text is None


def test_config_round_trips_through_json() -> None:
    config = SessionConfig(
        candidate_name="Ada",
        candidate_email="ada@example.com",
        enabled_modes=frozenset({CommunicationMode.VOICE, CommunicationMode.TEXT}),
        job_description="Python, PostgreSQL",
    )
    assert SessionConfig.model_validate(config.to_json()) == config
    assert config.to_json()["enabled_modes"] == ["text", "voice"]
