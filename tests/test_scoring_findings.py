"""Answer-quality findings, key points by meaning, follow-ups and bands, on the real bank.

Each finding has hand-written positive and negative examples; the negatives include a
terse but correct expert answer, which must never be flagged.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rehearse.ai.offline import OfflineEvaluator
from rehearse.bank import QuestionBank, load_bank
from rehearse.domain.questions import Question
from rehearse.scoring import (
    AnswerEvaluation,
    FindingCode,
    ScoreBand,
    score_band,
    score_band_class,
)
from rehearse.scoring.bands import key_point_cap
from rehearse.scoring.findings import CAPS, is_term_list, without_term_lists
from rehearse.scoring.keypoints import AnswerMeaning, key_point_coverage
from rehearse.scoring.star import analyse_star
from rehearse.scoring.suite import gibberish_answer, partial_answer, term_list_answer
from rehearse.scoring.topics import without_restatements

TERSE_EXPERT = (
    "Idempotent means a repeat leaves the server in the same state as one request. GET, PUT "
    "and DELETE are; POST is not, so clients and proxies only retry the others after a "
    "timeout, and a payment POST carries an idempotency key."
)


@cache
def evaluator() -> OfflineEvaluator:
    return OfflineEvaluator()


@cache
def bank() -> dict[str, Question]:
    return {question.id: question for question in load_bank()}


def evaluate(question_id: str, answer: str) -> AnswerEvaluation:
    return evaluator().evaluate(bank()[question_id], answer)


def codes(evaluation: AnswerEvaluation) -> set[FindingCode]:
    return {item.code for item in evaluation.findings}


def test_a_terse_correct_expert_answer_has_no_finding_and_scores_well() -> None:
    result = evaluate("be-http-idempotency", TERSE_EXPERT)
    assert codes(result) == set()
    assert result.score >= 80
    assert not is_term_list(TERSE_EXPERT, bank()["be-http-idempotency"].text)


# -- term list ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "idempotent, retries, proxies, payments, keys, GET, PUT, DELETE, POST, state, server",
        "- idempotent\n- retries\n- proxies\n- idempotency keys\n- payments\n- GET PUT DELETE\n"
        "- server state",
    ],
)
def test_a_term_list_is_capped_at_45_and_the_cap_is_stated(answer: str) -> None:
    result = evaluate("be-http-idempotency", answer)
    assert FindingCode.TERM_LIST in codes(result)
    assert result.score <= CAPS[FindingCode.TERM_LIST] == 45
    assert "caps the score at 45" in result.feedback[0]


def test_a_term_list_still_covers_the_key_points_it_names() -> None:
    terms = (
        "load average, runnable, uninterruptible, cpu count, top, vmstat, iostat, iowait, "
        "steal, swapping, memory, pidstat, process, perf, strace, profile, dmesg, oom, logs"
    )
    result = evaluate("ops-linux-high-load", terms)
    assert FindingCode.TERM_LIST in codes(result)
    point = "Find the offending process with pidstat, then profile it with perf or strace"
    assert point in result.key_points_hit


def test_a_short_list_answers_a_question_that_asks_to_name_things() -> None:
    assert not is_term_list("push, pop, peek, isEmpty, size", "Name the operations of a stack.")
    assert is_term_list(
        "push, pop, peek, isEmpty, size, top, array, linked, list, capacity, overflow, lifo, "
        "underflow, bounds, resize, amortised",
        "Name the operations of a stack.",
    )


@pytest.mark.parametrize(
    "glue",
    [" Key terms: {}.", " Also important are {}.", "\n- {}"],
    ids=["labelled", "in-a-sentence", "bullets"],
)
def test_a_term_list_appended_to_an_answer_earns_nothing(glue: str) -> None:
    question = bank()["be-http-idempotency"]
    partial = partial_answer(question.reference_answer)
    terms = term_list_answer(question.key_points)
    listed = terms.replace(", ", "\n- ") if glue.startswith("\n") else terms
    before = evaluate(question.id, partial)
    after = evaluate(question.id, partial + glue.format(listed))
    assert after.score <= before.score
    assert after.key_points_hit == before.key_points_hit
    assert any("list of terms" in sentence for sentence in after.feedback)


def test_dense_sentences_and_code_are_not_taken_for_lists_inside_an_answer() -> None:
    prose = (
        "Leader-follower replication is simple. Multi-leader accepts local writes but needs "
        "conflict resolution. Cache hot keys."
    )
    assert without_term_lists(prose, "Compare replication strategies.") == (prose, 0)
    code = "Two pointers:\n    lo, hi = 0, len(a) - 1\n    return -1\nIt runs in O(log n)."
    assert without_term_lists(code, "Write a binary search.") == (code, 0)
    answer = (
        "Retries need idempotency. Key terms: idempotent, retries, proxies, payments, PUT, "
        "DELETE, timeouts."
    )
    assert without_term_lists(answer, "What is idempotency?") == (
        "Retries need idempotency.",
        1,
    )


# -- off-topic, content-free, copies the question ---------------------------------------


def test_an_answer_to_another_question_is_off_topic_by_contrast() -> None:
    other = bank()["fe-js-closures"].reference_answer
    result = evaluate("be-http-idempotency", other)
    assert FindingCode.OFF_TOPIC in codes(result)
    assert result.score <= 20
    assert "closure" in result.feedback[0]
    own = evaluate("fe-js-closures", other)
    assert FindingCode.OFF_TOPIC not in codes(own)


@pytest.mark.parametrize(
    ("question_id", "source_id"),
    [
        # shares only "user" and "like" with "Design a URL shortening service like bit.ly"
        ("sd-url-shortener", "ds-causal-inference-observational"),
        # shares only "use" and "response" with the RAG question
        ("sd-llm-rag-chat", "ops-k8s-probes"),
        # shares "team" and "split", and by those words states two of its key points
        ("be-monolith-vs-microservices", "fe-microfrontends-tradeoffs"),
    ],
)
def test_an_answer_sharing_generic_words_with_its_question_is_still_off_topic(
    question_id: str, source_id: str
) -> None:
    result = evaluate(question_id, bank()[source_id].reference_answer)
    assert FindingCode.OFF_TOPIC in codes(result)
    assert result.score <= 20
    assert result.feedback[0].startswith("The answer fits another question better")


def test_an_answer_to_another_question_that_names_this_subject_stays_the_others() -> None:
    # The memory-management answer names "LRU cache", the subject of code-lru-cache, but
    # it names its own question's subject far more: it answers that one.
    answer = bank()["mob-memory-management"].reference_answer
    assert "LRU" in answer
    result = evaluate("code-lru-cache", answer)
    assert FindingCode.OFF_TOPIC in codes(result)
    assert result.score <= 20


def test_a_question_is_named_by_its_specific_words_not_by_generic_or_numbers() -> None:
    index = evaluator().contrast
    subject = index.subject("Design a URL shortening service like bit.ly, in 90 days.")
    assert {"url", "shorten"} <= subject
    assert not subject & {"design", "like", "servic", "90"}
    assert "b" not in index.subject("How long should an A/B test run?")


def test_restating_the_question_does_not_make_another_answer_this_ones() -> None:
    restated = "You asked me to design a URL shortening service like bit.ly. "
    answer = restated + bank()["ds-causal-inference-observational"].reference_answer
    result = evaluate("sd-url-shortener", answer)
    assert FindingCode.OFF_TOPIC in codes(result)
    assert result.score <= 20


def test_an_answer_that_does_not_answer_gets_no_polishing_tips() -> None:
    wrong = (
        "The load average is the percentage of the hard disk that is full. When it is high I "
        "would delete old files and install an antivirus to clean the server."
    )
    other = bank()["ds-causal-inference-observational"].reference_answer
    for question_id, answer in [("ops-linux-high-load", wrong), ("sd-url-shortener", other)]:
        result = evaluate(question_id, answer)
        assert result.score <= 20
        assert not any("stand out" in sentence for sentence in result.feedback)
        assert result.feedback[1].startswith("Answer what was asked")
        # a key point the first sentence already quotes is not quoted again
        quoted = result.feedback[1].split('"')[1]
        assert quoted[:40] not in result.feedback[0]


def test_a_restatement_is_dropped_and_a_sentence_that_adds_to_the_question_is_kept() -> None:
    def generic(word: str) -> bool:  # interview language, as the evaluator counts it
        return word == "question"

    question = bank()["ds-precision-recall-f1"].text
    statement = "The F1 score is the harmonic mean of precision and recall."
    assert without_restatements(statement, question, generic) == (statement, 0)
    restated = "So the question is about precision, recall and the F1 score."
    text, dropped = without_restatements(f"{restated} {statement}", question, generic)
    assert (text, dropped) == (statement, 1)
    # Only restatements: kept whole, to be judged a copy of the question.
    assert without_restatements(restated, question, generic) == (restated, 0)


def test_off_topic_holds_for_questions_outside_the_bank() -> None:
    """Neither the question nor the one the answer was written for is in the index."""
    questions = bank()
    held = {"be-http-idempotency", "fe-js-closures"}
    kept = QuestionBank((q, "shipped") for q in questions.values() if q.id not in held)
    unseen = OfflineEvaluator(bank=kept)
    for question_id, source_id in [
        ("be-http-idempotency", "fe-js-closures"),
        ("fe-js-closures", "be-http-idempotency"),
    ]:
        question = questions[question_id]
        other = unseen.evaluate(question, questions[source_id].reference_answer)
        assert FindingCode.OFF_TOPIC in codes(other), question_id
        assert other.score <= 20
        own = unseen.evaluate(question, question.reference_answer)
        assert own.findings == []
        assert own.score >= 85


def test_content_free_interview_language_is_capped_at_20() -> None:
    generic = (
        "It depends on the requirements, so I would start from them and look at the "
        "trade-offs, talk to the stakeholders and choose the approach that balances the "
        "different factors best for the business."
    )
    for question_id in ("be-http-idempotency", "sd-url-shortener", "ds-p-value-meaning"):
        result = evaluate(question_id, generic)
        assert FindingCode.CONTENT_FREE in codes(result), question_id
        assert result.score <= 20
        assert result.strengths == []


def test_copying_the_question_is_not_answering_it() -> None:
    question = bank()["be-http-idempotency"]
    result = evaluate(question.id, question.text)
    assert codes(result) == {FindingCode.COPIES_QUESTION}
    assert result.score <= 10
    assert FindingCode.COPIES_QUESTION not in codes(evaluate(question.id, TERSE_EXPERT))


# -- repeats itself, not an answer, no code, declines --------------------------------------


def test_repeating_a_paragraph_earns_nothing_more_and_is_capped() -> None:
    once = evaluate("be-http-idempotency", TERSE_EXPERT)
    thrice = evaluate("be-http-idempotency", "\n".join([TERSE_EXPERT] * 3))
    assert FindingCode.REPEATS_ITSELF in codes(thrice)
    assert FindingCode.REPEATS_ITSELF not in codes(once)
    assert thrice.score <= min(once.score, 50)


@pytest.mark.parametrize(
    "answer",
    [
        gibberish_answer("seed"),
        "Ceci est une réponse en français qui parle de la méthode et du serveur sans aucun "
        "mot anglais pour le lecteur de la question posée.",
        "def retry(request):\n    for attempt in range(3):\n        response = send(request)\n"
        "        if response.ok:\n            return response\n    raise Error()",
    ],
    ids=["gibberish", "other-language", "code-for-prose"],
)
def test_not_an_answer_scores_at_most_10(answer: str) -> None:
    result = evaluate("be-http-idempotency", answer)
    assert FindingCode.NOT_AN_ANSWER in codes(result)
    assert result.score <= 10


def test_code_in_an_answer_to_a_coding_question_is_an_answer() -> None:
    question = bank()["code-two-sum"]
    assert FindingCode.NOT_AN_ANSWER not in codes(evaluate(question.id, question.reference_answer))


def test_prose_where_code_was_asked_is_capped_at_60() -> None:
    prose = "\n".join(bank()["code-two-sum"].reference_answer.splitlines()[:2])
    result = evaluate("code-two-sum", prose)
    assert FindingCode.NO_CODE in codes(result)
    assert result.score <= 60
    with_code = evaluate("code-two-sum", bank()["code-two-sum"].reference_answer)
    assert FindingCode.NO_CODE not in codes(with_code)


@pytest.mark.parametrize("answer", ["I don't know.", "Sorry, no idea", "pass"])
def test_declining_scores_zero_with_its_finding(answer: str) -> None:
    result = evaluate("be-http-idempotency", answer)
    assert result.score == 0
    assert codes(result) == {FindingCode.DECLINES}


# -- wrong answers and honest strengths --------------------------------------------------


def test_a_wrong_answer_is_called_wrong_and_praised_for_nothing() -> None:
    wrong = (
        "The load average is the percentage of the hard disk that is full. When it is high I "
        "would delete old files and install an antivirus to clean the server."
    )
    result = evaluate("ops-linux-high-load", wrong)
    assert FindingCode.WRONG in codes(result)
    assert result.score <= 20
    assert result.feedback[0].startswith("The answer is wrong")
    assert result.strengths == []
    assert not any("filler" in sentence for sentence in result.feedback)


def test_one_key_point_of_five_cannot_reach_the_top_bands() -> None:
    question = bank()["be-http-status-codes"]
    fluent_but_thin = (
        "401 Unauthorized means the request lacks valid authentication credentials, for "
        "example a missing or expired token, so the client should sign in again and retry."
    )
    result = evaluate(question.id, fluent_but_thin)
    assert len(result.key_points_hit) == 1
    assert result.score <= key_point_cap(1, len(question.key_points)) < 40
    assert score_band(result.score) in (ScoreBand.NO_ANSWER, ScoreBand.WEAK)
    assert result.feedback[0].startswith("You stated 1 of 6 key points")


# -- key points by meaning ------------------------------------------------------------------


def coverage(points: list[str], answer: str, question: str = "") -> list[str]:
    return key_point_coverage(points, AnswerMeaning(answer), frozenset()).hit


def test_negation_does_not_cover_the_opposite_statement() -> None:
    point = ["GET is idempotent"]
    assert coverage(point, "GET is idempotent, it can be repeated.") == point
    assert coverage(point, "GET is not idempotent.") == []
    assert coverage(point, "GET isn't idempotent at all.") == []
    result = key_point_coverage(point, AnswerMeaning("GET is not idempotent."), frozenset())
    assert result.contradicted == point


def test_a_negated_key_point_is_covered_by_the_same_negation() -> None:
    point = ["A p-value is not the probability that the null hypothesis is true"]
    answer = "The p-value is not the chance that the null hypothesis is true."
    assert coverage(point, answer) == point


def test_paraphrases_of_field_terms_cover_key_points() -> None:
    oauth = bank()["be-oauth2-authorization-code"]
    oidc = "OpenID Connect adds authentication with an ID token describing the user"
    pkce = "PKCE binds the code to a code verifier, preventing code interception"
    said = evaluate(
        oauth.id,
        "With OpenID Connect the client also gets an ID token, a signed JWT that says who "
        "the user is.",
    )
    assert oidc in said.key_points_hit
    verifier = evaluate(
        oauth.id,
        "The client keeps a random code_verifier and sends its hash first; when it exchanges "
        "the code it must present the code_verifier, so an intercepted code is useless.",
    )
    assert pkce in verifier.key_points_hit


def test_stems_and_synonyms_cover_a_key_point() -> None:
    point = ["Clients and proxies can safely retry idempotent requests after timeouts"]
    assert coverage(point, "A caller or a proxy may resend an idempotent call after a timeout.")


# -- STAR ----------------------------------------------------------------------------------


def test_labelled_star_parts_are_found() -> None:
    story = (
        "Situation: our team had to pick a queue. Task: I owned the design. Action: I built "
        "two prototypes. Result: latency fell by 30%."
    )
    star = analyse_star(story)
    assert star.missing == []


def test_narrated_star_parts_are_found() -> None:
    for question in bank().values():
        if question.category.value == "behavioral":
            assert analyse_star(question.reference_answer).score >= 75, question.id


# -- follow-ups ------------------------------------------------------------------------------

THIN = "An idempotent method can be repeated and the server state stays the same."


def test_a_follow_up_that_adds_nothing_never_raises_the_score() -> None:
    question = bank()["be-http-idempotency"]
    before = evaluator().evaluate(question, THIN)
    after = evaluator().evaluate_follow_up(
        question, THIN, question.follow_ups[0], "um I don't know, I like pizza"
    )
    assert after.score == before.score
    assert FindingCode.FOLLOW_UP_ADDS_NOTHING in codes(after)
    assert after.feedback[0].startswith("Your follow-up answer adds")


def test_a_follow_up_that_adds_key_points_repairs_a_thin_answer() -> None:
    question = bank()["be-http-idempotency"]
    before = evaluator().evaluate(question, THIN)
    after = evaluator().evaluate_follow_up(
        question,
        THIN,
        question.follow_ups[0],
        "GET, PUT and DELETE are idempotent and POST is not, so for payments the client sends "
        "an idempotency key and the server returns the stored result on a retry.",
    )
    assert after.score > before.score
    assert after.feedback[0].startswith("Your follow-up answer added")
    assert len(after.key_points_hit) > len(before.key_points_hit)


# -- bands -----------------------------------------------------------------------------------


def test_bands_cover_0_to_100_without_gaps() -> None:
    assert [score_band(s) for s in (0, 20, 21, 39, 40, 59, 60, 79, 80, 100)] == [
        ScoreBand.NO_ANSWER,
        ScoreBand.NO_ANSWER,
        ScoreBand.WEAK,
        ScoreBand.WEAK,
        ScoreBand.PARTIAL,
        ScoreBand.PARTIAL,
        ScoreBand.GOOD,
        ScoreBand.GOOD,
        ScoreBand.EXCELLENT,
        ScoreBand.EXCELLENT,
    ]
    assert score_band_class(85) == "score--excellent"
    assert score_band_class(None) == "score--none"
    assert ScoreBand.PARTIAL.label == "partial (40-59)"
    assert ScoreBand.NO_ANSWER.label == "not an answer (0-20)"


def test_an_answer_that_does_not_answer_is_never_called_weak() -> None:
    """The caps of off-topic, content-free and wrong, and of no key point, are in the lowest band."""
    for code in (FindingCode.OFF_TOPIC, FindingCode.CONTENT_FREE, FindingCode.WRONG):
        assert score_band(CAPS[code]) is ScoreBand.NO_ANSWER
    assert score_band(key_point_cap(0, 5)) is ScoreBand.NO_ANSWER
    assert score_band(key_point_cap(1, 5)) is ScoreBand.WEAK


# -- properties ------------------------------------------------------------------------------

UNRELATED = (
    "On weekends I hike along the river with my dog and bake sourdough bread for friends.",
    "My grandmother grew tomatoes, basil and courgettes in her garden every summer.",
    "Watercolour painting relaxes me; I paint lighthouses and boats at the harbour.",
)


@cache
def technical_answers() -> list[tuple[str, str]]:
    questions = [q for q in bank().values() if q.category.value != "behavioral"][::9]
    answers = []
    for question in questions:
        answers.append((question.id, question.reference_answer))
        answers.append((question.id, partial_answer(question.reference_answer)))
        answers.append((question.id, term_list_answer(question.key_points)))
    return answers


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(UNRELATED),
    st.booleans(),
)
def test_an_unrelated_paragraph_never_raises_a_score(pick: int, extra: str, before: bool) -> None:
    answers = technical_answers()
    question_id, answer = answers[pick % len(answers)]
    padded = f"{extra}\n\n{answer}" if before else f"{answer}\n\n{extra}"
    assert evaluate(question_id, padded).score <= evaluate(question_id, answer).score


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400), st.integers(min_value=0, max_value=312))
def test_scores_are_integers_from_0_to_100_for_any_text(text: str, pick: int) -> None:
    question = list(bank().values())[pick]
    result = evaluator().evaluate(question, text)
    assert isinstance(result.score, int) and 0 <= result.score <= 100
    assert all(isinstance(v, int) and 0 <= v <= 100 for v in result.dimensions.values())
    for item in result.findings:
        assert item.cap is None or result.score <= item.cap


def test_every_evaluation_carries_the_css_class_of_its_band() -> None:
    """The room's script colours the score by ``band_class``: the band rule lives once."""
    from rehearse.scoring import evaluate_answer

    for answer in ["", "I don't know", "A B-tree index keeps keys sorted for range scans."]:
        evaluation = evaluate_answer(
            question="What is a database index?",
            reference_answer="A sorted structure such as a B-tree that speeds up lookups.",
            answer=answer or "um",
            key_points=["sorted structure", "speeds up lookups"],
        )
        dumped = evaluation.model_dump(mode="json")
        assert dumped["band_class"] == score_band_class(evaluation.score)


def test_the_llm_evaluator_gates_follow_ups_with_the_offline_rule() -> None:
    from rehearse.ai.budget import UnmeteredAccount
    from rehearse.ai.calls import ModelCaller
    from rehearse.ai.llm import LLMEvaluator
    from rehearse.ai.providers import ModelRef, ProviderModels

    account = UnmeteredAccount()
    llm = LLMEvaluator(ModelCaller(ModelRef.parse("test"), ProviderModels(), "evaluator"), account)
    question = bank()["be-http-idempotency"]
    nothing = llm.evaluate_follow_up(
        question, THIN, question.follow_ups[0], "um I don't know, I like pizza"
    )
    assert FindingCode.FOLLOW_UP_ADDS_NOTHING in codes(nothing)
    assert account.usages == []  # no model call for a follow-up that adds nothing
    added = llm.evaluate_follow_up(
        question,
        THIN,
        question.follow_ups[0],
        "POST is not idempotent, so for payments the client sends an idempotency key and the "
        "server returns the stored result when the same key arrives again.",
    )
    assert account.usages != []
    assert added.score >= evaluator().evaluate(question, THIN).score
