"""The AI parts of a session: which interviewer and evaluator it uses, and their budget.

A session's ``ai_provider`` and ``ai_model`` choose its parts (issue 5): ``offline``
uses the injected offline interviewer and evaluator, exactly as before; any other
provider uses the LLM parts of :mod:`rehearse.ai.llm` for that session, with the offline
parts as the fallback. This module is the service side of that choice:

- every model call draws on a :class:`~rehearse.ai.budget.SessionAccount`, whose
  reservations cap the request and whose usage goes through ``record_usage``
  (with latency and estimated cost);
- a call that fails (timeout, rate limit after retries, malformed output twice, provider
  down, not configured) or finds the budget used up is replaced by the offline part and
  recorded as ``provider_fallback``, with a notice for the candidate; retries are
  ``provider_retried`` events;
- once the budget is used up, the session stays offline (no further calls) until its
  budget is raised;
- the conversation is rebuilt from the event log and its older turns are summarised
  (``conversation_summarised``) to stay within ``REHEARSE_AI_CONTEXT_TOKENS``.

The offline path never imports pydantic-ai.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from rehearse.ai.budget import (
    CallUsage,
    PendingAccount,
    ProviderCallError,
    SessionAccount,
    requests_disabled,
)
from rehearse.ai.conversation import Conversation, Turn, offline_summary
from rehearse.ai.pricing import cost_usd
from rehearse.ai.protocols import Evaluator, Interviewer
from rehearse.ai.providers import ModelRef, ModelSource, require_ready
from rehearse.domain.events import EventType, NewEvent
from rehearse.domain.interviews import apply_plan
from rehearse.domain.questions import Question
from rehearse.domain.reports import Attempt, Report
from rehearse.domain.sessions import Change, Session, apply_usage
from rehearse.errors import BudgetExceededError, SessionImmutableError
from rehearse.service.writer import SessionWriter
from rehearse.settings import get_settings

if TYPE_CHECKING:
    from rehearse.ai.calls import ModelCaller
    from rehearse.ai.llm import LLMEvaluator, LLMInterviewer
    from rehearse.scoring import AnswerEvaluation

T = TypeVar("T")

#: What the candidate is told when a part falls back, by reason.
NOTICES = {
    "budget_exhausted": (
        "The AI token budget of this session is used up, so the offline interviewer and "
        "evaluator take over for the rest of it."
    ),
    "timeout": "The AI provider did not answer in time",
    "rate_limited": "The AI provider kept refusing requests (rate limit)",
    "unavailable": "The AI provider is unavailable",
    "malformed_output": "The AI provider's reply could not be used",
    "rejected": "The AI provider refused the request",
    "not_configured": "The AI provider is not configured",
    "usage_limit": "The AI reply would have passed the token budget",
}

_PARTS = {
    "evaluator": "this answer was scored by the offline evaluator",
    "interviewer": "the offline interviewer stepped in",
    "report": "the report keeps its offline wording",
}


def notice(reason: str, part: str) -> str:
    """The sentence a candidate reads when ``part`` fell back for ``reason``."""
    if reason == "budget_exhausted":
        return NOTICES[reason]
    head = NOTICES.get(reason, "The AI provider failed")
    return f"{head}; {_PARTS.get(part, 'the offline part stepped in')}."


#: Records an AI call's usage on a session (the session service's ``record_usage``).
RecordUsage = Callable[..., Session]


def _offline_interviewer() -> Interviewer:
    from rehearse.ai.offline import OfflineInterviewer

    return OfflineInterviewer()


def _offline_evaluator() -> Evaluator:
    from rehearse.ai.offline import OfflineEvaluator

    return OfflineEvaluator()


class AIParts:
    """The AI collaborator of the interview and report services: parts, budget, fallbacks.

    Args:
        writer: the session writer (events are appended through it).
        models: where LLM sessions get their pydantic-ai model.
        interviewer: the offline interviewer (and every LLM part's fallback); ``None``
            means :class:`~rehearse.ai.offline.OfflineInterviewer`, built on first use.
        evaluator: the offline evaluator (and the fallback); ``None`` means
            :class:`~rehearse.ai.offline.OfflineEvaluator`, built on first use.
        record_usage: ``SessionService.record_usage``: exact budget accounting.

    The offline parts are built on first use so that a command which only reads
    sessions (``rehearse sessions show``) never imports the question bank or the
    scorer (issue 8 item 5).
    """

    def __init__(
        self,
        writer: SessionWriter,
        models: ModelSource,
        interviewer: Interviewer | None,
        evaluator: Evaluator | None,
        record_usage: RecordUsage,
    ) -> None:
        self.writer = writer
        self.models = models
        self._interviewer = interviewer
        self._evaluator = evaluator
        self._parts_lock = threading.Lock()
        self.record_usage = record_usage

    @property
    def interviewer(self) -> Interviewer:
        """The offline interviewer (built on first use unless one was injected)."""
        if self._interviewer is None:
            self._interviewer = self._first_use(lambda: self._interviewer, _offline_interviewer)
        return self._interviewer

    @property
    def evaluator(self) -> Evaluator:
        """The offline evaluator (built on first use unless one was injected)."""
        if self._evaluator is None:
            self._evaluator = self._first_use(lambda: self._evaluator, _offline_evaluator)
        return self._evaluator

    def _first_use(self, current: Callable[[], T | None], build: Callable[[], T]) -> T:
        """``current()``, or ``build()`` when it is still missing (once, under a lock)."""
        with self._parts_lock:
            return current() or build()

    # -- choosing parts ---------------------------------------------------------------

    def model_ref(self, session: Session) -> ModelRef | None:
        """The session's model, or ``None`` for the offline parts."""
        if session.config.ai_provider == "offline":
            return None
        return ModelRef.for_session(session.config)

    def caller(self, ref: ModelRef, part: str) -> ModelCaller:
        """A caller of ``ref`` for ``part`` (pydantic-ai is imported only here)."""
        from rehearse.ai.calls import ModelCaller

        return ModelCaller(ref, self.models, part)

    def account(self, session_id: str, ref: ModelRef, part: str, actor: str) -> SessionAccount:
        """The budget account a model call of the session draws on (usage via the writer)."""

        def remaining() -> int:
            session = self.writer.store.get(session_id)
            return session.remaining_tokens if session is not None else 0

        def note(kind: str, data: dict[str, Any]) -> None:
            self.note(session_id, EventType.PROVIDER_RETRIED, data, actor)

        return SessionAccount(
            session_id,
            str(ref),
            remaining,
            lambda usage: self.record_call(session_id, usage, actor),
            note,
        )

    def llm_interviewer(
        self, session_id: str, ref: ModelRef, actor: str, conversation: Conversation | None = None
    ) -> LLMInterviewer:
        """The session's LLM interviewer, with its budget account."""
        from rehearse.ai.llm import LLMInterviewer

        account = self.account(session_id, ref, "interviewer", actor)
        return LLMInterviewer(self.caller(ref, "interviewer"), account, conversation)

    def llm_evaluator(self, session_id: str, ref: ModelRef, actor: str) -> LLMEvaluator:
        """The session's LLM evaluator, with its budget account."""
        from rehearse.ai.llm import LLMEvaluator

        account = self.account(session_id, ref, "evaluator", actor)
        return LLMEvaluator(self.caller(ref, "evaluator"), account)

    # -- budget and events ------------------------------------------------------------

    def note(self, session_id: str, kind: EventType, data: dict[str, Any], actor: str) -> None:
        """Append one event (allowed on a final session: it describes what happened)."""
        self.writer.note(session_id, kind, data, actor)

    def record_call(self, session_id: str, usage: CallUsage, actor: str) -> None:
        """Record a call's usage; usage past the budget is recorded up to the budget.

        A provider that reports more than its request was capped at (a misbehaving
        server, or another process spending the same budget) cannot pass the budget:
        what fits is recorded, the rest is named in a ``provider_fallback`` event
        (reason ``budget_exhausted``) and the session continues offline.
        """
        try:
            self.record_usage(
                session_id,
                usage.prompt_tokens,
                usage.completion_tokens,
                model=usage.model,
                actor=actor,
                latency_seconds=usage.latency_seconds,
                cost_usd=usage.cost_usd,
            )
            return
        except SessionImmutableError:
            failed = {
                "part": "budget",
                "error": "SessionImmutableError",
                "message": f"{usage.total_tokens} tokens of {usage.model} were used after the "
                "session ended and could not be recorded",
            }
            self.note(session_id, EventType.PROVIDER_FAILED, failed, actor)
            return
        except BudgetExceededError:
            pass
        recorded = (0, 0)
        for _ in range(3):
            session = self.writer.store.get(session_id)
            prompt, completion = _fit(usage, session.remaining_tokens if session else 0)
            if prompt + completion == 0:
                break
            try:
                self.record_usage(
                    session_id,
                    prompt,
                    completion,
                    model=usage.model,
                    actor=actor,
                    latency_seconds=usage.latency_seconds,
                    cost_usd=cost_usd(usage.model, prompt, completion, get_settings().ai_prices),
                )
            except BudgetExceededError:
                continue
            recorded = (prompt, completion)
            break
        self.note(session_id, EventType.PROVIDER_FALLBACK, _overrun(usage, *recorded), actor)

    def budget_exhausted(self, session_id: str) -> bool:
        """True once the budget ran out, until a later update changes the budget."""
        events = self.writer.store.get_events(
            session_id,
            types=(EventType.PROVIDER_FALLBACK.value, EventType.SESSION_UPDATED.value),
        )
        exhausted = False
        for event in events:
            if event.type == EventType.PROVIDER_FALLBACK.value:
                exhausted = exhausted or event.data.get("reason") == "budget_exhausted"
            elif "token_budget" in event.data.get("changes", {}):
                exhausted = False
        return exhausted

    def with_fallback(
        self,
        session_id: str,
        ref: ModelRef,
        part: str,
        actor: str,
        notices: list[str],
        llm: Callable[[], T],
        offline: Callable[[], T],
    ) -> tuple[T, bool]:
        """``llm()``, or ``offline()`` when it fails or the budget is used up.

        Returns:
            The result and whether the LLM made it.

        Raises:
            RuntimeError: model requests are switched off (tests): never hidden.
        """
        if self.budget_exhausted(session_id):
            return offline(), False
        try:
            return llm(), True
        except ProviderCallError as exc:
            reason, message = exc.reason, exc.detail
        except Exception as exc:
            if requests_disabled(exc):
                raise
            reason, message = "error", f"{type(exc).__name__}: {exc}"
        told = notice(reason, part)
        data = {
            "part": part,
            "provider": ref.provider,
            "model": ref.model,
            "reason": reason,
            "message": message[:500],
            "notice": told,
            "fallback": "offline",
        }
        self.note(session_id, EventType.PROVIDER_FALLBACK, data, actor)
        notices.append(told)
        return offline(), False

    # -- conversation -------------------------------------------------------------------

    def conversation(
        self, session_id: str, ref: ModelRef, current: str, actor: str, notices: list[str]
    ) -> Conversation:
        """What was said before the answer to ``current``, older turns summarised."""
        session = self.writer.store.get(session_id)
        texts = (
            {i.id: i.text for i in session.interview.items} if session and session.interview else {}
        )
        events = self.writer.store.get_events(
            session_id,
            types=(EventType.ANSWER_SUBMITTED.value, EventType.CONVERSATION_SUMMARISED.value),
        )
        summary: str | None = None
        through = 0
        turns: list[Turn] = []
        for event in events:
            if event.type == EventType.CONVERSATION_SUMMARISED.value:
                summary, through = str(event.data["summary"]), int(event.data["through_seq"])
                turns = [t for t in turns if t.seq > through]
            else:
                item_id = str(event.data["item_id"])
                turns.append(
                    Turn(
                        seq=event.seq,
                        item_id=item_id,
                        question=texts.get(item_id, ""),
                        answer=str(event.data["text"]),
                    )
                )
        if turns and turns[-1].item_id == current:
            turns.pop()  # the answer being followed up is in the prompt already
        conversation = Conversation(summary=summary, summarised_through=through, turns=tuple(turns))
        older, _ = conversation.split(get_settings().ai_context_tokens)
        if not older:
            return conversation
        interviewer = self.llm_interviewer(session_id, ref, actor)
        text, used = self.with_fallback(
            session_id,
            ref,
            "interviewer",
            actor,
            notices,
            lambda: interviewer.summarise(conversation.summary, older),
            lambda: offline_summary(conversation.summary, older),
        )
        shorter = conversation.summarised(text, older)
        from rehearse.ai.prompts import PROMPT_VERSION

        data = {
            "through_seq": older[-1].seq,
            "turns": len(older),
            "summary": text,
            "provider": ref.provider if used else "offline",
            "model": ref.model if used else "default",
            "prompt_version": PROMPT_VERSION if used else None,
            "tokens_before": conversation.tokens,
            "tokens_after": shorter.tokens,
        }
        self.note(session_id, EventType.CONVERSATION_SUMMARISED, data, actor)
        return shorter

    # -- planning, follow-ups and report words -----------------------------------------

    def plan_with(self, ref: ModelRef, session: Session, seed: int, seen: frozenset[str]) -> Change:
        """Plan with the session's model, falling back to the offline plan.

        The session is not stored yet, so the plan's usage and events are applied to it
        here and stored with it, in the creation transaction.

        Raises:
            ConfigurationError: the provider's extra or key is missing (nothing is stored).
        """
        require_ready(ref, self.models.problems(ref))
        from rehearse.ai.llm import LLMInterviewer

        account = PendingAccount(session.config.token_budget, str(ref))
        interviewer = LLMInterviewer(self.caller(ref, "interviewer"), account)
        now = self.writer.clock.now()
        fallback: list[NewEvent] = []
        try:
            questions = interviewer.plan(session.config, seed=seed, seen=seen)
        except Exception as exc:
            if requests_disabled(exc):
                raise
            reason = exc.reason if isinstance(exc, ProviderCallError) else "error"
            detail = exc.detail if isinstance(exc, ProviderCallError) else repr(exc)
            questions = self.interviewer.plan(session.config, seed=seed, seen=seen)
            data = {
                "part": "interviewer",
                "provider": ref.provider,
                "model": ref.model,
                "reason": reason,
                "message": detail[:500],
                "notice": notice(reason, "interviewer"),
                "fallback": "offline",
            }
            fallback.append(NewEvent(type=EventType.PROVIDER_FALLBACK, at=now, data=data))
        session, events = apply_plan(session, questions, seed, session.config.max_follow_ups, now)
        for usage in account.usages:
            try:
                session, more = apply_usage(
                    session,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    usage.model,
                    now,
                    latency_seconds=usage.latency_seconds,
                    cost_usd=usage.cost_usd,
                )
            except BudgetExceededError:  # a provider reporting more than it was allowed
                prompt, completion = _fit(usage, session.remaining_tokens)
                session, more = apply_usage(
                    session,
                    prompt,
                    completion,
                    usage.model,
                    now,
                    latency_seconds=usage.latency_seconds,
                    cost_usd=cost_usd(usage.model, prompt, completion, get_settings().ai_prices),
                )
                overrun = _overrun(usage, prompt, completion)
                more = [*more, NewEvent(type=EventType.PROVIDER_FALLBACK, at=now, data=overrun)]
            events += more
        notes = [
            NewEvent(type=EventType.PROVIDER_RETRIED, at=now, data=d) for _, d in account.notes
        ]
        return session, [*events, *notes, *fallback]

    def follow_up(
        self,
        session_id: str,
        ref: ModelRef,
        item_id: str,
        question: Question,
        text: str,
        evaluation: AnswerEvaluation,
        asked: list[str],
        actor: str,
        notices: list[str],
        offline: Callable[[], str | None],
    ) -> str | None:
        """The model's follow-up, reacting to the answer and the conversation so far."""
        if self.budget_exhausted(session_id):
            return offline()
        conversation = self.conversation(session_id, ref, item_id, actor, notices)
        interviewer = self.llm_interviewer(session_id, ref, actor, conversation)
        follow_text, _ = self.with_fallback(
            session_id,
            ref,
            "interviewer",
            actor,
            notices,
            lambda: interviewer.follow_up(question, text, evaluation, asked),
            offline,
        )
        return follow_text

    def evaluator_label(self, session: Session, attempts: list[Attempt]) -> str:
        """Who scored the answers: the evaluator's name, or each one an LLM session used."""
        ref = self.model_ref(session)
        if ref is None:
            return self.evaluator.name
        names = [str(a.evaluation.get("evaluator")) for a in attempts if a.evaluation]
        unique = list(dict.fromkeys(n for n in names if n and n != "None"))
        return " + ".join(unique) if unique else str(ref)

    def draft_report(
        self, session: Session, ref: ModelRef, draft: Report, answers: int, actor: str
    ) -> None:
        """Let the model word the report of ``draft`` (``report_drafted``), or leave it."""
        evaluator = self.llm_evaluator(session.id, ref, actor)
        words, used = self.with_fallback(
            session.id,
            ref,
            "report",
            actor,
            [],
            lambda: evaluator.narrate(_narrative_input(draft)).model_dump(),
            lambda: None,
        )
        if used and words is not None:
            from rehearse.ai.prompts import PROMPT_VERSION

            data = words | {
                "answers": answers,
                "provider": ref.provider,
                "model": ref.model,
                "prompt_version": PROMPT_VERSION,
            }
            self.note(session.id, EventType.REPORT_DRAFTED, data, actor)

    def with_ai_words(self, session_id: str, report: Report, answers: int) -> Report:
        """The report with the model's drafted words, and a note of any fallback."""
        events = self.writer.store.get_events(
            session_id,
            types=(EventType.REPORT_DRAFTED.value, EventType.PROVIDER_FALLBACK.value),
        )
        drafts = [
            e.data
            for e in events
            if e.type == EventType.REPORT_DRAFTED.value and e.data.get("answers") == answers
        ]
        update: dict[str, Any] = {}
        if drafts:
            words = drafts[-1]
            update = {
                name: words[name]
                for name in ("summary", "strengths", "weaknesses", "recommended_topics")
                if words.get(name)
            }
        reasons = {
            str(e.data.get("reason")) for e in events if e.type == EventType.PROVIDER_FALLBACK.value
        }
        summary = str(update.get("summary", report.summary))
        if "budget_exhausted" in reasons:
            summary += (
                " The AI token budget ran out during the interview; the offline interviewer "
                "and evaluator handled the rest."
            )
        elif reasons:
            summary += " Some AI calls failed and were handled by the offline parts."
        return report.model_copy(update=update | {"summary": summary})


def _narrative_input(report: Report) -> dict[str, Any]:
    """What the model needs to word a report: the figures and the answers, clipped."""
    data = report.model_dump(
        mode="json",
        include={
            "candidate_name",
            "role",
            "level",
            "interview_type",
            "overall_score",
            "category_scores",
            "dimension_scores",
            "answered",
            "skipped",
            "unanswered",
            "total",
            "strengths",
            "weaknesses",
            "recommended_topics",
        },
    )
    data["questions"] = [
        {
            "question": q.text,
            "status": q.status,
            "score": q.score,
            "answer": (q.answer or "")[:400],
            "key_points_missed": q.key_points_missed,
        }
        for q in report.questions
    ]
    return data


def _fit(usage: CallUsage, left: int) -> tuple[int, int]:
    """The prompt and completion tokens of ``usage`` that fit in ``left`` tokens."""
    prompt = min(usage.prompt_tokens, left)
    return prompt, min(usage.completion_tokens, left - prompt)


def _overrun(usage: CallUsage, prompt: int, completion: int) -> dict[str, Any]:
    """The ``provider_fallback`` data of a call that reported more tokens than were left."""
    provider, _, model = usage.model.partition(":")
    return {
        "part": "budget",
        "provider": provider,
        "model": model,
        "reason": "budget_exhausted",
        "message": f"the provider reported {usage.total_tokens} tokens, more than were "
        f"left; {prompt + completion} recorded, up to the budget",
        "notice": NOTICES["budget_exhausted"],
        "unrecorded_prompt_tokens": usage.prompt_tokens - prompt,
        "unrecorded_completion_tokens": usage.completion_tokens - completion,
        "fallback": "offline",
    }
