"""Deleting a session, its saved whiteboards, and finding one by part of an e-mail (issue 11).

Runs on SQLite and on the real PostgreSQL server (the ``store`` fixture); the CLI command
runs through the real entry point.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from command_line import Ran, run
from rehearse.domain.access import LOCAL_PRINCIPAL, Principal, PrincipalRole
from rehearse.errors import AccessDeniedError, QuestionNotFoundError, SessionNotFoundError
from rehearse.service.sessions import SessionManager

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
INTERVIEWER = Principal(id="int-1", role=PrincipalRole.INTERVIEWER)
OTHER_INTERVIEWER = Principal(id="int-2", role=PrincipalRole.INTERVIEWER)
CANDIDATE = Principal(id="cand-1", role=PrincipalRole.CANDIDATE, email="ada@example.org")


def test_delete_removes_rows_events_links_and_files(manager: SessionManager) -> None:
    session = manager.create_session(
        {"candidate_name": "Ada", "candidate_email": "ada@example.org", "question_count": 2},
        created_by=INTERVIEWER,
    )
    started = manager.start_session(session.id)
    assert started.interview is not None
    item = started.interview.items[0]
    path = manager.save_whiteboard(session.id, item.id, PNG)
    assert path.name.endswith(".png") and path.exists()
    manager.create_link(session.id, INTERVIEWER, ttl_seconds=3600)
    kept = manager.create_session({"candidate_name": "Kept"}, created_by=INTERVIEWER)
    folder = manager.folders.folder(session.id)
    assert folder.exists()

    manager.delete_session(session.id, INTERVIEWER)

    with pytest.raises(SessionNotFoundError):
        manager.get_session(session.id)
    assert manager.store.get_events(session.id) == []
    assert not folder.exists()
    page = manager.list_sessions(principal=INTERVIEWER)
    assert [s.id for s in page.sessions] == [kept.id] and page.total == 1
    with pytest.raises(SessionNotFoundError):
        manager.delete_session(session.id, INTERVIEWER)


def test_who_may_delete(manager: SessionManager) -> None:
    set_for_candidate = manager.create_session(
        {"candidate_name": "Ada", "candidate_email": "ada@example.org"}, created_by=INTERVIEWER
    )
    own = manager.create_session({"candidate_name": "Ada"}, created_by=CANDIDATE)
    with pytest.raises(AccessDeniedError, match="only sessions they created"):
        manager.delete_session(set_for_candidate.id, CANDIDATE)
    with pytest.raises(AccessDeniedError):
        manager.delete_session(set_for_candidate.id, OTHER_INTERVIEWER)
    manager.delete_session(own.id, CANDIDATE)
    manager.delete_session(set_for_candidate.id, INTERVIEWER)
    assert manager.list_sessions().total == 0


def test_whiteboards_for_gives_the_last_drawing_of_each_question(manager: SessionManager) -> None:
    session = manager.start_session(
        manager.create_session({"candidate_name": "Ada", "question_count": 2}).id
    )
    assert session.interview is not None
    first, second = session.interview.items[0], session.interview.items[1]
    manager.save_whiteboard(session.id, first.id, PNG)
    latest = manager.save_whiteboard(session.id, first.id, PNG + b"later")
    assert manager.whiteboards_for(session.id, LOCAL_PRINCIPAL) == {first.id: latest}
    assert (
        manager.whiteboard_for(session.id, first.id, LOCAL_PRINCIPAL)
        .read_bytes()
        .endswith(b"later")
    )
    with pytest.raises(QuestionNotFoundError):
        manager.whiteboard_for(session.id, second.id, LOCAL_PRINCIPAL)
    with pytest.raises(AccessDeniedError):
        manager.whiteboards_for(session.id, OTHER_INTERVIEWER)


def test_search_matches_part_of_an_email(manager: SessionManager) -> None:
    manager.create_session({"candidate_name": "Ada", "candidate_email": "ada.lovelace@example.org"})
    manager.create_session({"candidate_name": "Grace", "candidate_email": "grace@navy.mil"})
    found = manager.list_sessions(candidate="LOVELACE@exam")
    assert [s.config.candidate_name for s in found.sessions] == ["Ada"]
    assert manager.list_sessions(candidate="example.org").total == 1
    assert manager.list_sessions(candidate="%").total == 0  # LIKE wildcards are escaped


def test_outcomes_for_the_sessions_list(manager: SessionManager) -> None:
    session = manager.start_session(
        manager.create_session({"candidate_name": "Ada", "question_count": 2}).id
    )
    assert session.interview is not None
    manager.skip_question(session.id, session.interview.items[0].id)
    running = manager.get_session(session.id)
    assert manager.outcomes_for([running], LOCAL_PRINCIPAL)[session.id]["score"] is None
    ended = manager.end_session(session.id)
    outcome = manager.outcomes_for([ended], LOCAL_PRINCIPAL)[session.id]
    report = manager.get_report(session.id)
    assert outcome == {
        "score": report.overall_score,
        "answered": 0,
        "total": 2,
        "active_seconds": round(ended.active_us_at(manager.clock.now()) / 1_000_000),
    }
    assert outcome["score"] == 0  # the skip counted 0


def _cli(data: Path, *args: str, stdin: str = "") -> Ran:
    """``rehearse ARGS`` in this process, on the data directory ``data``."""
    env = {"REHEARSE_DATA_DIR": str(data), "REHEARSE_DATABASE_URL": None}
    return run(*args, env=env, stdin=stdin, ok=False)


def test_cli_sessions_delete_asks_first(tmp_path: Path) -> None:
    created = _cli(tmp_path, "sessions", "create", "--candidate-name", "Ada", "--json")
    assert created.returncode == 0, created.stderr
    session_id = created.stdout.split('"id": "')[1].split('"')[0]

    refused = _cli(tmp_path, "sessions", "delete", session_id, stdin="n\n")
    assert refused.returncode == 1 and "nothing deleted" in refused.stderr
    assert _cli(tmp_path, "sessions", "show", session_id).returncode == 0

    deleted = _cli(tmp_path, "sessions", "delete", session_id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert f"deleted session {session_id}" in deleted.stdout
    gone = _cli(tmp_path, "sessions", "show", session_id)
    assert gone.returncode == 3 and "not found" in gone.stderr


def test_cli_report_writes_whiteboards_beside_the_markdown_and_embeds_them_in_html(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'report.db'}"
    with SessionManager.from_url(url) as local:
        session = local.start_session(
            local.create_session({"candidate_name": "Ada", "question_count": 1}).id
        )
        assert session.interview is not None
        item = session.interview.items[0]
        local.save_whiteboard(session.id, item.id, PNG)
        local.submit_answer(session.id, item.id, "I would measure first, then decide.", 30)
        local.end_session(session.id)
    out = tmp_path / "out" / "ada.md"
    out.parent.mkdir()
    written = _cli(tmp_path / "data", "--db", url, "report", session.id, "-o", str(out))
    assert written.returncode == 0, written.stderr
    copies = list((tmp_path / "out" / "ada-whiteboards").iterdir())
    assert len(copies) == 1 and copies[0].read_bytes() == PNG and copies[0].suffix == ".png"
    assert f"](ada-whiteboards/{copies[0].name})" in out.read_text()
    html = _cli(tmp_path / "data", "--db", url, "report", session.id, "--format", "html")
    assert html.returncode == 0, html.stderr
    assert 'src="data:image/png;base64,iVBORw0KGgo' in html.stdout
