"""One structured model call under a token budget, with retries, a deadline and a re-ask.

:class:`ModelCaller` runs a :class:`Task` through pydantic-ai and returns its validated
output, or raises :class:`~rehearse.ai.budget.ProviderCallError` saying why it could
not, so the caller can fall back to the offline part. The rules (issue 5):

- **Budget**: tokens are reserved before each request (:mod:`rehearse.ai.budget`); the
  completion is capped at ``max_tokens`` = the reservation less the prompt estimate, and
  ``UsageLimits(request_limit=1, total_tokens_limit=<tokens left>)`` stops a response
  that would pass the budget. Every request's reported usage is recorded, failed ones too.
- **Sized to the task** (issue 15, item 2): each task has its own output cap
  (``REHEARSE_AI_FOLLOW_UP_TOKENS`` and the like, far below the budget's remainder) and
  its own deadline (``REHEARSE_AI_*_TIMEOUT_SECONDS``) that bounds all of its requests,
  retries and the re-ask together; each request also ends within
  ``REHEARSE_AI_TIMEOUT_SECONDS`` (pydantic-ai's ``request_timeout``, enforced for every
  model).
- **Constrained output** (issue 15, item 3): ``REHEARSE_AI_OUTPUT_MODE`` chooses
  pydantic-ai's native output (the JSON-schema response format) or one output tool whose
  call is forced by name (``tool_choice``), which servers such as llama-cpp-python
  constrain by grammar. ``auto`` takes native where the model's pydantic-ai profile says
  it is supported; a server that refuses it (HTTP 400/422/500) gets tool calls from then
  on.
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
    ModelHTTPError,
    ModelRateLimitError,
    ModelRequestTimeout,
    ModelRetry,
    ModelServerError,
    ModelUnavailableError,
    NativeOutput,
    RunContext,
    ToolOutput,
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

#: The output tool's name in tool mode (forced by name, so a server can constrain it).
OUTPUT_TOOL = "final_result"

#: Providers reached through the Chat Completions API (OpenAI-compatible servers).
CHAT_COMPLETIONS_PROVIDERS = frozenset({"openai", "ollama"})

#: The ``tool_choice`` that names the output tool (the Chat Completions form).
FORCED_TOOL_CHOICE = {"type": "function", "function": {"name": OUTPUT_TOOL}}

#: How servers refuse a ``json_schema`` response format: 400 and 422 (validation), and
#: 500 from llama-cpp-python 0.3, whose validation error escapes as a server error; the
#: reply must name ``response_format``, so an outage is not taken for a refusal.
NATIVE_REFUSAL_STATUSES = (400, 422, 500)

#: Models whose server refused the JSON-schema response format in this process
#: (``auto`` mode then asks them for tool calls).
NATIVE_REFUSED: set[str] = set()

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
        timeout_seconds: the task's deadline, seconds, over all its requests, retries
            and the re-ask (``None``: only each request's ``ai_timeout_seconds``).
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
    timeout_seconds: float | None = None

    @property
    def structured(self) -> bool:
        """True when the reply must validate as a pydantic model (not plain text)."""
        return isinstance(self.output_type, type) and issubclass(self.output_type, BaseModel)

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
    """A request (in output ``mode``) failed after using ``usage`` (tokens reported anyway)."""

    def __init__(self, error: BaseException, usage: tuple[int, int], mode: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.usage = usage
        self.mode = mode


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
        #: the output mode of each request sent, in order (``native``, ``tool``, ``text``)
        self.modes: list[str] = []

    def run(self, task: Task[T], account: Account) -> T:
        """The validated output of ``task``; usage is recorded through ``account``.

        Raises:
            BudgetExhaustedError: too few tokens are left (nothing was sent).
            ProviderCallError: the provider failed, timed out, kept rate-limiting,
                refused the request, is not configured, answered malformed output twice,
                or the task's deadline (``task.timeout_seconds``) passed.
            RuntimeError: model requests are switched off (tests), never swallowed.
        """
        deadline = None if task.timeout_seconds is None else time.monotonic() + task.timeout_seconds
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
                    return self._with_retries(
                        task, prompt, max_output, grant.available, account, deadline
                    )
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

    def output_mode(self, model: models.Model) -> str:
        """``native`` or ``tool``: how this request holds ``model`` to the reply's shape.

        ``REHEARSE_AI_OUTPUT_MODE`` decides; ``auto`` takes native when pydantic-ai's
        profile of the model supports the JSON-schema response format and its server has
        not refused it in this process.
        """
        chosen = self.settings.ai_output_mode
        if chosen != "auto":
            return chosen
        if str(self.ref) in NATIVE_REFUSED:
            return "tool"
        return "native" if model.profile.get("supports_json_schema_output", False) else "tool"

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
        self,
        task: Task[T],
        prompt: str,
        max_output: int,
        available: int,
        account: Account,
        deadline: float | None,
    ) -> T:
        retries = self.settings.ai_max_retries
        attempt = 0
        while attempt <= retries:
            attempt += 1
            timeout = self.settings.ai_timeout_seconds
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ProviderCallError(
                        "timeout",
                        str(self.ref),
                        f"the {task.name} task's deadline of {task.timeout_seconds:g} s passed",
                    )
                timeout = min(timeout, left)
            started = time.monotonic()
            try:
                output, usage, mode = _run(
                    lambda: self._once(task, prompt, max_output, available, timeout)  # noqa: B023
                )
            except _Failed as failed:
                self._record(failed.usage, time.monotonic() - started, account)
                self.modes.append(failed.mode)
                if self._native_refused(failed):
                    account.note(
                        "retried",
                        self._event(
                            task,
                            attempt=attempt,
                            reason="output_mode",
                            message="the server refused the JSON-schema response format; "
                            f"asking for a tool call instead ({_explain(failed.error)})",
                        )
                        | {"wait_seconds": 0.0},
                    )
                    attempt -= 1  # the same request in another form, not a retry
                    continue
                reason, transient = self._classify(failed.error)
                if reason == "malformed_output":
                    raise _Malformed(_explain(failed.error)) from None
                if not transient or attempt > retries:
                    raise ProviderCallError(reason, str(self.ref), _explain(failed.error)) from None
                wait = self._backoff(attempt, failed.error)
                if wait is None or (deadline is not None and time.monotonic() + wait >= deadline):
                    raise ProviderCallError(reason, str(self.ref), _explain(failed.error)) from None
                account.note(
                    "retried",
                    self._event(
                        task,
                        attempt=attempt,
                        reason=reason,
                        output_mode=failed.mode,
                        message=_explain(failed.error),
                    )
                    | {"wait_seconds": round(wait, 3)},
                )
                self.sleep(wait)
                continue
            self._record(usage, time.monotonic() - started, account)
            self.modes.append(mode)
            return output
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _native_refused(self, failed: _Failed) -> bool:
        """True (and remembered) when ``auto`` chose native and the server refused it."""
        error = failed.error
        if (
            failed.mode == "native"
            and self.settings.ai_output_mode == "auto"
            and isinstance(error, ModelHTTPError)
            and error.status_code in NATIVE_REFUSAL_STATUSES
            and "response_format" in f"{getattr(error, 'body', '')} {error}"  # not an outage
            and str(self.ref) not in NATIVE_REFUSED
        ):
            NATIVE_REFUSED.add(str(self.ref))
            return True
        return False

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
        self, task: Task[T], prompt: str, max_output: int, available: int, timeout: float
    ) -> tuple[T, tuple[int, int], str]:
        settings: ModelSettings = {
            "max_tokens": max_output,
            "temperature": task.temperature,
            "request_timeout": timeout,
            "max_retries": 0,
        }
        if task.seed is not None and self.ref.provider in SEEDED_PROVIDERS:
            settings["seed"] = task.seed
        limits = UsageLimits(request_limit=1, total_tokens_limit=max(available, 1))
        mode = "text"
        with capture_run_messages() as messages:
            try:
                model = self.models.model(self.ref)
                output_type: Any = task.output_type
                if task.structured:
                    mode = self.output_mode(model)
                    if mode == "native":
                        output_type = NativeOutput(task.output_type, name=task.name)
                    else:
                        output_type = ToolOutput(task.output_type, name=OUTPUT_TOOL)
                        if self.ref.provider in CHAT_COMPLETIONS_PROVIDERS:
                            # pydantic-ai sends "required" for a lone tool; named, a server
                            # such as llama-cpp-python holds the call to its schema by grammar
                            settings["extra_body"] = {"tool_choice": FORCED_TOOL_CHOICE}
                agent: Agent[None, T] = Agent(
                    output_type=output_type,
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

                async with model:
                    result = await agent.run(
                        prompt, model=model, model_settings=settings, usage_limits=limits
                    )
            except Exception as exc:
                raise _Failed(exc, _usage_of(messages), mode) from exc
        usage = result.usage
        return result.output, (usage.input_tokens, usage.output_tokens), mode


def _explain(error: BaseException) -> str:
    """One line on what went wrong, with the validation details when there are any."""
    cause = error.__cause__
    text = f"{error}" + (f": {cause}" if cause is not None and str(cause) not in str(error) else "")
    return " ".join(text.split())[:600]
