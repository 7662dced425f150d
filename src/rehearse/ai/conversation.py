"""The conversation an LLM interviewer remembers, kept within its context window.

The conversation is not stored twice: its turns are the session's ``answer_submitted``
events (the question asked is the plan item's text), and each summary of older turns is
a ``conversation_summarised`` event holding the summary and the sequence number of the
last answer it covers. A prompt sees the latest summary and every turn after it,
verbatim. When those pass ``REHEARSE_AI_CONTEXT_TOKENS``, the oldest turns are
summarised (by the model, or offline if it cannot) until the verbatim turns fit in half
of it, always keeping the newest turn.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from rehearse.ai.budget import estimate_tokens

#: Words of a question and of an answer an offline summary keeps.
OFFLINE_SUMMARY_WORDS = (12, 30)


class Turn(BaseModel):
    """One question and the candidate's answer.

    Attributes:
        seq: sequence number of the ``answer_submitted`` event.
        item_id: the plan item answered.
        question: what the interviewer asked.
        answer: what the candidate answered.
    """

    model_config = ConfigDict(frozen=True)

    seq: int
    item_id: str
    question: str
    answer: str

    def to_prompt(self) -> dict[str, str]:
        """The turn as a prompt shows it."""
        return {"interviewer": self.question, "candidate": self.answer}

    @property
    def tokens(self) -> int:
        """Estimated tokens of the turn in a prompt."""
        return estimate_tokens(self.question) + estimate_tokens(self.answer) + 8


class Conversation(BaseModel):
    """What the interviewer remembers: a summary of older turns and the recent ones.

    Attributes:
        summary: summary of every turn up to ``summarised_through`` (``None``: none yet).
        summarised_through: sequence number of the last answer the summary covers (0: none).
        turns: turns after the summary, oldest first.
    """

    model_config = ConfigDict(frozen=True)

    summary: str | None = None
    summarised_through: int = 0
    turns: tuple[Turn, ...] = ()

    @property
    def tokens(self) -> int:
        """Estimated tokens of the conversation in a prompt."""
        return estimate_tokens(self.summary or "") + sum(t.tokens for t in self.turns)

    def split(self, context_tokens: int) -> tuple[list[Turn], list[Turn]]:
        """The turns to summarise and the turns to keep, when over ``context_tokens``.

        Returns:
            ``(older, recent)``: ``older`` is empty when the conversation fits; otherwise
            ``recent`` holds the newest turns within half of ``context_tokens`` (at least
            the newest one).
        """
        if self.tokens <= context_tokens or len(self.turns) < 2:
            return [], list(self.turns)
        keep: list[Turn] = []
        room = context_tokens // 2
        for turn in reversed(self.turns):
            if keep and turn.tokens > room:
                break
            keep.insert(0, turn)
            room -= turn.tokens
        older = list(self.turns[: len(self.turns) - len(keep)])
        if not older:
            older, keep = [keep[0]], keep[1:]
        return older, keep

    def summarised(self, summary: str, older: list[Turn]) -> Conversation:
        """The conversation after ``older`` turns were folded into ``summary``."""
        last = older[-1].seq
        return Conversation(
            summary=summary,
            summarised_through=last,
            turns=tuple(t for t in self.turns if t.seq > last),
        )

    def to_prompt(self) -> dict[str, Any]:
        """The conversation as a prompt shows it."""
        return {
            "summary_of_earlier_turns": self.summary,
            "turns": [t.to_prompt() for t in self.turns],
        }


def _words(text: str, count: int) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" ..." if len(words) > count else "")


def offline_summary(previous: str | None, older: list[Turn]) -> str:
    """A summary without a model: the first words of each question and answer."""
    q_words, a_words = OFFLINE_SUMMARY_WORDS
    lines = [previous] if previous else []
    lines += [f"Q: {_words(t.question, q_words)} A: {_words(t.answer, a_words)}" for t in older]
    return "\n".join(lines)[-4_000:]
