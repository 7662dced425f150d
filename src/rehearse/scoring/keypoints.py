"""Key-point coverage by meaning: which of the statements a complete answer makes it makes.

A key point is covered when the answer states it, in its own words too:

- words are compared by stem (Snowball), by word family and by close spelling
  (:class:`rehearse.scoring.content.TermMatcher`);
- field terms and their common paraphrases map to one canonical word first
  (:data:`SYNONYM_GROUPS`, :data:`PHRASES`): "ID token ... says who the user is" states
  "ID token describing the user";
- negation is kept: a word said in a negated clause ("GET is *not* idempotent") only
  matches the same word negated in the key point, so it never covers "GET is idempotent".
  A key point the answer would cover but for polarity is reported as contradicted;
- words of the question weigh less (they say what the question is about, not what the
  answer adds), and light verbs ("use", "make", "keep") weigh half.

Exact wording is never required. Everything here is deterministic and pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rehearse.scoring.content import TermMatcher
from rehearse.scoring.text import STOP_WORDS, Term, sentences, stem, word_set

#: Weighted share (0-1) of a key point's distinctive words an answer must contain to hit it.
KEY_POINT_HIT = 0.5
#: Weight of a key-point word that the question also uses (1.0 for any other word).
KEY_POINT_QUESTION_WEIGHT = 0.5
#: Weight of a light word (:data:`LIGHT_WORDS`) in a key point.
LIGHT_WORD_WEIGHT = 0.5
#: Content words after a negator that the negation reaches, within its clause; a
#: determiner ("no", "without") reaches only the noun phrase after it.
NEGATION_SCOPE = 3
DETERMINER_NEGATION_SCOPE = 1
#: Credit for a word a key point negates when the answer states it without a negation.
NEGATED_POINT_PLAIN_CREDIT = 0.5

#: Groups of words a field uses interchangeably; each maps to the group's first word.
#: Written for rehearse from common usage in software interviews, not from any data set.
SYNONYM_GROUPS: tuple[str, ...] = (
    "id identifier",
    "describe say tell contain carry hold",
    "identity who",
    "user person",
    "delete remove drop erase",
    "store save persist keep write record",
    "retry resend repeat reattempt",
    "fail failure crash error outage",
    "fast quick rapid speedy",
    "slow sluggish laggy",
    "big large huge",
    "small tiny little",
    "copy replica duplicate",
    "prevent stop block avoid guard",
    "ensure guarantee",
    "check verify validate confirm",
    "request call",
    "response reply answer",
    "server backend",
    "client caller consumer",
    "database db datastore",
    "cache memoize memoise",
    "queue buffer",
    "split partition shard",
    "measure track monitor observe",
    "metric measurement indicator",
    "latency delay lag",
    "throughput bandwidth",
    "bug defect",
    "start begin launch",
    "end finish",
    "choose pick select",
    "improve boost raise",
    "reduce cut lower decrease shrink",
    "increase grow rise",
    "hash digest",
    "secret private",
    "encrypt cipher",
    "sign signature signed",
    "lock mutex",
    "timeout deadline",
    "expire expiry expiration",
    "host machine node server",
    "customer client",
    "goal objective aim target",
    "result outcome",
    "problem issue",
    "mistake error",
    "learn lesson",
    "team colleague teammate",
    "manager boss lead",
    "deadline timeline",
    "estimate guess approximation",
    "combine merge join",
    "find locate",
    "look lookup",
    "run execute",
    "build compile",
    "deploy release ship rollout",
    "rollback revert",
    "allow permit let",
    "safe harmless",
    "change modify mutate alter update",
    "create make generate",
    "show display render",
    "same identical equal",
    "state status",
    "unique distinct",
    "many multiple several",
    "probability chance likelihood",
    "accuracy correctness",
    "feature attribute",
    "model estimator",
    "overfit overfitting memorise memorize",
    "function func method",
    "variable var",
    "array list",
    "map dictionary dict hashmap",
    "pointer reference",
    "twice double",
)

#: Multi-word paraphrases rewritten to one field word before matching.
PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bwho (?:the|a) (?:user|person|caller) is\b", "identity user"),
    (r"\bhash map\b", "hashmap"),
    (r"\bkey[- ]value\b", "keyvalue"),
    (r"\bhas no effect\b", "harmless"),
    (r"\bsame (?:result|effect|state) (?:as|when)\b", "same state"),
    (r"\bmore than once\b", "repeat"),
    (r"\bover and over\b", "repeat"),
    (r"\btry again\b", "retry"),
    (r"\bsend(?:s|ing)? (?:it |the request )?again\b", "retry"),
    (r"\bfalls? over\b", "fail"),
    (r"\bgoes? down\b", "fail"),
    (r"\bbig o\b", "complexity"),
    (r"\bin the end\b", "result"),
    (r"\b(?:rather than|instead of)\b", "not"),
)

#: Words too common in key points to carry full weight: light verbs and glue nouns.
LIGHT_WORDS: frozenset[str] = word_set(
    """
    use uses used using mean means meaning need needs needed allow allows allowed keep keeps
    kept give gives given take takes taken help helps way ways case cases like new good
    simple different able work works working call calls set sets put puts let lets come
    comes go goes going show shows shown want wants many often usually typically instead
    """
)

_NEGATORS = word_set(
    """
    not no never none nothing nobody without cannot can't isn't aren't wasn't weren't
    doesn't don't didn't won't wouldn't shouldn't couldn't hasn't haven't hadn't neither
    nor lacks lack dont doesnt isnt arent cant wont didnt avoid avoids avoided avoiding
    refuse refused
    """
)
_CLAUSE_BREAKS = word_set(
    "and or but whereas although though however while unlike except so because , . ; : ! ?"
)
_DETERMINER_NEGATORS = word_set("no without none")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[,.;:!?]")
_CAMEL_CASE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_COMPILED_PHRASES = tuple((re.compile(pattern), words) for pattern, words in PHRASES)
# One scan that finds whether any phrase occurs: most texts hold none, and one scan costs
# about a tenth of the fourteen substitutions (issue 16). When none occurs in the text,
# no substitution changes it, so none can occur after them either: the result is the same.
_ANY_PHRASE = re.compile("|".join(f"(?:{pattern})" for pattern, _ in PHRASES))


@lru_cache(maxsize=1)
def _canonical_stems() -> dict[str, str]:
    canonical: dict[str, str] = {}
    for group in SYNONYM_GROUPS:
        members = group.split()
        head = canonical.get(stem(members[0]), stem(members[0]))
        for member in members:
            canonical.setdefault(stem(member), head)
    return canonical


def canonical(stemmed: str) -> str:
    """The canonical stem of ``stemmed``: the head of its synonym group, or itself."""
    return _canonical_stems().get(stemmed, stemmed)


@lru_cache(maxsize=65536)
def canonical_stem(word: str) -> str:
    """``canonical(stem(word))`` of one lower-case word, looked up once per word."""
    return canonical(stem(word))


@dataclass(frozen=True, slots=True)
class PolarTerm:
    """One content word with its canonical stem and whether a negation reaches it."""

    term: Term
    negated: bool


@lru_cache(maxsize=4096)
def polar_terms(text: str) -> tuple[PolarTerm, ...]:
    """The content words of ``text`` in order, canonical, each marked negated or not.

    A negator ("not", "never", "without", "isn't") negates the next
    :data:`NEGATION_SCOPE` content words of its clause; a comma, a full stop or a
    contrast word ("but", "whereas") ends the clause.
    """
    lowered = _CAMEL_CASE.sub(" ", text).lower().replace("\u2019", "'")
    if _ANY_PHRASE.search(lowered) is not None:
        for pattern, replacement in _COMPILED_PHRASES:
            lowered = pattern.sub(replacement, lowered)
    result: list[PolarTerm] = []
    scope = 0
    for token in _TOKEN.findall(lowered):
        if token in _CLAUSE_BREAKS:
            scope = 0
            continue
        if token in _NEGATORS:
            scope = DETERMINER_NEGATION_SCOPE if token in _DETERMINER_NEGATORS else NEGATION_SCOPE
            continue
        if token in STOP_WORDS:
            continue
        result.append(_polar_term(token, scope > 0))
        scope = max(scope - 1, 0)
    return tuple(result)


@lru_cache(maxsize=65536)
def _polar_term(token: str, negated: bool) -> PolarTerm:
    """The shared (frozen) :class:`PolarTerm` of one token: built once, not per text."""
    return PolarTerm(Term(token, canonical_stem(token)), negated=negated)


class AnswerMeaning:
    """An answer's content words split by polarity, ready to be asked about key points.

    Build one per answer; :meth:`credit` says how much of a key-point word it states.
    """

    def __init__(self, answer: str) -> None:
        terms = polar_terms(answer)
        self._plain = TermMatcher(t.term for t in terms if not t.negated)
        self._negated = TermMatcher(t.term for t in terms if t.negated)

    def prime(self, words: Iterable[PolarTerm]) -> None:
        """Work out both polarities' credits of ``words`` at once (:meth:`TermMatcher.prime`)."""
        terms = [word.term for word in words]
        self._plain.prime(terms)
        self._negated.prime(terms)

    def credit(self, word: PolarTerm) -> tuple[float, float]:
        """``(credit with the same polarity, credit with the opposite polarity)``, each 0-1.

        A word the key point negates ("not blaming other teams") is said in many ways
        that read positive ("waiting would not fix it"), so stating it plainly earns
        :data:`NEGATED_POINT_PLAIN_CREDIT` of it; a word the key point asserts earns
        nothing when the answer negates it ("GET is not idempotent").
        """
        if word.negated:
            plain = self._plain.credit(word.term)
            same = max(self._negated.credit(word.term), NEGATED_POINT_PLAIN_CREDIT * plain)
            return same, plain
        return self._plain.credit(word.term), self._negated.credit(word.term)


