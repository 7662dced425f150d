"""Words, stems, sentences and filler words: the text layer every scorer builds on.

Everything here is deterministic and pure. Stems come from the Snowball English
stemmer (Porter 2); the stop-word list is a generic English function-word list written
for rehearse, not derived from any evaluation data.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_STEMMERS = threading.local()


def _english_stemmer() -> Any:
    """This thread's Snowball English stemmer, created on its first stem (issue 8 item 5).

    Importing snowballstemmer loads its pure-Python stemmers for some 30 languages; doing it
    on first use keeps commands that never score an answer (``rehearse --version``,
    ``rehearse sessions show``) from paying for it. A stemmer keeps the word it works on
    in itself, so one shared by two threads garbles both (an ``IndexError``): since issue
    15 an LLM session scores offline in a request thread while a model worker scores the
    same answer, so each thread has its own.
    """
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        import snowballstemmer  # type: ignore[import-untyped]

        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` as a set; keeps long word lists readable."""
    return frozenset(text.split())


# Lower-case words and numbers, apostrophes kept: "C++" gives "c" and "O(log n)" gives
# "o", "log", "n", which is what a grader reading the words would see.
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")

#: English function words and the vaguest verbs; they carry no content credit.
STOP_WORDS: frozenset[str] = word_set(
    """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did didn't
    do does doesn't doing don't down during each either etc even ever every few for from
    further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
    herself him himself his how how's however i i'd i'll i'm i've ie eg if in into is isn't it
    it's its itself just let's may me might more most much must mustn't my myself neither no
    nor not now of off on one's only or other ought our ours ourselves out over own per
    quite rather same shall shan't she she'd she'll she's should shouldn't since so some such
    than that that's the their theirs them themselves then there there's these they they'd
    they'll they're they've this those though through thus to too under until up upon us very
    via was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's whereas whether which while who who's whom whose why why's will with within without
    won't would wouldn't yet you you'd you'll you're you've your yours yourself yourselves
    get gets got make makes made thing things something anything lot lots really well
    dont doesnt didnt cant couldnt wont wouldnt isnt arent wasnt werent im ive youre theyre
    """
)

# Words that are "while"/"do" in prose but keywords in code; the stop list wins for prose,
# except in these exact code phrases where the words are the content.
_CODE_PHRASES = re.compile(r"\bdo\s*(?:\.{2,3}|-)?\s*while\b", re.IGNORECASE)

_NUMBER_WORDS: dict[str, str] = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "twice": "2",
    "once": "1",
}


_CAMEL_CASE = re.compile(r"(?<=[a-z])(?=[A-Z])")


def words(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` in order, apostrophes kept (``"don't"``).

    Identifiers are split the way a reader sees them: ``StackPush`` gives ``stack``,
    ``push``.
    """
    return list(_words(text))


@lru_cache(maxsize=8192)
def _words(text: str) -> tuple[str, ...]:
    text = _CAMEL_CASE.sub(" ", text).lower().replace("\u2019", "'")
    return tuple(_TOKEN.findall(text))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of one lower-case word; numbers map to digits."""
    digit = _NUMBER_WORDS.get(word)
    if digit is not None:
        return digit
    if word.endswith("'s"):
        word = word[:-2]
    stemmed: str = _english_stemmer().stemWord(word)
    return stemmed


@dataclass(frozen=True, slots=True)
class Term:
    """One content word: its surface form and its stem."""

    word: str
    stem: str


def content_terms(text: str) -> list[Term]:
    """The content words of ``text`` in order: stop words dropped, each with its stem.

    Code phrases such as ``do...while`` keep their keywords, which the stop list would
    otherwise drop.
    """
    return list(_content_terms(text))


@lru_cache(maxsize=4096)
def _content_terms(text: str) -> tuple[Term, ...]:
    # Cached: one evaluation reads the same reference, question and answer several times.
    text = _CODE_PHRASES.sub(" dowhile ", text)
    return tuple(term_of(word) for word in _words(text) if word not in STOP_WORDS)


@lru_cache(maxsize=65536)
def term_of(word: str) -> Term:
    """The :class:`Term` of one lower-case word, shared (a Term is frozen).

    A new answer's words are mostly words seen before: one cache look-up instead of a
    stem look-up and a frozen dataclass built per word (issue 16's profile).
    """
    return Term(word, stem(word))


def sentences(text: str) -> list[str]:
    """Non-empty sentences of ``text``, split at ``.``/``!``/``?`` and line breaks."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


# -- filler words -------------------------------------------------------------------------

#: Filler words and phrases counted in spoken answers, most specific first.
FILLER_PHRASES: tuple[str, ...] = (
    "you know",
    "i mean",
    "sort of",
    "kind of",
    "basically",
    "actually",
    "literally",
    "um",
    "umm",
    "uh",
    "uhh",
    "erm",
    "er",
    "hmm",
    "like",
)

_DETERMINERS = word_set(
    "a an the this that what which any each every some no one another same different other"
)
_LIKE_LEADS = word_set("so and but um uh umm uhh erm er like")
_YOU_KNOW_OBJECTS = word_set(
    "how what that which when where whether if why who the a an it this about"
)
_YOU_KNOW_LEADS = word_set("if do did don't didn't")


def filler_words(text: str) -> dict[str, int]:
    """Count filler words in ``text``: ``{"um": 2, "like": 1}``, only fillers present.

    ``like``, ``kind of``, ``sort of``, ``you know`` and ``i mean`` count only where they
    fill: "it was, like, slow" counts, "works like a queue" and "what kind of index" do
    not. The rules read the neighbouring words and commas; they are deliberately
    conservative, so a missed filler is likelier than a false one.
    """
    tokens = re.findall(r"[a-z']+|[,;:.!?]", text.lower().replace("\u2019", "'"))
    counts: Counter[str] = Counter()
    i = 0
    while i < len(tokens):
        matched = _filler_at(tokens, i)
        if matched:
            counts[matched] += 1
            i += len(matched.split())
        else:
            i += 1
    return dict(sorted(counts.items()))


def _filler_at(tokens: list[str], i: int) -> str | None:
    before = tokens[i - 1] if i > 0 else "."
    after = tokens[i + 1] if i + 1 < len(tokens) else "."
    after2 = tokens[i + 2] if i + 2 < len(tokens) else "."
    word = tokens[i]
    pair = f"{word} {after}"
    if pair in ("sort of", "kind of"):
        return pair if before not in _DETERMINERS else None
    if pair == "you know":
        if before in _YOU_KNOW_LEADS or after2 in _YOU_KNOW_OBJECTS:
            return None
        return pair
    if pair == "i mean":
        return pair if after2 not in ("that", "it", "to") else None
    if word == "like":
        comma_aside = before == "," and after not in _DETERMINERS
        if after == "," or comma_aside or before in _LIKE_LEADS or after in ("um", "uh"):
            return word
        return None
    if word in ("basically", "actually", "literally", "um", "umm", "uh", "uhh", "erm", "hmm"):
        return word
    if word == "er" and before in (".", ","):
        return word
    return None
