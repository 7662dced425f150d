"""AI parts behind small protocols: the interviewer and the evaluator (seed ``000_*``).

The offline versions are the defaults and need no network: the interviewer draws from
the shipped question bank, the evaluator is the calibrated rubric scorer of
:mod:`rehearse.scoring`. Issue 5 adds LLM providers chosen per session by a
``"provider:model"`` string (:mod:`rehearse.ai.providers`), with token budgets
(:mod:`rehearse.ai.budget`) and estimates (:func:`estimate_session`). Nothing imported
here loads pydantic-ai; :mod:`rehearse.ai.llm` and :mod:`rehearse.ai.calls` do, when a
session uses a model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rehearse.ai.estimates import SessionEstimate, estimate_session
    from rehearse.ai.offline import OfflineEvaluator, OfflineInterviewer
    from rehearse.ai.protocols import Evaluator, Interviewer
    from rehearse.ai.providers import (
        PROVIDERS,
        ModelRef,
        ModelSource,
        ProviderModels,
        ProviderStatus,
        StaticModels,
        check_provider,
    )

#: Public name -> its module, imported on first use (PEP 562): importing one submodule,
#: as the service does, no longer loads the estimates and prompts (issue 8 item 5).
_EXPORTS: dict[str, str] = {
    "PROVIDERS": "rehearse.ai.providers",
    "Evaluator": "rehearse.ai.protocols",
    "Interviewer": "rehearse.ai.protocols",
    "ModelRef": "rehearse.ai.providers",
    "ModelSource": "rehearse.ai.providers",
    "OfflineEvaluator": "rehearse.ai.offline",
    "OfflineInterviewer": "rehearse.ai.offline",
    "ProviderModels": "rehearse.ai.providers",
    "ProviderStatus": "rehearse.ai.providers",
    "SessionEstimate": "rehearse.ai.estimates",
    "StaticModels": "rehearse.ai.providers",
    "check_provider": "rehearse.ai.providers",
    "estimate_session": "rehearse.ai.estimates",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use and keep it.

    Raises:
        AttributeError: ``name`` is not one of :data:`__all__`.
    """
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rehearse.ai' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "PROVIDERS",
    "Evaluator",
    "Interviewer",
    "ModelRef",
    "ModelSource",
    "OfflineEvaluator",
    "OfflineInterviewer",
    "ProviderModels",
    "ProviderStatus",
    "SessionEstimate",
    "StaticModels",
    "check_provider",
    "estimate_session",
]
