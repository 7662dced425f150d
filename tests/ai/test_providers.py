"""Provider selection, configuration checks, prices and estimates (no storage, no network)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.models.ollama import OllamaModel
from pydantic_ai.models.openai import OpenAIChatModel

from rehearse.ai import (
    ModelRef,
    ProviderModels,
    StaticModels,
    check_provider,
    estimate_session,
)
from rehearse.ai.pricing import cost_usd, price_of
from rehearse.ai.providers import OLLAMA_DEFAULT_URL
from rehearse.domain.config import SessionConfig
from rehearse.errors import ConfigurationError
from rehearse.settings import DEFAULT_AI_PRICES, ModelPrice, get_settings


@pytest.mark.parametrize(
    ("text", "provider", "model"),
    [
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("openai", "openai", "gpt-4o-mini"),
        ("openai:default", "openai", "gpt-4o-mini"),
        ("ollama:llama3.1:8b", "ollama", "llama3.1:8b"),
        ("anthropic:claude-3-5-haiku-latest", "anthropic", "claude-3-5-haiku-latest"),
        ("google", "google", "gemini-2.0-flash"),
        ("offline", "offline", "default"),
        ("test:anything", "test", "anything"),
    ],
)
def test_model_references(text: str, provider: str, model: str) -> None:
    ref = ModelRef.parse(text)
    assert (ref.provider, ref.model) == (provider, model)
    assert str(ref) == f"{provider}:{model}"


def test_bad_references_name_what_is_allowed() -> None:
    with pytest.raises(
        ConfigurationError, match=r"unknown AI provider 'skynet' \(allowed: offline"
    ):
        ModelRef.parse("skynet:t-800")
    with pytest.raises(ConfigurationError, match="model name is empty; write provider:model"):
        ModelRef.parse("openai:")


def test_a_session_resolves_its_default_model() -> None:
    config = SessionConfig(candidate_name="Ada", ai_provider="ollama")
    assert str(ModelRef.for_session(config)) == "ollama:llama3.1"


def test_openai_needs_a_key_unless_a_base_url_points_elsewhere() -> None:
    ref = ModelRef.parse("openai:gpt-4o-mini")
    status = check_provider(ref, environ={})
    assert not status.ready and status.problems == (
        "openai:gpt-4o-mini: set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible "
        "server such as vLLM or LM Studio)",
    )
    assert check_provider(ref, environ={"OPENAI_API_KEY": "sk-x"}).ready
    local = check_provider(ref, environ={"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"})
    assert local.ready and local.base_url == "http://127.0.0.1:8000/v1" and local.key_set is False


def test_a_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rehearse.ai.providers._importable", lambda module: False)
    status = check_provider(ModelRef.parse("anthropic"), environ={"ANTHROPIC_API_KEY": "k"})
    assert status.extra_installed is False
    assert status.problems == (
        "anthropic:claude-3-5-haiku-latest: the anthropic extra is not installed; install it "
        "with pip install 'rehearse[anthropic]' (in a checkout: uv sync --extra anthropic)",
    )


def test_keys_of_anthropic_and_google(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rehearse.ai.providers._importable", lambda module: True)
    assert check_provider(ModelRef.parse("anthropic"), environ={}).problems == (
        "anthropic:claude-3-5-haiku-latest: set ANTHROPIC_API_KEY",
    )
    assert check_provider(ModelRef.parse("google"), environ={"GEMINI_API_KEY": "k"}).ready


def test_ollama_and_the_local_providers_need_no_key() -> None:
    ollama = check_provider(ModelRef.parse("ollama"), environ={})
    assert ollama.ready and ollama.base_url == OLLAMA_DEFAULT_URL
    assert ollama.price == ModelPrice(input=0, output=0)
    assert check_provider(ModelRef.parse("test"), environ={}).ready
    assert check_provider(ModelRef.parse("offline"), environ={}).ready


def test_real_providers_build_pydantic_ai_models(monkeypatch: pytest.MonkeyPatch) -> None:
    models = ProviderModels()
    with pytest.raises(ConfigurationError, match="set OPENAI_API_KEY"):
        models.model(ModelRef.parse("openai:gpt-4o-mini"))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    openai = models.model(ModelRef.parse("openai:qwen2.5-7b-instruct"))
    assert isinstance(openai, OpenAIChatModel) and openai.model_name == "qwen2.5-7b-instruct"
    assert openai.base_url.startswith("http://127.0.0.1:9/v1")
    ollama = models.model(ModelRef.parse("ollama:llama3.1"))
    assert isinstance(ollama, OllamaModel) and ollama.base_url.startswith(OLLAMA_DEFAULT_URL)
    assert isinstance(models.model(ModelRef.parse("test")), FunctionModel)


def test_static_models_for_tests_and_embedding() -> None:
    model = FunctionModel(lambda messages, info: None)  # type: ignore[arg-type,return-value]
    static = StaticModels({"openai:gpt-x": model, "test:*": lambda: model})
    assert static.model(ModelRef.parse("openai:gpt-x")) is model
    assert static.model(ModelRef.parse("test:whatever")) is model
    assert static.problems(ModelRef.parse("openai:gpt-x")) == ()
    assert static.problems(ModelRef.parse("openai:gpt-y")) == (
        "openai:gpt-y: no model is registered for it",
    )
    with pytest.raises(ConfigurationError, match="no model is registered"):
        static.model(ModelRef.parse("openai:gpt-y"))


def test_prices_match_the_most_specific_key() -> None:
    assert price_of("openai:gpt-4o-mini-2024-07-18", DEFAULT_AI_PRICES) == ModelPrice(
        input=0.15, output=0.60
    )
    assert price_of("openai:gpt-4o-2024-08-06", DEFAULT_AI_PRICES) == ModelPrice(
        input=2.50, output=10.00
    )
    assert price_of("openai:my-finetune", DEFAULT_AI_PRICES) is None
    assert cost_usd("openai:gpt-4o-mini", 1_000_000, 1_000_000, DEFAULT_AI_PRICES) == 0.75
    assert cost_usd("ollama:llama3.1", 10_000, 10_000, DEFAULT_AI_PRICES) == 0.0
    assert cost_usd("openai:my-finetune", 10, 10, DEFAULT_AI_PRICES) is None


def test_the_price_table_setting_adds_to_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "REHEARSE_AI_PRICES",
        '{"openai:my-finetune": {"input": 3, "output": 12}, "ollama:*": {"input": 0.01, '
        '"output": 0.01}}',
    )
    get_settings.cache_clear()
    prices = get_settings().ai_prices
    assert prices["openai:my-finetune"] == ModelPrice(input=3, output=12)
    assert prices["ollama:*"] == ModelPrice(input=0.01, output=0.01)
    assert prices["openai:gpt-4o*"] == DEFAULT_AI_PRICES["openai:gpt-4o*"]


def test_estimates_for_offline_and_llm_sessions() -> None:
    offline = estimate_session(SessionConfig(candidate_name="Ada"))
    assert (offline.total_tokens, offline.cost_usd, offline.calls) == (0, 0.0, 0)
    assert offline.describe() == "offline: no AI tokens and no cost"
    base = SessionConfig(
        candidate_name="Ada", ai_provider="openai", ai_model="gpt-4o-mini", question_count=5
    )
    small = estimate_session(base)
    assert small.total_tokens == small.prompt_tokens + small.completion_tokens > 5_000
    assert small.cost_usd is not None and 0 < small.cost_usd < 0.05
    assert small.fits_budget and small.calls == 1 + 5 * 2 + 5 + 1
    bigger = estimate_session(
        base.model_copy(update={"question_count": 10, "job_description": "Kafka " * 500})
    )
    assert bigger.total_tokens > 2 * small.total_tokens - 3_000
    tight = estimate_session(base.model_copy(update={"token_budget": 1_000}))
    assert not tight.fits_budget and "over (the rest would run on the offline" in tight.describe()
    unpriced = estimate_session(base.model_copy(update={"ai_model": "my-finetune"}))
    assert unpriced.cost_usd is None and "cost unknown" in unpriced.describe()


def test_the_offline_path_never_loads_pydantic_ai(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from rehearse import SessionManager\n"
        "from rehearse.cli import app\n"
        "with SessionManager.from_url('sqlite://') as m:\n"
        "    s = m.create_session({'candidate_name': 'Ada', 'question_count': 2})\n"
        "    m.start_session(s.id)\n"
        "    item = m.next_question(s.id)\n"
        "    m.submit_answer(s.id, item.id, 'An index speeds up reads.', 10)\n"
        "    m.end_session(s.id)\n"
        "    m.get_report(s.id)\n"
        "print(sorted(n for n in sys.modules if n.startswith(('pydantic_ai', 'openai'))))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REHEARSE_")}
    env["REHEARSE_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]"
