"""A session's state and the pure rules that change it.

Time rules (seed ``001_*`` remaining time and expiry, made exact): a session stores
the active time it accumulated before its current stretch (``active_us``, integer
microseconds) and the instant the current stretch began (``resumed_at``, only while
active). Active time therefore excludes paused time exactly, across any number of
pauses. While active, ``deadline_at`` is the instant the limit will be reached; it is
persisted and indexed so a sweep finds due sessions after a restart without scanning.

Every function here returns the new session and the events to append; none reads a
clock or touches storage.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from rehearse.domain.config import UPDATABLE_WHILE_RUNNING, SessionConfig, configuration_error
from rehearse.domain.events import EventType, NewEvent
from rehearse.domain.lifecycle import (
    EVENT_OF_ACTION,
    Action,
    SessionStatus,
    guard_change,
    next_state,
)
from rehearse.domain.plan import InterviewState, ReportStatus
from rehearse.errors import BudgetExceededError, ConfigurationError

MICROSECOND = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact)."""
    return (instant - EPOCH) // MICROSECOND


def from_us(microseconds: int) -> datetime:
    """The aware UTC datetime ``microseconds`` after the Unix epoch (exact)."""
    return EPOCH + timedelta(microseconds=microseconds)


class Session(BaseModel):
    """The current state of one session (the row beside its event log).

    Attributes:
        id: unique id (UUID4 text).
        config: the validated configuration.
        status: lifecycle state.
        version: increases by one with every stored change (optimistic concurrency).
        last_seq: sequence number of the session's newest event.
        created_by: principal id of whoever created it (an interviewer, or the candidate).
        candidate_id: principal id of the candidate, when known.
        created_at, updated_at: UTC instants.
        started_at, ended_at: UTC instants of start and of reaching a final state.
        resumed_at: start of the current active stretch (only while active).
        active_us: active time accumulated before the current stretch, microseconds.
        deadline_at: when the time limit is reached (only while active).
        prompt_tokens, completion_tokens: AI token usage so far.
        budget_warned: whether the budget warning event has been recorded.
        interview: the question plan (``None`` until planned).
        report_status: pending, ready or failed (``None`` before the session ends).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    config: SessionConfig
    status: SessionStatus = SessionStatus.CREATED
    version: int = 1
    last_seq: int = 0
    created_by: str | None = None
    candidate_id: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    resumed_at: datetime | None = None
    active_us: int = 0
    deadline_at: datetime | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    budget_warned: bool = False
    interview: InterviewState | None = None
    report_status: ReportStatus | None = None

    @property
    def tokens_used(self) -> int:
        """Prompt plus completion tokens recorded so far."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def remaining_tokens(self) -> int:
        """Tokens left in the budget (never negative)."""
        return max(self.config.token_budget - self.tokens_used, 0)

    @property
    def limit_us(self) -> int:
        """The time limit in microseconds."""
        return self.config.time_limit_seconds * 1_000_000

    def active_us_at(self, now: datetime) -> int:
        """Active time up to ``now`` in microseconds, paused time excluded, capped at the limit."""
        active = self.active_us
        if self.status is SessionStatus.ACTIVE and self.resumed_at is not None:
            active += max(to_us(now) - to_us(self.resumed_at), 0)
        return min(active, self.limit_us) if self.status.is_final else active

    def remaining_us_at(self, now: datetime) -> int:
        """Time left before the limit at ``now``, microseconds, never negative."""
        return max(self.limit_us - self.active_us_at(now), 0)

    def remaining_seconds_at(self, now: datetime) -> int:
        """Whole seconds left at ``now``, rounded up: 0 exactly when the time is up.

        Final sessions have 0 seconds left.
        """
        if self.status.is_final:
            return 0
        return math.ceil(self.remaining_us_at(now) / 1_000_000)

    def is_due_to_expire(self, now: datetime) -> bool:
        """True when the session is running or paused and its active time reached the limit."""
        return self.status in (SessionStatus.ACTIVE, SessionStatus.PAUSED) and (
            self.active_us_at(now) >= self.limit_us
        )

    def expiry_instant(self, now: datetime) -> datetime:
        """When the limit was (or will be) reached: the deadline if active, else ``now``."""
        if self.status is SessionStatus.ACTIVE and self.deadline_at is not None:
            return min(self.deadline_at, now)
        return now

    def to_json(self, now: datetime) -> dict[str, Any]:
        """A JSON-ready view at ``now``, with derived time and budget figures."""
        return {
            "id": self.id,
            "status": self.status.value,
            "version": self.version,
            "config": self.config.to_json(),
            "created_by": self.created_by,
            "candidate_id": self.candidate_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "deadline_at": _iso(self.deadline_at),
            "active_seconds": round(self.active_us_at(now) / 1_000_000, 3),
            "remaining_seconds": self.remaining_seconds_at(now),
            "time_limit_seconds": self.config.time_limit_seconds,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens_used": self.tokens_used,
            "token_budget": self.config.token_budget,
            "remaining_tokens": self.remaining_tokens,
            "progress": self.interview.progress() if self.interview else None,
            "progress_text": (
                self.interview.progress_text(self.status.is_final)
                if self.interview
                else "No questions"
            ),
            "report_status": self.report_status.value if self.report_status else None,
        }


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


