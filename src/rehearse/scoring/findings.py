"""Answer-quality findings: what is wrong with an answer as an answer, each with a cap.

Each finding has a stable code (stored with the evaluation, safe to filter on), a cap on
the overall score (0-100, ``None`` for no cap) and a plain-words explanation used as the
feedback's reason. The caps come from the score bands (README, "Score bands"): an answer
that only lists terms shows the field's vocabulary but no understanding, so it cannot
pass the "partial" band (at most 45); an answer to another question, or one with no
term specific to the question, has answered nothing (at most 20, the top of the lowest
band).

Detection is lexical, deterministic and errs towards not flagging: a terse correct
sentence is never a term list, because it has function words and verbs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from rehearse.scoring.keypoints import canonical_stem
from rehearse.scoring.text import STOP_WORDS, word_set, words


class FindingCode(StrEnum):
    """Stable codes of the answer-quality findings."""

    DECLINES = "declines"
    NOT_AN_ANSWER = "not_an_answer"
    COPIES_QUESTION = "copies_question"
    OFF_TOPIC = "off_topic"
    CONTENT_FREE = "content_free"
    TERM_LIST = "term_list"
    REPEATS_ITSELF = "repeats_itself"
    NO_CODE = "no_code"
    WRONG = "wrong"
    CONTRADICTS_KEY_POINT = "contradicts_key_point"
    FOLLOW_UP_ADDS_NOTHING = "follow_up_adds_nothing"


#: The highest overall score (0-100) an answer with the finding can get; absent: no cap.
CAPS: dict[FindingCode, int] = {
    FindingCode.DECLINES: 0,
    FindingCode.NOT_AN_ANSWER: 10,
    FindingCode.COPIES_QUESTION: 10,
    FindingCode.OFF_TOPIC: 20,
    FindingCode.CONTENT_FREE: 20,
    FindingCode.WRONG: 20,
    FindingCode.TERM_LIST: 45,
    FindingCode.REPEATS_ITSELF: 50,
    FindingCode.NO_CODE: 60,
}


class Finding(BaseModel):
    """One answer-quality finding.

    Attributes:
        code: the stable :class:`FindingCode`.
        cap: the highest overall score (0-100) the finding allows, ``None`` for none.
        message: what the finding means for this answer, in plain words.
    """

    model_config = ConfigDict(frozen=True)

    code: FindingCode
    cap: int | None = Field(default=None, ge=0, le=100)
    message: str


def finding(code: FindingCode, message: str) -> Finding:
    """A :class:`Finding` with the cap of its code (:data:`CAPS`)."""
    return Finding(code=code, cap=CAPS.get(code), message=message)


# -- term list ------------------------------------------------------------------------

#: Fewest words before an answer can be called a term list: "push, pop, peek" answers
#: "name the stack operations".
TERM_LIST_MIN_WORDS = 8
#: A question that asks to list or name things accepts a list this short (in words).
LIST_ANSWER_MAX_WORDS = 15
#: Share of function words below which running text reads as a list; English prose has
#: 35-50%, a terse expert sentence 20-35%.
TERM_LIST_FUNCTION_SHARE = 0.15
#: Share of the words in verbless fragments (comma- or line-separated pieces without a
#: function word) from which an answer is a list, if function words are also scarce.
TERM_LIST_FRAGMENT_SHARE = 0.6
TERM_LIST_FRAGMENT_FUNCTION_SHARE = 0.25
_FRAGMENT_SPLIT = re.compile(r"[,;\n\u2022|/]+|\s-\s|(?<=[.!?])\s+")
_LIST_QUESTION = re.compile(r"\b(?:list|name|enumerate|which (?:are|of))\b", re.IGNORECASE)


def function_share(tokens: list[str]) -> float:
    """Share (0-1) of ``tokens`` that are function words; 0.0 when there are none."""
    return sum(1 for token in tokens if token in STOP_WORDS) / len(tokens) if tokens else 0.0


def is_term_list(answer: str, question: str) -> bool:
    """Whether ``answer`` lists terms instead of explaining them.

    True when the answer has at least :data:`TERM_LIST_MIN_WORDS` words and either
    almost no function words (under :data:`TERM_LIST_FUNCTION_SHARE`) or mostly
    fragments without any function word, separated by commas, semicolons or lines.
    A question that asks to list or name things accepts a short list (under
    :data:`LIST_ANSWER_MAX_WORDS` words).
    """
    tokens = words(answer)
    if len(tokens) < TERM_LIST_MIN_WORDS:
        return False
    if len(tokens) < LIST_ANSWER_MAX_WORDS and _LIST_QUESTION.search(question):
        return False
    if function_share(tokens) < TERM_LIST_FUNCTION_SHARE:
        return True
    return _fragments_list(answer, tokens)


def _fragments_list(text: str, tokens: list[str], longest: int | None = None) -> bool:
    """Whether ``text`` is mostly comma- or line-separated fragments without function words.

    With ``longest``, only fragments of at most that many words count as terms.
    """
    pieces = [words(piece) for piece in _FRAGMENT_SPLIT.split(text)]
    in_fragments = sum(
        len(piece)
        for piece in pieces
        if piece and function_share(piece) == 0 and (longest is None or len(piece) <= longest)
    )
    return (
        in_fragments / len(tokens) >= TERM_LIST_FRAGMENT_SHARE
        and function_share(tokens) < TERM_LIST_FRAGMENT_FUNCTION_SHARE
    )


_PIECE = re.compile(r"(?<=[.!?])\s+|\n+")
#: Most words a term of a list inside prose has: a term is a noun phrase of one to four
#: words ("exponential backoff", "read committed isolation level"); a longer stretch
#: without function words is a dense sentence, which is prose.
TERM_MAX_WORDS = 4
#: Characters that mark code, which is never a term list: assignments, calls, indexing.
_CODE_MARKS = re.compile(r"[=(){}\[\];]")


def without_term_lists(answer: str, question: str) -> tuple[str, int]:
    """``answer`` without the term lists inside it, when it also has sentences.

    A buzzword list appended to prose ("... Key terms: idempotent, retries, proxies.")
    would state key points by their words alone. A run of consecutive sentences or lines
    that each read as a list (:func:`_list_piece`: bare items, or separated terms of at
    most :data:`TERM_MAX_WORDS` words) is left out when the run has at least
    :data:`TERM_LIST_MIN_WORDS` words and is mostly such terms, by the shares
    :func:`is_term_list` uses for a whole answer. A dense sentence
    ("Multi-leader accepts local writes but needs conflict resolution.") and code are
    never such a run. An answer that is only a list is kept whole: it is then judged a
    term list.

    Returns:
        ``(text, dropped)``: the answer without its term lists and how many sentences or
        lines were left out.
    """
    pieces = [piece for piece in _PIECE.split(answer) if piece.strip()]
    kept: list[str] = []
    run: list[str] = []
    dropped = 0

    def close() -> None:
        nonlocal dropped
        text = "\n".join(run)
        tokens = words(text)
        if len(tokens) >= TERM_LIST_MIN_WORDS and _fragments_list(text, tokens, TERM_MAX_WORDS):
            dropped += len(run)
        else:
            kept.extend(run)
        run.clear()

    for piece in pieces:
        tokens = words(piece)
        if tokens and _list_piece(piece, tokens):
            run.append(piece)
            continue
        close()
        kept.append(piece)
    close()
    if not kept or not dropped:
        return answer, 0
    return "\n".join(kept), dropped


def _list_piece(piece: str, tokens: list[str]) -> bool:
    """Whether a sentence or line reads as (part of) a list rather than as prose.

    A bare item ("- exponential backoff": no function word, at most
    :data:`TERM_MAX_WORDS` words, not ended like a sentence), or several separated terms.
    "Retries need idempotency." is a sentence; code is never a list.
    """
    if _CODE_MARKS.search(piece):
        return False
    if function_share(tokens) == 0 and len(tokens) <= TERM_MAX_WORDS:
        listed = not piece.rstrip().endswith((".", "!", "?"))
    else:
        terms = [part for part in _FRAGMENT_SPLIT.split(piece) if words(part)]
        listed = len(terms) > 1 and _fragments_list(piece, tokens, TERM_MAX_WORDS)
    # code is never a list; asked last because it is the dearest test and most pieces
    # of an answer are prose, which is no list anyway (issue 16's profile)
    return listed and not has_code(piece)


# -- copies the question, repeats itself ------------------------------------------------

#: Share of the question's content words an answer must repeat to be a copy of it.
COPY_MIN_SHARE = 0.5


def copies_question(answer: Counter[str], question: Counter[str]) -> bool:
    """Whether the answer only restates the question.

    Args:
        answer: canonical stems of the answer's content words.
        question: canonical stems of the question's content words.

    Returns:
        True when every content word of the answer is in the question and it repeats at
        least :data:`COPY_MIN_SHARE` of them.
    """
    if not question or not answer or answer.keys() - question.keys():
        return False
    return len(answer.keys() & question.keys()) / len(question) >= COPY_MIN_SHARE


#: Share of repeated word trigrams from which an answer repeats itself.
REPEAT_SHARE = 0.4
REPEAT_MIN_WORDS = 24


def repeats_itself(answer: str) -> bool:
    """Whether at least :data:`REPEAT_SHARE` of the answer's word trigrams are repeats."""
    tokens = words(answer)
    if len(tokens) < REPEAT_MIN_WORDS:
        return False
    trigrams = list(zip(tokens, tokens[1:], tokens[2:], strict=False))
    repeated = len(trigrams) - len(set(trigrams))
    return repeated / len(trigrams) >= REPEAT_SHARE


