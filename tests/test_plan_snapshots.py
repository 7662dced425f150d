"""Plans stored compactly (issue 16): ids and snapshot digests in the event, texts once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select, update

from rehearse.clock import FakeClock
from rehearse.domain.questions import Question
from rehearse.errors import DataStoreError
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore
from rehearse.storage.schema import question_snapshots, session_events
from rehearse.storage.snapshots import canonical, digest_of


def _stored_plan(store: SQLStore, session_id: str) -> dict[str, object]:
    with store.engine.connect() as connection:
        data = connection.execute(
            select(session_events.c.data).where(
                session_events.c.session_id == session_id,
                session_events.c.type == "questions_planned",
            )
        ).scalar_one()
    assert isinstance(data, dict)
    return data


def test_a_plan_is_stored_by_digest_and_reads_back_whole(
    manager_on_each_backend: SessionManager,
) -> None:
    manager = manager_on_each_backend
    store = manager.store
    assert isinstance(store, SQLStore)
    first = manager.create_session({"candidate_name": "Ada", "plan_seed": 3})
    again = manager.create_session({"candidate_name": "Grace", "plan_seed": 3})
    [read] = manager.get_events(first.id, types=["questions_planned"])
    questions = [Question.model_validate(q) for q in read.data["questions"]]
    assert [q.id for q in questions] == read.data["question_ids"]
    assert list(read.data) == ["seed", "question_ids", "questions"]  # as written inline
    stored = _stored_plan(store, first.id)
    assert "questions" not in stored
    assert stored["snapshots"] == [digest_of(canonical(q)) for q in read.data["questions"]]
    assert len(json.dumps(stored)) < len(json.dumps(read.data)) / 5
    # the same questions planned twice are stored once
    assert _stored_plan(store, again.id)["snapshots"] == stored["snapshots"]
    with store.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(question_snapshots))
        assert count.scalar_one() == len(set(read.data["question_ids"]))
    # the report reads the snapshots, whatever the bank holds now
    manager.start_session(first.id)
    item = manager.next_question(first.id)
    assert item is not None
    outcome = manager.submit_answer(first.id, item.id, questions[0].reference_answer)
    assert outcome.evaluation is not None and outcome.evaluation.score >= 60


def test_another_process_reads_the_plan_from_the_database(manager: SessionManager) -> None:
    session = manager.create_session({"candidate_name": "Ada", "plan_seed": 5})
    [planned] = manager.get_events(session.id, types=["questions_planned"])
    store = manager.store
    assert isinstance(store, SQLStore)
    fresh = SessionManager(SQLStore(store.engine), FakeClock())  # nothing cached
    [read] = fresh.get_events(session.id, types=["questions_planned"])
    assert read.data == planned.data


def test_a_plan_written_inline_reads_as_it_was(manager: SessionManager) -> None:
    session = manager.create_session({"candidate_name": "Ada", "plan_seed": 7})
    [compact] = manager.get_events(session.id, types=["questions_planned"])
    store = manager.store
    assert isinstance(store, SQLStore)
    inline = {"seed": 7, "question_ids": ["x-1"], "questions": compact.data["questions"][:1]}
    with store.engine.begin() as connection:  # an event written before migration 0008
        connection.execute(
            update(session_events)
            .where(
                session_events.c.session_id == session.id,
                session_events.c.type == "questions_planned",
            )
            .values(data=inline)
        )
    [read] = manager.get_events(session.id, types=["questions_planned"])
    assert read.data == inline


def test_a_lost_snapshot_is_reported_not_hidden(manager: SessionManager) -> None:
    session = manager.create_session({"candidate_name": "Ada"})
    store = manager.store
    assert isinstance(store, SQLStore)
    data = dict(_stored_plan(store, session.id), snapshots=["0" * 32])
    with store.engine.begin() as connection:
        connection.execute(
            update(session_events)
            .where(session_events.c.type == "questions_planned")
            .values(data=data)
        )
        connection.execute(insert(question_snapshots).values(digest="1" * 32, body="{}"))
    with pytest.raises(DataStoreError, match=r"question snapshot 0{32} is missing"):
        SQLStore(store.engine).get_events(session.id)


def test_downgrading_puts_the_snapshots_back_inline(
    manager_on_each_backend: SessionManager,
) -> None:
    from alembic import command

    from rehearse.storage import migrate

    manager = manager_on_each_backend
    store = manager.store
    assert isinstance(store, SQLStore)
    session = manager.create_session({"candidate_name": "Ada", "plan_seed": 11})
    [planned] = manager.get_events(session.id, types=["questions_planned"])
    config = migrate._config()
    with store.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
        connection.commit()
    assert _stored_plan(store, session.id) == planned.data  # inline, as 0007 wrote it
    assert store.upgrade() == ("0007", migrate.HEAD_REVISION)
    [read] = SQLStore(store.engine).get_events(session.id, types=["questions_planned"])
    assert read.data == planned.data