Change = tuple[Session, list[NewEvent]]


def new_session(
    session_id: str,
    config: SessionConfig,
    now: datetime,
    *,
    created_by: str | None = None,
    candidate_id: str | None = None,
) -> Change:
    """A fresh session in ``created`` and its ``session_created`` event."""
    session = Session(
        id=session_id,
        config=config,
        created_by=created_by,
        candidate_id=candidate_id,
        created_at=now,
        updated_at=now,
    )
    return session, [NewEvent(type=EventType.SESSION_CREATED, at=now, data=config.to_json())]


def apply_action(session: Session, action: Action, now: datetime) -> Change:
    """Move ``session`` by ``action`` at ``now``: the only place time fields change.

    ``expire`` stamps the session at the instant the limit was reached, not at
    ``now``, so a session found late by a sweep still shows its exact active time.

    Raises:
        InvalidStateError: the action is not allowed from the current state.
        SessionImmutableError: the session is final.
    """
    target = next_state(session.id, session.status, action)
    elapsed = session.active_us_at(now) - session.active_us
    data: dict[str, Any] = {"from": session.status.value, "to": target.value}
    at = now
    changes: dict[str, Any] = {"status": target, "updated_at": now}
    if action is Action.START:
        changes |= {"started_at": now, "resumed_at": now}
        changes["deadline_at"] = now + timedelta(microseconds=session.limit_us)
    elif action is Action.RESUME:
        changes["resumed_at"] = now
        changes["deadline_at"] = now + timedelta(microseconds=session.remaining_us_at(now))
    else:  # pause, end, cancel, expire: the running stretch (if any) is banked
        if action is Action.EXPIRE:
            at = session.expiry_instant(now)
            changes |= {"active_us": session.limit_us, "updated_at": at}
        else:
            changes["active_us"] = session.active_us + elapsed
        changes |= {"resumed_at": None, "deadline_at": None}
        if target.is_final:
            changes["ended_at"] = at
        if target in (SessionStatus.COMPLETED, SessionStatus.EXPIRED) and session.interview:
            changes["report_status"] = ReportStatus.PENDING
    updated = session.model_copy(update=changes)
    data["active_seconds"] = round(updated.active_us_at(at) / 1_000_000, 6)
    return updated, [NewEvent(type=EventType(EVENT_OF_ACTION[action]), at=at, data=data)]


def apply_usage(
    session: Session,
    prompt_tokens: int,
    completion_tokens: int,
    model: str,
    now: datetime,
    *,
    latency_seconds: float | None = None,
    cost_usd: float | None = None,
) -> Change:
    """Add token usage; record a budget warning once when the threshold is crossed.

    Rule (issue 2, item 5): usage that would take the total past the budget is
    refused whole; the warning fires the first time usage reaches
    ``token_warning_threshold * token_budget``. ``latency_seconds`` (the call's wall
    time, seconds) and ``cost_usd`` (its estimated cost, US dollars) are stored in the
    ``usage_recorded`` event when given (issue 5).

    Raises:
        ConfigurationError: a token count, latency or cost is negative.
        SessionImmutableError: the session is final.
        BudgetExceededError: the new total would exceed the budget; nothing changes.
    """
    for name, value in (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens)):
        if value < 0:
            raise ConfigurationError(
                f"{name}={value}: must be a whole number of tokens >= 0",
                [{"field": name, "value": value, "message": "must be >= 0"}],
            )
    for name, amount in (("latency_seconds", latency_seconds), ("cost_usd", cost_usd)):
        if amount is not None and not amount >= 0:
            raise ConfigurationError(
                f"{name}={amount}: must be a number >= 0",
                [{"field": name, "value": amount, "message": "must be >= 0"}],
            )
    guard_change(session.id, session.status, "record usage for")
    requested = prompt_tokens + completion_tokens
    budget = session.config.token_budget
    if session.tokens_used + requested > budget:
        raise BudgetExceededError(
            session.id, session.tokens_used, requested, budget, state=session.status.value
        )
    updated = session.model_copy(
        update={
            "prompt_tokens": session.prompt_tokens + prompt_tokens,
            "completion_tokens": session.completion_tokens + completion_tokens,
            "updated_at": now,
        }
    )
    usage = NewEvent(
        type=EventType.USAGE_RECORDED,
        at=now,
        data={
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "model": model,
            "tokens_used": updated.tokens_used,
            "token_budget": budget,
        }
        | ({} if latency_seconds is None else {"latency_seconds": round(latency_seconds, 3)})
        | ({} if cost_usd is None else {"cost_usd": round(cost_usd, 8)}),
    )
    updated, warnings = _warn_if_crossed(updated, now)
    return updated, [usage, *warnings]


