"""The browser pages, driven in Debian's Chromium (Playwright) against the real server.

A session-scoped fixture runs ``python -m rehearse serve`` on a fresh SQLite file; each test
drives the pages as a candidate would and saves full-page screenshots under
``test-output/screenshots/``. Every page runs with the network unplugged (a request to any
other host is aborted and fails the test), and any JavaScript error fails the test.

Without Chromium the tests skip with the reason, unless ``REHEARSE_REQUIRE_BROWSER=1`` (as
in CI), which makes them fail instead. Playwright's own browser downloads are never used.

The fixtures live here rather than in ``tests/browser/conftest.py``: a second ``conftest``
module outside a package collides with ``tests/conftest.py`` under mypy.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    WebSocketRoute,
    expect,
)

from command_line import SERVER_START_SECONDS
from rehearse.domain.config import SessionConfig
from rehearse.web.pages import NOT_ON_FORM

CHROMIUM = Path(os.environ.get("REHEARSE_TEST_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("REHEARSE_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ROOM_URL = re.compile(r"/sessions/[0-9a-f-]{36}$")


# -- the server and the browser ------------------------------------------------------------------


class Server:
    """A running ``rehearse serve`` and a small JSON client to set up test data."""

    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.base_url = base_url
        self.process = process
        self.log = log

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the REST API and decode its JSON (an HTTP error raises)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        request = urllib.request.Request(self.base_url + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def create_session(self, **config: Any) -> dict[str, Any]:
        """A new session (status ``created``) through the API."""
        config.setdefault("candidate_name", "Test Candidate")
        created: dict[str, Any] = self.api("POST", "/api/v1/sessions", config)
        return created

    def started(self, **config: Any) -> dict[str, Any]:
        """A new session, already started."""
        session = self.create_session(**config)
        moved: dict[str, Any] = self.api("POST", f"/api/v1/sessions/{session['id']}/start")
        return moved

    def events(self, session_id: str, type_: str) -> list[dict[str, Any]]:
        """The session's events of one type, oldest first."""
        events: list[dict[str, Any]] = self.api("GET", f"/api/v1/sessions/{session_id}/events")
        return [e for e in events if e["type"] == type_]

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 10 s."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(data_dir: Path, *options: str) -> Server:
    """Start ``python -m rehearse serve`` on a free port and wait until ``/readyz`` says ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REHEARSE_")}
    env["REHEARSE_DATA_DIR"] = str(data_dir)
    port = _free_port()
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "rehearse", "serve", "--port", str(port), *options],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"rehearse serve exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            # a loaded machine may take more than a second to answer the first request:
            # each try may use what is left of the 30 s, so a slow answer is not refused
            left = max(0.1, deadline - time.monotonic())
            with urllib.request.urlopen(server.base_url + "/readyz", timeout=left) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(
        f"rehearse serve was not ready after {SERVER_START_SECONDS:g} s:\n{log.read_text()}"
    )


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    launched = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def server(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real app on a fresh SQLite file, shared by the browser tests."""
    running = start_server(tmp_path_factory.mktemp("rehearse-data"))
    yield running
    running.stop()


