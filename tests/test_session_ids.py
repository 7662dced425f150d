"""Session ids a person can use (issue 11 item 6): unique prefixes, never a cut id.

The look-up is a store query, so it runs on every backend (``store``); the property test
runs on an in-memory SQLite store of its own, and the CLI through the root group.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from command_line import run, run_json
from rehearse.domain.access import Principal, PrincipalRole
from rehearse.domain.config import parse_config
from rehearse.domain.sessions import new_session
from rehearse.errors import ConfigurationError, SessionNotFoundError
from rehearse.storage import SQLStore, open_store
from rehearse.storage.store import AMBIGUOUS_SHOWN, MIN_ID_PREFIX
from stores import memory_store

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def add(store: SQLStore, session_id: str, *, created_by: str | None = None) -> str:
    session, events = new_session(
        session_id, parse_config({"candidate_name": "Ada"}), NOW, created_by=created_by
    )
    return store.create(session, events, "tester").id


def test_a_unique_prefix_names_its_session(store: SQLStore) -> None:
    wanted = add(store, "05c0f6aa-0000-4000-8000-000000000001")
    add(store, "05c0f7bb-0000-4000-8000-000000000002")
    assert store.resolve_session_id(wanted) == wanted
    assert store.resolve_session_id("05c0f6") == wanted
    assert store.resolve_session_id("05C0F6A") == wanted  # ids are lower case; typing is not
    assert store.resolve_session_id("  05c0f6aa-0000 ") == wanted


def test_an_ambiguous_prefix_is_refused_naming_the_candidates(store: SQLStore) -> None:
    first = add(store, "05c0f6aa-0000-4000-8000-000000000001")
    second = add(store, "05c0f6bb-0000-4000-8000-000000000002")
    with pytest.raises(ConfigurationError) as refused:
        store.resolve_session_id("05c0f6")
    assert str(refused.value) == (
        f"session_id='05c0f6': matches several sessions ({first}, {second}); give more characters"
    )
    assert refused.value.errors[0]["candidates"] == [first, second]


def test_an_ambiguous_prefix_names_at_most_ten(store: SQLStore) -> None:
    made = [add(store, f"abcdef{n:02d}-0000-4000-8000-000000000000") for n in range(12)]
    with pytest.raises(ConfigurationError, match=r"and more\); give more characters") as refused:
        store.resolve_session_id("abcdef")
    assert refused.value.errors[0]["candidates"] == made[:AMBIGUOUS_SHOWN]


def test_short_unknown_and_like_wildcards(store: SQLStore) -> None:
    add(store, "05c0f6aa-0000-4000-8000-000000000001")
    with pytest.raises(ConfigurationError, match="at least 6 of its first characters"):
        store.resolve_session_id("05c0f")
    with pytest.raises(SessionNotFoundError, match="session 'ffffff' not found"):
        store.resolve_session_id("ffffff")
    with pytest.raises(SessionNotFoundError):
        store.resolve_session_id("05c0f%")  # LIKE wildcards are text, not patterns
    with pytest.raises(SessionNotFoundError):
        store.resolve_session_id("05c0f_a")


def test_a_prefix_only_finds_sessions_the_principal_may_see(store: SQLStore) -> None:
    mine = add(store, "05c0f6aa-0000-4000-8000-000000000001", created_by="u-ivy")
    add(store, "05c0f6bb-0000-4000-8000-000000000002", created_by="u-other")
    ivy = Principal(id="u-ivy", role=PrincipalRole.INTERVIEWER)
    assert store.resolve_session_id("05c0f6", visible_to=ivy) == mine
    with pytest.raises(SessionNotFoundError):
        store.resolve_session_id("05c0f6bb", visible_to=ivy)


HEX = st.text("0123456789abcdef", min_size=8, max_size=8)


@settings(max_examples=40, deadline=None)
@given(heads=st.lists(HEX, min_size=1, max_size=6, unique=True), data=st.data())
def test_resolution_agrees_with_a_plain_prefix_search(
    heads: list[str], data: st.DataObject
) -> None:
    ids = [f"{head}-0000-4000-8000-000000000000" for head in heads]
    prefix = data.draw(
        st.sampled_from(ids).flatmap(lambda i: st.integers(MIN_ID_PREFIX, 36).map(lambda n: i[:n]))
        | st.text("0123456789abcdef", min_size=MIN_ID_PREFIX, max_size=9)
    )
    store = memory_store()
    try:
        for session_id in ids:
            add(store, session_id)
        matches = sorted(i for i in ids if i.startswith(prefix))
        if len(matches) == 1:
            assert store.resolve_session_id(prefix) == matches[0]
        elif not matches:
            with pytest.raises(SessionNotFoundError):
                store.resolve_session_id(prefix)
        else:
            with pytest.raises(ConfigurationError) as refused:
                store.resolve_session_id(prefix)
            assert refused.value.errors[0]["candidates"] == matches
    finally:
        store.close()


# --- the command line ---------------------------------------------------------------------------


def test_every_command_taking_an_id_accepts_a_prefix(sqlite_url: str) -> None:
    db = ["--db", sqlite_url]
    made = run_json(*db, "sessions", "create", "--candidate-name", "Ada")["id"]
    prefix = made[:6]
    assert run_json(*db, "sessions", "show", prefix)["id"] == made
    assert run_json(*db, "sessions", "start", prefix)["status"] == "active"
    assert run_json(*db, "sessions", "pause", prefix)["status"] == "paused"
    assert run_json(*db, "sessions", "resume", prefix)["status"] == "active"
    used = run_json(
        *db, "sessions", "record-usage", prefix, "--prompt-tokens", "1",
        "--completion-tokens", "1", "--model", "m",
    )  # fmt: skip
    assert used["tokens_used"] == 2
    assert run_json(*db, "sessions", "events", prefix)[0]["type"] == "session_created"
    assert run_json(*db, "sessions", "end", prefix)["status"] == "completed"
    assert run_json(*db, "report", prefix)["session_id"] == made
    other = run_json(*db, "sessions", "create", "--candidate-name", "Bo")["id"]
    assert run_json(*db, "sessions", "cancel", other[:8])["status"] == "cancelled"
    third = run_json(*db, "sessions", "create", "--candidate-name", "Cy")["id"]
    resumed = run(*db, "interview", "--resume", third[:7].upper(), stdin="/end\n")
    assert f"Continuing session {third}." in resumed.stdout
    assert run_json(*db, "sessions", "show", third)["status"] == "completed"


def test_the_cli_refuses_a_short_or_ambiguous_prefix_in_one_line(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    first = add(store, "05c0f6aa-0000-4000-8000-000000000001")
    second = add(store, "05c0f6bb-0000-4000-8000-000000000002")
    store.close()
    db = ["--db", sqlite_url]
    short = run(*db, "sessions", "show", "05c0", ok=False)
    assert (short.returncode, short.stdout) == (2, "")
    assert short.stderr == (
        "error: session_id='05c0': give the whole id or at least 6 of its first characters\n"
    )
    ambiguous = run(*db, "report", "05c0f6", ok=False)
    assert (ambiguous.returncode, ambiguous.stderr) == (
        2,
        f"error: session_id='05c0f6': matches several sessions ({first}, {second}); "
        "give more characters\n",
    )
    assert run_json(*db, "sessions", "show", "05c0f6b")["id"] == second
    missing = run(*db, "report", "ffffffff", ok=False)
    assert (missing.returncode, missing.stderr) == (3, "error: session 'ffffffff' not found\n")


def test_sessions_list_never_cuts_an_id_on_a_narrow_terminal(sqlite_url: str) -> None:
    db = ["--db", sqlite_url]
    made = run_json(*db, "sessions", "create", "--candidate-name", "Ada Lovelace-Byron")["id"]
    for columns in ("60", "80", "200"):
        listed = run(*db, "sessions", "list", env={"COLUMNS": columns}).stdout
        assert made in listed, listed
