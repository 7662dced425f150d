"""The ``test`` provider: a scripted stand-in for a language model, shipped with rehearse.

``test:default`` is a pydantic-ai ``FunctionModel`` that reads the JSON inputs of
rehearse's prompts (:func:`rehearse.ai.prompts.read_input`) and answers like a careful
model would, without any network: plans drawn from the shipped question bank,
follow-ups that quote the candidate's answer, evaluations by the offline scorer with a
quote as evidence, summaries and report words built from the inputs. Its token counts
are pydantic-ai's estimates from the text, so budgets, warnings and fallbacks can be
tried end to end (``rehearse sessions create --provider test``) and tests run the whole
LLM path offline.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from rehearse.ai.prompts import read_input
from rehearse.bank import load_bank
from rehearse.domain.config import InterviewType, Level, Role, SessionConfig
from rehearse.domain.questions import QuestionCategory
from rehearse.domain.selection import select_questions
from rehearse.scoring import evaluate_answer

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def last_prompt(messages: list[ModelMessage]) -> str:
    """The text of the newest user prompt in ``messages`` ("" if there is none)."""
    for message in reversed(messages):
        if isinstance(message, ModelRequest):
            for part in reversed(message.parts):
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


def _first_sentence(text: str, limit: int = 160) -> str:
    match = _SENTENCE.search(text.strip())
    sentence = (match.group(0) if match else text).strip()
    return sentence[:limit].strip()


def _words(text: str, count: int) -> str:
    words = text.split()
    return " ".join(words[:count])


def _plan(data: dict[str, Any]) -> dict[str, Any]:
    slots = [QuestionCategory(s) for s in data["slots"]]
    config = SessionConfig(
        candidate_name="candidate",
        role=Role(data["role"]),
        level=Level(data["level"]),
        interview_type=InterviewType(data["interview_type"]),
        question_count=len(slots),
        job_description=data.get("job_description"),
        resume_text=data.get("resume"),
    )
    drawn = select_questions(list(load_bank()), config, seed=int(data.get("seed", 0)))
    return {
        "questions": [
            {
                "text": q.text,
                "key_points": q.key_points,
                "reference_answer": q.reference_answer,
                "follow_ups": q.follow_ups,
                "answer_time_seconds": q.answer_time_seconds,
                "tags": q.tags,
            }
            for q in drawn
        ]
    }


def _follow_up(data: dict[str, Any]) -> dict[str, Any]:
    missed = data.get("key_points_missed") or []
    answer = str(data.get("answer", ""))
    if not missed or not answer.strip():
        return {"ask": False, "question": "", "reason": "the answer covers the key points"}
    point = str(missed[0]).rstrip(".")
    point = point[:1].lower() + point[1:]
    question = f'You said "{_words(answer, 8)}". How does that account for this: {point}?'
    if question in (data.get("follow_ups_already_asked") or []):
        return {"ask": False, "question": "", "reason": "asked already"}
    return {"ask": True, "question": question, "reason": "a key point is missing"}


def _evaluate(data: dict[str, Any]) -> dict[str, Any]:
    answer = str(data["answer"])
    result = evaluate_answer(
        question=data["question"],
        reference_answer=data["reference_answer"],
        answer=answer,
        key_points=data["key_points"],
        category=QuestionCategory(data["category"]),
    )
    quote = _first_sentence(answer)
    return {
        "score": result.score,
        "dimensions": {str(k): v for k, v in result.dimensions.items()},
        "key_points_hit": result.key_points_hit,
        "key_points_missed": result.key_points_missed,
        "evidence": [{"quote": quote, "shows": "the opening of the answer"}] if quote else [],
        "feedback": result.feedback or ["Cover the key points with concrete examples."],
        "strengths": result.strengths,
    }


def _summarise(data: dict[str, Any]) -> dict[str, Any]:
    lines = [str(data["previous_summary"])] if data.get("previous_summary") else []
    for turn in data.get("turns", []):
        lines.append(
            f"Asked: {_words(turn['interviewer'], 10)}; said: {_words(turn['candidate'], 20)}."
        )
    return {"summary": " ".join(lines)[-1_800:] or "Nothing yet."}


def _narrate(data: dict[str, Any]) -> dict[str, Any]:
    score = data.get("overall_score")
    answered = data.get("answered", 0)
    total = data.get("total", 0)
    return {
        "summary": (
            f"{data.get('candidate_name', 'The candidate')} answered {answered} of {total} "
            f"questions with an overall score of {score}/100."
        ),
        "strengths": list(data.get("strengths", []))[:5],
        "weaknesses": list(data.get("weaknesses", []))[:5],
        "recommended_topics": list(data.get("recommended_topics", []))[:8],
    }


_ANSWERS = {
    "plan": _plan,
    "follow_up": _follow_up,
    "evaluate": _evaluate,
    "summarise": _summarise,
    "narrate": _narrate,
}


def scripted_reply(prompt: str) -> dict[str, Any] | None:
    """The output (as JSON arguments) a careful model would give to a rehearse prompt.

    Returns ``None`` for a prompt rehearse did not make, or one with no structured output
    (the ``check`` task). The local OpenAI-compatible server of the tests answers with it.
    """
    try:
        task, data = read_input(prompt)
    except ValueError:
        return None
    answer = _ANSWERS.get(task)
    return answer(data) if answer is not None else None


def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """The scripted reply to the newest rehearse prompt in ``messages``.

    A structured task is answered as the request asks: JSON text in native output mode
    (the JSON-schema response format), else a call of the output tool; the ``check`` task
    (and any prompt rehearse did not make) with the text ``OK``.
    """
    reply = scripted_reply(last_prompt(messages))
    if reply is not None and info.model_request_parameters.output_mode == "native":
        return ModelResponse(parts=[TextPart(json.dumps(reply))])
    if reply is None or not info.output_tools:
        return ModelResponse(parts=[TextPart("OK")])
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, reply)])


def scripted_model(name: str = "default") -> FunctionModel:
    """The ``test:<name>`` model (every name behaves the same)."""
    return FunctionModel(respond, model_name=f"rehearse-scripted-{name}")
