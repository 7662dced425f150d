"""Token budgets for AI calls: estimates, reservations, usage records and call failures.

Issue 5 makes the session's token budget hold exactly. Every model call goes through an
:class:`Account`:

1. **Reserve.** Before the call the account reserves the tokens it may use: its prompt,
   estimated on the high side (:func:`estimate_tokens`), plus the most it may write. The
   reservation is capped by what is left: the budget minus the tokens used minus what
   other calls running at the same time hold (:class:`Ledger`). When less is left than
   the call needs at the least, :class:`BudgetExhaustedError` is raised before anything
   is sent, and the session continues on the offline parts.
2. **Cap.** The call's completion is capped at its reservation less its prompt, and
   pydantic-ai's usage limits stop a run whose reported total passes what is left.
3. **Record.** The usage the provider reports (prompt and completion tokens, model,
   latency, estimated cost) is recorded through ``record_usage`` before the reservation
   is released, so two calls never spend the same tokens.

Reservations live in the process (one :class:`Ledger`); several processes on one session
are still bounded by ``record_usage``, which refuses usage past the budget.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from rehearse.errors import ModelRequestsDisabledError, ProviderCallError

__all__ = ["ModelRequestsDisabledError", "ProviderCallError", "requests_disabled"]

#: Characters per token assumed when estimating a prompt. Tokenizers of current models
#: average about 4 characters of English a token; 3 errs on the side of the budget.
CHARS_PER_TOKEN = 3
#: Tokens a request costs beyond its text (roles, separators, the tool wrapper).
REQUEST_OVERHEAD_TOKENS = 60
#: What an account with no session lets a reply use ("no limit").
UNMETERED_TOKENS = 10**9


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` is likely to take, on the high side (0 for empty text)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


@dataclass(frozen=True)
class CallUsage:
    """The usage of one model request, as recorded with the session.

    Attributes:
        prompt_tokens: input tokens the provider reported.
        completion_tokens: output tokens the provider reported.
        model: ``"provider:model"``.
        latency_seconds: wall time of the request, seconds.
        cost_usd: estimated cost in US dollars (``None`` when the model has no price).
    """

    prompt_tokens: int
    completion_tokens: int
    model: str
    latency_seconds: float
    cost_usd: float | None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Grant:
    """Tokens reserved for one call.

    Attributes:
        reserved: tokens held for this call (its prompt estimate plus its completion cap).
        available: tokens left for this call to use at most (budget - used - other holds).
    """

    reserved: int
    available: int


def requests_disabled(error: BaseException) -> bool:
    """True for the refusal of a real model request while requests are off (tests).

    Such an error is never turned into a fallback: a test that reaches for a real model
    must fail loudly.
    """
    return isinstance(error, ModelRequestsDisabledError)


class BudgetExhaustedError(ProviderCallError):
    """Too few tokens are left for the call; nothing was sent.

    Attributes:
        needed: the fewest tokens the call needs (its prompt plus a minimal answer).
        available: tokens left for it.
    """

    def __init__(self, provider_model: str, needed: int, available: int) -> None:
        super().__init__(
            "budget_exhausted",
            provider_model,
            f"the token budget is used up: this call needs about {needed:,} tokens and "
            f"{max(available, 0):,} are left",
        )
        self.needed = needed
        self.available = available


class Account(Protocol):
    """What a model call draws on: a budget to reserve from, a place to record usage."""

    def reserve(self, wanted: int, minimum: int) -> AbstractContextManager[Grant]:
        """Hold up to ``wanted`` tokens (at least ``minimum``) for one call.

        Raises:
            BudgetExhaustedError: fewer than ``minimum`` tokens are left.
        """
        ...

    def record(self, usage: CallUsage) -> None:
        """Record one request's usage (before the reservation is released)."""
        ...

    def note(self, kind: str, data: dict[str, Any]) -> None:
        """Record an event of the call (``retried``) for the session's log."""
        ...