def _open(browser: Browser, server: Server, **options: Any) -> tuple[BrowserContext, list[str]]:
    """A fresh browser profile that aborts (and records) every request to another host."""
    context = browser.new_context(base_url=server.base_url, **options)
    context.set_default_timeout(10_000)
    outside: list[str] = []
    own = urlsplit(server.base_url).netloc

    def unplugged(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", unplugged)
    return context, outside


def _watched(context: BrowserContext, outside: list[str]) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert outside == [], f"the page asked the network for {outside}"
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A page at 1280x800 with the network unplugged; JavaScript errors fail the test."""
    yield from _watched(*_open(browser, server, viewport=DESKTOP))


@pytest.fixture
def phone(browser: Browser, server: Server) -> Iterator[Page]:
    """The same at 390x844, as a touch phone."""
    yield from _watched(*_open(browser, server, viewport=PHONE, is_mobile=True, has_touch=True))


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-output/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # sticky parts where a reader first sees them
    page.screenshot(path=str(path), full_page=True)
    return path


# -- answers and readings --------------------------------------------------------------------------

BEHAVIORAL_ANSWER = (
    "Situation: last spring our checkout service started timing out for about five percent of "
    "users right after a release, and I was the on-call engineer.\n"
    "Task: I had to restore service quickly and find the root cause so it would not happen again.\n"
    "Action: I rolled the release back within ten minutes, told the team and support what was "
    "happening, then reproduced the problem with a load test. I found a query that lost its index "
    "in a migration, added the index back, wrote a regression test and a short blameless "
    "post-mortem.\n"
    "Result: errors dropped to zero, p95 latency fell from 2.1 seconds to 300 milliseconds, and we "
    "added an index review to our release checklist, which caught two similar problems since."
)
FOLLOW_UP_ANSWER = (
    "Concretely: we measured it first, because guessing wastes time. For example, in my last team "
    "I added tracing, found the slowest step, fixed it and confirmed the result with the same "
    "metric, then documented the trade-off so the next person understood why."
)


def technical_answer(question: str) -> str:
    """A plausible, specific answer that reuses the question's own terms."""
    terms = ", ".join(w.strip("?,.()") for w in question.split() if len(w) > 6)[:200]
    return (
        f"It depends on the requirements, so I would start from them and the trade-offs around "
        f"{terms}. First I would explain how it works and why: the main components, the data flow, "
        "and what happens under failure. For example, in a service handling 2,000 requests per "
        "second I would add caching with a clear invalidation rule, timeouts and retries with "
        "backoff, and metrics, logs and traces so we can see latency and errors. Because every "
        "choice has a cost, I would compare the simple option with the scalable one, measure with "
        "a load test, and pick the simplest design that meets the latency and consistency targets."
    )


def answer_for(page: Page) -> str:
    """An answer suited to the question on screen."""
    if page.locator("#question-kind").is_visible():
        return FOLLOW_UP_ANSWER
    if "behavioral" in page.locator("#question-category").inner_text().lower():
        return BEHAVIORAL_ANSWER
    return technical_answer(page.locator("#question-text").inner_text())


def timer_seconds(page: Page) -> int:
    """The countdown on screen, in seconds."""
    seconds = 0
    for part in page.locator("#timer").inner_text().split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def squash(text: str) -> str:
    return " ".join(text.split())


# -- the new-session form ----------------------------------------------------------------------


def test_form_offers_every_field_with_labels_defaults_and_help(page: Page) -> None:
    page.goto("/sessions/new")
    for name in SessionConfig.model_fields:
        if name in NOT_ON_FORM:
            continue
        fields = page.locator(f'[name="{name}"]')
        assert fields.count() >= 1, f"the form has no {name} field"
        for index in range(fields.count()):
            field_id = fields.nth(index).get_attribute("id")
            assert field_id and page.locator(f'label[for="{field_id}"]').count() == 1, name
    candidate = page.locator("#f-candidate_name")
    expect(candidate).to_have_attribute("required", "")
    # the limit is counted and refused, never cut by a maxlength attribute (issue 11, item 5)
    expect(candidate).to_have_attribute("data-maxlength", "200")
    expect(page.locator("#f-time_limit_minutes")).to_have_attribute("min", "5")
    expect(page.locator("#f-time_limit_minutes")).to_have_attribute("max", "180")
    expect(page.locator("#f-token_budget")).to_have_attribute("min", "1000")
    expect(page.locator("#f-token_budget")).to_have_attribute("max", "200000")
    expect(page.locator("#f-question_count")).to_have_attribute("max", "30")
    expect(page.locator("#f-max_follow_ups")).to_have_attribute("max", "3")
    expect(page.locator("#f-resume_text")).to_have_attribute("data-maxlength", "50000")
    for field, default in (
        ("time_limit_minutes", "45"),
        ("token_budget", "50000"),
        ("token_warning_threshold", "0.8"),
        ("ai_provider", "offline"),
        ("ai_model", "default"),
        ("max_follow_ups", "1"),
        ("role", "backend"),
        ("level", "mid"),
        ("interview_type", "mixed"),
        ("mode", "practice"),
    ):
        expect(page.locator(f"#f-{field}")).to_have_value(default)
    expect(page.locator("#f-enabled_modes-text")).to_be_checked()
    expect(page.locator("#f-enabled_modes-whiteboard")).not_to_be_checked()

    help_panel = page.locator("details.help")
    guide = help_panel.get_by_text("50,000 tokens is about a 45-minute interview", exact=False)
    expect(guide).to_be_hidden()
    help_panel.locator("summary").click()
    expect(guide).to_be_visible()
    expect(help_panel).to_contain_text("uses no tokens at all")
    screenshot(page, "new-session")


def test_form_keeps_values_shows_inline_errors_then_creates(page: Page, server: Server) -> None:
    page.goto("/sessions/new")
    # the browser's own checks would stop this submit: switch them off to reach the server's
    page.eval_on_selector("form.session-form", "form => { form.noValidate = true; }")
    page.fill("#f-candidate_name", "   ")
    page.fill("#f-time_limit_minutes", "2")
    page.select_option("#f-role", "frontend")
    page.check("#f-enabled_modes-whiteboard")
    page.fill("#f-job_description", "Frontend engineer: React, accessibility, performance.")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button:has-text('Create session')")
    assert posted.value.status == 422
    expect(page.locator("#candidate_name-error")).to_have_text("Must not be blank.")
    expect(page.locator("#time_limit_minutes-error")).to_have_text("Must be between 5 and 180.")
    expect(page.locator("#f-candidate_name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-time_limit_minutes")).to_have_attribute(
        "aria-describedby", "time_limit_minutes-hint time_limit_minutes-error"
    )
    expect(page.locator("#error-summary")).to_contain_text("Please fix 2 problems")
    expect(page.locator("#f-time_limit_minutes")).to_have_value("2")
    expect(page.locator("#f-role")).to_have_value("frontend")
    expect(page.locator("#f-enabled_modes-whiteboard")).to_be_checked()
    expect(page.locator("#f-job_description")).to_have_value(
        "Frontend engineer: React, accessibility, performance."
    )
    expect(page.locator("#f-token_budget")).to_have_value("50000")
    expect(page.locator("#f-token_budget")).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, "new-session-invalid")

    page.fill("#f-candidate_name", "Ada Lovelace")
    page.fill("#f-time_limit_minutes", "20")
    page.fill("#f-question_count", "3")
    page.click("button:has-text('Create session')")
    page.wait_for_url(ROOM_URL)
    expect(page.locator("h1")).to_have_text("Interview: Ada Lovelace")
    expect(page.locator("#start-btn")).to_be_visible()
    session = server.api("GET", "/api/v1/sessions/" + page.url.rsplit("/", 1)[1])
    config = session["config"]
    assert (config["role"], config["time_limit_minutes"], config["question_count"]) == (
        "frontend",
        20,
        3,
    )
    assert config["enabled_modes"] == ["text", "whiteboard"]
    assert config["job_description"].startswith("Frontend engineer")
    assert config["candidate_email"] is None and config["plan_seed"] is None


# -- the interview room ----------------------------------------------------------------------------


def test_whole_interview_with_follow_ups_then_report(page: Page, server: Server) -> None:
    session = server.create_session(
        candidate_name="Grace Hopper", question_count=3, time_limit_minutes=30, plan_seed=7
    )
    sid = session["id"]
    page.goto(f"/sessions/{sid}")
    expect(page.locator("#start-btn")).to_be_visible()
    expect(page.locator("#progress-text")).to_have_text("Question 1 of 3")
    expect(page.locator("#panel-question")).to_be_hidden()
    screenshot(page, "interview-created")
    page.click("#start-btn")
    expect(page.locator("#answer")).to_be_focused()
    expect(page.locator("#status-badge")).to_have_text("Active")

    main_answers: list[str] = []
    follow_ups = 0
    for turn in range(12):
        if page.locator("#panel-done").is_visible():
            break
        question = page.locator("#question-text").inner_text()
        is_follow_up = page.locator("#question-kind").is_visible()
        expected = (
            f"Question {len(main_answers)} of 3 · follow-up"
            if is_follow_up
            else f"Question {len(main_answers) + 1} of 3"
        )
        expect(page.locator("#progress-text")).to_have_text(expected)
        text = answer_for(page)
        page.fill("#answer", text)
        if turn == 0:
            screenshot(page, "interview-active")
        if turn % 2:
            page.press("#answer", "Control+Enter")  # the keyboard shortcut submits too
        else:
            page.click("#submit-btn")
        page.wait_for_function(
            "old => document.getElementById('question-text').textContent !== old"
            " || !document.getElementById('panel-done').hidden",
            arg=question,
        )
        follow_ups += is_follow_up
        if not is_follow_up:
            main_answers.append(text)
        expect(page.locator("#feedback")).to_be_visible()
        expect(page.locator("#feedback-score")).to_have_text(re.compile(r"^\d{1,3}/100$"))
        expect(page.locator("#feedback-question")).to_have_text(question)
        if is_follow_up:
            screenshot(page, "interview-after-follow-up")
        elif turn == 0:
            screenshot(page, "interview-feedback")
    else:
        pytest.fail("the interview did not finish in 12 answers")

    assert len(main_answers) == 3
    plan = server.api("GET", f"/api/v1/sessions/{sid}/plan")
    assert [item["status"] for item in plan["items"]] == ["answered"] * len(plan["items"])
    assert plan["progress"]["follow_ups"] == follow_ups
    expect(page.locator("#progress-text")).to_have_text("3 of 3 questions done")
    screenshot(page, "interview-done")

    page.click("#panel-done button")
    expect(page.locator("#end-dialog")).to_be_visible()
    page.click("#end-confirm")
    page.wait_for_url(re.compile(r"/report$"))
    expect(page.locator("h1")).to_have_text("Interview report: Grace Hopper")
    expect(page.locator("#overall-score")).to_have_text(re.compile(r"^\d{1,3}$"))
    report = server.api("GET", f"/api/v1/sessions/{sid}/report")
    expect(page.locator("#overall-score")).to_have_text(str(report["overall_score"]))
    expect(page.locator("article.question-report")).to_have_count(3)
    quotes = [
        squash(q) for q in page.locator("article.question-report blockquote").all_inner_texts()
    ]
    for answer in main_answers:
        assert squash(answer) in quotes, "an answer is not quoted in the report"
    expect(page.locator("table.bars").first).to_be_visible()
    for name, value in report["dimension_scores"].items():
        row = page.locator("table.bars tr", has_text=name.split("_")[0].capitalize())
        expect(row.first).to_contain_text(str(value))
    screenshot(page, "report")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator("article.question-report").first).to_be_visible()
    page.emulate_media(media="screen")

    page.goto(f"/sessions/{sid}")
    expect(page.locator("#panel-final")).to_be_visible()
    expect(page.locator("#report-link")).to_have_attribute("href", f"/sessions/{sid}/report")
    expect(page.locator("#pause-btn")).to_be_hidden()
    screenshot(page, "interview-final")