@dataclass(frozen=True, slots=True)
class KeyPointCoverage:
    """How an answer covers a list of key points.

    Attributes:
        hit: the key points covered, in the given order, as given.
        missed: the key points not covered, in the given order.
        contradicted: the missed key points the answer states with the opposite polarity
            ("GET is not idempotent" against "GET is idempotent").
        coverage: per key point, the weighted share (0-1) of its words the answer has.
        score: 0-100, the mean over key points of ``min(coverage / KEY_POINT_HIT, 1)``;
            100 when there are no key points.
    """

    hit: list[str]
    missed: list[str]
    contradicted: list[str]
    coverage: list[float]
    score: int

    @property
    def total(self) -> int:
        """Number of key points."""
        return len(self.hit) + len(self.missed)

    @property
    def hit_share(self) -> float:
        """Share (0-1) of key points hit; 1.0 when there are none."""
        return len(self.hit) / self.total if self.total else 1.0


def key_points_from_reference(reference: str) -> list[str]:
    """Split a reference answer into key points: its sentences and semicolon clauses."""
    points = [
        clause.strip(" .;")
        for sentence in sentences(reference)
        for clause in re.split(r";\s*", sentence)
    ]
    return [point for point in points if polar_terms(point)]


def question_canonical_stems(question: str) -> frozenset[str]:
    """Canonical stems of the question's content words (weighted down in key points)."""
    return frozenset(t.term.stem for t in polar_terms(question))


