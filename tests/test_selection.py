"""Question plans: roles, levels, mix, seed reproducibility, no repeats, job-description bias."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rehearse.bank import load_bank
from rehearse.domain.config import InterviewType, Level, Role, parse_config
from rehearse.domain.questions import QuestionCategory
from rehearse.domain.selection import category_mix, question_count, select_questions
from rehearse.service.sessions import SessionManager

BANK = list(load_bank())


def config(**fields: Any) -> Any:
    return parse_config({"candidate_name": "Ada", **fields})


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("level", list(Level))
def test_plans_fit_role_and_level(role: Role, level: Level) -> None:
    chosen = select_questions(BANK, config(role=role, level=level, question_count=6), seed=1)
    assert len(chosen) == 6
    assert len({q.id for q in chosen}) == 6
    for question in chosen:
        assert role in question.roles
        # the level range widens only when the bank lacks questions at the exact level
        assert abs(question.levels.min.rank - level.rank) <= 1 or level in question.levels


def test_same_seed_same_plan_and_different_seed_differs() -> None:
    settings_ = config(role="backend", level="senior", question_count=8)
    first = [q.id for q in select_questions(BANK, settings_, seed=42)]
    assert first == [q.id for q in select_questions(BANK, settings_, seed=42)]
    others = {tuple(q.id for q in select_questions(BANK, settings_, seed=s)) for s in range(5)}
    assert len(others) > 1


@pytest.mark.parametrize(
    ("interview_type", "level", "expected"),
    [
        ("behavioral", "mid", {QuestionCategory.BEHAVIORAL}),
        ("coding", "mid", {QuestionCategory.CODING}),
        ("system_design", "senior", {QuestionCategory.SYSTEM_DESIGN}),
        ("technical", "mid", {QuestionCategory.TECHNICAL, QuestionCategory.CODING}),
    ],
)
def test_interview_type_decides_categories(
    interview_type: str, level: str, expected: set[QuestionCategory]
) -> None:
    chosen = select_questions(
        BANK, config(interview_type=interview_type, level=level, question_count=4), seed=3
    )
    assert {q.category for q in chosen} == expected


def test_mixed_opens_and_closes_with_behavioral_and_designs_for_seniors() -> None:
    mix = category_mix(InterviewType.MIXED, Level.SENIOR, 6)
    assert mix[0] is mix[-1] is QuestionCategory.BEHAVIORAL
    assert QuestionCategory.SYSTEM_DESIGN in mix
    assert QuestionCategory.SYSTEM_DESIGN not in category_mix(InterviewType.MIXED, Level.JUNIOR, 6)


@given(st.sampled_from(list(InterviewType)), st.sampled_from(list(Level)), st.integers(1, 30))
@settings(max_examples=200, deadline=None)
def test_mix_has_the_asked_length(interview_type: InterviewType, level: Level, count: int) -> None:
    assert len(category_mix(interview_type, level, count)) == count


def test_count_follows_the_time_limit() -> None:
    assert question_count(config(time_limit_minutes=45)) == 6
    assert question_count(config(time_limit_minutes=5)) == 1
    assert question_count(config(time_limit_minutes=60, interview_type="system_design")) == 3
    assert question_count(config(time_limit_minutes=45, question_count=2)) == 2


def test_role_without_a_category_falls_back_to_technical() -> None:
    chosen = select_questions(
        BANK,
        config(role="product_management", interview_type="coding", level="staff", question_count=3),
        seed=1,
    )
    assert len(chosen) == 3
    assert all(Role.PRODUCT_MANAGEMENT in q.roles for q in chosen)


def test_seen_questions_are_avoided_while_the_bank_allows() -> None:
    settings_ = config(role="backend", level="mid", interview_type="technical", question_count=5)
    seen: set[str] = set()
    for seed in range(6):
        chosen = {q.id for q in select_questions(BANK, settings_, seed=seed, seen=frozenset(seen))}
        assert not (chosen & seen)
        seen |= chosen


def test_job_description_biases_the_choice() -> None:
    plain = config(role="devops_sre", level="mid", interview_type="technical", question_count=3)
    biased = config(
        role="devops_sre",
        level="mid",
        interview_type="technical",
        question_count=3,
        job_description="We run Kubernetes clusters: pods, deployments, helm charts, kubectl, container orchestration.",
    )

    def kube_hits(cfg: Any) -> int:
        return sum(
            "kubernetes" in (q.text + " ".join(q.tags) + " ".join(q.key_points)).lower()
            for seed in range(40)
            for q in select_questions(BANK, cfg, seed=seed)
        )

    assert kube_hits(biased) > kube_hits(plain) * 1.3


def test_manager_avoids_repeats_for_the_same_candidate(manager: SessionManager) -> None:
    fields = {
        "candidate_name": "Ada",
        "candidate_email": "ada@example.com",
        "interview_type": "technical",
        "question_count": 5,
    }
    first = manager.create_session(fields)
    second = manager.create_session(fields)
    manager.create_session(
        {**fields, "candidate_email": "bo@example.com", "candidate_name": "Bo", "plan_seed": 0}
    )
    assert first.interview and second.interview
    ids = [
        {i.question_id for i in first.interview.items},
        {i.question_id for i in second.interview.items},
    ]
    assert not (ids[0] & ids[1])
    assert manager.get_events(first.id, types=["questions_planned"])[0].data["question_ids"] == [
        i.id for i in first.interview.items
    ]


def test_plan_seed_is_stored_and_reproducible(manager: SessionManager) -> None:
    a = manager.create_session({"candidate_name": "A", "plan_seed": 7, "question_count": 4})
    b = manager.create_session({"candidate_name": "B", "plan_seed": 7, "question_count": 4})
    assert a.interview and b.interview
    assert a.interview.seed == 7
    assert [i.id for i in a.interview.items] == [i.id for i in b.interview.items]