def without_repeats(answer: str) -> str:
    """``answer`` with each sentence or line said once (first occurrence kept)."""
    seen: set[tuple[str, ...]] = set()
    kept: list[str] = []
    for piece in re.split(r"(?<=[.!?])\s+|\n+", answer):
        key = tuple(words(piece))
        if key and key not in seen:
            seen.add(key)
            kept.append(piece.strip())
    return " ".join(kept)


# -- not an answer ----------------------------------------------------------------------

#: Share of words a reader recognises (English function words, or words the bank,
#: question or reference use) below which the text is gibberish or another language.
KNOWN_WORD_SHARE = 0.4
NOT_AN_ANSWER_MIN_WORDS = 4
#: Fewest lines of code before an answer is "only code" (a one-line declaration in prose
#: is not).
CODE_MIN_LINES = 3
#: Below this share of recognised words, text without English function words is taken to
#: be another language (a list of English terms is recognised almost entirely).
FOREIGN_KNOWN_SHARE = 0.75
_CODE_LINE = re.compile(
    r"[{};]\s*$|^\s*(?:def|class|for|while|if|elif|else|return|function|const|let|var|"
    r"import|from|public|private|static|void|int|fn|func|try|except|catch)\b.*[:({=]|"
    r"^\s*[\w.\[\]]+\s*(?:[+\-*/]?=|==)\s*\S|\w\(.*\)\s*[:{]?\s*$"
)
# Dockerfile and shell instructions are upper case; matched case-sensitively.
_INSTRUCTION_LINE = re.compile(
    r"^\s*(?:FROM|RUN|COPY|CMD|ENV|WORKDIR|EXPOSE|ENTRYPOINT|USER|ARG|ADD|SELECT|CREATE)\s"
)
_INLINE_CODE = re.compile(r"\b\w+\([^)]*\)|`[^`]+`|\b\w+\.\w+\(|[=!<>]=|=>|->")
_WRITE_CODE = re.compile(r"\b(?:write|implement|code)\b", re.IGNORECASE)
_VOWEL = re.compile(r"[aeiouy]")
_ENGLISH_MARKERS = word_set("the is are of and to in that it for with a an this be")


