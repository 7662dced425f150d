"""AI providers: which exist, what each needs, and the model a ``"provider:model"`` string names.

A session chooses its interviewer and evaluator by ``ai_provider`` and ``ai_model``
(seed ``000_*``): ``offline`` (the default: the question bank and the calibrated rubric
scorer), ``test`` (a scripted stand-in model shipped with rehearse, no network),
``openai``, ``anthropic``, ``google`` and ``ollama``. The LLM providers are reached
through pydantic-ai; their SDKs are optional extras (``pip install 'rehearse[openai]'``)
and are imported only when a session uses them, so the offline default never loads them.

``openai:`` speaks the Chat Completions API, which every OpenAI-compatible server
implements: with ``OPENAI_BASE_URL`` set it reaches vLLM, LM Studio, llama.cpp or any
other such server (``OPENAI_API_KEY`` may then be omitted). ``ollama:`` reaches Ollama
at ``OLLAMA_BASE_URL`` (default ``http://127.0.0.1:11434/v1``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rehearse.domain.config import AI_PROVIDERS, SessionConfig
from rehearse.errors import ConfigurationError
from rehearse.settings import ModelPrice, get_settings

if TYPE_CHECKING:
    from pydantic_ai.models import Model

#: Where ``ollama:`` models are served when ``OLLAMA_BASE_URL`` is not set.
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434/v1"


@dataclass(frozen=True)
class ProviderInfo:
    """What one provider is and what it needs.

    Attributes:
        name: the ``provider`` part of ``"provider:model"``.
        description: one line for people.
        extra: the rehearse extra that installs its SDK (``None``: nothing to install).
        module: the SDK's import name, checked without importing it.
        key_env: environment variables that may hold its API key (any one will do).
        base_url_env: environment variable of its base URL, if it has one.
        default_model: the model used when a session says ``default``.
        key_required: whether a key is needed (``openai`` needs none with a base URL).
    """

    name: str
    description: str
    extra: str | None
    module: str | None
    key_env: tuple[str, ...]
    base_url_env: str | None
    default_model: str
    key_required: bool


PROVIDERS: dict[str, ProviderInfo] = {
    "offline": ProviderInfo(
        "offline",
        "question bank and calibrated rubric scorer; no network, no tokens",
        None,
        None,
        (),
        None,
        "default",
        False,
    ),
    "test": ProviderInfo(
        "test",
        "scripted stand-in model shipped with rehearse (pydantic-ai FunctionModel); no network",
        None,
        None,
        (),
        None,
        "default",
        False,
    ),
    "openai": ProviderInfo(
        "openai",
        "OpenAI, or any OpenAI-compatible server (vLLM, LM Studio) at OPENAI_BASE_URL",
        "openai",
        "openai",
        ("OPENAI_API_KEY",),
        "OPENAI_BASE_URL",
        "gpt-4o-mini",
        True,
    ),
    "anthropic": ProviderInfo(
        "anthropic",
        "Anthropic Claude",
        "anthropic",
        "anthropic",
        ("ANTHROPIC_API_KEY",),
        None,
        "claude-3-5-haiku-latest",
        True,
    ),
    "google": ProviderInfo(
        "google",
        "Google Gemini (Gemini API)",
        "google",
        "google.genai",
        ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
        None,
        "gemini-2.0-flash",
        True,
    ),
    "ollama": ProviderInfo(
        "ollama",
        "Ollama on this machine or your network: fully local models",
        "openai",
        "openai",
        (),
        "OLLAMA_BASE_URL",
        "llama3.1",
        False,
    ),
}
assert set(PROVIDERS) == set(AI_PROVIDERS), "every provider a session may name is described"


@dataclass(frozen=True)
class ModelRef:
    """A provider and one of its models, written ``"provider:model"``.

    Attributes:
        provider: a key of :data:`PROVIDERS`.
        model: the provider's model name (never ``default``: that is resolved).
    """

    provider: str
    model: str

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """``"openai:gpt-4o-mini"`` → provider and model; ``"openai"`` → its default model.

        Raises:
            ConfigurationError: an unknown provider or an empty model name.
        """
        provider, _, model = text.strip().partition(":")
        if provider not in PROVIDERS:
            raise ConfigurationError(
                f"{text!r}: unknown AI provider {provider!r} (allowed: {', '.join(PROVIDERS)})",
                [{"field": "provider", "value": provider, "message": "unknown provider"}],
            )
        if ":" in text and not model.strip():
            raise ConfigurationError(
                f"{text!r}: the model name is empty; write provider:model, e.g. "
                f"{provider}:{PROVIDERS[provider].default_model}",
                [{"field": "model", "value": model, "message": "must not be empty"}],
            )
        return cls.of(provider, model.strip() or "default")

    @classmethod
    def of(cls, provider: str, model: str) -> ModelRef:
        """The reference for ``provider`` and ``model``, with ``default`` resolved."""
        info = PROVIDERS[provider]
        return cls(provider, info.default_model if model in ("", "default") else model)

    @classmethod
    def for_session(cls, config: SessionConfig) -> ModelRef:
        """The model a session's configuration names."""
        return cls.of(config.ai_provider, config.ai_model)

    @property
    def is_offline(self) -> bool:
        """True for the offline provider (no model, no tokens)."""
        return self.provider == "offline"

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


