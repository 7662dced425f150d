"""AI parts behind small protocols: the interviewer and the evaluator (seed ``000_*``).

The offline versions are the defaults and need no network: the interviewer draws from
the shipped question bank, the evaluator is the calibrated rubric scorer of
:mod:`rehearse.scoring`. Issue 5 adds LLM providers chosen by a ``"provider:model"`` string.
"""

from rehearse.ai.offline import OfflineEvaluator, OfflineInterviewer
from rehearse.ai.protocols import Evaluator, Interviewer

__all__ = ["Evaluator", "Interviewer", "OfflineEvaluator", "OfflineInterviewer"]
