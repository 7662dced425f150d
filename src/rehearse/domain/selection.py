"""Choosing the questions of a session from a bank (issue 3, seed ``004_*`` create_session).

The rules, in order:

1. **How many**: ``question_count`` from the config, else what fits the time limit
   (:data:`MINUTES_PER_QUESTION` of each category, follow-ups included).
2. **Which kinds**: the interview type fixes the mix (:func:`category_mix`): technical is
   three technical to one coding question, mixed opens and closes with a behavioral
   question around technical ones and, from senior up, one system design question.
3. **Which questions**: those for the role whose level range holds the level; if a kind
   has too few, the range widens one level at a time, then the kind falls back to
   technical. Questions the candidate saw in recent sessions are left out while enough
   others remain.
4. **Bias**: a question scores one point per keyword it shares with the job description
   and resume (capped at 5); it is drawn with weight ``1 + score``, so matching
   questions come up more often without crowding out the rest.
5. **Reproducible**: every draw comes from ``random.Random(seed)``; the seed is stored
   with the plan.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from rehearse.domain.config import InterviewType, Level, Role, SessionConfig
from rehearse.domain.questions import Question, QuestionCategory, keywords

#: Minutes one question of each kind takes, follow-ups and thinking included.
MINUTES_PER_QUESTION: dict[QuestionCategory, float] = {
    QuestionCategory.TECHNICAL: 6,
    QuestionCategory.BEHAVIORAL: 6,
    QuestionCategory.CODING: 12,
    QuestionCategory.SYSTEM_DESIGN: 20,
}
MAX_QUESTIONS = 30
MAX_BIAS = 5

# Words too common in job descriptions to say anything about a question.
_NOISE = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "you",
        "your",
        "our",
        "are",
        "will",
        "this",
        "that",
        "from",
        "have",
        "has",
        "who",
        "what",
        "about",
        "team",
        "teams",
        "work",
        "working",
        "experience",
        "years",
        "year",
        "strong",
        "ability",
        "skills",
        "skill",
        "knowledge",
        "using",
        "use",
        "able",
        "must",
        "should",
        "would",
        "can",
        "not",
        "all",
        "any",
        "its",
        "into",
        "their",
        "they",
        "them",
        "role",
        "roles",
        "job",
        "company",
        "including",
        "plus",
        "etc",
        "also",
        "well",
        "new",
        "more",
        "other",
        "such",
        "within",
        "across",
        "based",
        "per",
        "via",
    ]
)


def category_mix(interview_type: InterviewType, level: Level, count: int) -> list[QuestionCategory]:
    """The kinds of the ``count`` questions, in the order they are asked."""
    tech, beh, code, design = (
        QuestionCategory.TECHNICAL,
        QuestionCategory.BEHAVIORAL,
        QuestionCategory.CODING,
        QuestionCategory.SYSTEM_DESIGN,
    )
    if interview_type is InterviewType.BEHAVIORAL:
        return [beh] * count
    if interview_type is InterviewType.CODING:
        return [code] * count
    if interview_type is InterviewType.SYSTEM_DESIGN:
        return [design] * count
    if interview_type is InterviewType.TECHNICAL:
        coding = count // 4
        return [tech] * (count - coding) + [code] * coding
    # mixed: behavioral warm-up, technical core, design for senior+, behavioral close
    if count == 1:
        return [tech]
    middle = count - 2 if count >= 4 else count - 1
    core = [tech] * middle
    if level.rank >= Level.SENIOR.rank and middle >= 3:
        core[-1] = design
    elif middle >= 4:
        core[-1] = code
    return [beh, *core, beh] if count >= 4 else [beh, *core]


def question_count(config: SessionConfig) -> int:
    """``config.question_count``, else as many as fit the time limit (at least 1)."""
    if config.question_count is not None:
        return config.question_count
    per = {
        InterviewType.TECHNICAL: 7.5,
        InterviewType.BEHAVIORAL: 6,
        InterviewType.CODING: 12,
        InterviewType.SYSTEM_DESIGN: 20,
        InterviewType.MIXED: 7.5,
    }[config.interview_type]
    return max(1, min(MAX_QUESTIONS, math.floor(config.time_limit_minutes / per)))


def bias_keywords(config: SessionConfig) -> set[str]:
    """Distinctive words of the job description and resume."""
    text = " ".join(t for t in (config.job_description, config.resume_text) if t)
    return {word for word in keywords(text) if word not in _NOISE}


def _own_keywords(question: Question) -> frozenset[str]:
    own = keywords(" ".join([question.text, *question.tags, *question.key_points]))
    return frozenset(own | {tag.lower() for tag in question.tags})


class QuestionIndex:
    """A bank's questions indexed for :func:`select_questions` (issue 16: create).

    Built once per bank and kept (the offline interviewer holds one per process): the
    questions of each (role, kind, level, widening) in bank order and each question's
    keywords, so a plan is drawn from lists already in memory instead of scanning and
    re-tokenising the whole bank per session. Draws are exactly those of the bank as
    a list. Thread-safe: entries are only ever added, each computed from immutable data.

    Args:
        bank: the questions, in bank order.
    """

    def __init__(self, bank: Sequence[Question]) -> None:
        self.questions: tuple[Question, ...] = tuple(bank)
        self._for_role: dict[Role, tuple[Question, ...]] = {}
        self._near: dict[tuple[Role, QuestionCategory, Level, int], tuple[Question, ...]] = {}
        self._keywords: dict[str, frozenset[str]] = {}

    def for_role(self, role: Role) -> tuple[Question, ...]:
        """The role's questions, in bank order."""
        found = self._for_role.get(role)
        if found is None:
            found = self._for_role[role] = tuple(q for q in self.questions if role in q.roles)
        return found

    def near(
        self, role: Role, category: QuestionCategory, level: Level, widen: int
    ) -> tuple[Question, ...]:
        """The role's questions of ``category`` whose level range, widened, holds ``level``."""
        key = (role, category, level, widen)
        found = self._near.get(key)
        if found is None:
            rank = level.rank
            found = self._near[key] = tuple(
                q
                for q in self.for_role(role)
                if q.category is category
                and q.levels.min.rank - widen <= rank <= q.levels.max.rank + widen
            )
        return found

    def relevance(self, question: Question, wanted: set[str]) -> int:
        """Keywords ``question`` shares with ``wanted``, capped at :data:`MAX_BIAS`."""
        if not wanted:
            return 0
        own = self._keywords.get(question.id)
        if own is None:
            own = self._keywords[question.id] = _own_keywords(question)
        return min(len(own & wanted), MAX_BIAS)