def code_line_share(answer: str) -> float:
    """Share (0-1) of the answer's non-blank lines that read as code."""
    lines = [line for line in answer.splitlines() if line.strip()]
    return sum(1 for line in lines if _is_code_line(line)) / len(lines) if lines else 0.0


def _is_code_line(line: str) -> bool:
    return _CODE_LINE.search(line) is not None or _INSTRUCTION_LINE.search(line) is not None


def has_code(answer: str) -> bool:
    """Whether the answer contains code: a code line, or inline calls and operators."""
    return code_line_share(answer) > 0 or len(_INLINE_CODE.findall(answer)) >= 2


def asks_for_code(question: str, reference: str) -> bool:
    """Whether a coding question asks for code: its text says so and its model answer has some.

    Some coding questions are answered in prose by the bank itself (a design of a
    component); those accept prose.
    """
    return _WRITE_CODE.search(question) is not None and code_line_share(reference) > 0


def not_an_answer_reason(
    answer: str, known: frozenset[str] | None, *, prose_expected: bool
) -> str | None:
    """Why ``answer`` is not an answer at all, or ``None``.

    Args:
        answer: the answer.
        known: canonical stems a reader of the question recognises (the bank's and the
            question's words); English function words are always known. ``None``
            without a bank: then only unpronounceable words count as unknown.
        prose_expected: the question asks for an explanation, not for code.

    Returns:
        ``"gibberish"`` (mostly unknown or unpronounceable words), ``"language"``
        (no English function word in a long answer), ``"code"`` (code where prose was
        asked) or ``None``.
    """
    tokens = words(answer)
    if len(tokens) < NOT_AN_ANSWER_MIN_WORDS:
        return None
    alphabetic = [token for token in tokens if token.isalpha()]
    lines = [line for line in answer.splitlines() if line.strip()]
    if prose_expected and len(lines) >= CODE_MIN_LINES and code_line_share(answer) >= 0.6:
        prose = sum(len(words(line)) for line in lines if not _is_code_line(line))
        if prose < 15:
            return "code"
    if not alphabetic:
        return None
    if known is None:
        recognised = sum(1 for token in alphabetic if token in STOP_WORDS or _plausible(token))
    else:
        recognised = sum(
            1 for token in alphabetic if token in STOP_WORDS or canonical_stem(token) in known
        )
    if recognised / len(alphabetic) < KNOWN_WORD_SHARE:
        return "gibberish"
    markers = sum(1 for token in tokens if token in _ENGLISH_MARKERS)
    foreign = known is not None and recognised / len(alphabetic) < FOREIGN_KNOWN_SHARE
    if len(tokens) >= 12 and markers == 0 and function_share(tokens) < 0.05 and foreign:
        return "language"
    return None


