"""The offline evaluator through its public API: scores, dimensions, key points, feedback."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rehearse.domain.questions import QuestionCategory
from rehearse.scoring import (
    RUBRIC_VERSION,
    AnswerEvaluation,
    Dimension,
    FindingCode,
    StarAnalysis,
    evaluate_answer,
)

QUESTION = "How does a database index speed up queries, and what does it cost?"
REFERENCE = (
    "An index is a separate data structure, usually a B-tree, that keeps the values of one or "
    "more columns sorted with pointers to the matching rows. A query that filters or sorts on "
    "the indexed columns can walk the tree in O(log n) steps instead of scanning the whole "
    "table. The cost is extra disk space and slower writes, because every insert, update and "
    "delete must also update the index."
)
KEY_POINTS = (
    "An index is a sorted structure such as a B-tree that points to rows",
    "A lookup walks the tree in logarithmic time instead of scanning the table",
    "Indexes take extra disk space",
    "Writes get slower because the index must be maintained",
)
GOOD = (
    "An index is a B-tree kept sorted on the indexed columns, with pointers back to the rows. "
    "Instead of scanning the whole table, the database walks the tree in O(log n) steps, so a "
    "lookup on 10 million rows reads only a few pages. The trade-off is that every insert and "
    "update must also maintain the index, so writes get slower, and it takes extra disk space."
)
VAGUE = "Indexes make queries faster. They are useful in databases and good to have."
OFF_TOPIC = (
    "I really enjoy hiking in the mountains with my dog on weekends, and I cook pasta every "
    "Friday evening for friends."
)

BEHAVIORAL_QUESTION = "Tell me about a time you disagreed with a teammate."
BEHAVIORAL_REFERENCE = (
    "At my last job our team was split over whether to rewrite the billing service. My task "
    "was to get us to a decision within one sprint. I set up a one-hour session, wrote a short "
    "comparison of both options with cost estimates and asked each side to challenge it. As a "
    "result we chose to refactor in place, shipped two weeks early and cut billing incidents "
    "by 40 percent."
)
STAR_STORY = (
    "In my previous role a teammate wanted to skip code review to hit a deadline. I needed to "
    "protect quality without blocking the release. I proposed pairing on the riskiest changes "
    "and reviewed the rest the same day. In the end we shipped on time with zero regressions."
)


def evaluate(answer: str, **overrides: object) -> AnswerEvaluation:
    arguments: dict[str, object] = {
        "question": QUESTION,
        "reference_answer": REFERENCE,
        "answer": answer,
        "key_points": KEY_POINTS,
    }
    arguments.update(overrides)
    return evaluate_answer(**arguments)  # type: ignore[arg-type]


# -- calibration anchors ------------------------------------------------------------------


@pytest.mark.parametrize("category", list(QuestionCategory))
def test_reference_scored_against_itself_is_near_full_marks(category: QuestionCategory) -> None:
    reference = BEHAVIORAL_REFERENCE if category is QuestionCategory.BEHAVIORAL else REFERENCE
    result = evaluate(reference, reference_answer=reference, category=category, key_points=())
    assert result.score >= 95
    assert result.dimensions[Dimension.CORRECTNESS] >= 95


def test_short_reference_scored_against_itself_is_near_full_marks() -> None:
    result = evaluate_answer(
        question="What are the two operations of a stack?",
        reference_answer="push and pop",
        answer="push and pop",
    )
    assert result.score >= 95


@pytest.mark.parametrize("answer", ["", "   \n ", "I don't know.", "No answer", "n/a", "Pass"])
def test_blank_or_declined_answer_scores_zero_everywhere(answer: str) -> None:
    result = evaluate(answer)
    assert result.score == 0
    assert set(result.dimensions.values()) == {0}
    assert result.key_points_hit == []
    assert result.key_points_missed == list(KEY_POINTS)
    assert 2 <= len(result.feedback) <= 5


def test_off_topic_answer_scores_low_and_is_called_out() -> None:
    result = evaluate(OFF_TOPIC)
    assert result.score < 25
    assert result.key_points_hit == []
    assert "does not address the question" in result.feedback[0]


def test_good_answer_scores_well_above_a_vague_one() -> None:
    good, vague = evaluate(GOOD), evaluate(VAGUE)
    assert good.score >= 85
    assert good.score - vague.score >= 25
    for dimension in (Dimension.KEY_POINTS, Dimension.CORRECTNESS, Dimension.DEPTH):
        assert good.dimensions[dimension] > vague.dimensions[dimension]


def test_restating_the_question_earns_less_than_answering_it() -> None:
    restated = evaluate("A database index speeds up queries and it has a cost.")
    answered = evaluate("It keeps column values sorted in a B-tree, so writes cost more.")
    assert answered.score > restated.score
    assert restated.has(FindingCode.COPIES_QUESTION)


def test_key_points_weigh_in_the_overall_score_when_given() -> None:
    """With a rubric, missing every key point costs; covering them costs nothing."""
    good_with, good_without = evaluate(GOOD), evaluate(GOOD, key_points=())
    assert good_with.score >= good_without.score - 5
    evasive = (
        "It depends on the requirements, so I would start from them and the trade-offs. "
        "First I would explain how it works and why, the main components, the data flow and "
        "what happens under failure, then measure it with a load test."
    )
    with_points, without_points = evaluate(evasive), evaluate(evasive, key_points=())
    assert with_points.dimensions[Dimension.KEY_POINTS] <= 20
    assert with_points.score < without_points.score
    assert with_points.score <= 45


# -- key points ---------------------------------------------------------------------------


def test_key_points_are_matched_by_stem_not_exact_wording() -> None:
    answer = (
        "It is a sorted B-tree pointing at rows. Writing becomes slower since each index "
        "needs maintaining."
    )
    result = evaluate(answer)
    assert KEY_POINTS[0] in result.key_points_hit
    assert KEY_POINTS[3] in result.key_points_hit
    assert KEY_POINTS[2] in result.key_points_missed
    assert result.key_points_hit + result.key_points_missed != []
    assert set(result.key_points_hit) | set(result.key_points_missed) == set(KEY_POINTS)


def test_misspelt_words_still_cover_a_key_point() -> None:
    result = evaluate("Indexes take extra disc spaace, and wirtes get slowwer.")
    assert KEY_POINTS[2] in result.key_points_hit


def test_missed_key_point_is_named_in_feedback() -> None:
    result = evaluate("An index is a sorted B-tree with pointers to the rows.")
    assert any(KEY_POINTS[2] in sentence for sentence in result.feedback)


def test_without_key_points_the_reference_sentences_stand_in() -> None:
    result = evaluate(GOOD, key_points=())
    assert result.key_points_hit
    assert all(point in REFERENCE for point in result.key_points_hit + result.key_points_missed)


# -- delivery -----------------------------------------------------------------------------


def test_filler_words_are_counted_and_reported() -> None:
    answer = (
        "Um, so basically an index is, like, a sorted B-tree, you know, and um it makes "
        "lookups faster, uh, because it is sorted. I like indexes."
    )
    result = evaluate(answer)
    assert result.filler_words == {"basically": 1, "like": 1, "uh": 1, "um": 2, "you know": 1}
    assert any("filler words 6 times" in sentence for sentence in result.feedback)
    fluent = evaluate(GOOD)
    assert fluent.filler_words == {}
    assert result.dimensions[Dimension.COMMUNICATION] < fluent.dimensions[Dimension.COMMUNICATION]


def test_too_short_answer_is_flagged() -> None:
    result = evaluate("A B-tree.")
    assert any("too short" in sentence for sentence in result.feedback)


def test_words_per_minute_needs_a_positive_duration() -> None:
    answer = " ".join(["word"] * 90)
    assert evaluate(answer, time_spent_seconds=45).words_per_minute == 120.0
    assert evaluate(answer).words_per_minute is None
    assert evaluate(answer, time_spent_seconds=0).words_per_minute is None
    assert evaluate(answer).word_count == 90


def test_depth_rewards_specifics() -> None:
    specific = evaluate(
        "For example, in PostgreSQL an index on user_id cut the query from 2 s to 5 ms, "
        "because the planner could use the B-tree instead of a scan."
    )
    assert specific.dimensions[Dimension.DEPTH] >= 75
    assert evaluate(VAGUE).dimensions[Dimension.DEPTH] == 0


def test_signposted_answer_has_better_structure() -> None:
    ramble = " ".join([GOOD.replace(".", ",")] * 2)
    signposted = "First, " + GOOD.replace(". ", ".\n\nThen, ", 1) + " Finally, measure it."
    assert (
        evaluate(signposted).dimensions[Dimension.STRUCTURE]
        > evaluate(ramble).dimensions[Dimension.STRUCTURE]
    )


# -- behavioural answers and STAR ---------------------------------------------------------


def behavioral(answer: str) -> AnswerEvaluation:
    return evaluate_answer(
        question=BEHAVIORAL_QUESTION,
        reference_answer=BEHAVIORAL_REFERENCE,
        answer=answer,
        category=QuestionCategory.BEHAVIORAL,
    )


def test_complete_star_story_is_detected() -> None:
    result = behavioral(STAR_STORY)
    assert result.star == StarAnalysis(
        situation=True, task=True, action=True, result=True, score=100
    )
    assert result.dimensions[Dimension.STRUCTURE] == 100
    assert result.score >= 70


def test_missing_star_result_is_named_in_feedback() -> None:
    story = STAR_STORY.replace(" In the end we shipped on time with zero regressions.", "")
    result = behavioral(story)
    assert result.star is not None
    assert (result.star.situation, result.star.task, result.star.action) == (True, True, True)
    assert not result.star.result
    assert result.star.score == 75
    assert any("no clear Result" in sentence for sentence in result.feedback)


def test_opinion_without_a_story_scores_below_a_story() -> None:
    opinion = behavioral("I think disagreements are normal and I always listen to people.")
    assert opinion.star is not None
    assert opinion.star.score == 0
    assert opinion.score < behavioral(STAR_STORY).score - 30


def test_star_is_only_analysed_for_behavioral_questions() -> None:
    assert evaluate(STAR_STORY).star is None


# -- contract -----------------------------------------------------------------------------


def test_evaluation_shape() -> None:
    result = evaluate(GOOD, time_spent_seconds=60)
    assert result.rubric_version == RUBRIC_VERSION == "offline-2"
    assert set(result.dimensions) == set(Dimension)
    assert 2 <= len(result.feedback) <= 5
    assert all(sentence.endswith(".") for sentence in result.feedback)
    assert result.strengths
    with pytest.raises(ValueError, match="frozen"):
        result.score = 1  # type: ignore[misc]


def test_evaluation_is_deterministic() -> None:
    first = evaluate(GOOD, time_spent_seconds=75.0)
    second = evaluate(GOOD, time_spent_seconds=75.0)
    assert first == second
    assert first.model_dump_json() == second.model_dump_json()


_VOCABULARY = [*REFERENCE.split(), *STAR_STORY.split(), "um,", "like,", "you know", "\n\n", "42%"]
# Arbitrary unicode, and prose built from real words so matching and STAR rules run too.
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(_VOCABULARY), max_size=80).map(" ".join),
)


@settings(max_examples=200, deadline=None)
@given(
    question=texts,
    reference=texts,
    answer=texts,
    category=st.sampled_from(list(QuestionCategory)),
    seconds=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_scores_stay_in_range_for_arbitrary_text(
    question: str, reference: str, answer: str, category: QuestionCategory, seconds: float | None
) -> None:
    result = evaluate_answer(
        question=question,
        reference_answer=reference,
        answer=answer,
        category=category,
        time_spent_seconds=seconds,
    )
    assert 0 <= result.score <= 100
    assert all(0 <= value <= 100 for value in result.dimensions.values())
    assert 2 <= len(result.feedback) <= 5
    if result.star is not None:
        assert 0 <= result.star.score <= 100
