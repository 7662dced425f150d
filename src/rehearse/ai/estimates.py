"""How many tokens, and what cost, a session's AI settings are likely to take.

Pure: a session configuration and a price table in, an estimate out, so the command
line (``rehearse sessions create``) and the web form show the same figure before a
session starts. The figure is an expectation, not a cap (the budget is the cap): one
planning call; per question an evaluation and a follow-up decision (at most
``max_follow_ups`` of them, each answered and evaluated); the conversation summarised
whenever it passes the context setting; the report's words at the end. Prompt sizes come
from the real prompts' fixed parts and the job description and resume given; answers
are taken as :data:`ANSWER_WORDS` words.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from rehearse.ai.budget import REQUEST_OVERHEAD_TOKENS, estimate_tokens
from rehearse.ai.pricing import cost_usd
from rehearse.ai.prompts import EVALUATOR, INTERVIEWER, MAX_CONTEXT_CHARS, RUBRIC
from rehearse.ai.providers import ModelRef
from rehearse.domain.config import SessionConfig
from rehearse.domain.selection import question_count
from rehearse.settings import ModelPrice, get_settings

#: Words an answer is assumed to have.
ANSWER_WORDS = 150
#: Tokens of one question with its key points and reference answer in a prompt.
QUESTION_TOKENS = 260
#: Typical reply sizes, tokens: per planned question, evaluation, follow-up decision,
#: summary, report words.
PLAN_REPLY_PER_QUESTION = 300
EVALUATION_REPLY = 380
FOLLOW_UP_REPLY = 70
SUMMARY_REPLY = 200
NARRATIVE_REPLY = 450
#: Output-schema tokens sent with each kind of request.
SCHEMA_TOKENS = 350


class SessionEstimate(BaseModel):
    """Expected AI usage of a whole session.

    Attributes:
        model: ``"provider:model"``.
        questions: questions in the plan.
        calls: model requests expected.
        prompt_tokens: expected input tokens.
        completion_tokens: expected output tokens.
        total_tokens: their sum.
        cost_usd: expected cost in US dollars (``None`` when the model has no price).
        token_budget: the session's budget, tokens.
        fits_budget: whether the expectation fits the budget (if not, the session
            finishes on the offline parts once the budget is spent).
    """

    model: str
    questions: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float | None
    token_budget: int
    fits_budget: bool

    def describe(self) -> str:
        """One line for people, e.g. ``about 21,400 tokens (~$0.0071) ...``."""
        if self.model.startswith("offline:"):
            return "offline: no AI tokens and no cost"
        cost = "cost unknown (no price)" if self.cost_usd is None else f"~${self.cost_usd:.4f}"
        fits = (
            "within"
            if self.fits_budget
            else "over (the rest would run on the offline interviewer and evaluator)"
        )
        return (
            f"about {self.total_tokens:,} tokens ({cost}) in {self.calls} calls to "
            f"{self.model} for {self.questions} questions; {fits} the budget of "
            f"{self.token_budget:,}"
        )


def estimate_session(
    config: SessionConfig,
    prices: Mapping[str, ModelPrice] | None = None,
    context_tokens: int | None = None,
) -> SessionEstimate:
    """Expected tokens and cost of a session with ``config``.

    Args:
        config: the session's settings (provider, model, questions, follow-ups, time,
            job description, resume).
        prices: USD per million tokens by ``"provider:model"`` (default: the settings').
        context_tokens: conversation kept verbatim (default: the settings').

    Returns:
        The estimate; all zeros (and cost 0) for the offline provider.
    """
    settings = get_settings()
    table = prices if prices is not None else settings.ai_prices
    context = context_tokens if context_tokens is not None else settings.ai_context_tokens
    ref = ModelRef.for_session(config)
    questions = question_count(config)
    if ref.is_offline:
        return SessionEstimate(
            model=str(ref),
            questions=questions,
            calls=0,
            prompt_tokens=0,
            completion_tokens=0,
            total_tokens=0,
            cost_usd=0.0,
            token_budget=config.token_budget,
            fits_budget=True,
        )
    answer = estimate_tokens("x" * (ANSWER_WORDS * 6))
    fixed = REQUEST_OVERHEAD_TOKENS + SCHEMA_TOKENS
    interviewer, evaluator = estimate_tokens(INTERVIEWER), estimate_tokens(EVALUATOR)
    context_text = sum(
        min(len(text or ""), MAX_CONTEXT_CHARS)
        for text in (config.job_description, config.resume_text)
    )
    prompt = fixed + interviewer + 150 + estimate_tokens("x" * context_text)
    completion = PLAN_REPLY_PER_QUESTION * questions
    calls = 1
    answers = questions * (1 + config.max_follow_ups)
    evaluation_prompt = fixed + evaluator + estimate_tokens(str(RUBRIC)) + QUESTION_TOKENS
    prompt += answers * (evaluation_prompt + answer)
    completion += answers * EVALUATION_REPLY
    calls += answers
    conversation = 0
    decisions = questions * config.max_follow_ups
    for _ in range(decisions):
        conversation = min(conversation + answer + 60, context)
        prompt += fixed + interviewer + QUESTION_TOKENS + answer + conversation
        completion += FOLLOW_UP_REPLY
        calls += 1
    summaries = (answers * (answer + 60)) // context if config.max_follow_ups else 0
    prompt += summaries * (fixed + interviewer + context // 2)
    completion += summaries * SUMMARY_REPLY
    calls += summaries + 1
    prompt += fixed + evaluator + questions * (QUESTION_TOKENS // 2 + answer)
    completion += NARRATIVE_REPLY
    total = prompt + completion
    return SessionEstimate(
        model=str(ref),
        questions=questions,
        calls=calls,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cost_usd=cost_usd(ref, prompt, completion, table),
        token_budget=config.token_budget,
        fits_budget=total <= config.token_budget,
    )