def test_countdown_stops_while_paused_and_resumes(page: Page) -> None:
    page.goto("/sessions/new")
    page.fill("#f-candidate_name", "Pause Tester")
    page.fill("#f-time_limit_minutes", "10")
    page.click("button:has-text('Create session')")
    page.wait_for_url(ROOM_URL)
    page.click("#start-btn")
    expect(page.locator("#pause-btn")).to_be_visible()
    first = timer_seconds(page)
    time.sleep(2.2)
    assert timer_seconds(page) < first, "the clock does not run while active"

    page.click("#pause-btn")
    expect(page.locator("#resume-btn")).to_be_visible()
    expect(page.locator("#panel-paused")).to_be_visible()
    expect(page.locator("#panel-question")).to_be_hidden()
    expect(page.locator("#timer-note")).to_have_text("Paused: the clock is stopped")
    paused = timer_seconds(page)
    time.sleep(2.5)
    assert timer_seconds(page) == paused, "the clock runs while paused"
    screenshot(page, "interview-paused")

    page.reload()  # still paused after a reload, with the same time left
    expect(page.locator("#panel-paused")).to_be_visible()
    assert timer_seconds(page) == paused

    page.click("#resume-btn")
    expect(page.locator("#pause-btn")).to_be_visible()
    expect(page.locator("#answer")).to_be_focused()
    time.sleep(2.2)
    assert timer_seconds(page) < paused, "the clock does not run after resuming"


def test_reload_restores_question_draft_and_time(page: Page, server: Server) -> None:
    session = server.started(
        candidate_name="Reload Tester", question_count=2, time_limit_minutes=15
    )
    page.goto(f"/sessions/{session['id']}")
    question = page.locator("#question-text").inner_text()
    assert question == session["current_question"]["text"]
    draft = "My draft: first I would clarify the requirements,\nthen sketch the data model."
    page.fill("#answer", draft)
    time.sleep(1.1)
    before = timer_seconds(page)
    page.reload()
    expect(page.locator("#question-text")).to_have_text(question)
    expect(page.locator("#answer")).to_have_value(draft)
    after = timer_seconds(page)
    assert before - 3 <= after <= before, (before, after)
    expect(page.locator("#progress-text")).to_have_text("Question 1 of 2")

    # the draft belongs to its session and question: another session starts empty
    other = server.started(candidate_name="Other Tester", question_count=1)
    page.goto(f"/sessions/{other['id']}")
    expect(page.locator("#question-text")).to_have_text(other["current_question"]["text"])
    expect(page.locator("#answer")).to_have_value("")


def test_whiteboard_png_is_saved_before_the_answer(page: Page, server: Server) -> None:
    session = server.started(
        candidate_name="Whiteboard Tester", enabled_modes=["text", "whiteboard"], question_count=1
    )
    sid, question = session["id"], session["current_question"]
    page.goto(f"/sessions/{sid}")
    canvas = page.locator("#whiteboard")
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()  # the mouse draws only inside the viewport
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 40, y + 60)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(x + 40 + step * 18, y + 60 + (step % 6) * 14)
    page.mouse.up()
    page.mouse.move(x + 60, y + 180)
    page.mouse.down()
    page.mouse.move(x + 420, y + 180, steps=10)
    page.mouse.up()
    page.fill("#answer", technical_answer(question["text"]))
    screenshot(page, "interview-whiteboard")
    page.click("#submit-btn")
    expect(page.locator("#feedback")).to_be_visible()
    saved = server.events(sid, "whiteboard_saved")
    assert len(saved) == 1 and saved[0]["data"]["item_id"] == question["id"]
    assert saved[0]["data"]["bytes"] > 1000
    submitted = server.events(sid, "answer_submitted")
    assert saved[0]["seq"] < submitted[0]["seq"], "the drawing is saved before the answer"

    if page.locator("#panel-question").is_visible():  # a follow-up: the board starts blank
        page.fill("#answer", FOLLOW_UP_ANSWER)
        page.click("#submit-btn")
        expect(page.locator("#panel-done")).to_be_visible()
        assert len(server.events(sid, "whiteboard_saved")) == 1


def test_follow_ups_and_pauses_made_elsewhere_appear_live(page: Page, server: Server) -> None:
    session = server.started(candidate_name="Live Tester", question_count=2, plan_seed=11)
    sid = session["id"]
    page.goto(f"/sessions/{sid}")
    expect(page.locator("#connection-note")).to_have_text("live updates")
    # a thin answer sent from another tab misses key points: the interviewer follows up
    outcome = server.api(
        "POST",
        f"/api/v1/sessions/{sid}/answers",
        {
            "question_id": session["current_question"]["id"],
            "text": "It depends.",
            "time_spent_seconds": 5,
        },
    )
    assert outcome["follow_up"] is not None
    expect(page.locator("#question-text")).to_have_text(outcome["follow_up"]["text"])
    expect(page.locator("#question-kind")).to_be_visible()
    expect(page.locator("#feedback-score")).to_have_text(f"{outcome['evaluation']['score']}/100")
    server.api("POST", f"/api/v1/sessions/{sid}/pause")
    expect(page.locator("#panel-paused")).to_be_visible()
    expect(page.locator("#status-badge")).to_have_text("Paused")


