"""Request bodies and response shapes of the REST API (``XCreate`` / ``XUpdate`` / ``XPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rehearse.domain.access import Principal
from rehearse.domain.config import SessionConfig
from rehearse.domain.plan import PlanItem
from rehearse.domain.sessions import Session
from rehearse.service import access


class SessionCreate(SessionConfig):
    """A new session: the session config fields by their Python names."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    candidate_id: str | None = Field(default=None, max_length=64)


class SessionUpdate(BaseModel):
    """Fields to change (see ``update_session``); ``expected_version`` guards a stale edit."""

    model_config = ConfigDict(extra="allow")

    expected_version: int | None = None


class AnswerCreate(BaseModel):
    """An answer to one question of the plan."""

    model_config = ConfigDict(extra="forbid")

    question_id: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=20_000)
    time_spent_seconds: float = Field(default=0.0, ge=0, le=14_400)


class UsageCreate(BaseModel):
    """Token usage of one AI call."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    model: str = Field(min_length=1, max_length=200)


class LinkCreate(BaseModel):
    """A candidate link for a session."""

    model_config = ConfigDict(extra="forbid")

    ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=30 * 24 * 3600)


def session_public(session: Session, now: datetime, principal: Principal) -> dict[str, Any]:
    """A session as ``principal`` may see it: its JSON view plus the question to ask now.

    What the principal may see is the service's rule (:func:`access.session_for`).
    """
    session = access.session_for(session, principal)
    data = session.to_json(now)
    current = session.interview.current() if session.interview else None
    data["current_question"] = item_public(current) if current else None
    return data


def item_public(item: PlanItem) -> dict[str, Any]:
    """A plan item as the API shows it."""
    return item.model_dump(mode="json")
