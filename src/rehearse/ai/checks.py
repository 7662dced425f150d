"""``rehearse providers check --connect``: one tiny request to see that a model answers."""

from __future__ import annotations

import time
from typing import Any

from rehearse.ai.budget import ProviderCallError, UnmeteredAccount
from rehearse.ai.providers import ModelRef, ModelSource, ProviderModels


def connect_once(ref: ModelRef, models: ModelSource | None = None) -> dict[str, Any]:
    """Send ``ref`` the smallest request rehearse makes and report how it went.

    No retries: a rate limit or an outage is reported as it is. Not charged to any
    session; the reply needs at most a few tokens.

    Returns:
        ``ok``, ``message`` (one line for people), ``seconds`` (wall time),
        ``prompt_tokens``, ``completion_tokens`` and ``cost_usd`` (``None``: no price).
    """
    from rehearse.ai.calls import ModelCaller, Task
    from rehearse.ai.prompts import check_prompt
    from rehearse.settings import get_settings

    settings = get_settings().model_copy(update={"ai_max_retries": 0})
    caller = ModelCaller(ref, models or ProviderModels(), "check", settings)
    account = UnmeteredAccount()
    started = time.monotonic()
    task = Task(
        name="check",
        instructions="Answer briefly.",
        prompt=check_prompt(),
        output_type=str,
        max_output_tokens=16,
        min_output_tokens=1,
        temperature=0.0,
    )
    try:
        reply = caller.run(task, account)
    except ProviderCallError as exc:
        return {
            "ok": False,
            "message": f"failed ({exc.reason}): {exc.detail}",
            "seconds": round(time.monotonic() - started, 3),
            "prompt_tokens": sum(u.prompt_tokens for u in account.usages),
            "completion_tokens": sum(u.completion_tokens for u in account.usages),
            "cost_usd": None,
        }
    seconds = time.monotonic() - started
    prompt = sum(u.prompt_tokens for u in account.usages)
    completion = sum(u.completion_tokens for u in account.usages)
    costs = [u.cost_usd for u in account.usages]
    cost = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    return {
        "ok": True,
        "message": f"answered {reply.strip()[:40]!r} in {seconds:.2f} s "
        f"({prompt} prompt + {completion} completion tokens)",
        "seconds": round(seconds, 3),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost_usd": cost,
    }
