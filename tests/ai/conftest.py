"""AI tests: no real model request ever, provider settings isolated, a local OpenAI server.

Real model requests are switched off for the whole suite by tests/conftest.py (pydantic-ai's
``ALLOW_MODEL_REQUESTS``); pydantic-ai's test models are not affected. A test that
needs the real client path opts in with the ``openai_server`` fixture, which points
``OPENAI_BASE_URL`` at a server on 127.0.0.1 started for that test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic_ai.models import override_allow_model_requests

from rehearse.ai.calls import NATIVE_REFUSED
from rehearse.settings import get_settings

from .openai_server import FakeOpenAI

PROVIDER_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "OLLAMA_BASE_URL",
    "OLLAMA_API_KEY",
)


@pytest.fixture(autouse=True)
def _provider_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No key of the developer's leaks in; retries wait milliseconds, not seconds."""
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REHEARSE_AI_RETRY_BASE_SECONDS", "0.001")
    # the scripted models answer in milliseconds, but a loaded machine can pass the 2 s
    # answer deadline; the tests of the deadline set it themselves
    monkeypatch.setenv("REHEARSE_AI_ANSWER_DEADLINE_SECONDS", "60")
    get_settings.cache_clear()
    NATIVE_REFUSED.clear()  # what a server refused in another test is not this one's
    yield
    get_settings.cache_clear()


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A local OpenAI-compatible server; the test opts in to (local) model requests."""
    server = FakeOpenAI().start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    try:
        with override_allow_model_requests(True):
            yield server
    finally:
        server.stop()
