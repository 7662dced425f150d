"""A user's data: export then import gives the same progress; deletion leaves nothing of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner

from progress_history import ScriptedEvaluator, run_session
from rehearse.cli import app
from rehearse.clock import FakeClock
from rehearse.domain.access import Principal, PrincipalRole
from rehearse.errors import AccessDeniedError, ConfigurationError
from rehearse.service.sessions import SessionManager
from rehearse.service.userdata import EXPORT_VERSION, UserData
from rehearse.storage import SQLStore, open_store

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "export-schema.json"


@pytest.fixture
def scripted(store: SQLStore, clock: FakeClock, tmp_path: Path) -> SessionManager:
    return SessionManager(store, clock, evaluator=ScriptedEvaluator(), folders=tmp_path / "files")


def history(manager: SessionManager, clock: FakeClock) -> list[str]:
    ids = []
    histories: list[list[int | None]] = [[40, 60], [70, None], [85, 90]]
    for seed, scores in enumerate(histories):
        ids.append(run_session(manager, clock, scores, seed=seed))
        clock.advance(2 * 24 * 3600)
    ids.append(run_session(manager, clock, [55], email="bob@example.com", seed=9))
    return ids


def test_export_then_import_into_a_fresh_database_gives_the_same_progress(
    scripted: SessionManager, clock: FakeClock, tmp_path: Path
) -> None:
    history(scripted, clock)
    scripted.get_milestones("ada@example.com")  # recorded as events: they travel too
    document = UserData(scripted).export_user("ada@example.com")
    assert document["format"] == "rehearse-export" and document["version"] == EXPORT_VERSION
    assert len(document["sessions"]) == 3
    json.dumps(document)  # plain JSON
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        other = SessionManager(fresh, clock, evaluator=ScriptedEvaluator())
        assert UserData(other).import_document(json.loads(json.dumps(document))) == 3
        assert other.get_user_progress("ada@example.com") == scripted.get_user_progress(
            "ada@example.com"
        )
        assert other.get_milestones("ada@example.com") == scripted.get_milestones("ada@example.com")
        with pytest.raises(ConfigurationError, match="already exists"):
            UserData(other).import_document(document)
    finally:
        fresh.close()


def test_import_refuses_what_is_not_an_export(scripted: SessionManager) -> None:
    data = UserData(scripted)
    with pytest.raises(ConfigurationError, match="not a rehearse export"):
        data.import_document({"sessions": []})
    with pytest.raises(ConfigurationError, match="version=99"):
        data.import_document({"format": "rehearse-export", "version": 99})
    with pytest.raises(ConfigurationError, match=r"sessions\[0\]"):
        data.import_document(
            {"format": "rehearse-export", "version": 1, "sessions": [{"session": {}}]}
        )


def test_the_schema_document_describes_the_export(
    scripted: SessionManager, clock: FakeClock
) -> None:
    schema = json.loads(SCHEMA.read_text())
    run_session(scripted, clock, [70], seed=1)
    document = UserData(scripted).export_user("ada@example.com")
    assert schema["properties"]["version"]["const"] == EXPORT_VERSION
    assert set(schema["required"]) <= set(document)
    entry = schema["properties"]["sessions"]["items"]
    assert set(entry["required"]) <= set(document["sessions"][0])
    event = entry["properties"]["events"]["items"]
    assert set(event["required"]) <= set(document["sessions"][0]["events"][0])


def rows_of(store: SQLStore, needles: tuple[str, ...]) -> list[str]:
    """Every row in every table whose text mentions one of ``needles`` (table: row)."""
    found = []
    with store.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                cells = " ".join(str(v) for v in row).lower()
                if any(n in cells for n in needles):
                    found.append(f"{table}: {cells[:80]}")
    return found


def test_deletion_leaves_no_row_and_no_file_and_others_untouched(
    scripted: SessionManager, clock: FakeClock, store: SQLStore, tmp_path: Path
) -> None:
    ids = history(scripted, clock)
    for session_id in ids:
        folder = scripted.folders.folder(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "whiteboard.png").write_bytes(b"png")
    bob_before = scripted.get_user_progress("bob@example.com")
    ada_ids = tuple(ids[:3])
    assert rows_of(store, ("ada@example.com", *ada_ids))
    details = UserData(scripted).delete_user("ada@example.com")
    assert details["sessions"] == 3 and details["files"] == 3
    assert details["rows"]["sessions"] == 3 and details["rows"]["session_events"] > 0
    assert rows_of(store, ("ada@example.com", *ada_ids)) == []
    assert not any(scripted.folders.folder(i).exists() for i in ada_ids)
    assert scripted.folders.folder(ids[3]).exists()
    assert scripted.get_user_progress("bob@example.com") == bob_before
    [entry] = UserData(scripted).audit_entries()
    assert entry["action"] == "user_data_deleted" and entry["details"]["sessions"] == 3
    assert "ada" not in json.dumps(entry)  # counts and a hash, never the content


def test_who_may_delete(scripted: SessionManager, clock: FakeClock) -> None:
    history(scripted, clock)
    data = UserData(scripted)
    coach = Principal(id="coach", role=PrincipalRole.INTERVIEWER)
    with pytest.raises(AccessDeniedError, match="ask an admin"):
        data.delete_user("ada@example.com", coach)
    bob = Principal(id="u-bob", role=PrincipalRole.CANDIDATE, email="bob@example.com")
    with pytest.raises(AccessDeniedError):
        data.delete_user("ada@example.com", bob)
    assert data.delete_user("me", bob)["sessions"] == 1  # a candidate deletes their own data
    with pytest.raises(ConfigurationError, match="name one user"):
        data.delete_user("*")
    with pytest.raises(AccessDeniedError):
        data.audit_entries(bob)


def test_cli_export_import_and_delete(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    manager = SessionManager(store, clock, evaluator=ScriptedEvaluator())
    ids = history(manager, clock)
    store.close()
    runner = CliRunner()
    out = tmp_path / "ada.json"
    result = runner.invoke(
        app, ["--db", url, "export", "--user", "ada@example.com", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["sessions"]) == 3
    csv = runner.invoke(app, ["--db", url, "export", ids[0], "--format", "csv"])
    assert csv.exit_code == 0 and csv.output.splitlines()[0].startswith("session_id,item_id")
    report = runner.invoke(app, ["--db", url, "export", ids[0], "--format", "md"])
    assert report.exit_code == 0 and "# " in report.output
    zipped = tmp_path / "ada.zip"
    as_zip = runner.invoke(
        app, ["--db", url, "export", "--user", "ada@example.com", "-o", str(zipped)]
    )
    assert as_zip.exit_code == 0 and zipped.read_bytes().startswith(b"PK")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    imported = runner.invoke(app, ["--db", other, "import", str(out), "--json"])
    assert imported.exit_code == 0 and json.loads(imported.output) == {
        "imported_sessions": 3,
        "restored_files": 0,
    }
    refused = runner.invoke(app, ["--db", url, "users", "delete", "ada@example.com"], input="n\n")
    assert refused.exit_code == 1
    deleted = runner.invoke(app, ["--db", url, "users", "delete", "ada@example.com", "--yes"])
    assert deleted.exit_code == 0 and "deleted 3 session(s)" in deleted.output
    check = open_store(url)
    try:
        with check.engine.connect() as connection:
            left = connection.execute(select(text("count(*)")).select_from(text("sessions")))
            assert left.scalar_one() == 1
    finally:
        check.close()


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def session_with_files(manager: SessionManager, clock: FakeClock, seed: int) -> str:
    """A session with a whiteboard drawing, a recorded answer and its transcript."""
    session = manager.create_session(
        {"candidate_name": "Ada", "candidate_email": "ada@example.com", "plan_seed": seed,
         "question_count": 2, "max_follow_ups": 0, "enabled_modes": ["text", "whiteboard"]}
    )  # fmt: skip
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    manager.save_whiteboard(session.id, item.id, PNG + bytes([seed]))
    clock.advance(60)
    manager.submit_answer(session.id, item.id, f"{70 + seed} points, drawn", 60)
    # what a spoken answer stores (service/spoken_answers.py), through the same folder API
    manager.folders.add_file(session.id, "audio", "001_answer.wav", b"RIFF" + bytes(999), {})
    manager.folders.add_file(session.id, "transcript", "001_answer.txt", "ünïcode".encode(), {})
    manager.end_session(session.id)
    return session.id


def folder_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_an_export_with_files_is_a_zip_that_restores_them_byte_for_byte(
    tmp_path: Path, clock: FakeClock
) -> None:
    from zipfile import ZipFile

    from command_line import run

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old_data = tmp_path / "old-data"
    store = open_store(url)
    manager = SessionManager(
        store, clock, evaluator=ScriptedEvaluator(), folders=old_data / "sessions"
    )
    ids = [session_with_files(manager, clock, seed) for seed in (1, 2)]
    ids.append(run_session(manager, clock, [50], seed=3))  # no files
    before = manager.get_user_progress("ada@example.com")
    milestones = manager.get_milestones("ada@example.com")
    store.close()
    env = {"REHEARSE_DATA_DIR": str(old_data)}
    archive = tmp_path / "ada.zip"
    run("--db", url, "export", "--user", "ada@example.com", "-o", str(archive), env=env)
    with ZipFile(archive) as opened:
        names = set(opened.namelist())
        document = json.loads(opened.read("export.json"))
        report = opened.read(f"sessions/{ids[0]}/report.md").decode()
    assert {f"sessions/{i}/report.md" for i in ids} <= names
    assert f"sessions/{ids[0]}/files/audio/001_answer.wav" in names
    assert f"sessions/{ids[0]}/files/transcript/001_answer.txt" in names
    assert "](files/whiteboard/" in report  # the drawing is linked inside the archive
    import re

    folder_schema = json.loads(SCHEMA.read_text())["properties"]["sessions"]["items"]
    folder_schema = folder_schema["properties"]["folder"]["items"]
    for entry in document["sessions"]:  # what the schema says of every listed file
        for item in entry["folder"]:
            assert set(item) == set(folder_schema["required"])
            assert re.match(folder_schema["properties"]["path"]["pattern"], item["path"])
            assert re.match(folder_schema["properties"]["sha256"]["pattern"], item["sha256"])
    listed = {e["session"]["id"]: e["folder"] for e in document["sessions"]}
    assert listed[ids[2]] == [] and {f["path"] for f in listed[ids[0]]} >= {
        "metadata.json",
        "audio/001_answer.wav",
    }
    as_json = run(
        "--db", url, "export", "--user", "ada@example.com", "-o", str(tmp_path / "a.json"),
        env=env, ok=False,
    )  # fmt: skip
    assert as_json.returncode == 2 and "this export has" in as_json.stderr
    assert len(as_json.stderr.splitlines()) == 1 and not (tmp_path / "a.json").exists()

    new_url = f"sqlite:///{tmp_path / 'new.db'}"
    new_data = tmp_path / "new-data"
    imported = run(
        "--db", new_url, "import", str(archive), "--json", env={"REHEARSE_DATA_DIR": str(new_data)}
    )
    assert json.loads(imported.stdout) == {
        "imported_sessions": 3,
        "restored_files": sum(len(v) for v in listed.values()),
    }
    for session_id in ids:
        assert folder_bytes(new_data / "sessions" / session_id) == folder_bytes(
            old_data / "sessions" / session_id
        )
    fresh = open_store(new_url)
    try:
        other = SessionManager(
            fresh, clock, evaluator=ScriptedEvaluator(), folders=new_data / "sessions"
        )
        assert other.get_user_progress("ada@example.com") == before
        assert other.get_milestones("ada@example.com") == milestones
        assert (
            other.whiteboard_for(
                ids[0],
                other.get_session(ids[0]).interview.items[0].id,  # type: ignore[union-attr]
                Principal(id="local", role=PrincipalRole.ADMIN),
            ).read_bytes()
            == PNG + b"\x01"
        )
    finally:
        fresh.close()
    # a second import is refused before any file is touched
    again = run(
        "--db", new_url, "import", str(archive), env={"REHEARSE_DATA_DIR": str(new_data)}, ok=False
    )
    assert again.returncode == 2 and "already holds files" in again.stderr


def test_a_damaged_archive_is_refused_before_anything_is_written(
    tmp_path: Path, scripted: SessionManager, clock: FakeClock
) -> None:
    import io
    from zipfile import ZipFile

    session_id = session_with_files(scripted, clock, 1)
    data = UserData(scripted)
    buffer = io.BytesIO()
    data.write_archive(data.export_session(session_id), buffer)
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        other = SessionManager(fresh, clock, folders=tmp_path / "other")
        damaged = io.BytesIO()
        with ZipFile(io.BytesIO(buffer.getvalue())) as source, ZipFile(damaged, "w") as target:
            for info in source.infolist():
                body = source.read(info)
                if info.filename.endswith(".wav"):
                    body = body[:-1] + b"X"
                target.writestr(info, body)
        with pytest.raises(ConfigurationError, match="SHA-256"):
            UserData(other).import_archive(io.BytesIO(damaged.getvalue()))
        climbing = io.BytesIO()
        document = json.loads(ZipFile(io.BytesIO(buffer.getvalue())).read("export.json"))
        document["sessions"][0]["folder"][0]["path"] = "../../escape.txt"
        with ZipFile(climbing, "w") as target:
            target.writestr("export.json", json.dumps(document))
        with pytest.raises(ConfigurationError, match="leaves its session folder"):
            UserData(other).import_archive(io.BytesIO(climbing.getvalue()))
        assert not (tmp_path / "other").exists() and other.store.get(session_id) is None
        assert UserData(other).import_archive(io.BytesIO(buffer.getvalue()))[0] == 1
    finally:
        fresh.close()