def _warn_if_crossed(session: Session, now: datetime) -> Change:
    """Record the one budget warning if usage reached the threshold and none was recorded."""
    budget = session.config.token_budget
    threshold = session.config.token_warning_threshold
    if session.budget_warned or session.tokens_used < threshold * budget:
        return session, []
    event = NewEvent(
        type=EventType.BUDGET_WARNING,
        at=now,
        data={
            "tokens_used": session.tokens_used,
            "token_budget": budget,
            "threshold": threshold,
            "remaining_tokens": session.remaining_tokens,
        },
    )
    return session.model_copy(update={"budget_warned": True}), [event]


def apply_update(session: Session, changes: dict[str, Any], now: datetime) -> Change:
    """Change configuration fields; returns the session unchanged and no events if nothing differs.

    Rules: any field may change before the session starts; once started only
    :data:`UPDATABLE_WHILE_RUNNING` may; a time limit may not drop below the active
    time already used, nor a budget below the tokens already used. A budget or
    threshold change that puts usage back under the threshold re-arms the warning.

    Raises:
        SessionImmutableError: the session is final.
        ConfigurationError: an unknown field, a field locked after start, or an invalid value.
    """
    guard_change(session.id, session.status, "update")
    if not changes:
        return session, []
    if session.status is not SessionStatus.CREATED:
        locked = sorted(set(changes) - UPDATABLE_WHILE_RUNNING)
        if locked:
            raise ConfigurationError(
                f"cannot change {', '.join(locked)} of session {session.id} after it started "
                f"(it is {session.status.value}); "
                f"allowed: {', '.join(sorted(UPDATABLE_WHILE_RUNNING))}",
                [{"field": name, "value": changes[name], "message": "locked"} for name in locked],
            )
    merged = {**session.config.model_dump(), **changes}
    try:
        config = SessionConfig.model_validate(merged)
    except ValidationError as exc:
        raise configuration_error(exc, SessionConfig) from None
    used_minutes = session.active_us_at(now) / 60_000_000
    if config.time_limit_minutes < used_minutes:
        raise ConfigurationError(
            f"time_limit_minutes={config.time_limit_minutes}: below the {used_minutes:.1f} "
            f"minutes session {session.id} has already used",
            [
                {
                    "field": "time_limit_minutes",
                    "value": config.time_limit_minutes,
                    "message": "below the time already used",
                }
            ],
        )
    if config.token_budget < session.tokens_used:
        raise ConfigurationError(
            f"token_budget={config.token_budget}: below the {session.tokens_used} tokens "
            f"session {session.id} has already used",
            [
                {
                    "field": "token_budget",
                    "value": config.token_budget,
                    "message": "below the tokens already used",
                }
            ],
        )
    old, new = session.config.to_json(), config.to_json()
    diff = {name: {"old": old[name], "new": new[name]} for name in new if old[name] != new[name]}
    if not diff:
        return session, []
    update: dict[str, Any] = {"config": config, "updated_at": now}
    if session.status is SessionStatus.ACTIVE and session.resumed_at is not None:
        remaining = config.time_limit_seconds * 1_000_000 - session.active_us_at(now)
        update["deadline_at"] = now + timedelta(microseconds=remaining)
    if session.tokens_used < config.token_warning_threshold * config.token_budget:
        update["budget_warned"] = False
    event = NewEvent(type=EventType.SESSION_UPDATED, at=now, data={"changes": diff})
    updated, warnings = _warn_if_crossed(session.model_copy(update=update), now)
    return updated, [event, *warnings]