def _plausible(token: str) -> bool:
    return _VOWEL.search(token) is not None and re.search(r"[^aeiouy]{5,}|(.)\1\1", token) is None


# -- content-free ---------------------------------------------------------------------

#: Generic interview language: words any answer to any question may use. Written for
#: rehearse; a word here never counts as specific to a question.
GENERIC_WORDS: frozenset[str] = word_set(
    """
    depend depends depending requirement requirements trade trade-off trade-offs tradeoff
    tradeoffs approach approaches consider considering context situation option options
    solution solutions problem problems start begin first think thought important
    important key best practice practices good better right wrong team teams stakeholder
    stakeholders business user users need needs case cases different various several
    factor factors balance ensure make sure look looking evaluate analyze analyse
    understand understanding issue issues goal goals plan planning step steps process
    communicate communication clear clearly time quality value system systems way
    question questions ask asks asked asking answer answers answered
    """
)


#: Fewest content words before an answer can be called content-free.
CONTENT_FREE_MIN_WORDS = 6
#: Share of an answer's content words that must be generic for it to be content-free.
CONTENT_FREE_GENERIC_SHARE = 0.5


def content_free(
    answer_counts: Counter[str], specific: frozenset[str], generic: Callable[[str], bool]
) -> bool:
    """Whether an answer with these content stems is generic language about nothing specific.

    Args:
        answer_counts: canonical stems of the answer's content words, with counts.
        specific: canonical stems specific to the question (its reference and key
            points, minus generic words).
        generic: whether a canonical stem is generic interview language.

    Returns:
        True when the answer has at least :data:`CONTENT_FREE_MIN_WORDS` content words,
        at least :data:`CONTENT_FREE_GENERIC_SHARE` of them generic, and at most one
        stem specific to the question.
    """
    total = sum(answer_counts.values())
    if total < CONTENT_FREE_MIN_WORDS:
        return False
    generic_words = sum(count for word, count in answer_counts.items() if generic(word))
    if generic_words / total < CONTENT_FREE_GENERIC_SHARE:
        return False
    return len(specific & answer_counts.keys()) <= 1
