"""The session manager: creates, runs, times, budgets, records and evaluates sessions.

It is seed ``000_*``'s orchestrator, seed ``001_*``'s session service and seed
``004_*``'s practice engine in one object.
"""

from __future__ import annotations

import threading
from pathlib import Path

from rehearse.ai.offline import OfflineEvaluator, OfflineInterviewer
from rehearse.ai.protocols import Evaluator, Interviewer
from rehearse.ai.providers import ModelSource, ProviderModels
from rehearse.clock import Clock
from rehearse.files import SessionFolders
from rehearse.service.interviews import AnswerOutcome, InterviewFlow
from rehearse.settings import get_settings
from rehearse.storage import Store

__all__ = ["AnswerOutcome", "SessionManager"]


class SessionManager(InterviewFlow):
    """Creates and runs interview sessions (see the README for the whole API).

    The AI parts are chosen per session by its ``ai_provider`` and ``ai_model``
    (issue 5): ``offline`` sessions use the injected interviewer and evaluator (by
    default the shipped question bank and the calibrated rubric scorer, seed 000); any
    other provider uses a language model from ``models`` for that session, with the
    injected parts as its fallback.

    Args:
        store: where sessions live (:func:`rehearse.storage.open_store`).
        clock: the time source; tests pass a :class:`~rehearse.clock.FakeClock`.
        interviewer: chooses questions and follow-ups offline (and is the fallback).
        evaluator: scores answers offline (and is the fallback).
        folders: root of the session folders (default ``<data dir>/sessions``).
        models: where LLM sessions get their pydantic-ai model (default: the real
            providers, :class:`~rehearse.ai.providers.ProviderModels`; tests pass
            :class:`~rehearse.ai.providers.StaticModels`).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock | None = None,
        *,
        interviewer: Interviewer | None = None,
        evaluator: Evaluator | None = None,
        folders: Path | None = None,
        models: ModelSource | None = None,
    ) -> None:
        super().__init__(store, clock)
        self._question_cache = {}
        self._question_cache_lock = threading.Lock()
        self.interviewer = interviewer or OfflineInterviewer()
        self.evaluator = evaluator or OfflineEvaluator()
        self.folders = SessionFolders(folders or get_settings().data_dir / "sessions")
        self.models: ModelSource = models or ProviderModels()
