"""Feedback an interviewer would give: what to fix, in plain sentences, and what was good.

The rules follow common interview coaching: name what was left out, flag an answer that
is too short or too long, count the filler words, ask for specifics, and for behavioural
questions name the missing STAR part (Situation, Task, Action, Result).
"""

from __future__ import annotations

from dataclasses import dataclass

from rehearse.domain.questions import QuestionCategory
from rehearse.scoring.bands import score_band
from rehearse.scoring.dimensions import LENGTH_WINDOW, DepthSignals
from rehearse.scoring.findings import Finding
from rehearse.scoring.keypoints import KeyPointCoverage
from rehearse.scoring.star import StarAnalysis

#: Most and fewest feedback sentences returned.
MAX_FEEDBACK = 5
MIN_FEEDBACK = 2
#: Pace, in words per minute, above which a spoken answer is hard to follow.
FAST_PACE_WPM = 180
#: Above this nobody speaks: the text was pasted or written beforehand, so pace says nothing.
HUMAN_PACE_LIMIT_WPM = 320
#: Fillers in one answer from which they are worth pointing out.
FILLER_NOTICE_COUNT = 3
#: Lowest score (0-100) at which the answer's form (no fillers, specifics) is praised:
#: delivery is no strength in an answer that does not yet say the right things.
PRAISE_FORM_FROM = 60
#: Lowest score (0-100) at which anything is named as a strength.
PRAISE_FROM = 40

_STAR_ADVICE = {
    "Situation": "set the scene in a sentence: where you were and what was at stake",
    "Task": "say what you personally had to achieve",
    "Action": "describe the steps you took yourself, in the first person",
    "Result": "end with what changed, ideally with a number such as time saved or errors cut",
}


@dataclass(frozen=True, slots=True)
class Measured:
    """Everything the evaluator measured that feedback can talk about.

    Attributes:
        category: the kind of question.
        empty: the answer has no content (blank or declined).
        score: the final overall score, 0-100.
        raw_score: the score before the key-point band cap and the findings' caps.
        band_cap: the cap from the key points stated (100 without given key points).
        findings: the answer-quality findings, each with its cap.
        content: the calibrated content score, 0-100.
        word_count: words in the answer.
        expected_words: words in the reference answer (at least a floor).
        key_points_given: the caller supplied key points (else they came from the
            reference).
        coverage: key-point coverage.
        missed_terms: reference words the answer lacks, most distinctive first.
        depth: counts of specifics.
        depth_score: 0-100.
        structure_score: 0-100.
        filler_words: filler counts by word.
        star: STAR analysis for behavioural answers, else ``None``.
        words_per_minute: pace, when a duration was given.
        unrelated_sentences: sentences left out because they are not about the question.
        listed_fragments: sentences or lines left out because they only list terms.
    """

    category: QuestionCategory
    empty: bool
    score: int
    raw_score: int
    band_cap: int
    findings: list[Finding]
    content: float
    word_count: int
    expected_words: int
    key_points_given: bool
    coverage: KeyPointCoverage
    missed_terms: list[str]
    depth: DepthSignals
    depth_score: int
    structure_score: int
    filler_words: dict[str, int]
    star: StarAnalysis | None
    words_per_minute: float | None
    unrelated_sentences: int = 0
    listed_fragments: int = 0


def compose_feedback(findings: Measured) -> tuple[list[str], list[str]]:
    """Write the feedback and the strengths for one answer.

    Returns:
        ``(feedback, strengths)``: feedback is 2-5 sentences; the first says why the
        score is what it is (the finding that caps it, or the key points stated and the
        band), then the most important fixes (missing content before delivery);
        strengths is 0-4 sentences, only what really is one.
    """
    if findings.empty:
        first = (
            "You declined to answer, so the score is 0."
            if findings.findings
            else "No answer was given, so there is nothing to credit yet."
        )
        return [
            first,
            "Even a partial answer earns credit: start with the one part you are sure of "
            "and build from there.",
        ], []
    strengths = _strengths(findings)
    feedback = [_lead(findings), *_issues(findings)][:MAX_FEEDBACK]
    praise = [f"What worked: {strengths[0][0].lower()}{strengths[0][1:]}"] if strengths else []
    for extra in [*praise, *_next_steps(findings)]:
        if len(feedback) >= MIN_FEEDBACK:
            break
        feedback.append(extra)
    return feedback, strengths