def key_point_coverage(
    key_points: Sequence[str], answer: AnswerMeaning, question: frozenset[str]
) -> KeyPointCoverage:
    """Measure which ``key_points`` the answer covers.

    Args:
        key_points: short statements a complete answer makes.
        answer: the answer's meaning (:class:`AnswerMeaning`).
        question: canonical stems of the question (:func:`question_canonical_stems`),
            weighted :data:`KEY_POINT_QUESTION_WEIGHT` in every key point.

    Returns:
        The hit, missed and contradicted key points and the 0-100 coverage score.
    """
    hit: list[str] = []
    missed: list[str] = []
    contradicted: list[str] = []
    coverage: list[float] = []
    answer.prime(word for point in key_points for word in polar_terms(point))
    for point in key_points:
        share, share_ignoring_polarity = _share(polar_terms(point), answer, question)
        coverage.append(share)
        if share >= KEY_POINT_HIT:
            hit.append(point)
        else:
            missed.append(point)
            if share_ignoring_polarity >= KEY_POINT_HIT:
                contradicted.append(point)
    if not key_points:
        return KeyPointCoverage(hit=[], missed=[], contradicted=[], coverage=[], score=100)
    credit = sum(min(share / KEY_POINT_HIT, 1.0) for share in coverage) / len(coverage)
    return KeyPointCoverage(
        hit=hit,
        missed=missed,
        contradicted=contradicted,
        coverage=coverage,
        score=round(100 * credit),
    )


def _share(
    point: Iterable[PolarTerm], answer: AnswerMeaning, question: frozenset[str]
) -> tuple[float, float]:
    seen: set[tuple[str, bool]] = set()
    total = same = either = 0.0
    for word in point:
        key = (word.term.stem, word.negated)
        if key in seen:
            continue
        seen.add(key)
        weight = 1.0
        if word.term.stem in question:
            weight = KEY_POINT_QUESTION_WEIGHT
        elif word.term.word in LIGHT_WORDS:
            weight = LIGHT_WORD_WEIGHT
        credit_same, credit_other = answer.credit(word)
        total += weight
        same += weight * credit_same
        either += weight * max(credit_same, credit_other)
    if not total:
        return 1.0, 1.0
    return same / total, either / total