def select_questions(
    bank: Sequence[Question] | QuestionIndex,
    config: SessionConfig,
    *,
    seed: int,
    seen: frozenset[str] = frozenset(),
    count: int | None = None,
) -> list[Question]:
    """Draw the plan's questions from ``bank`` by the rules of this module.

    Args:
        bank: every available question, or a :class:`QuestionIndex` of them (the same
            draw, without re-indexing the bank).
        config: the session's role, level, interview type, question count, job
            description and resume.
        seed: the random seed; the same inputs and seed give the same plan.
        seen: ids the candidate was asked in recent sessions (avoided when possible).
        count: overrides :func:`question_count`.

    Returns:
        Up to ``count`` distinct questions (fewer only if the bank has too few for the role).
    """
    index = bank if isinstance(bank, QuestionIndex) else QuestionIndex(bank)
    rng = random.Random(seed)
    wanted = bias_keywords(config)
    total = count if count is not None else question_count(config)
    chosen: list[Question] = []
    taken: set[str] = set()
    for category in category_mix(config.interview_type, config.level, total):
        pool = _pool(index, config, category, taken, seen)
        if not pool and category is not QuestionCategory.TECHNICAL:
            pool = _pool(index, config, QuestionCategory.TECHNICAL, taken, seen)
        if not pool:
            continue
        weights = [1 + index.relevance(q, wanted) for q in pool]
        pick = rng.choices(pool, weights=weights, k=1)[0]
        chosen.append(pick)
        taken.add(pick.id)
    return chosen


def _pool(
    index: QuestionIndex,
    config: SessionConfig,
    category: QuestionCategory,
    taken: set[str],
    seen: frozenset[str],
) -> list[Question]:
    """Candidates for one slot: the role's questions of this kind at the level.

    The level range widens one step at a time; questions not seen come first.
    """
    role, level = config.role, config.level
    for widen in range(len(Level)):
        near = [q for q in index.near(role, category, level, widen) if q.id not in taken]
        fresh = [q for q in near if q.id not in seen] if seen else near
        if fresh:
            return fresh
        if near and widen >= 1:  # a repeat at about the right level beats one far off
            return near
    return [q for q in index.for_role(role) if q.category is category and q.id not in taken]