def test_mock_mode_keeps_feedback_for_the_report(page: Page, server: Server) -> None:
    session = server.started(candidate_name="Mock Tester", mode="mock", question_count=1)
    page.goto(f"/sessions/{session['id']}")
    expect(page.locator("#connection-note")).to_have_text("live updates")
    page.fill("#answer", technical_answer(session["current_question"]["text"]))
    page.click("#submit-btn")
    expect(page.locator("#progress-text")).not_to_have_text("Question 1 of 1")
    time.sleep(1)  # the stream has delivered the evaluation event by now
    expect(page.locator("#feedback")).to_be_hidden()
    assert server.events(session["id"], "answer_evaluated")


def test_countdown_falls_back_to_polling_without_the_socket(page: Page, server: Server) -> None:
    def refuse(socket: WebSocketRoute) -> None:
        socket.close(code=1011, reason="test: no live stream")

    page.route_web_socket(re.compile(r"/stream"), refuse)
    session = server.started(candidate_name="Polling Tester", question_count=1)
    page.goto(f"/sessions/{session['id']}")
    expect(page.locator("#connection-note")).to_have_text("updates every few seconds")
    first = timer_seconds(page)
    time.sleep(2.2)
    assert timer_seconds(page) < first
    server.api("POST", f"/api/v1/sessions/{session['id']}/pause")
    expect(page.locator("#panel-paused")).to_be_visible(timeout=6000)


def test_keyboard_reaches_every_control(page: Page, server: Server) -> None:
    session = server.started(
        candidate_name="Keys Tester", enabled_modes=["text", "whiteboard"], question_count=1
    )
    page.goto(f"/sessions/{session['id']}")
    expect(page.locator("#connection-note")).to_have_text("live updates")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    wanted = {"answer", "whiteboard-clear", "submit-btn", "skip-btn", "pause-btn", "end-btn"}
    seen: set[str] = set()
    for _ in range(30):
        page.keyboard.press("Tab")
        seen.add(page.evaluate("document.activeElement.id"))
        if wanted <= seen:
            break
    assert wanted <= seen, f"not reachable with Tab: {wanted - seen}"
    page.focus("#answer")
    page.keyboard.press("Control+Enter")  # an empty answer is refused on the page
    expect(page.locator("#answer-error")).to_have_text(
        "Write an answer first, or skip the question."
    )
    expect(page.locator("#answer")).to_have_attribute("aria-invalid", "true")
    page.focus("#skip-btn")
    page.keyboard.press("Enter")
    expect(page.locator("#panel-done")).to_be_visible()
    assert server.events(session["id"], "question_skipped")


# -- the sessions list ----------------------------------------------------------------------------


def test_sessions_list_filters_searches_and_pages(page: Page, server: Server) -> None:
    server.create_session(candidate_name="Filter Alpha")
    beta = server.started(candidate_name="Filter Beta", candidate_email="beta@example.com")
    gamma = server.started(candidate_name="Filter Gamma")
    server.api("POST", f"/api/v1/sessions/{gamma['id']}/end")
    rows = page.locator("tbody tr")
    page.goto("/")
    expect(rows.first).to_be_visible()
    screenshot(page, "sessions")

    page.select_option("#filter-status", "completed")
    page.fill("#filter-q", "filter")
    page.click("button:has-text('Filter')")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name="Filter Gamma", exact=True)).to_have_attribute(
        "href", f"/sessions/{gamma['id']}/report"
    )
    expect(rows.first).to_contain_text("Completed")
    expect(page.locator("#filter-status")).to_have_value("completed")

    page.select_option("#filter-status", "")
    page.fill("#filter-q", "BETA")
    page.click("button:has-text('Filter')")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("beta@example.com")
    expect(rows.first.get_by_role("link", name="Filter Beta", exact=True)).to_have_attribute(
        "href", f"/sessions/{beta['id']}"
    )
    page.fill("#filter-q", "nobody-like-this")
    page.press("#filter-q", "Enter")
    expect(page.get_by_text("No session matches this filter.")).to_be_visible()

    page.goto("/?q=filter&limit=2")
    expect(rows).to_have_count(2)
    first_page = rows.all_inner_texts()
    page.click("a:has-text('Next page')")
    expect(rows).to_have_count(1)
    assert rows.first.inner_text() not in first_page
    expect(page.locator("#filter-q")).to_have_value("filter")
    page.click("a:has-text('First page')")
    expect(rows).to_have_count(2)


# -- safety, errors, small screens ---------------------------------------------------------------

HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"><b>bold</b>'


def test_user_text_is_escaped_on_every_page(page: Page, server: Server) -> None:
    session = server.started(
        candidate_name=HOSTILE, challenge_text=HOSTILE, job_description=HOSTILE, question_count=1
    )
    sid = session["id"]
    server.api(
        "POST",
        f"/api/v1/sessions/{sid}/answers",
        {
            "question_id": session["current_question"]["id"],
            "text": HOSTILE,
            "time_spent_seconds": 3,
        },
    )
    for url in ("/?q=__xss", f"/sessions/{sid}", f"/sessions/{sid}/report"):
        page.goto(url)
        expect(page.get_by_text(HOSTILE).first).to_be_visible()
        assert page.evaluate("window.__xss") is None, url
        assert page.locator("main b, main img, main script:not(#room-state)").count() == 0, url
    server.api("POST", f"/api/v1/sessions/{sid}/end")
    page.goto(f"/sessions/{sid}/report")
    expect(page.locator("blockquote").first).to_have_text(HOSTILE)
    assert page.evaluate("window.__xss") is None


def test_unknown_session_is_a_404_page(page: Page) -> None:
    for path in ("/sessions/00000000-0000-0000-0000-000000000000", "/sessions/nope/report"):
        response = page.goto(path)
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("Not found")
    screenshot(page, "not-found")