def _issues(findings: Measured) -> list[str]:
    issues: list[str] = []
    for item in _findings_after_lead(findings):
        issues.append(_with_cap(item))
    if _not_answering(findings):
        return issues
    issues.extend(_content_gaps(findings))
    if findings.unrelated_sentences:
        count = findings.unrelated_sentences
        issues.append(
            f"{count} sentence{' does' if count == 1 else 's do'} not address the question "
            "and earned nothing; keep to what was asked."
        )
    if findings.listed_fragments:
        issues.append(
            "The list of terms in the answer earned nothing; say in sentences what each "
            "term does and how they connect."
        )
    issues.extend(_length_issue(findings))
    if findings.star is not None and findings.star.missing:
        issues.append(_star_issue(findings.star))
    issues.extend(_filler_issue(findings.filler_words))
    if findings.star is None and findings.depth_score < 50:
        issues.append(_depth_issue(findings.depth))
    pace = findings.words_per_minute
    if pace is not None and FAST_PACE_WPM < pace <= HUMAN_PACE_LIMIT_WPM:
        issues.append(
            f"At {pace:.0f} words per minute the pace is fast; aim for "
            "130-160 so the interviewer can follow."
        )
    if findings.star is None and findings.structure_score < 50 and findings.word_count >= 80:
        issues.append(
            'Signpost the answer ("first", "then", "finally") or split it into short '
            "paragraphs so the steps are easy to follow."
        )
    return issues


def _content_gaps(findings: Measured) -> list[str]:
    missed = findings.coverage.missed
    if not missed:
        return []
    if findings.key_points_given:
        named = [f'"{_sentence_case(point)}"' for point in missed[:2]]
        if len(missed) == 1:
            return [f"You did not mention a key point: {named[0]}."]
        more = len(missed) - len(named)
        tail = f", and {more} more" if more else ""
        return [f"You did not mention these key points: {'; '.join(named)}{tail}."]
    # A behavioural story is the candidate's own: its words need not match the model story.
    behavioural = findings.category is QuestionCategory.BEHAVIORAL
    if findings.missed_terms and findings.content < 90 and not behavioural:
        terms = _join([f'"{term}"' for term in findings.missed_terms[:4]])
        return [f"A complete answer would also cover {terms}, as the model answer does."]
    return []


def _length_issue(findings: Measured) -> list[str]:
    low, high = LENGTH_WINDOW
    expected = findings.expected_words
    if findings.word_count < low * expected:
        goal = "tell the whole story" if findings.star is not None else "explain how and why"
        return [
            f"At {findings.word_count} words the answer is too short for this question; "
            f"aim for about {expected} words that {goal}."
        ]
    if findings.word_count > high * expected:
        return [
            f"At {findings.word_count} words the answer runs long; lead with the main point "
            f"and cut it to about {round(expected * 1.5)} words."
        ]
    return []


def _star_issue(star: StarAnalysis) -> str:
    missing = star.missing
    if len(missing) == 1:
        part = missing[0]
        return f"Your story has no clear {part}: {_STAR_ADVICE[part]}."
    advice = "; ".join(_STAR_ADVICE[part] for part in missing)
    return f"Your story is missing the {_join(missing)} parts of STAR: {advice}."


def _filler_issue(filler_words: dict[str, int]) -> list[str]:
    total = sum(filler_words.values())
    if total < FILLER_NOTICE_COUNT:
        return []
    ranked = sorted(filler_words.items(), key=lambda item: (-item[1], item[0]))
    counts = ", ".join(f'"{word}" \u00d7{count}' for word, count in ranked[:3])
    return [
        f"You used filler words {total} times ({counts}); a short pause sounds more "
        "confident than a filler."
    ]


