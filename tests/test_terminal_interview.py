"""`rehearse interview` driven through a pseudo-terminal, as a person would use it.

The pty tests run the real process (signals, a terminal); option errors and the
scripted-model interview, which need neither, run in-process.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pexpect
import pytest

from command_line import run, run_json
from rehearse.bank import load_bank

if TYPE_CHECKING:
    Spawn = pexpect.spawn[str]
else:
    Spawn = pexpect.spawn

pytestmark = pytest.mark.slow  # real processes: scheduled first (tests/conftest.py)

BANK = load_bank()
TIMEOUT = 60


def spawn(args: list[str], data_dir: Path) -> Spawn:
    env = {**os.environ, "REHEARSE_DATA_DIR": str(data_dir), "COLUMNS": "120", "TERM": "dumb"}
    env.pop("REHEARSE_DATABASE_URL", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rehearse", *args],
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(50, 120),
    )
    return child


def cli_json(data_dir: Path, *args: str) -> object:
    """What the saved session looks like, read in-process on the interview's data directory."""
    return run_json(*args, env={"REHEARSE_DATA_DIR": str(data_dir), "REHEARSE_DATABASE_URL": None})


def session_id_of(child: Spawn) -> str:
    child.expect(r"Session ([0-9a-f-]{36})\.")
    assert isinstance(child.match, re.Match)
    return str(child.match.group(1))


def answer_current(child: Spawn) -> str:
    """Read the shown question, answer it with its reference answer (the bank's), return its text."""
    child.expect(r"(Question \d+ of \d+|Follow-up)[^\n]*\n(.*?)╰", timeout=TIMEOUT)
    assert isinstance(child.match, re.Match)
    shown = " ".join(line.strip("│ ").strip() for line in child.match.group(2).splitlines()).strip()
    question = next((q for q in BANK if " ".join(q.text.split()) == " ".join(shown.split())), None)
    child.expect("> ")
    text = (
        question.reference_answer
        if question
        else "I would start from the requirements and measure."
    )
    for line in text.strip().splitlines():
        if line.strip():
            child.sendline(line)
    child.sendline("")
    return shown


def test_full_interview_through_a_terminal(tmp_path: Path) -> None:
    child = spawn(
        [
            "interview",
            "--name",
            "Ada",
            "--questions",
            "3",
            "--type",
            "technical",
            "--mode",
            "mock",
            "--seed",
            "4",
            "--minutes",
            "20",
        ],
        tmp_path,
    )
    session_id = session_id_of(child)
    first = answer_current(child)
    child.expect("Answer saved.")
    child.expect("> ")
    child.sendline("/help")
    child.expect("/skip")
    child.expect("> ")
    child.sendline("/pause")
    child.expect("Paused.")
    child.sendline("/resume")
    child.expect("Resumed.")
    # the question is shown again after the pause; answer it (a follow-up or the next question)
    answer_current(child)
    child.expect("Answer saved.")
    child.expect("> ")
    child.sendline("/end")
    child.expect("Interview report: Ada")
    child.expect("Overall score: (\\d+)/100")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    session = cli_json(tmp_path, "sessions", "show", session_id)
    assert isinstance(session, dict)
    assert session["status"] == "completed" and session["report_status"] == "ready"
    report = cli_json(tmp_path, "report", session_id)
    assert isinstance(report, dict)
    assert report["answered"] >= 1
    assert report["questions"][0]["text"] == first
    assert report["questions"][0]["score"] >= 60  # the reference answer scores well
    events = cli_json(tmp_path, "sessions", "events", session_id)
    assert isinstance(events, list)
    types = [e["type"] for e in events]
    assert (
        types.count("answer_submitted") == 2
        and "session_paused" in types
        and "session_resumed" in types
    )