@dataclass(frozen=True)
class ProviderStatus:
    """Whether a ``provider:model`` can be used here, and if not, what to do.

    Attributes:
        ref: the model checked.
        info: its provider.
        extra_installed: its SDK can be imported (``None``: it needs none).
        key_set: one of its key variables is set (``None``: it uses no key).
        base_url: the base URL in force, if the provider has one.
        price: its price per million tokens, if the price table knows it.
        problems: what is missing, each with the fix; empty when ready.
    """

    ref: ModelRef
    info: ProviderInfo
    extra_installed: bool | None
    key_set: bool | None
    base_url: str | None
    price: ModelPrice | None
    problems: tuple[str, ...]

    @property
    def ready(self) -> bool:
        """True when nothing is missing."""
        return not self.problems

    def to_json(self) -> dict[str, object]:
        """A JSON-ready view for ``rehearse providers ... --json``."""
        return {
            "ref": str(self.ref),
            "provider": self.ref.provider,
            "model": self.ref.model,
            "description": self.info.description,
            "extra": self.info.extra,
            "extra_installed": self.extra_installed,
            "key_env": list(self.info.key_env),
            "key_set": self.key_set,
            "base_url": self.base_url,
            "price_per_million": self.price.model_dump() if self.price else None,
            "ready": self.ready,
            "problems": list(self.problems),
        }


def install_hint(extra: str) -> str:
    """How to install one of rehearse's extras, for messages."""
    return f"pip install 'rehearse[{extra}]' (in a checkout: uv sync --extra {extra})"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_provider(ref: ModelRef, environ: Mapping[str, str] | None = None) -> ProviderStatus:
    """Check, without any network call, that ``ref`` is installed and configured.

    Args:
        ref: the model to check.
        environ: the environment to read (default ``os.environ``).

    Returns:
        The status; ``problems`` names each missing piece and its fix.
    """
    env = os.environ if environ is None else environ
    info = PROVIDERS[ref.provider]
    problems: list[str] = []
    installed: bool | None = None
    if info.module is not None and info.extra is not None:
        installed = _importable(info.module)
        if not installed:
            problems.append(
                f"{ref}: the {info.extra} extra is not installed; install it with "
                f"{install_hint(info.extra)}"
            )
    base_url: str | None = None
    if info.base_url_env is not None:
        base_url = env.get(info.base_url_env) or None
        if ref.provider == "ollama" and base_url is None:
            base_url = OLLAMA_DEFAULT_URL
    key_set: bool | None = None
    if info.key_env:
        key_set = any(env.get(name) for name in info.key_env)
        if info.key_required and not key_set and not (ref.provider == "openai" and base_url):
            names = " or ".join(info.key_env)
            also = (
                f" (or {info.base_url_env} for an OpenAI-compatible server such as vLLM or "
                "LM Studio)"
                if info.base_url_env
                else ""
            )
            problems.append(f"{ref}: set {names}{also}")
    from rehearse.ai.pricing import price_of

    return ProviderStatus(
        ref=ref,
        info=info,
        extra_installed=installed,
        key_set=key_set,
        base_url=base_url,
        price=price_of(ref, get_settings().ai_prices),
        problems=tuple(problems),
    )


def require_ready(ref: ModelRef, problems: tuple[str, ...] | None = None) -> None:
    """Raise unless ``ref`` can be used here.

    Args:
        ref: the model.
        problems: what is missing (default: :func:`check_provider`'s findings).

    Raises:
        ConfigurationError: its extra is not installed or its key is not set; the
            message says what to install or set.
    """
    found = check_provider(ref).problems if problems is None else problems
    if found:
        raise ConfigurationError(
            "; ".join(found),
            [{"field": "ai_provider", "value": ref.provider, "message": p} for p in found],
        )


