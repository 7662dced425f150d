"""Reports: built from the stored answers when a session ends, stored once per ending.

Seed ``000_*`` ends a session with an evaluation; seed ``004_*`` completes it with a
summary, strengths and recommendations. The report is built by
:func:`rehearse.domain.reports.build_report`; this service decides when:

- the write that makes a session final (or a late evaluation on a final one) triggers
  it through the writer's post-commit hook;
- answers still waiting for their evaluation (a crash between an answer's two commits)
  are evaluated first (issue 10, item 3); while one is being evaluated by this process
  the report waits, and that evaluation's commit triggers it;
- a report is stored only if the plan it was built from is still the stored plan and
  the report is still pending, so one ending stores one report (issue 10, item 8);
- a failure is recorded (``report_failed``) and :meth:`ReportService.get_report` retries;
  the answers are never touched.

In an LLM session the model drafts the report's words before the session ends
(``report_drafted``), while the session can still record its usage.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from rehearse.domain.events import EventType
from rehearse.domain.interviews import apply_report, apply_report_release
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.plan import InterviewState, ReportStatus
from rehearse.domain.reports import Report, build_report
from rehearse.domain.sessions import Change, Session
from rehearse.errors import InvalidStateError
from rehearse.service.ai_parts import AIParts
from rehearse.service.interviews import InterviewService
from rehearse.service.writer import SessionWriter

log = logging.getLogger("rehearse.reports")


class ReportService:
    """Generates, stores and serves session reports.

    Args:
        writer: the session writer (its post-commit hook is registered here).
        interviews: the interview service (answers, questions, recovery).
        ai: the AI collaborator (report words of LLM sessions).
    """

    def __init__(self, writer: SessionWriter, interviews: InterviewService, ai: AIParts) -> None:
        self.writer = writer
        self.interviews = interviews
        self.ai = ai
        self._defer: Callable[[str], None] | None = None
        self._stored_hooks: list[Callable[[Session], object]] = []
        writer.on_final(self._finished)

    def on_stored(self, hook: Callable[[Session], object]) -> None:
        """Run ``hook(session)`` after each commit that stores a final session's report.

        The composition root records newly achieved milestones here (issue 12). A hook
        that raises is logged and does not undo the stored report.
        """
        self._stored_hooks.append(hook)

    def defer_to(self, submit: Callable[[str], None] | None) -> None:
        """Build reports off the caller's path: ``submit(session_id)`` queues the work.

        The background owner of ``rehearse serve`` sets this (issue 16: ``end_session``
        is one commit; its report follows right after). Without it, the write that ends
        a session builds the report before it returns. Either way :meth:`get_report`
        builds a pending report itself when asked first.
        """
        self._defer = submit

    def _finished(self, session: Session) -> bool:
        """After a session became final (or changed while final): store its report.

        Returns True when the report was built here (the session changed), False when
        there was nothing to do or the work was queued (:meth:`defer_to`).
        """
        if session.report_status is not ReportStatus.PENDING or session.interview is None:
            return False
        if self._defer is not None:
            self._defer(session.id)
            return False
        self.finish(session.id)
        return True

    def finish(self, session_id: str) -> None:
        """Store the pending report of a final session once every answer is settled."""
        session = self.writer.store.get(session_id)
        if session is None or session.interview is None:
            return
        if session.report_status is not ReportStatus.PENDING or not session.status.is_final:
            return
        if self.interviews.recover(session.id):
            fresh = self.writer.store.get(session.id)
            if fresh is None:
                return
            session = fresh
        if not self.interviews.is_settled(session):
            return  # an evaluation in progress here stores it when it commits
        # a failure is recorded as report_failed (not pending), and get_report retries
        with contextlib.suppress(Exception):
            self.generate_report(session.id, only_if_pending=True)

    def generate_report(
        self, session_id: str, *, actor: str = "system", only_if_pending: bool = False
    ) -> Report:
        """Build the report from the stored answers; on a final session, store it.

        Answers still waiting for an evaluation are evaluated first. A failure is
        recorded as ``report_failed`` (``report_status`` failed) and re-raised; the
        answers are untouched and the report can be generated again.

        Args:
            session_id: the session.
            actor: who asks (recorded on the events).
            only_if_pending: store nothing if a report of this ending is stored
                already (the post-commit hook and a concurrent reader: one report per
                ending); a failed one is replaced.

        Raises:
            SessionNotFoundError: no such session.
            InvalidStateError: the session has no plan.
        """
        self.interviews.recover(session_id)
        session = self.writer.read(session_id)
        if session.interview is None:
            raise InvalidStateError(session_id, "without a question plan", "report on")
        try:
            report = self.build(session)
        except Exception as exc:
            if session.status.is_final:
                message = f"{type(exc).__name__}: {exc}"[:500]
                self.writer.change(
                    session_id,
                    lambda s, now: apply_report(s, None, message, now),
                    "report on",
                    actor,
                    expire_first=False,
                )
            raise
        if session.status.is_final:
            data = report.model_dump(mode="json")
            plan = session.interview

            def rule(current: Session, now: datetime) -> Change:
                if _stale(current, plan, only_if_pending):
                    return current, []
                return apply_report(current, data, None, now)

            stored = self.writer.change(session_id, rule, "report on", actor, expire_first=False)
            if stored.report_status is ReportStatus.READY:
                for hook in self._stored_hooks:
                    try:
                        hook(stored)
                    except Exception:  # the report stands; the next ending records again
                        log.exception("after the report of %s", session_id)
        return report

    def build(self, session: Session) -> Report:
        """The report of ``session`` as it stands (nothing stored)."""
        # imported here: the speech metrics load the scorer, which reading a session
        # (`rehearse sessions show`) never needs (issue 8 item 5)
        from rehearse.service.spoken_speech import spoken_speech

        attempts = self.interviews.attempts(session.id)
        report = build_report(
            session,
            self.interviews.questions(session.id),
            attempts,
            now=self.writer.clock.now(),
            evaluator=self.ai.evaluator_label(session, attempts),
            speech=spoken_speech(self.writer.store, session.id),
        )
        if self.ai.model_ref(session) is not None:
            report = self.ai.with_ai_words(session.id, report, len(attempts))
        return report

    def get_report(self, session_id: str, *, regenerate: bool = False) -> Report:
        """The session's report: the stored one when ready, else generated now.

        A running session gets an interim report (not stored). ``regenerate`` rebuilds
        and stores a fresh one.

        Raises:
            SessionNotFoundError: no such session.
            InvalidStateError: the session has no plan.
        """
        session = self.writer.read(session_id)
        if session.report_status is ReportStatus.READY and not regenerate:
            stored = self.writer.store.get_events(
                session_id, types=(EventType.REPORT_GENERATED.value,)
            )
            if stored:
                return Report.model_validate(stored[-1].data["report"])
        # a pending report may be being built in the background right now: store ours
        # only if it still is pending, so the ending keeps one report
        return self.generate_report(session_id, only_if_pending=not regenerate)

    def draft_words(self, session_id: str, actor: str) -> None:
        """Before an LLM session ends, let its model draft the report's words.

        Does nothing for offline sessions, sessions not running, sessions whose time ran
        out, or sessions with no evaluated answer; a failure or a used budget leaves the
        offline words.
        """
        peek = getattr(self.writer.store, "peek", None)
        seen = peek(session_id) if peek is not None else None
        if (
            seen is not None
            and seen.status is not SessionStatus.CREATED
            and self.ai.model_ref(seen) is None
        ):
            return  # started offline: the provider is locked once a session starts
        stored = self.writer.store.get(session_id)
        if stored is None:
            return
        ref = self.ai.model_ref(stored)
        if (
            ref is None
            or stored.status not in (SessionStatus.ACTIVE, SessionStatus.PAUSED)
            or stored.is_due_to_expire(self.writer.clock.now())
        ):
            return
        attempts = self.interviews.attempts(session_id)
        if any(a.evaluation for a in attempts):
            draft = build_report(
                stored,
                self.interviews.questions(session_id),
                attempts,
                now=self.writer.clock.now(),
                evaluator=str(ref),
            )
            self.ai.draft_report(stored, ref, draft, len(attempts), actor)

    def release_report(self, session_id: str, *, actor: str) -> Session:
        """Release a final session's report to its candidate (``report_released``).

        Raises:
            InvalidStateError: the session is not final, or has no plan.
        """
        return self.writer.change(
            session_id,
            lambda s, now: apply_report_release(s, actor, now),
            "release the report of",
            actor,
            expire_first=False,
        )


def _stale(current: Session, built_from: InterviewState, only_if_pending: bool) -> bool:
    """True when a report built from ``built_from`` must not be stored on ``current``."""
    if current.interview != built_from:
        return True  # a late evaluation landed meanwhile: its own hook reports again
    return only_if_pending and current.report_status is ReportStatus.READY
