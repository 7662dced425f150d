"""The session manager: creates, runs, times, budgets, records and evaluates sessions.

It is seed ``000_*``'s orchestrator, seed ``001_*``'s session service and seed
``004_*``'s practice engine in one object.
"""

from __future__ import annotations

from rehearse.ai.offline import OfflineEvaluator, OfflineInterviewer
from rehearse.ai.protocols import Evaluator, Interviewer
from rehearse.clock import Clock
from rehearse.service.interviews import AnswerOutcome, InterviewFlow
from rehearse.storage import Store

__all__ = ["AnswerOutcome", "SessionManager"]


class SessionManager(InterviewFlow):
    """Creates and runs interview sessions (see the README for the whole API).

    The AI parts are injected (seed 000): by default the offline interviewer (the
    shipped question bank) and the offline evaluator (the calibrated rubric scorer).

    Args:
        store: where sessions live (:func:`rehearse.storage.open_store`).
        clock: the time source; tests pass a :class:`~rehearse.clock.FakeClock`.
        interviewer: chooses questions and follow-ups.
        evaluator: scores answers.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock | None = None,
        *,
        interviewer: Interviewer | None = None,
        evaluator: Evaluator | None = None,
    ) -> None:
        super().__init__(store, clock)
        self.interviewer = interviewer or OfflineInterviewer()
        self.evaluator = evaluator or OfflineEvaluator()