class Ledger:
    """Reservations of the calls in flight, per session (thread-safe, in process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}

    def held(self, key: str) -> int:
        """Tokens currently reserved for ``key``."""
        with self._lock:
            return self._held.get(key, 0)

    @contextmanager
    def hold(
        self,
        key: str,
        remaining: Callable[[], int],
        wanted: int,
        minimum: int,
        provider_model: str,
    ) -> Iterator[Grant]:
        """Reserve tokens of ``key`` for the duration of the ``with`` block.

        ``remaining`` is read under the ledger's lock, so a call that recorded its usage
        and released its hold is seen by the next reservation.

        Raises:
            BudgetExhaustedError: fewer than ``minimum`` tokens are left.
        """
        with self._lock:
            left = remaining() - self._held.get(key, 0)
            if left < minimum:
                raise BudgetExhaustedError(provider_model, minimum, left)
            reserved = min(wanted, left)
            self._held[key] = self._held.get(key, 0) + reserved
        try:
            yield Grant(reserved=reserved, available=left)
        finally:
            with self._lock:
                rest = self._held.get(key, 0) - reserved
                if rest > 0:
                    self._held[key] = rest
                else:
                    self._held.pop(key, None)


#: The process's reservations (session ids are unique, so one ledger serves every store).
LEDGER = Ledger()


class SessionAccount:
    """An :class:`Account` over a stored session, wired by the service.

    Args:
        key: the session id.
        provider_model: the ``"provider:model"`` the calls go to.
        remaining: reads the tokens the session has left now.
        record: records one usage (the service's ``record_usage``).
        note: records an event of a call.
        ledger: the reservations (default: the process's :data:`LEDGER`).
    """

    def __init__(
        self,
        key: str,
        provider_model: str,
        remaining: Callable[[], int],
        record: Callable[[CallUsage], None],
        note: Callable[[str, dict[str, Any]], None],
        ledger: Ledger | None = None,
    ) -> None:
        self.key = key
        self.provider_model = provider_model
        self._remaining = remaining
        self._record = record
        self._note = note
        self.ledger = ledger or LEDGER

    def reserve(self, wanted: int, minimum: int) -> AbstractContextManager[Grant]:
        """Hold tokens of the session (see :meth:`Ledger.hold`)."""
        return self.ledger.hold(self.key, self._remaining, wanted, minimum, self.provider_model)

    def record(self, usage: CallUsage) -> None:
        """Record ``usage`` with the session."""
        self._record(usage)

    def note(self, kind: str, data: dict[str, Any]) -> None:
        """Record an event of the call with the session."""
        self._note(kind, data)


@dataclass
class PendingAccount:
    """An account for a session not stored yet (its plan is drawn before it is saved).

    Usage and notes are collected and stored with the session when it is created.

    Attributes:
        budget: the session's token budget.
        provider_model: the ``"provider:model"`` the calls go to.
        usages: every usage recorded, in order.
        notes: every ``(kind, data)`` noted, in order.
    """

    budget: int
    provider_model: str
    usages: list[CallUsage] = field(default_factory=list)
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def used(self) -> int:
        """Tokens recorded so far."""
        return sum(u.total_tokens for u in self.usages)

    @contextmanager
    def reserve(self, wanted: int, minimum: int) -> Iterator[Grant]:
        """Hold tokens of the budget left (one call at a time: creation is sequential).

        Raises:
            BudgetExhaustedError: fewer than ``minimum`` tokens are left.
        """
        left = self.budget - self.used
        if left < minimum:
            raise BudgetExhaustedError(self.provider_model, minimum, left)
        yield Grant(reserved=min(wanted, left), available=left)

    def record(self, usage: CallUsage) -> None:
        """Keep ``usage`` for the creation transaction."""
        self.usages.append(usage)

    def note(self, kind: str, data: dict[str, Any]) -> None:
        """Keep a note for the creation transaction."""
        self.notes.append((kind, data))


@dataclass
class UnmeteredAccount:
    """An account with no session (``rehearse providers check --connect``): it only counts.

    Attributes:
        usages: every usage recorded.
        notes: every note.
    """

    usages: list[CallUsage] = field(default_factory=list)
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @contextmanager
    def reserve(self, wanted: int, minimum: int) -> Iterator[Grant]:
        """Grant what is asked, with no limit on what the provider may report."""
        yield Grant(reserved=wanted, available=UNMETERED_TOKENS)

    def record(self, usage: CallUsage) -> None:
        """Keep ``usage``."""
        self.usages.append(usage)

    def note(self, kind: str, data: dict[str, Any]) -> None:
        """Keep the note."""
        self.notes.append((kind, data))
