"""The LLM interviewer and evaluator: the offline protocols, answered by a language model.

Both implement :class:`~rehearse.ai.protocols.Interviewer` and
:class:`~rehearse.ai.protocols.Evaluator`, so the service uses them exactly as the
offline parts. Each is made for one operation of one session: it holds the
:class:`~rehearse.ai.calls.ModelCaller` (the model, timeouts, retries) and the session's
:class:`~rehearse.ai.budget.Account` (budget and usage). A failure raises
:class:`~rehearse.ai.budget.ProviderCallError`; the service then falls back to the
offline part and records why.

The evaluator scores on the offline rubric's dimensions and 0-100 scale, keeps the
offline scorer's measurements (words, filler words, pace, STAR parts) and its score as
``offline_score`` for comparison, and records provider, model, prompt version and rubric
version with every score.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from pydantic import Field
from rapidfuzz import fuzz

from rehearse.ai.budget import Account
from rehearse.ai.calls import ModelCaller, Task
from rehearse.ai.conversation import Conversation, Turn
from rehearse.ai.offline import OfflineEvaluator
from rehearse.ai.prompts import (
    EVALUATOR,
    INTERVIEWER,
    PROMPT_VERSION,
    EvaluationOutput,
    Evidence,
    FollowUpOutput,
    NarrativeOutput,
    PlanOutput,
    SummaryOutput,
    evaluation_prompt,
    follow_up_prompt,
    narrative_prompt,
    plan_prompt,
    summary_prompt,
)
from rehearse.domain.config import SessionConfig
from rehearse.domain.questions import LevelRange, Question
from rehearse.domain.selection import category_mix, question_count
from rehearse.scoring import RUBRIC_VERSION, AnswerEvaluation, Dimension, FindingCode

#: The fewest output tokens worth asking for, per task (below it the budget is exhausted);
#: each task's cap is a setting (``REHEARSE_AI_*_TOKENS``, issue 15 item 2).
PLAN_MIN_TOKENS_PER_QUESTION = 120
EVALUATION_MIN_TOKENS = 150
FOLLOW_UP_MIN_TOKENS = 40
SUMMARY_MIN_TOKENS = 60
NARRATIVE_MIN_TOKENS = 120


#: A key point the model names matches one of the question's at this similarity (0-100).
KEY_POINT_MATCH = 80


class LLMAnswerEvaluation(AnswerEvaluation):
    """An :class:`AnswerEvaluation` made by a language model, with its provenance.

    Attributes:
        evidence: exact quotes from the answer and what each shows.
        offline_score: the offline rubric scorer's score of the same answer, 0-100.
        provider: the provider that scored it.
        model: its model.
        prompt_version: :data:`rehearse.ai.prompts.PROMPT_VERSION`.
    """

    evidence: list[Evidence] = Field(default_factory=list)
    offline_score: int = Field(ge=0, le=100)
    provider: str
    model: str
    prompt_version: str


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _question_id(number: int, text: str) -> str:
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"ai-{number}-{digest}"


class LLMInterviewer:
    """Plans questions and asks follow-ups with a language model.

    Args:
        caller: the model and its call rules.
        account: the session's budget.
        conversation: what was said so far (for follow-ups).
    """

    def __init__(
        self, caller: ModelCaller, account: Account, conversation: Conversation | None = None
    ) -> None:
        self.caller = caller
        self.account = account
        self.conversation = conversation or Conversation()
        self.name = str(caller.ref)

    def plan(self, config: SessionConfig, *, seed: int, seen: frozenset[str]) -> list[Question]:
        """Questions written for the role, level, job description and resume.

        One question per slot of the offline plan's category mix, in order; the
        categories are the mix's, whatever the model says.

        Raises:
            ProviderCallError: no usable plan (the caller plans offline instead).
        """
        slots = category_mix(config.interview_type, config.level, question_count(config))
        settings = self.caller.settings

        def check(output: PlanOutput) -> str | None:
            got = len(output.questions)
            if got < len(slots):
                return f"write exactly {len(slots)} questions, one per slot; got {got}"
            texts = [_normal(q.text) for q in output.questions]
            if len(set(texts)) < len(texts):
                return "two questions are the same; every question must be different"
            return None

        task = Task(
            name="plan",
            instructions=INTERVIEWER,
            prompt=plan_prompt(
                role=config.role.value,
                level=config.level.value,
                interview_type=config.interview_type.value,
                slots=slots,
                job_description=config.job_description,
                resume=config.resume_text,
                seed=seed,
            ),
            output_type=PlanOutput,
            max_output_tokens=settings.ai_plan_tokens_per_question * len(slots) + 50,
            min_output_tokens=min(
                PLAN_MIN_TOKENS_PER_QUESTION, settings.ai_plan_tokens_per_question
            )
            * len(slots),
            timeout_seconds=settings.ai_plan_timeout_seconds,
            temperature=0.7,
            seed=seed % 2**31,
            check=check,
        )
        output = self.caller.run(task, self.account)
        return [
            Question(
                id=_question_id(number, planned.text),
                text=planned.text,
                category=category,
                roles=[config.role],
                levels=LevelRange(min=config.level, max=config.level),
                key_points=planned.key_points,
                reference_answer=planned.reference_answer,
                follow_ups=planned.follow_ups,
                answer_time_seconds=planned.answer_time_seconds,
                tags=planned.tags,
            )
            for number, (planned, category) in enumerate(
                zip(output.questions, slots, strict=False), start=1
            )
        ]

    def follow_up(
        self,
        question: Question,
        answer: str,
        evaluation: AnswerEvaluation,
        asked: Sequence[str],
    ) -> str | None:
        """A follow-up reacting to ``answer`` and the conversation, or ``None``.

        Raises:
            ProviderCallError: no usable decision (the caller asks the offline interviewer).
        """
        seen = {_normal(a) for a in asked}

        def check(output: FollowUpOutput) -> str | None:
            if output.ask and len(output.question.strip()) < 8:
                return "ask is true but the follow-up question is empty"
            if output.ask and _normal(output.question) in seen:
                return "that follow-up was already asked; ask a different one or none"
            return None

        task = Task(
            name="follow_up",
            instructions=INTERVIEWER,
            prompt=follow_up_prompt(
                question=question.text,
                answer=answer,
                key_points=question.key_points,
                missed=evaluation.key_points_missed,
                asked=list(asked),
                conversation=self.conversation.to_prompt(),
            ),
            output_type=FollowUpOutput,
            max_output_tokens=self.caller.settings.ai_follow_up_tokens,
            min_output_tokens=min(FOLLOW_UP_MIN_TOKENS, self.caller.settings.ai_follow_up_tokens),
            timeout_seconds=self.caller.settings.ai_follow_up_timeout_seconds,
            temperature=0.5,
            check=check,
        )
        output = self.caller.run(task, self.account)
        return output.question.strip() if output.ask else None

    def summarise(self, previous: str | None, older: list[Turn]) -> str:
        """A summary of ``older`` turns, folding in the ``previous`` summary.

        Raises:
            ProviderCallError: no usable summary (the caller summarises offline).
        """
        task = Task(
            name="summarise",
            instructions=INTERVIEWER,
            prompt=summary_prompt(previous=previous, turns=[t.to_prompt() for t in older]),
            output_type=SummaryOutput,
            max_output_tokens=self.caller.settings.ai_summary_tokens,
            min_output_tokens=min(SUMMARY_MIN_TOKENS, self.caller.settings.ai_summary_tokens),
            timeout_seconds=self.caller.settings.ai_summary_timeout_seconds,
            temperature=0.2,
        )
        return self.caller.run(task, self.account).summary.strip()


class LLMEvaluator:
    """Scores answers with a language model on the offline rubric's dimensions and scale.

    Args:
        caller: the model and its call rules.
        account: the session's budget.
    """

    def __init__(self, caller: ModelCaller, account: Account) -> None:
        self.caller = caller
        self.account = account
        self.name = str(caller.ref)

    def evaluate(
        self,
        question: Question,
        answer: str,
        *,
        time_spent_seconds: float | None = None,
    ) -> LLMAnswerEvaluation:
        """Score ``answer`` 0-100 overall and per dimension, quoting it as evidence.

        Key points the model names are matched to the question's (fuzzy, at least
        :data:`KEY_POINT_MATCH`); a key point it names neither way counts as missed.
        Quotes that are not in the answer are rejected and the answer re-asked once.

        Raises:
            ProviderCallError: no usable evaluation (the caller scores offline).
        """
        plain = _normal(answer)

        def check(output: EvaluationOutput) -> str | None:
            for item in output.evidence:
                if _normal(item.quote) not in plain:
                    return f"the quote {item.quote[:80]!r} is not in the answer; quote it exactly"
            return None

        task = Task(
            name="evaluate",
            instructions=EVALUATOR,
            prompt=evaluation_prompt(
                question=question.text,
                category=question.category.value,
                key_points=question.key_points,
                reference_answer=question.reference_answer,
                answer=answer,
            ),
            output_type=EvaluationOutput,
            max_output_tokens=self.caller.settings.ai_evaluation_tokens,
            min_output_tokens=min(EVALUATION_MIN_TOKENS, self.caller.settings.ai_evaluation_tokens),
            timeout_seconds=self.caller.settings.ai_evaluation_timeout_seconds,
            temperature=0.0,
            check=check,
        )
        output = self.caller.run(task, self.account)
        offline = OfflineEvaluator().evaluate(
            question, answer, time_spent_seconds=time_spent_seconds
        )
        hit = _match(output.key_points_hit, question.key_points)
        missed = [k for k in question.key_points if k not in hit]
        dims = output.dimensions
        return LLMAnswerEvaluation(
            score=output.score,
            dimensions={
                Dimension.KEY_POINTS: dims.key_point_coverage,
                Dimension.CORRECTNESS: dims.correctness,
                Dimension.DEPTH: dims.depth,
                Dimension.STRUCTURE: dims.structure,
                Dimension.COMMUNICATION: dims.communication,
            },
            key_points_hit=hit,
            key_points_missed=missed,
            feedback=[f.strip() for f in output.feedback if f.strip()][:5],
            strengths=[s.strip() for s in output.strengths if s.strip()][:4],
            star=offline.star,
            word_count=offline.word_count,
            filler_words=offline.filler_words,
            words_per_minute=offline.words_per_minute,
            rubric_version=RUBRIC_VERSION,
            evidence=output.evidence,
            offline_score=offline.score,
            provider=self.caller.ref.provider,
            model=self.caller.ref.model,
            prompt_version=PROMPT_VERSION,
        )

    def evaluate_follow_up(
        self,
        question: Question,
        previous_answer: str,
        follow_up_question: str,
        follow_up_answer: str,
        *,
        time_spent_seconds: float | None = None,
    ) -> AnswerEvaluation:
        """The question's evaluation after a follow-up, judged on what the follow-up adds.

        The offline rule decides whether the follow-up adds anything relevant; when it
        does not, the offline evaluation of the previous answer stands (no model call);
        otherwise the model scores both answers together, and the score never drops
        below the offline score of the previous answer.

        Raises:
            ProviderCallError: no usable evaluation (the caller scores offline).
        """
        offline = OfflineEvaluator()
        judged = offline.evaluate_follow_up(
            question,
            previous_answer,
            follow_up_question,
            follow_up_answer,
            time_spent_seconds=time_spent_seconds,
        )
        if judged.has(FindingCode.FOLLOW_UP_ADDS_NOTHING):
            return judged
        combined = self.evaluate(
            question,
            f"{previous_answer}\n\n{follow_up_answer}",
            time_spent_seconds=time_spent_seconds,
        )
        floor = offline.evaluate(question, previous_answer).score
        return combined.model_copy(update={"score": max(combined.score, floor)})

    def narrate(self, report: dict[str, Any]) -> NarrativeOutput:
        """The words of a report (summary, strengths, weaknesses, topics) from its results.

        Args:
            report: the computed report as JSON (scores, questions, answers).

        Raises:
            ProviderCallError: no usable narrative (the report keeps the offline words).
        """
        task = Task(
            name="narrate",
            instructions=EVALUATOR,
            prompt=narrative_prompt(report=report),
            output_type=NarrativeOutput,
            max_output_tokens=self.caller.settings.ai_narrative_tokens,
            min_output_tokens=min(NARRATIVE_MIN_TOKENS, self.caller.settings.ai_narrative_tokens),
            timeout_seconds=self.caller.settings.ai_narrative_timeout_seconds,
            temperature=0.3,
        )
        return self.caller.run(task, self.account)


def _match(named: Sequence[str], key_points: Sequence[str]) -> list[str]:
    """The question's key points that ``named`` refers to, in the question's order."""
    found: set[str] = set()
    for name in named:
        best = max(key_points, key=lambda k: fuzz.token_set_ratio(name, k), default=None)
        if best is not None and fuzz.token_set_ratio(name, best) >= KEY_POINT_MATCH:
            found.add(best)
    return [k for k in key_points if k in found]