def test_ctrl_c_pauses_and_resume_continues(tmp_path: Path) -> None:
    child = spawn(
        [
            "interview",
            "--name",
            "Bo",
            "--questions",
            "2",
            "--type",
            "behavioral",
            "--mode",
            "practice",
            "--seed",
            "9",
        ],
        tmp_path,
    )
    session_id = session_id_of(child)
    answer_current(child)
    child.expect(r"Score \d+/100")
    child.expect("> ")
    child.sendintr()
    child.expect(f"Paused and saved. Continue with: rehearse interview --resume {session_id}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    saved = cli_json(tmp_path, "sessions", "show", session_id)
    assert isinstance(saved, dict) and saved["status"] == "paused"
    assert saved["progress"]["answered"] == 1

    resumed = spawn(["interview", "--resume", session_id], tmp_path)
    resumed.expect(f"Continuing session {session_id}")
    resumed.expect("> ")
    resumed.sendline("/skip")
    resumed.expect("Skipped.")
    # after the last question the interview ends by itself and prints the report
    while True:
        index = resumed.expect(["> ", "Interview report: Bo"])
        if index == 1:
            break
        resumed.sendline("/skip")
    resumed.expect(pexpect.EOF)
    resumed.close()
    assert resumed.exitstatus == 0
    final = cli_json(tmp_path, "sessions", "show", session_id)
    assert isinstance(final, dict) and final["status"] == "completed"


@pytest.mark.parametrize("bad", [["--minutes", "2"], ["--level", "guru"]])
def test_bad_options_are_one_line_errors(tmp_path: Path, bad: list[str]) -> None:
    result = run("interview", *bad, env={"REHEARSE_DATA_DIR": str(tmp_path)}, ok=False)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_interview_with_an_ai_provider_chosen_on_the_command_line(tmp_path: Path) -> None:
    """The shipped scripted `test` model stands in for an LLM: no network, same path."""
    result = run(
        "interview",
        "--name",
        "Ada",
        "--questions",
        "1",
        "--provider",
        "test",
        "--model",
        "interviewer",
        stdin="I would add an index on the filtered column and check the query plan.\n\n/end\n",
        env={"REHEARSE_DATA_DIR": str(tmp_path), "REHEARSE_DATABASE_URL": None},
        ok=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Interview report: Ada" in result.stdout
    assert "by test:interviewer." in result.stdout  # the LLM path scored it
    assert 'You said "I would add an index' in result.stdout  # a follow-up reacting to the answer


def test_retry_in_practice_mode_and_code_blocks_keep_blank_lines(tmp_path: Path) -> None:
    child = spawn(
        [
            "interview",
            "--name",
            "Cy",
            "--questions",
            "2",
            "--type",
            "coding",
            "--mode",
            "practice",
            "--seed",
            "5",
            "--minutes",
            "180",
        ],
        tmp_path,
    )
    session_id = session_id_of(child)
    child.expect(r"Question 1 of 2 · Coding · \d:\d\d:\d\d left of 3:00:00 · suggested \d+:\d\d")
    child.expect(r"\n(.*?)╰")
    assert isinstance(child.match, re.Match)
    shown = " ".join(line.strip("│ ").strip() for line in child.match.group(1).splitlines())
    question = next(q for q in BANK if " ".join(q.text.split()) == " ".join(shown.split()))
    child.expect("> ")
    child.sendline("/retry")
    child.expect("Nothing to try again yet")
    child.expect("> ")
    child.sendline("It depends.")
    child.sendline("")
    child.expect(r"Score (\d+)/100")
    assert isinstance(child.match, re.Match)
    thin = int(child.match.group(1))
    child.expect("/retry answers it again")
    child.expect("> ")
    child.sendline("/retry")
    child.expect("the best attempt counts")
    child.expect("Trying again")
    child.expect("> ")
    for line in question.reference_answer.strip().splitlines():
        if line.strip():
            child.sendline(line)
    code = ["```python", "def f(xs):", "", "    return xs", "```"]
    for line in code:
        child.sendline(line)
    child.sendline("")
    child.expect(r"Score (\d+)/100")
    assert isinstance(child.match, re.Match)
    assert int(child.match.group(1)) > thin
    child.expect("> ")
    child.sendline("/end")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    events = cli_json(tmp_path, "sessions", "events", session_id)
    assert isinstance(events, list)
    answers = [e["data"] for e in events if e["type"] == "answer_submitted"]
    assert [a["item_id"] for a in answers[:2]] == [question.id, question.id]
    assert answers[1]["text"].endswith("\n".join(code))  # the blank line inside is kept
    report = cli_json(tmp_path, "report", session_id)
    assert isinstance(report, dict)
    assert report["questions"][0]["attempts"] == 2
    assert report["questions"][0]["score"] > thin  # the best attempt counts


def test_states_are_said_plainly_and_a_half_typed_answer_survives_ctrl_c(tmp_path: Path) -> None:
    """Issue 11 item 9: the name is asked, paused input is refused aloud, drafts are kept,
    and a final session is called final."""
    child = spawn(["interview", "--questions", "2", "--type", "technical", "--seed", "4"], tmp_path)
    child.expect("Your name")
    child.sendline("Rosa")
    session_id = session_id_of(child)
    child.expect("> ")
    child.sendline("/pause")
    child.expect(r"\(paused\) ")
    child.sendline("this is not an answer")
    child.expect("Ignored: the interview is paused")
    child.sendline("/resume")
    child.expect("Resumed.")
    child.expect("> ")
    child.sendline("An index is a B-tree that keeps keys sorted")
    child.expect("  ")
    child.sendintr()
    child.expect("Paused and saved")
    child.expect(pexpect.EOF)
    child.close()

    resumed = spawn(["interview", "--resume", session_id], tmp_path)
    resumed.expect(f"Continuing session {session_id}")
    resumed.expect("Your unfinished answer was kept")
    resumed.expect("An index is a B-tree that keeps keys sorted")
    resumed.sendline("so range scans read few pages.")
    resumed.sendline("")
    resumed.expect("Answer saved|Score")
    resumed.expect("> ")
    resumed.sendline("/end")
    resumed.expect("Interview report: Rosa")
    resumed.expect(pexpect.EOF)
    resumed.close()
    answers = cli_json(tmp_path, "sessions", "show", session_id)
    assert isinstance(answers, dict) and answers["status"] == "completed"
    assert answers["config"]["candidate_name"] == "Rosa"

    final = spawn(["interview", "--resume", session_id], tmp_path)
    final.expect("is completed: it is over and cannot continue")
    final.expect("Interview report: Rosa")
    final.expect(pexpect.EOF)
    final.close()
    assert final.exitstatus == 0


def test_a_report_of_a_running_session_says_it_is_provisional(tmp_path: Path) -> None:
    env = {"REHEARSE_DATA_DIR": str(tmp_path), "REHEARSE_DATABASE_URL": None}
    created = run_json("sessions", "create", "--candidate-name", "Ada", "--json", env=env)
    assert isinstance(created, dict)
    result = run("report", created["id"], env=env)
    assert "provisional report of a session in progress" in result.stderr


def test_path_starts_the_next_session_of_the_learning_path(tmp_path: Path) -> None:
    """``--path`` asks the practice set: the poorly answered question is back for review."""
    from datetime import UTC, datetime, timedelta

    from progress_history import ScriptedEvaluator, run_session
    from rehearse.clock import FakeClock, SystemClock
    from rehearse.service.sessions import SessionManager
    from rehearse.storage import open_store

    url = f"sqlite:///{tmp_path / 'path.db'}"
    store = open_store(url)
    clock = FakeClock(datetime.now(UTC) - timedelta(days=10))
    history = SessionManager(store, clock, evaluator=ScriptedEvaluator())
    earlier = history.get_session(run_session(history, clock, [40, 90], seed=2))
    assert earlier.interview is not None
    poor, good = (item.question_id for item in earlier.interview.items[:2])
    expected = SessionManager(store, SystemClock()).generate_learning_path("ada@example.com")
    store.close()
    assert expected.next_practice_set[0].question_id == poor  # due 1 day after, 10 days ago

    run("--db", url, "progress", "--as", "ada@example.com")  # who "me" is
    result = run("--db", url, "interview", "--path", stdin="/end\n")
    assert "Learning path of ada@example.com" in result.stdout
    assert "1 review due" in result.stdout
    [created] = [
        s for s in run_json("--db", url, "sessions", "list")["sessions"] if s["id"] != earlier.id
    ]
    config = created["config"]
    assert config["question_ids"] == [p.question_id for p in expected.next_practice_set]
    assert good not in config["question_ids"]  # answered well: it moves on
    assert config["candidate_email"] == "ada@example.com" and config["mode"] == "practice"
    assert config["level"] == expected.target_level.value
    shown = run_json("--db", url, "sessions", "show", created["id"])
    assert shown["status"] == "completed"
    report = run_json("--db", url, "report", created["id"])
    assert [q["id"] for q in report["questions"]] == config["question_ids"]


def test_path_and_resume_together_are_refused(tmp_path: Path) -> None:
    result = run("interview", "--path", "--resume", "abcdef", ok=False)
    assert result.returncode == 2 and "--path starts a new session" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
