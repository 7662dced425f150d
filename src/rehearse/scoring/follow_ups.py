"""Follow-up answers scored as a person would: on what they add to the first answer.

A follow-up can repair a thin answer: the key points it states that the first answer
missed count for the question. It can never raise the score when it adds nothing
relevant ("um I don't know, I like pizza"), and it never lowers it: the first answer
still stands. The feedback's first sentence is about the follow-up itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from rehearse.domain.questions import QuestionCategory
from rehearse.scoring.evaluator import AnswerEvaluation, evaluate_answer
from rehearse.scoring.feedback import MAX_FEEDBACK
from rehearse.scoring.findings import FindingCode, finding
from rehearse.scoring.topics import TopicIndex

#: Findings of the follow-up answer on its own that mean it adds nothing relevant.
_ADDS_NOTHING = frozenset(
    {
        FindingCode.DECLINES,
        FindingCode.NOT_AN_ANSWER,
        FindingCode.COPIES_QUESTION,
        FindingCode.OFF_TOPIC,
        FindingCode.CONTENT_FREE,
    }
)


def evaluate_follow_up(
    *,
    question: str,
    reference_answer: str,
    previous_answer: str,
    follow_up_question: str,
    follow_up_answer: str,
    key_points: Sequence[str] = (),
    category: QuestionCategory = QuestionCategory.TECHNICAL,
    time_spent_seconds: float | None = None,
    contrast: TopicIndex | None = None,
    question_id: str = "",
) -> AnswerEvaluation:
    """The question's evaluation once ``follow_up_answer`` has answered a follow-up.

    The follow-up answer is first judged alone, against the question and the follow-up
    question: declining, gibberish, a copy of the follow-up, an answer to another
    question or content-free text adds nothing. Otherwise the first and the follow-up
    answers are scored together; the follow-up counts only when it states a key point
    the first answer missed.

    Args:
        question: the parent question as asked.
        reference_answer: the parent question's model answer.
        previous_answer: the candidate's last answer to the parent question.
        follow_up_question: the follow-up as asked.
        follow_up_answer: the candidate's answer to the follow-up.
        key_points: the parent question's key points.
        category: the parent question's category.
        time_spent_seconds: how long the follow-up answer took, for its pace.
        contrast: the bank and plan, as for :func:`rehearse.scoring.evaluate_answer`.
        question_id: the parent question's id in ``contrast``.

    Returns:
        The evaluation of the question after the follow-up, 0-100: at least the first
        answer's score, higher only when the follow-up added a key point. When it added
        nothing the evaluation is the first answer's, with the finding
        ``follow_up_adds_nothing`` and feedback saying why.
    """
    score = partial(
        evaluate_answer,
        reference_answer=reference_answer,
        key_points=key_points,
        category=category,
        contrast=contrast,
        question_id=question_id,
    )
    before = score(question=question, answer=previous_answer)
    alone = score(
        question=f"{question}\n{follow_up_question}",
        answer=follow_up_answer,
        time_spent_seconds=time_spent_seconds,
    )
    useless = next((item for item in alone.findings if item.code in _ADDS_NOTHING), None)
    if useless is not None or alone.word_count == 0:
        reason = useless.message if useless is not None else "No answer was given."
        return _adds_nothing(before, f"Your follow-up answer adds nothing relevant: {reason}")
    after = score(
        question=question,
        answer=f"{previous_answer}\n\n{follow_up_answer}",
        time_spent_seconds=time_spent_seconds,
    )
    added = [point for point in after.key_points_hit if point not in before.key_points_hit]
    if not added or after.score <= before.score:
        return _adds_nothing(
            before,
            "Your follow-up answer adds no key point the first answer missed, so the score "
            f"stays at {before.score}.",
        )
    first = (
        f"Your follow-up answer added {len(added)} key point{'s' if len(added) > 1 else ''}"
        f' ("{_short(added[0])}"), raising the score from {before.score} to {after.score}.'
    )
    return after.model_copy(update={"feedback": [first, *after.feedback][:MAX_FEEDBACK]})


def _adds_nothing(before: AnswerEvaluation, message: str) -> AnswerEvaluation:
    if "score stays" not in message:
        message = f"{message.rstrip('.')}; the score stays at {before.score}."
    note = finding(FindingCode.FOLLOW_UP_ADDS_NOTHING, message)
    return before.model_copy(
        update={
            "feedback": [message, *before.feedback][:MAX_FEEDBACK],
            "findings": [*before.findings, note],
        }
    )


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."
