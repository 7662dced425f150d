"""The terminal waits for a model's late evaluation with a spinner that Ctrl-C skips (issue 15).

In-process through the real CLI, against the local OpenAI-compatible test server, whose
evaluation reply is held back past the answer deadline.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import command_line
from rehearse.service.sessions import SessionManager

from .openai_server import FakeOpenAI, Reply

ANSWERS = "I would add a covering index and check the query plan.\n\n/end\n"


def interview(tmp_path: Path, db: str) -> command_line.Ran:
    env = {
        "REHEARSE_DATA_DIR": str(tmp_path / "data"),
        "REHEARSE_AI_ANSWER_DEADLINE_SECONDS": "0.05",
    }
    return command_line.run(
        "--db", db, "interview", "--name", "Ada", "--provider", "openai", "--model",
        "gpt-fake", "--questions", "1", "--mode", "practice", "--seed", "3",
        env=env, stdin=ANSWERS, ok=False,
    )  # fmt: skip


def said(ran: command_line.Ran) -> str:
    """What the terminal printed, with Rich's line wrapping squashed (its width varies)."""
    return " ".join(ran.stdout.split())


def evaluations(db: str) -> list[dict[str, object]]:
    with SessionManager.from_url(db) as manager:
        [session] = manager.list_sessions().sessions
        return [e.data for e in manager.get_events(session.id, types=["answer_evaluated"])]


def test_the_terminal_waits_for_the_models_late_evaluation(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    openai_server.script = [Reply(), Reply(delay=1.0)]  # the plan at once, the evaluation late
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    ran = interview(tmp_path, db)
    assert ran.returncode == 0, ran.stderr
    assert "so this is the offline evaluation" in said(ran)
    assert "The AI's evaluation arrived; it replaces the offline one." in said(ran)
    assert "Skipped waiting" not in said(ran)
    provisional, final = evaluations(db)[:2]
    assert provisional["provisional"] is True
    assert final["replaces_provisional"] is True
    assert final["evaluation"]["evaluator"] == "openai:gpt-fake"  # type: ignore[index]


def test_ctrl_c_skips_the_wait_and_the_interview_goes_on(
    tmp_path: Path, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_server.script = [Reply(), Reply(delay=1.5)]

    def ctrl_c(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("rehearse.cli.interview._pause", ctrl_c)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    started = time.monotonic()
    ran = interview(tmp_path, db)
    assert ran.returncode == 0, ran.stderr
    assert "Skipped waiting: the AI's evaluation replaces this one when it lands." in said(ran)
    assert "The AI's evaluation arrived" not in said(ran)
    assert "Interview report:" in said(ran)  # /end was read: the interview went on
    # the model's evaluation still lands after the skip
    deadline = started + 30
    while time.monotonic() < deadline and len(evaluations(db)) < 2:
        time.sleep(0.1)
    assert evaluations(db)[-1]["replaces_provisional"] is True