def test_pages_fit_a_phone(phone: Page, server: Server) -> None:
    running = server.started(
        candidate_name="Phone Tester", question_count=2, enabled_modes=["text", "whiteboard"]
    )
    ended = server.started(candidate_name="Phone Reporter", question_count=1)
    server.api(
        "POST",
        f"/api/v1/sessions/{ended['id']}/answers",
        {
            "question_id": ended["current_question"]["id"],
            "text": BEHAVIORAL_ANSWER,
            "time_spent_seconds": 60,
        },
    )
    server.api("POST", f"/api/v1/sessions/{ended['id']}/end")
    for name, url in (
        ("sessions-phone", "/"),
        ("new-session-phone", "/sessions/new"),
        ("interview-phone", f"/sessions/{running['id']}"),
        ("report-phone", f"/sessions/{ended['id']}/report"),
    ):
        phone.goto(url)
        expect(phone.locator("h1")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{url} scrolls sideways: {width}px wide"
        screenshot(phone, name)


def test_auth_mode_redirects_to_login(browser: Browser, tmp_path: Path) -> None:
    pytest.importorskip("rehearse.service.accounts")
    secured = start_server(tmp_path / "auth-data", "--auth")
    context = browser.new_context(base_url=secured.base_url)
    try:
        for path in ("/", "/sessions/new", "/sessions/some-id", "/sessions/some-id/report"):
            response = context.request.get(path, max_redirects=0)
            assert response.status == 303, path
            assert response.headers["location"] == "/login?next=" + path.replace("/", "%2F"), path
        response = context.request.post(
            "/sessions/new", form={"candidate_name": "X"}, max_redirects=0
        )
        assert response.status == 303 and response.headers["location"].startswith("/login")
    finally:
        context.close()
        secured.stop()


# -- progress across sessions (issue 12): the dashboard and the cohort view -----------------------


def finished_session(server: Server, email: str, seed: int, answers: int = 2) -> str:
    session = server.started(
        candidate_name="Grace",
        candidate_email=email,
        plan_seed=seed,
        question_count=answers,
        max_follow_ups=0,
        mode="mock",
        interview_type="technical",
    )
    for _ in range(answers):
        current = server.api("GET", f"/api/v1/sessions/{session['id']}/questions/current")
        server.api(
            "POST",
            f"/api/v1/sessions/{session['id']}/answers",
            {
                "question_id": current["id"],
                "text": technical_answer(current["text"]),
                "time_spent_seconds": 90,
            },
        )
    server.api("POST", f"/api/v1/sessions/{session['id']}/end")
    return str(session["id"])


@pytest.fixture(scope="module")
def progress_ids(server: Server) -> list[str]:
    ids = [finished_session(server, "grace@example.com", seed) for seed in (21, 22, 23)]
    ids.append(finished_session(server, "alan@example.com", 24, answers=1))
    return ids


def test_dashboard_shows_charts_stats_and_milestones(page: Page, progress_ids: list[str]) -> None:
    page.goto(f"/sessions/{progress_ids[0]}/report")
    page.get_by_role("link", name="See your progress").click()
    expect(page.locator("h1")).to_have_text("grace@example.com")
    expect(page.locator("svg.chart--trend")).to_be_visible()
    expect(page.locator("svg.chart--trend circle.dot")).to_have_count(1)  # one day, mean of 3
    expect(page.locator("svg.chart--bars").first).to_be_visible()
    expect(page.locator("svg.chart--calendar rect.day--0").first).to_be_attached()
    expect(page.locator("[data-testid=streak]")).to_have_text("1 d")
    expect(page.locator(".milestone--done").first).to_contain_text("First session")
    page.get_by_role("link", name="7d").click()
    expect(page).to_have_url(re.compile(r"period=7d"))
    screenshot(page, "progress")


def test_dashboard_is_readable_at_390_px(phone: Page, progress_ids: list[str]) -> None:
    phone.goto("/progress?user=grace%40example.com")
    expect(phone.locator("svg.chart--trend")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at 390 px"
    for chart in phone.locator("svg.chart").all():
        box = chart.bounding_box()
        assert box is not None and box["width"] <= 390 and box["x"] >= 0
    screenshot(phone, "progress-phone")


def test_cohort_lists_candidates_sorts_and_links(page: Page, progress_ids: list[str]) -> None:
    page.goto("/progress/cohort")
    rows = page.locator("table.cohort tbody tr")
    expect(rows.filter(has_text="grace@example.com")).to_have_count(1)
    expect(rows.filter(has_text="alan@example.com")).to_have_count(1)

    def order() -> list[str]:
        names = [n.strip() for n in page.locator("table.cohort tbody th").all_inner_texts()]
        return [n for n in names if n in ("grace@example.com", "alan@example.com")]

    sort_by_sessions = page.locator("table.cohort thead").get_by_role("link", name="Sessions")
    sort_by_sessions.click()
    expect(page.locator("th[aria-sort=descending]")).to_have_text("Sessions")
    assert order() == ["grace@example.com", "alan@example.com"]  # 3 sessions before 1
    sort_by_sessions.click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_text("Sessions")
    assert order() == ["alan@example.com", "grace@example.com"]
    expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", "/api/v1/progress/cohort?format=csv"
    )
    screenshot(page, "cohort")
    page.get_by_role("link", name="alan@example.com").click()
    expect(page.locator("h1")).to_have_text("alan@example.com")


def test_delete_a_users_data_from_the_dashboard(
    page: Page, server: Server, progress_ids: list[str]
) -> None:
    """The dashboard's delete button: a confirmation step, then every row and file goes."""
    session = server.started(
        candidate_name="Erase Me",
        candidate_email="erase@example.com",
        enabled_modes=["text", "whiteboard"],
        question_count=1,
        max_follow_ups=0,
    )
    sid = session["id"]
    current = server.api("GET", f"/api/v1/sessions/{sid}/questions/current")
    upload = urllib.request.Request(
        f"{server.base_url}/api/v1/sessions/{sid}/questions/{current['id']}/whiteboard",
        PNG_SIGNATURE + bytes(64),
        {"Content-Type": "image/png"},
        method="PUT",
    )
    with urllib.request.urlopen(upload, timeout=10) as response:
        assert response.status == 201
    server.api("POST", f"/api/v1/sessions/{sid}/end")
    folder = server.log.parent / "sessions" / sid
    assert any(folder.rglob("*.png"))
    grace_before = server.api("GET", "/api/v1/progress/grace@example.com")["total_sessions"]

    page.goto("/progress?user=erase%40example.com")
    page.get_by_role("link", name="Delete all data of erase@example.com").click()
    expect(page.locator("h1")).to_have_text("Delete the data of erase@example.com?")
    preview = page.locator("[data-testid=deletion-preview]")
    expect(preview).to_contain_text("1 session")
    expect(preview).to_contain_text("file")
    screenshot(page, "delete-data")
    page.get_by_role("button", name="Delete for good").click()  # not ticked: the form stays
    expect(page.locator("h1")).to_have_text("Delete the data of erase@example.com?")
    assert server.api("GET", "/api/v1/progress/erase@example.com")["total_sessions"] == 1
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Delete for good").click()
    expect(page.locator("[data-testid=deleted]")).to_contain_text("Deleted 1 session")
    assert server.api("GET", "/api/v1/progress/erase@example.com")["total_sessions"] == 0
    assert fetch(server, f"/api/v1/sessions/{sid}")[0] == 404
    assert not folder.exists()
    grace_after = server.api("GET", "/api/v1/progress/grace@example.com")["total_sessions"]
    assert grace_after == grace_before  # nobody else's data


# -- issue 11: every offered mode works, nothing saved is invisible, no rough edge ------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
THIN_ANSWER = "It depends."


def fetch(server: Server, path: str) -> tuple[int, str, bytes]:
    """GET ``path``: (status, content type, body), HTTP errors included."""
    try:
        with urllib.request.urlopen(server.base_url + path, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def draw_on(page: Page) -> None:
    """Two strokes on the whiteboard."""
    canvas = page.locator("#whiteboard")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + 50)
    page.mouse.down()
    page.mouse.move(box["x"] + 400, box["y"] + 150, steps=12)
    page.mouse.up()


def test_voice_is_offered_and_an_unknown_mode_refused_when_posted(page: Page) -> None:
    page.goto("/sessions/new")
    expect(page.locator("#f-enabled_modes-voice")).to_be_visible()  # issue 13: it records
    expect(page.locator("#f-enabled_modes-code")).to_be_visible()
    response = page.request.post(
        "/sessions/new",
        form={"candidate_name": "Mode Poster", "enabled_modes": "telepathy"},
        max_redirects=0,
    )
    assert response.status == 422
    assert "choose from text, voice, whiteboard, code" in response.text()


def test_code_mode_gives_coding_questions_an_editor_and_highlights_the_report(
    page: Page, server: Server
) -> None:
    session = server.started(
        candidate_name="Code Tester",
        interview_type="coding",
        enabled_modes=["text", "code"],
        question_count=1,
        max_follow_ups=0,
    )
    sid, question = session["id"], session["current_question"]
    assert question["category"] == "coding"
    page.goto(f"/sessions/{sid}")
    editor = page.locator("#code")
    expect(page.locator("#code-box")).to_be_visible()
    expect(page.locator("#answer-label")).to_have_text("Explanation (optional)")
    assert "monospace" in editor.evaluate("e => getComputedStyle(e).fontFamily")
    page.select_option("#code-language", "python")
    editor.click()
    editor.press_sequentially("def two_sum(nums, target):\n")
    editor.press("Tab")  # indents instead of leaving the editor
    editor.press_sequentially("seen = {}\n\n")
    editor.press("Tab")
    editor.press_sequentially("return seen")
    expect(editor).to_be_focused()
    code = "def two_sum(nums, target):\n    seen = {}\n\n    return seen"
    expect(editor).to_have_value(code)
    expect(page.locator("#code-lines")).to_have_text("1\n2\n3\n4")
    editor.press("Shift+Tab")  # outdents the line
    expect(editor).to_have_value(code.replace("\n    return", "\nreturn"))
    editor.press("Home")  # Tab at the start of the line indents it again
    editor.press("Tab")
    expect(editor).to_have_value(code)
    page.fill("#answer", "A hash map from value to index, built in a single pass: O(n) time.")
    screenshot(page, "interview-code")
    page.click("#submit-btn")
    expect(page.locator("#feedback")).to_be_visible()

    answers = server.api("GET", f"/api/v1/sessions/{sid}/answers")
    assert answers[0]["text"].endswith(f"```python\n{code}\n```"), answers[0]["text"]
    server.api("POST", f"/api/v1/sessions/{sid}/end")
    page.goto(f"/sessions/{sid}/report")
    block = page.locator(".question-report .code").first
    expect(block).to_be_visible()
    expect(block.locator(".k", has_text="def")).to_have_count(1)  # Pygments marked the keyword
    expect(block).to_contain_text("two_sum")
    _, _, html = fetch(server, f"/api/v1/sessions/{sid}/report?format=html")
    assert b'class="code"' in html and b'<span class="k">def</span>' in html
    _, _, markdown = fetch(server, f"/api/v1/sessions/{sid}/report?format=md")
    assert f"```python\n{code}\n```".encode() in markdown


def test_try_again_in_practice_mode_keeps_the_best_attempt(page: Page, server: Server) -> None:
    session = server.started(
        candidate_name="Retry Tester", question_count=2, max_follow_ups=0, plan_seed=3
    )
    sid, first = session["id"], session["current_question"]
    page.goto(f"/sessions/{sid}")
    page.fill("#answer", THIN_ANSWER)
    page.click("#submit-btn")
    expect(page.locator("#feedback")).to_be_visible()
    thin_score = int(page.locator("#feedback-score").inner_text().split("/")[0])
    expect(page.locator("#question-text")).not_to_have_text(first["text"])
    expect(page.locator("#retry-btn")).to_be_visible()
    page.click("#retry-btn")
    expect(page.locator("#question-retry")).to_be_visible()
    expect(page.locator("#question-text")).to_have_text(first["text"])
    expect(page.locator("#answer")).to_have_value(THIN_ANSWER)  # starts from the last answer
    page.fill("#answer", answer_for(page))
    page.click("#submit-btn")
    expect(page.locator("#question-retry")).to_be_hidden()
    expect(page.locator("#question-text")).not_to_have_text(first["text"])
    better = int(page.locator("#feedback-score").inner_text().split("/")[0])
    assert better > thin_score
    plan = server.api("GET", f"/api/v1/sessions/{sid}/plan")
    item = next(i for i in plan["items"] if i["id"] == first["id"])
    assert item["attempts"] == 2 and item["score"] == better
    report = server.api("GET", f"/api/v1/sessions/{sid}/report")
    assert report["questions"][0]["score"] == better  # the best attempt counts

    mock = server.started(candidate_name="Mock Retry", mode="mock", question_count=2)
    page.goto(f"/sessions/{mock['id']}")
    expect(page.locator("#retry-btn")).to_have_count(0)


def test_saved_whiteboards_are_shown_again_everywhere(page: Page, server: Server) -> None:
    session = server.started(
        candidate_name="Board Keeper",
        enabled_modes=["text", "whiteboard"],
        question_count=2,
        max_follow_ups=0,
    )
    sid, first = session["id"], session["current_question"]
    page.goto(f"/sessions/{sid}")
    draw_on(page)
    page.fill("#answer", THIN_ANSWER)
    page.click("#submit-btn")
    expect(page.locator("#feedback")).to_be_visible()
    saved = server.events(sid, "whiteboard_saved")
    assert saved[0]["data"]["file"].endswith(".png")
    expect(page.locator("#whiteboard-status")).to_have_text("")  # the note is not the next one's
    status, kind, body = fetch(server, f"/api/v1/sessions/{sid}/whiteboards/{first['id']}")
    assert status == 200 and kind == "image/png" and body.startswith(PNG_SIGNATURE)
    second = server.api("GET", f"/api/v1/sessions/{sid}")["current_question"]
    assert fetch(server, f"/api/v1/sessions/{sid}/whiteboards/{second['id']}")[0] == 404

    page.reload()
    page.click("#retry-btn")  # back to the first question: its drawing is there again
    expect(page.locator("#whiteboard-status")).to_have_text(
        "Your saved whiteboard for this question is shown."
    )
    page.wait_for_function(
        "() => { const c = document.getElementById('whiteboard').getContext('2d');"
        " const d = c.getImageData(0, 0, 1200, 600).data;"
        " for (let i = 0; i < d.length; i += 4) if (d[i] < 128) return true; return false; }"
    )
    server.api("POST", f"/api/v1/sessions/{sid}/end")
    page.goto(f"/sessions/{sid}/report")
    image = page.locator(".question-report").first.locator("img.whiteboard-image")
    expect(image).to_be_visible()
    page.wait_for_function("i => i.complete && i.naturalWidth === 1200", arg=image.element_handle())
    expect(page.locator("img.whiteboard-image")).to_have_count(1)
    _, _, html = fetch(server, f"/api/v1/sessions/{sid}/report?format=html")
    assert b'src="data:image/png;base64,iVBORw0KGgo' in html
    _, _, markdown = fetch(server, f"/api/v1/sessions/{sid}/report?format=md")
    link = f"({server.base_url}/api/v1/sessions/{sid}/whiteboards/{first['id']})"
    assert link.encode() in markdown


def test_feedback_card_survives_skip_and_reload(page: Page, server: Server) -> None:
    session = server.started(candidate_name="Card Keeper", question_count=3, max_follow_ups=0)
    page.goto(f"/sessions/{session['id']}")
    expect(page.locator("#skip-note")).to_have_text("A skipped question counts 0 in the report.")
    page.fill("#answer", answer_for(page))
    page.click("#submit-btn")
    card = page.locator("#feedback")
    expect(card).to_be_visible()
    score = page.locator("#feedback-score").inner_text()
    asked = page.locator("#question-text").inner_text()
    page.click("#skip-btn")
    expect(page.locator("#question-text")).not_to_have_text(asked)
    expect(card).to_be_visible()
    expect(page.locator("#feedback-score")).to_have_text(score)
    expect(page.locator("#feedback-skip-note")).to_be_visible()
    page.reload()
    expect(card).to_be_visible()
    expect(page.locator("#feedback-score")).to_have_text(score)


def test_long_text_is_counted_and_refused_never_cut(page: Page, server: Server) -> None:
    page.goto("/sessions/new")
    page.fill("#f-candidate_name", "Long Paster")
    page.fill("#f-challenge_text", "x" * 20_005)
    counter = page.locator("#f-challenge_text-counter")
    expect(counter).to_contain_text("20,005 / 20,000 characters: 5 over the limit")
    expect(page.locator("#f-challenge_text")).to_have_value("x" * 20_005)  # nothing cut
    page.click("button:has-text('Create session')")
    expect(page).to_have_url(re.compile(r"/sessions/new$"))
    expect(page.locator("#f-challenge_text")).to_be_focused()
    page.fill("#f-challenge_text", "line of the challenge\n" * 900)
    expect(counter).not_to_contain_text("over")
    page.click("button:has-text('Create session')")
    page.wait_for_url(ROOM_URL)
    box = page.locator("#challenge-text")
    assert box.evaluate("e => e.scrollHeight > e.clientHeight + 100")
    assert box.evaluate("e => getComputedStyle(e).overflowY") == "auto"
    page.click("#start-btn")
    page.fill("#answer", "y" * 20_001)
    expect(page.locator("#answer-counter")).to_contain_text("1 over the limit")
    page.click("#submit-btn")
    expect(page.locator("#answer-error")).to_contain_text("1 characters over the limit of 20,000")
    expect(page.locator("#answer")).to_have_value("y" * 20_001)
    sid = page.url.rsplit("/", 1)[1]
    assert server.events(sid, "answer_submitted") == []


def test_durations_and_labels_read_the_same_everywhere(page: Page, server: Server) -> None:
    long = server.started(
        candidate_name="Long Clock",
        role="ml_engineering",
        time_limit_minutes=180,
        question_count=1,
    )
    page.goto(f"/sessions/{long['id']}")
    expect(page.locator("#timer")).to_have_text(re.compile(r"^[23]:\d\d:\d\d$"))
    expect(page.locator("#timer-note")).to_have_text("of 3:00:00")
    expect(page.locator(".room-head .eyebrow")).to_contain_text("ML engineering")
    page.wait_for_timeout(1300)  # the script's ticking clock keeps the same shape
    expect(page.locator("#timer")).to_have_text(re.compile(r"^2:59:\d\d$"))
    short = server.started(candidate_name="Short Clock", role="devops_sre", question_count=1)
    page.goto(f"/sessions/{short['id']}")
    expect(page.locator("#timer")).to_have_text(re.compile(r"^4[45]:\d\d$"))
    expect(page.locator("#timer-note")).to_have_text("of 45:00")
    expect(page.locator(".room-head .eyebrow")).to_contain_text("DevOps / SRE")
    server.api("POST", f"/api/v1/sessions/{long['id']}/end")
    page.goto(f"/sessions/{long['id']}/report")
    expect(page.locator(".facts")).to_contain_text(re.compile(r"0:00:\d\d of 3:00:00"))
    _, _, markdown = fetch(server, f"/api/v1/sessions/{long['id']}/report?format=md")
    assert re.search(rb"time used 0:00:\d\d of 3:00:00", markdown)
    assert b"ML engineering" in markdown and b"of 1 question " in markdown

    page.goto("/sessions/new")
    options = page.locator("#f-ai_provider option").all_inner_texts()
    assert "OpenAI" in options and "Openai" not in options
    roles = page.locator("#f-role option").all_inner_texts()
    assert "ML engineering" in roles and "DevOps / SRE" in roles


CONTRAST_SCRIPT = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return parse(getComputedStyle(document.body).backgroundColor);
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || style.visibility === "hidden" || el.closest("[hidden], .visually-hidden, option, script, style")) continue;
    if (el.closest("[disabled], .button:disabled")) continue; // WCAG exempts inactive controls
    const fg = parse(style.color);
    const bg = background(el);
    const ratio = (Math.max(lum(fg), lum(bg)) + 0.05) / (Math.min(lum(fg), lum(bg)) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className + " '" +
        el.textContent.trim().slice(0, 30) + "' " + ratio.toFixed(2));
    }
  }
  return failures;
}
"""


def test_dark_mode_follows_the_system_and_the_toggle_with_aa_contrast(
    page: Page, server: Server
) -> None:
    running = server.started(
        candidate_name="Contrast Reader",
        enabled_modes=["text", "whiteboard", "code"],
        interview_type="coding",
        challenge_text="Build it well.",
        question_count=2,
        max_follow_ups=0,
    )
    page.goto(f"/sessions/{running['id']}")
    page.fill("#answer", THIN_ANSWER)
    page.click("#submit-btn")
    expect(page.locator("#feedback")).to_be_visible()
    ended = server.started(candidate_name="Contrast Report", question_count=1)
    server.api(
        "POST",
        f"/api/v1/sessions/{ended['id']}/answers",
        {"question_id": ended["current_question"]["id"], "text": BEHAVIORAL_ANSWER},
    )
    server.api("POST", f"/api/v1/sessions/{ended['id']}/end")
    paused = server.started(candidate_name="Contrast Paused", question_count=1)
    server.api("POST", f"/api/v1/sessions/{paused['id']}/pause")
    pages = {
        "sessions": "/",
        "new-session": "/sessions/new",
        "interview": f"/sessions/{running['id']}",
        "paused": f"/sessions/{paused['id']}",
        "report": f"/sessions/{ended['id']}/report",
    }
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for name, url in pages.items():
            page.goto(url)
            theme = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert (theme == "rgb(17, 21, 28)") == (scheme == "dark"), (name, scheme, theme)
            failures = page.evaluate(CONTRAST_SCRIPT)
            assert failures == [], f"{name} in the {scheme} theme: {failures}"
            if name in ("interview", "report"):
                screenshot(page, f"{name}-{scheme}")

    # the toggle overrides the system's choice and is remembered
    page.emulate_media(color_scheme="light")
    page.goto("/")
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(17, 21, 28)"
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    expect(page.locator("#theme-toggle")).to_have_accessible_name("Light theme")
    assert page.evaluate(CONTRAST_SCRIPT) == []
    page.click("#theme-toggle")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(245, 246, 249)"


def test_sessions_list_shows_outcomes_sorts_and_finds_part_of_an_email(
    page: Page, server: Server
) -> None:
    strong = server.started(
        candidate_name="Outcome Strong",
        candidate_email="ada.lovelace@example.org",
        question_count=1,
    )
    server.api(
        "POST",
        f"/api/v1/sessions/{strong['id']}/answers",
        {"question_id": strong["current_question"]["id"], "text": BEHAVIORAL_ANSWER},
    )
    server.api("POST", f"/api/v1/sessions/{strong['id']}/end")
    weak = server.started(
        candidate_name="Outcome Weak", candidate_email="ada.byron@example.org", question_count=2
    )
    server.api(
        "POST", f"/api/v1/sessions/{weak['id']}/questions/{weak['current_question']['id']}/skip"
    )
    server.api("POST", f"/api/v1/sessions/{weak['id']}/end")
    strong_score = server.api("GET", f"/api/v1/sessions/{strong['id']}/report")["overall_score"]

    page.goto("/?q=lovelace@exam")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Outcome Strong")
    expect(rows.first.locator('[data-label="Score"]')).to_have_text(f"{strong_score}/100")
    expect(rows.first.locator('[data-label="Answered"]')).to_contain_text("1 of 1 question")
    expect(rows.first.locator('[data-label="Duration"]')).to_have_text(re.compile(r"^\d+:\d\d$"))

    page.goto("/?q=ada.")
    expect(rows).to_have_count(2)
    expect(page.locator("thead th")).to_contain_text(["Candidate", "Interview", "Status", "Score"])
    page.click("thead button:has-text('Score')")
    expect(page.locator("thead th", has_text="Score")).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text("Outcome Weak")  # 0: the skip counted 0
    page.click("thead button:has-text('Score')")
    expect(rows.first).to_contain_text("Outcome Strong")
    page.click("thead button:has-text('Candidate')")
    expect(rows.first).to_contain_text("Outcome Strong")
    page.click("thead button:has-text('Candidate')")
    expect(rows.first).to_contain_text("Outcome Weak")


def test_cancel_from_the_room_and_delete_from_the_pages(page: Page, server: Server) -> None:
    session = server.started(
        candidate_name="Cancel Me", enabled_modes=["text", "whiteboard"], question_count=1
    )
    sid = session["id"]
    page.goto(f"/sessions/{sid}")
    draw_on(page)
    page.fill("#answer", THIN_ANSWER)
    page.click("#submit-btn")
    expect(page.locator("#feedback")).to_be_visible()
    page.click("#cancel-btn")
    expect(page.locator("#cancel-dialog")).to_be_visible()
    page.click("#cancel-confirm")
    expect(page.locator("#status-badge")).to_have_text("Cancelled")
    expect(page.locator("#panel-final")).to_be_visible()
    expect(page.locator("#cancel-btn")).to_be_hidden()
    assert server.api("GET", f"/api/v1/sessions/{sid}")["status"] == "cancelled"

    folder = server.log.parent / "sessions" / sid
    assert (folder / "metadata.json").exists()
    page.goto(f"/?q={quote('Cancel Me')}")
    asked: list[str] = []

    def answer_dialog(dialog: Any) -> None:
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()  # the first time: changed their mind
        else:
            dialog.accept()

    page.on("dialog", answer_dialog)
    row = page.locator("tbody tr", has_text="Cancel Me")
    row.locator("[data-delete-session]").click()
    expect(row).to_have_count(1)
    assert fetch(server, f"/api/v1/sessions/{sid}")[0] == 200
    row.locator("[data-delete-session]").click()
    expect(row).to_have_count(0)
    assert "Delete the session of Cancel Me for good?" in asked[0]
    assert fetch(server, f"/api/v1/sessions/{sid}")[0] == 404
    assert fetch(server, f"/api/v1/sessions/{sid}/events")[0] == 404
    assert not folder.exists()

    other = server.started(candidate_name="Delete From Report", question_count=1)
    server.api("POST", f"/api/v1/sessions/{other['id']}/end")
    page.goto(f"/sessions/{other['id']}/report")
    page.click("button:has-text('Delete session')")
    page.wait_for_url(f"{server.base_url}/")
    assert fetch(server, f"/api/v1/sessions/{other['id']}")[0] == 404
