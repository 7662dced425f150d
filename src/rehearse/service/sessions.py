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
from rehearse.domain.access import Principal
from rehearse.domain.progress import (
    LearningPath,
    Milestone,
    ProgressAnalytics,
    SessionComparison,
    UserProgress,
)
from rehearse.files import SessionFolders
from rehearse.service.interviews import AnswerOutcome, InterviewFlow
from rehearse.service.progress import progress_for
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

    # -- progress across sessions (issue 12): delegates to rehearse.service.progress --------

    def get_user_progress(
        self, user: str | None = None, *, principal: Principal | None = None
    ) -> UserProgress:
        """Progress over all of ``user``'s sessions (e-mail or principal id; seed 004).

        Raises:
            AccessDeniedError: ``principal`` may not see this user's sessions.
        """
        return progress_for(self).get_user_progress(user, principal=principal)

    def get_progress_analytics(
        self, user: str | None = None, period: str = "30d", *, principal: Principal | None = None
    ) -> ProgressAnalytics:
        """Progress over ``period`` (``"7d"``, ``"30d"``, ``"90d"`` or ``"all"``) with breakdowns.

        Raises:
            ConfigurationError: an unknown period.
            AccessDeniedError: ``principal`` may not see this user's sessions.
        """
        return progress_for(self).get_progress_analytics(user, period, principal=principal)

    def compare_sessions(
        self, a: str, b: str, *, principal: Principal | None = None
    ) -> SessionComparison:
        """Session ``b`` against session ``a`` (deltas are b - a).

        Raises:
            SessionNotFoundError: either session does not exist.
            AccessDeniedError: ``principal`` may not see both.
        """
        return progress_for(self).compare_sessions(a, b, principal=principal)

    def generate_learning_path(
        self, user: str | None = None, *, principal: Principal | None = None
    ) -> LearningPath:
        """Level estimate, focus areas, spaced-repetition practice set and weekly plan.

        Raises:
            AccessDeniedError: ``principal`` may not see this user's sessions.
        """
        return progress_for(self).generate_learning_path(user, principal=principal)

    def get_milestones(
        self, user: str | None = None, *, principal: Principal | None = None
    ) -> list[Milestone]:
        """Every milestone with its progress; reaching one records ``milestone_achieved`` once.

        Raises:
            AccessDeniedError: ``principal`` may not see this user's sessions.
        """
        return progress_for(self).get_milestones(user, principal=principal)
