"""One structured model call under a token budget, with retries, a deadline and a re-ask.

:class:`ModelCaller` runs a :class:`Task` through pydantic-ai and returns its validated
output, or raises :class:`~rehearse.ai.budget.ProviderCallError` saying why it could
not, so the caller can fall back to the offline part. The rules (issue 5):

- **Budget**: tokens are reserved before each request (:mod:`rehearse.ai.budget`); the
  completion is capped at ``max_tokens`` = the reservation less the prompt estimate, and
  ``UsageLimits(request_limit=1, total_tokens_limit=<tokens left>)`` stops a response
  that would pass the budget. Every request's reported usage is recorded, failed ones too.
- **Deadline**: ``REHEARSE_AI_TIMEOUT_SECONDS`` per request (pydantic-ai's
  ``request_timeout``, enforced for every model).
- **Retries**: a timeout, a rate limit (HTTP 429), an unavailable or failing provider
  (HTTP 5xx, connection refused) is retried up to ``REHEARSE_AI_MAX_RETRIES`` times
  with exponential backoff and jitter, waiting at least the provider's ``Retry-After``;
  the SDKs' own retries are switched off so the waits are rehearse's and are logged.
- **Malformed output** (a reply that does not validate, or fails the task's check) is
  re-asked once with the reason; a second failure gives up.

This module imports pydantic-ai; only LLM sessions import it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic_ai import (
    Agent,
    ModelAPIError,
    ModelConnectionError,
    ModelRateLimitError,
    ModelRequestTimeout,
    ModelRetry,
    ModelServerError,
    ModelUnavailableError,
    RunContext,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UsageLimits,
    UserError,
    capture_run_messages,
    models,
)
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.settings import ModelSettings

from rehearse.ai.budget import (
    REQUEST_OVERHEAD_TOKENS,
    Account,
    CallUsage,
    ProviderCallError,
    estimate_tokens,
)
from rehearse.ai.pricing import cost_usd
from rehearse.ai.providers import ModelRef, ModelSource
from rehearse.errors import ConfigurationError, ModelRequestsDisabledError
from rehearse.settings import Settings, get_settings

T = TypeVar("T")

#: Longest wait between two attempts, seconds (a longer ``Retry-After`` gives up at once).
MAX_BACKOFF_SECONDS = 30.0

#: Providers whose APIs take a sampling seed (the others would warn that it is ignored).
SEEDED_PROVIDERS = frozenset({"openai", "ollama", "test"})

#: Errors worth another attempt, with the reason recorded for each.
_TRANSIENT: tuple[tuple[type[BaseException], str], ...] = (
    (ModelRateLimitError, "rate_limited"),
    (ModelRequestTimeout, "timeout"),
    (TimeoutError, "timeout"),
    (ModelUnavailableError, "unavailable"),
    (ModelServerError, "unavailable"),
    (ModelConnectionError, "unavailable"),
)


@dataclass(frozen=True)
class Task(Generic[T]):
    """One thing to ask a model.

    Attributes:
        name: what it is for (``plan``, ``follow_up``, ``evaluate``, ``summarise``,
            ``narrate``, ``check``), for events.
        instructions: the system instructions.
        prompt: the user prompt (see :func:`rehearse.ai.prompts.render`).
        output_type: the pydantic model (or ``str``) the reply must validate as.
        max_output_tokens: the most the reply may take, tokens.
        min_output_tokens: the fewest worth asking for; below this the budget is exhausted.
        temperature: sampling temperature.
        seed: sampling seed, where the provider supports one.
        check: a further check of a validated reply; a message means "re-ask".
    """

    name: str
    instructions: str
    prompt: str
    output_type: type[T]
    max_output_tokens: int
    min_output_tokens: int
    temperature: float = 0.3
    seed: int | None = None
    check: Callable[[T], str | None] | None = None

    def prompt_tokens(self, prompt: str) -> int:
        """Estimated prompt tokens of a request of this task, on the high side."""
        schema = ""
        if isinstance(self.output_type, type) and issubclass(self.output_type, BaseModel):
            schema = json.dumps(self.output_type.model_json_schema())
        return (
            estimate_tokens(self.instructions)
            + estimate_tokens(prompt)
            + estimate_tokens(schema)
            + REQUEST_OVERHEAD_TOKENS
        )


class _Failed(Exception):
    """A request failed after using ``usage`` (tokens the provider reported anyway)."""

    def __init__(self, error: BaseException, usage: tuple[int, int]) -> None:
        super().__init__(str(error))
        self.error = error
        self.usage = usage


class _Malformed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _usage_of(messages: list[ModelMessage]) -> tuple[int, int]:
    responses = [m for m in messages if isinstance(m, ModelResponse)]
    return (
        sum(r.usage.input_tokens for r in responses),
        sum(r.usage.output_tokens for r in responses),
    )


def _run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to the end from sync code, also when this thread runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


class ModelCaller:
    """Runs tasks against one ``provider:model`` for one part of an interview.

    Args:
        ref: the model.
        models: where the pydantic-ai model comes from.
        part: ``interviewer``, ``evaluator`` or ``check``, for events.
        settings: timeouts, retries and prices (default: the process settings).
        sleep: how to wait between attempts (tests pass a recorder).
    """

    def __init__(
        self,
        ref: ModelRef,
        models: ModelSource,
        part: str,
        settings: Settings | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ref = ref
        self.models = models
        self.part = part
        self.settings = settings or get_settings()
        self.sleep = sleep

    def run(self, task: Task[T], account: Account) -> T:
        """The validated output of ``task``; usage is recorded through ``account``.

        Raises:
            BudgetExhaustedError: too few tokens are left (nothing was sent).
            ProviderCallError: the provider failed, timed out, kept rate-limiting,
                refused the request, is not configured, or answered malformed output twice.
            RuntimeError: model requests are switched off (tests), never swallowed.
        """
        note: str | None = None
        for attempt in (1, 2):
            prompt = task.prompt
            if note is not None:
                prompt += (
                    f"\n\nYour previous reply was rejected: {note[:600]}\n"
                    "Reply again, with output that follows the required structure exactly."
                )
            prompt_tokens = task.prompt_tokens(prompt)
            with account.reserve(
                prompt_tokens + task.max_output_tokens, prompt_tokens + task.min_output_tokens
            ) as grant:
                max_output = max(
                    min(task.max_output_tokens, grant.reserved - prompt_tokens),
                    task.min_output_tokens,
                )
                try:
                    return self._with_retries(task, prompt, max_output, grant.available, account)
                except _Malformed as malformed:
                    note = malformed.message
            if attempt == 1:
                account.note(
                    "retried",
                    self._event(task, attempt=1, reason="malformed_output", message=note)
                    | {"wait_seconds": 0.0},
                )
        raise ProviderCallError(
            "malformed_output", str(self.ref), f"malformed output twice: {(note or '')[:300]}"
        )

    def _event(self, task: Task[Any], **data: Any) -> dict[str, Any]:
        message = str(data.pop("message", "") or "")[:300]
        return {
            "part": self.part,
            "task": task.name,
            "provider": self.ref.provider,
            "model": self.ref.model,
            **data,
            "message": message,
        }

    def _with_retries(
        self, task: Task[T], prompt: str, max_output: int, available: int, account: Account
    ) -> T:
        retries = self.settings.ai_max_retries
        for attempt in range(1, retries + 2):
            started = time.monotonic()
            try:
                output, usage = _run(lambda: self._once(task, prompt, max_output, available))
            except _Failed as failed:
                self._record(failed.usage, time.monotonic() - started, account)
                reason, transient = self._classify(failed.error)
                if reason == "malformed_output":
                    raise _Malformed(_explain(failed.error)) from None
                if not transient or attempt > retries:
                    raise ProviderCallError(reason, str(self.ref), _explain(failed.error)) from None
                wait = self._backoff(attempt, failed.error)
                if wait is None:
                    raise ProviderCallError(reason, str(self.ref), _explain(failed.error)) from None
                account.note(
                    "retried",
                    self._event(
                        task, attempt=attempt, reason=reason, message=_explain(failed.error)
                    )
                    | {"wait_seconds": round(wait, 3)},
                )
                self.sleep(wait)
                continue
            self._record(usage, time.monotonic() - started, account)
            return output
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _record(self, usage: tuple[int, int], latency: float, account: Account) -> None:
        prompt_tokens, completion_tokens = usage
        if prompt_tokens == 0 and completion_tokens == 0:
            return
        account.record(
            CallUsage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                model=str(self.ref),
                latency_seconds=latency,
                cost_usd=cost_usd(
                    self.ref, prompt_tokens, completion_tokens, self.settings.ai_prices
                ),
            )
        )

    def _classify(self, error: BaseException) -> tuple[str, bool]:
        if type(error) is RuntimeError and not models.ALLOW_MODEL_REQUESTS:
            # pydantic-ai refuses with a bare RuntimeError: known by the switch's state
            raise ModelRequestsDisabledError(str(error)) from error
        for kind, reason in _TRANSIENT:
            if isinstance(error, kind):
                return reason, True
        if isinstance(error, UsageLimitExceeded):
            return "usage_limit", False
        if isinstance(error, UnexpectedModelBehavior):
            return "malformed_output", False
        if isinstance(error, ModelAPIError):
            return "rejected", False
        if isinstance(error, ConfigurationError | UserError | ImportError):
            return "not_configured", False
        return "error", False

    def _backoff(self, attempt: int, error: BaseException) -> float | None:
        base = self.settings.ai_retry_base_seconds * 2.0 ** (attempt - 1)
        wait = min(base * random.uniform(0.5, 1.0), MAX_BACKOFF_SECONDS)
        asked = getattr(error, "retry_after", None)
        if isinstance(asked, int | float) and asked > 0:
            if asked > MAX_BACKOFF_SECONDS:
                return None
            wait = max(wait, float(asked))
        return wait

    async def _once(
        self, task: Task[T], prompt: str, max_output: int, available: int
    ) -> tuple[T, tuple[int, int]]:
        agent: Agent[None, T] = Agent(
            output_type=task.output_type,
            instructions=task.instructions,
            retries={"output": 0},
        )
        check = task.check
        if check is not None:

            @agent.output_validator
            def _check(ctx: RunContext[None], output: T) -> T:
                problem = check(output)
                if problem:
                    raise ModelRetry(problem)
                return output

        settings: ModelSettings = {
            "max_tokens": max_output,
            "temperature": task.temperature,
            "request_timeout": self.settings.ai_timeout_seconds,
            "max_retries": 0,
        }
        if task.seed is not None and self.ref.provider in SEEDED_PROVIDERS:
            settings["seed"] = task.seed
        limits = UsageLimits(request_limit=1, total_tokens_limit=max(available, 1))
        with capture_run_messages() as messages:
            try:
                model = self.models.model(self.ref)
                async with model:
                    result = await agent.run(
                        prompt, model=model, model_settings=settings, usage_limits=limits
                    )
            except Exception as exc:
                raise _Failed(exc, _usage_of(messages)) from exc
        usage = result.usage
        return result.output, (usage.input_tokens, usage.output_tokens)


def _explain(error: BaseException) -> str:
    """One line on what went wrong, with the validation details when there are any."""
    cause = error.__cause__
    text = f"{error}" + (f": {cause}" if cause is not None and str(cause) not in str(error) else "")
    return " ".join(text.split())[:600]