def _depth_issue(depth: DepthSignals) -> str:
    absent = []
    if depth.numbers == 0:
        absent.append("a number")
    if depth.named_terms == 0:
        absent.append("a named technology")
    if depth.examples == 0:
        absent.append("a concrete example")
    if depth.reasoning == 0:
        absent.append('the reasoning ("because ...")')
    wanted = _join(absent[:3], "or") if absent else "more specifics"
    return f"Make it concrete: add {wanted} to show you have done this, not just read about it."


def _strengths(findings: Measured) -> list[str]:
    strengths: list[str] = []
    if findings.score < PRAISE_FROM or _not_answering(findings):
        return strengths
    coverage = findings.coverage
    if findings.key_points_given and coverage.hit:
        total = len(coverage.hit) + len(coverage.missed)
        strengths.append(
            f"You covered {len(coverage.hit)} of {total} key points, including "
            f'"{_sentence_case(coverage.hit[0])}".'
        )
    if findings.content >= 80:
        strengths.append("The answer says what the model answer says.")
    elif findings.content >= 65:
        strengths.append("The core of the answer is on the right track.")
    if findings.star is not None and not findings.star.missing:
        strengths.append(
            "Your story follows STAR: situation, task, action and result are all there."
        )
    form = findings.score >= PRAISE_FORM_FROM and not findings.findings
    if form and findings.depth_score >= 50:
        strengths.append("You backed the answer with specifics such as figures, names or examples.")
    if form and not findings.filler_words and findings.word_count >= 20:
        strengths.append("The answer is free of filler words.")
    return strengths[:4]


def _binding(findings: Measured) -> Finding | None:
    """The finding with the lowest cap, if any finding caps the score."""
    capping = [item for item in findings.findings if item.cap is not None]
    return min(capping, key=lambda item: item.cap or 0, default=None)


def _not_answering(findings: Measured) -> bool:
    return any(item.cap is not None and item.cap <= 20 for item in findings.findings)


def _with_cap(item: Finding) -> str:
    if item.cap is None:
        return item.message
    return f"{item.message} That caps the score at {item.cap}."


def _leads(findings: Measured, binding: Finding | None) -> bool:
    """Whether ``binding`` explains the score: it lowered it, or the answer is no answer."""
    if binding is None or binding.cap is None:
        return False
    return binding.cap <= findings.raw_score or _not_answering(findings)


def _lead(findings: Measured) -> str:
    """The first sentence: why the score is what it is."""
    band = score_band(findings.score)
    binding = _binding(findings)
    if binding is not None and _leads(findings, binding):
        return _with_cap(binding)
    coverage = findings.coverage
    if findings.key_points_given:
        stated = f"You stated {len(coverage.hit)} of {coverage.total} key points"
        if findings.band_cap < findings.raw_score:
            return (
                f"{stated}, so the score is capped at {findings.band_cap} ({band.label}); "
                "each key point you add opens a higher band."
            )
        return f"{stated}: {findings.score}/100 is in the {band.label} band."
    return f"{findings.score}/100 is in the {band.label} band: {band.meaning}."


def _findings_after_lead(findings: Measured) -> list[Finding]:
    binding = _binding(findings)
    led = _leads(findings, binding)
    return [item for item in findings.findings if not (led and item is binding)]


def _next_steps(findings: Measured) -> list[str]:
    if _not_answering(findings):
        # Tips to polish an answer would read as praise for one that does not answer.
        said = " ".join(item.message for item in findings.findings).lower()
        steps = [
            f'Answer what was asked: a complete answer says that "{_sentence_case(point)}".'
            for point in findings.coverage.missed[:2]
            if point.strip()[:40].lower() not in said  # a finding may quote it already
        ]
        return [*steps[:1], "Then explain how and why in a few sentences of your own."]
    if findings.star is not None:
        return [
            "To stand out, quantify the result and say what you would do differently next time.",
            "Keep the situation short and spend most of the answer on what you did.",
        ]
    return [
        "To stand out, add a trade-off or an example from your own work.",
        "Close with a one-sentence summary so the main point is the last thing heard.",
    ]


def _sentence_case(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] if text else text


def _join(items: list[str], conjunction: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
