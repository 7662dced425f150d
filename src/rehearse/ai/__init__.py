"""AI parts behind small protocols: the interviewer and the evaluator (seed ``000_*``).

The offline versions are the defaults and need no network: the interviewer draws from
the shipped question bank, the evaluator is the calibrated rubric scorer of
:mod:`rehearse.scoring`. Issue 5 adds LLM providers chosen per session by a
``"provider:model"`` string (:mod:`rehearse.ai.providers`), with token budgets
(:mod:`rehearse.ai.budget`) and estimates (:func:`estimate_session`). Nothing imported
here loads pydantic-ai; :mod:`rehearse.ai.llm` and :mod:`rehearse.ai.calls` do, when a
session uses a model.
"""

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
