"""Another site cannot drive a local rehearse from real Chromium (issue 10, item 4).

A page of another origin embeds a sandboxed iframe, whose origin is opaque: Chromium
sends ``Origin: null``. The frame submits the new-session form and opens the live
stream; both are refused (403, close code 4403) and no session is created. The app
runs in local mode (no sign-in) under uvicorn on a thread; a second server plays the
other site. Without Chromium the test skips, unless ``REHEARSE_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Playwright
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.storage import open_store
from rehearse.web import create_app
from rehearse.web.guard import allowed_hosts_for

CHROMIUM = Path(os.environ.get("REHEARSE_TEST_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("REHEARSE_REQUIRE_BROWSER") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Threaded:
    """A uvicorn server on a thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, port=self.port, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Threaded:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def chromium(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
    )
    yield browser
    browser.close()


def attacker_page(target: str, session_id: str) -> str:
    ws = target.replace("http://", "ws://")
    frame = f"""
<form method="post" action="{target}/sessions/new" target="_self">
  <input name="candidate_name" value="Planted by another site">
</form>
<script>
  const socket = new WebSocket("{ws}/api/v1/sessions/{session_id}/stream");
  socket.onclose = (event) => {{
    parent.postMessage({{"close": event.code}}, "*");
    document.forms[0].submit();
  }};
</script>"""
    return f"""<!doctype html><title>another site</title>
<script>window.messages = []; addEventListener("message", (e) => window.messages.push(e.data));</script>
<iframe sandbox="allow-scripts allow-forms" srcdoc="{frame.replace('"', "&quot;")}"></iframe>"""


def test_a_sandboxed_frame_of_another_site_cannot_create_a_session_or_stream(
    chromium: Browser, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'local.db'}")
    manager = SessionManager(store, FakeClock())
    app = create_app(lambda: manager, sweep_seconds=0, allowed_hosts=allowed_hosts_for("127.0.0.1"))
    with Threaded(app) as local:
        target = f"http://127.0.0.1:{local.port}"
        session = manager.create_session({"candidate_name": "Ada"})
        html = attacker_page(target, session.id)
        other = Starlette(routes=[Route("/", lambda request: HTMLResponse(html))])
        with Threaded(other) as site:
            page = chromium.new_page()
            with page.expect_response(lambda r: r.url.endswith("/sessions/new")) as posted:
                page.goto(f"http://localhost:{site.port}/")
            assert posted.value.status == 403
            assert posted.value.request.header_value("origin") == "null"
            page.wait_for_function("window.messages.length > 0")
            assert page.evaluate("window.messages") == [{"close": 4403}]
            page.close()
        with urllib.request.urlopen(f"{target}/api/v1/sessions", timeout=10) as response:
            listed = json.loads(response.read())
        assert [s["config"]["candidate_name"] for s in listed["sessions"]] == ["Ada"]
    store.close()