class ModelSource(Protocol):
    """Where the LLM parts get a pydantic-ai model for a ``provider:model``."""

    def problems(self, ref: ModelRef) -> tuple[str, ...]:
        """What keeps ``ref`` from being used (each with its fix); empty when ready."""
        ...

    def model(self, ref: ModelRef) -> Model:
        """A fresh model for ``ref`` (the caller enters and closes it).

        Raises:
            ConfigurationError: the provider's extra or key is missing.
        """
        ...


class ProviderModels:
    """The real providers through pydantic-ai, SDKs imported on first use.

    ``openai`` uses the Chat Completions API (``OpenAIChatModel``) so that any
    OpenAI-compatible server works; ``ollama`` uses pydantic-ai's Ollama model;
    ``anthropic`` and ``google`` are inferred by pydantic-ai from ``"provider:model"``;
    ``test`` is :func:`rehearse.ai.fakes.scripted_model`.
    """

    def problems(self, ref: ModelRef) -> tuple[str, ...]:
        """The missing extra or key of ``ref`` (see :func:`check_provider`)."""
        return check_provider(ref).problems

    def model(self, ref: ModelRef) -> Model:
        """A fresh pydantic-ai model for ``ref``.

        Raises:
            ConfigurationError: the provider's extra or key is missing (with the fix).
        """
        require_ready(ref)
        if ref.provider == "test":
            from rehearse.ai.fakes import scripted_model

            return scripted_model(ref.model)
        if ref.provider == "openai":
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider

            if not os.environ.get("OPENAI_BASE_URL"):
                return OpenAIChatModel(ref.model, provider=OpenAIProvider())
            # an OpenAI-compatible server (vLLM, LM Studio, llama.cpp): the output cap goes
            # as ``max_tokens``, which they all honour; llama-cpp-python ignores OpenAI's
            # newer ``max_completion_tokens`` and would write to the end of its context
            from pydantic_ai.profiles import merge_profile
            from pydantic_ai.profiles.openai import OpenAIModelProfile

            profile = merge_profile(
                OpenAIProvider.model_profile(ref.model),
                OpenAIModelProfile(openai_chat_supports_max_completion_tokens=False),
            )
            return OpenAIChatModel(ref.model, provider=OpenAIProvider(), profile=profile)
        if ref.provider == "ollama":
            from pydantic_ai.models.ollama import OllamaModel
            from pydantic_ai.providers.ollama import OllamaProvider

            url = os.environ.get("OLLAMA_BASE_URL") or OLLAMA_DEFAULT_URL
            return OllamaModel(ref.model, provider=OllamaProvider(base_url=url))
        if ref.provider in ("anthropic", "google"):
            from pydantic_ai.models import infer_model

            return infer_model(str(ref))
        raise ConfigurationError(f"{ref}: the offline provider has no model")


class StaticModels:
    """Fixed models by ``"provider:model"``: test doubles and embedding code.

    Args:
        models: a model, or a function making one, per ``"provider:model"``;
            ``"provider:*"`` matches every model of a provider.
        fallback: where other references go (default: nowhere, they are refused).
    """

    def __init__(
        self,
        models: Mapping[str, Model | Callable[[], Model]],
        fallback: ModelSource | None = None,
    ) -> None:
        self.models = dict(models)
        self.fallback = fallback

    def problems(self, ref: ModelRef) -> tuple[str, ...]:
        """Nothing when a model is registered for ``ref``, else the fallback's problems."""
        if str(ref) in self.models or f"{ref.provider}:*" in self.models:
            return ()
        if self.fallback is not None:
            return self.fallback.problems(ref)
        return (f"{ref}: no model is registered for it",)

    def model(self, ref: ModelRef) -> Model:
        """The model registered for ``ref``.

        Raises:
            ConfigurationError: none is registered and there is no fallback.
        """
        from pydantic_ai.models import Model

        found = self.models.get(str(ref)) or self.models.get(f"{ref.provider}:*")
        if found is None:
            if self.fallback is not None:
                return self.fallback.model(ref)
            raise ConfigurationError(f"{ref}: no model is registered for it")
        return found if isinstance(found, Model) else found()
