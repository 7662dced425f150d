"""The realtime bridge: live components' updates into the session log, without slowing them.

Seed ``002_*`` asks for a ``RealtimeSessionManager`` that persists audio stream
metadata, context injections and tool executions "within 50 ms" and "without data
loss under concurrency"; issue 14 makes that exact:

* A call validates the update, checks the session from the hot state cache and
  returns once the event is queued (a :class:`Receipt` with its queue position).
  ``wait="durable"`` (or :meth:`RealtimeSessionManager.flush`) returns after commit.
* One background writer takes up to ``realtime_batch_size`` events (500) or what
  arrived within ``realtime_batch_seconds`` (50 ms; less when commits are quicker: it
  lingers no longer than its last commit took) and appends them in ONE
  transaction (:meth:`rehearse.storage.sql.SQLStore.append_events`), each event taking
  the next ``seq`` of its session, in call order per session.
* A failed batch is retried with exponential backoff, never dropped; a retry skips
  events already stored (every event carries an ``event_id``), so an unclear failure
  (the commit landed but its reply was lost) stores nothing twice. The queue is bounded:
  when it is full callers wait (back-pressure). Shutdown writes everything queued.
* Subscribers (:meth:`RealtimeSessionManager.subscribe`) are woken by the notifier
  (:mod:`rehearse.storage.notifiers`) and read the log after the last ``seq`` they saw,
  so delivery is complete and ordered whichever worker wrote the event.
* When a session becomes final its realtime state is closed exactly once: the audio
  streams are finalized (``audio_stream_finalized`` with their totals), then
  ``realtime_closed``; subscriptions end after delivering it; cache entries are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, NamedTuple, Self

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pydantic import BaseModel

from rehearse.domain.events import Event, EventType
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.realtime import (
    MODELS,
    PLAIN_KINDS,
    RESERVED_TYPES,
    PendingEvent,
    encode,
    validate_update,
)
from rehearse.domain.sessions import Session
from rehearse.errors import (
    ConfigurationError,
    DataStoreError,
    SessionImmutableError,
    SessionNotFoundError,
)
from rehearse.service.sessions import SessionManager
from rehearse.settings import Settings, get_settings
from rehearse.storage.committed import CommittedEvents
from rehearse.storage.notifiers import Notifier, open_notifier
from rehearse.storage.sql import SQLStore

log = logging.getLogger("rehearse.realtime")
_NEVER = datetime.max.replace(tzinfo=UTC)
_AUDIO_METADATA = EventType.AUDIO_METADATA.value
_CONTEXT_INJECTION = EventType.CONTEXT_INJECTION.value
_TOOL_EXECUTION = EventType.TOOL_EXECUTION.value

Wait = Literal["durable"] | None
REPLAY_PAGE = 500
#: lifecycle events after which a session's realtime state is closed
FINAL_TYPES = frozenset(
    {
        EventType.SESSION_COMPLETED.value,
        EventType.SESSION_EXPIRED.value,
        EventType.SESSION_CANCELLED.value,
    }
)
#: how long closing waits for the ended session's report to be recorded first, seconds
REPORT_GRACE_SECONDS = 5.0
#: at least this long between a session's end and its closing events, seconds
CLOSE_GRACE_SECONDS = 0.25


class Receipt(NamedTuple):
    """What a record call returns (a named tuple: one is made per update, on its path).

    Attributes:
        session_id: the session.
        type: the event name.
        event_id: the event's unique id (also in its ``data``).
        queue_position: its place in this process's realtime queue, 1, 2, 3 ...
        seq: its ``seq`` in the session's log, once durable (``None`` before).
        position: its global position in the log of every session, once durable.
    """

    session_id: str
    type: str
    event_id: str
    queue_position: int
    seq: int | None = None
    position: int | None = None

    @property
    def durable(self) -> bool:
        """True when the event is known to be committed."""
        return self.seq is not None


class SessionState(BaseModel):
    """The current state of a session as the hot cache serves it.

    Attributes:
        session_id, status, version, last_seq: as stored.
        remaining_seconds: active time left now, whole seconds rounded up.
        tokens_used, token_budget: tokens.
    """

    session_id: str
    status: SessionStatus
    version: int
    last_seq: int
    remaining_seconds: int
    tokens_used: int
    token_budget: int


class RealtimeMetrics:
    """The realtime bridge's Prometheus metrics, on their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.queue_depth = Gauge("rehearse_realtime_queue_depth", "Events queued.", registry=r)
        self.events = Counter("rehearse_realtime_events", "Realtime events committed.", registry=r)
        self.batch_size = Histogram(
            "rehearse_realtime_batch_size",
            "Events per committed batch.",
            buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 5000),
            registry=r,
        )
        self.flush_seconds = Histogram(
            "rehearse_realtime_flush_seconds",
            "Seconds to commit one batch.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
            registry=r,
        )
        self.retries = Counter(
            "rehearse_realtime_batch_retries", "Failed batch writes retried.", registry=r
        )
        self.subscribers = Gauge("rehearse_realtime_subscribers", "Open subscriptions.", registry=r)
        self.sweeps = Counter("rehearse_expiry_sweeps", "Expiry sweeps run.", registry=r)
        self.notifier_connected = Gauge(
            "rehearse_notifier_connected", "1 while cross-worker wake-ups arrive.", registry=r
        )


class RealtimeSessionManager:
    """An async facade over a :class:`SessionManager` for live components (seed ``002_*``).

    Use it on one event loop, as ``async with RealtimeSessionManager(manager) as rt``
    or with :meth:`start` and :meth:`aclose`; it starts itself on the first call.

    Args:
        manager: the session manager whose store receives the events.
        notifier: wake-ups across workers (default: chosen from the database URL and
            ``REHEARSE_REDIS_URL``, :func:`~rehearse.storage.notifiers.open_notifier`).
        settings: batch size, linger, queue size and retry limits (default: the
            environment's).
        metrics: where to count (default: a registry of its own).
    """

    def __init__(
        self,
        manager: SessionManager,
        *,
        notifier: Notifier | None = None,
        settings: Settings | None = None,
        metrics: RealtimeMetrics | None = None,
    ) -> None:
        self.manager = manager
        self.store: SQLStore = manager.store  # type: ignore[assignment]
        # the manager's clock, read once: its property lookup was paid on every update
        self._clock = manager.clock
        self.settings = settings or get_settings()
        if notifier is None:
            url = self.store.engine.url.render_as_string(hide_password=False)
            notifier = open_notifier(url, self.settings.redis_url)
        self.notifier = notifier
        self.metrics = metrics or RealtimeMetrics()
        self._queue_size = self.settings.realtime_queue_size
        self._batch_size = self.settings.realtime_batch_size
        # the bounded queue: a deque with two signals, so the writer takes a whole batch
        # at once and held-back callers are woken once per batch, not once per event.
        # Its events are numbered by tickets 1, 2, 3 ... in queue order: the first queued
        # one holds ticket _taken + 1, so an event carries no ticket of its own (one
        # object less per update); only durable callers' futures are kept, by ticket.
        self._buffer: deque[PendingEvent] = deque()
        self._taken = 0  # tickets up to this one left the queue for the writer
        self._waiters: dict[int, asyncio.Future[Event]] = {}
        # back-pressure, first come first served: callers held back by a full queue wait
        # in arrival order; each slot the writer frees is promised to the next of them
        # (woken once, never overtaken by a later call), not broadcast to all
        self._held: deque[asyncio.Future[None]] = deque()
        self._promised = 0  # slots promised to woken callers, not yet taken
        self._batch_due: asyncio.Event | None = None  # set when a batch should go now
        self._started = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.Task[None] | None = None
        self._tickets = 0
        self._written = 0  # every ticket up to this one is committed (or failed for good)
        self._flush_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._urgent = 0  # queued items someone waits for: write without lingering
        self._first_at = 0.0  # loop time the oldest queued event arrived (about)
        # how long the last batch took to commit, seconds; before the first, the whole
        # linger (so a first trickle of updates is batched too)
        self._last_commit_seconds = self.settings.realtime_batch_seconds
        self._hot: dict[str, Session] = {}
        self._generation: dict[str, int] = {}
        # while the hot cache holds a session: the instant its time runs out (the end of
        # time for one not counting down); updates stamped before it need no read
        self._due: dict[str, datetime] = {}
        self._last_known: dict[str, Session] = {}  # fallback while the database is down
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._closing_sessions: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._silenced = False
        self._gave_up = False
        self._id_prefix = os.urandom(8).hex() + "-"
        self._ids = 0

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the writer and the notifier (idempotent).

        Raises:
            RuntimeError: called after :meth:`aclose`.
        """
        if self._writer is not None:
            return
        if self._closed:
            raise RuntimeError("this RealtimeSessionManager is closed; create a new one")
        self._loop = asyncio.get_running_loop()
        self._batch_due = asyncio.Event()
        self._started = True
        self._writer = asyncio.create_task(self._write_forever(), name="realtime-writer")
        self.store.listeners.append(self._on_commit)
        await self.notifier.start(self._wake)

    async def flush(self) -> None:
        """Return once every event queued before this call is committed.

        Raises:
            DataStoreError: shutdown gave up on some of them (the database stayed down).
        """
        if not self._started or self._written >= self._tickets:
            return
        assert self._loop is not None and self._batch_due is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._flush_waiters.append((self._tickets, waiter))
        self._urgent += 1
        self._batch_due.set()
        try:
            await waiter
        finally:
            self._urgent -= 1

    async def aclose(self) -> None:
        """Write everything queued, close subscriptions and the notifier (idempotent).

        While the database is down, unwritten events are retried for up to
        ``realtime_shutdown_seconds``; what is still unwritten then is logged as lost
        (its callers never had it acknowledged as durable).
        """
        if self._closed:
            return
        self._closed = True
        if self._writer is not None and self._batch_due is not None:
            self._batch_due.set()
            await self._writer
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for subscriptions in list(self._subscriptions.values()):
            for subscription in list(subscriptions):
                subscription.close()
        self._silenced = True  # everything queued is written and announced
        with contextlib.suppress(ValueError):
            self.store.listeners.remove(self._on_commit)
        await self.notifier.aclose()

    def close(self) -> None:
        """:meth:`aclose` for synchronous code (a thread other than the loop's).

        Raises:
            RuntimeError: called on a running event loop (await :meth:`aclose` there).
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            self._closed = True
            return
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            raise RuntimeError("close() was called on an event loop; await aclose() instead")
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        else:
            loop.run_until_complete(self.aclose())

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def queue_depth(self) -> int:
        """Events queued and not yet taken by the writer."""
        return len(self._buffer)

    # -- recording ------------------------------------------------------------------

    async def record_audio_metadata(
        self,
        session_id: str,
        data: BaseModel | dict[str, Any],
        *,
        wait: Wait = None,
        actor: str = "local",
    ) -> Receipt:
        """Record audio stream metadata (:class:`~rehearse.domain.realtime.AudioMetadata`).

        Raises:
            ConfigurationError: invalid data; the message names the field.
            SessionNotFoundError: no such session.
            SessionImmutableError: the session is final.
            DataStoreError: ``wait="durable"`` and shutdown gave up on the event.
        """
        event = self._pending(session_id, _AUDIO_METADATA, data, actor)
        if wait is None and self._ready_for(event):
            return self._put(event)
        return (await self._record(session_id, [event], wait))[0]

    async def record_context_injection(
        self,
        session_id: str,
        data: BaseModel | dict[str, Any],
        *,
        wait: Wait = None,
        actor: str = "local",
    ) -> Receipt:
        """Record a context injection (:class:`~rehearse.domain.realtime.ContextInjection`).

        Raises the same errors as :meth:`record_audio_metadata`.
        """
        event = self._pending(session_id, _CONTEXT_INJECTION, data, actor)
        if wait is None and self._ready_for(event):
            return self._put(event)
        return (await self._record(session_id, [event], wait))[0]

    async def record_tool_execution(
        self,
        session_id: str,
        data: BaseModel | dict[str, Any],
        *,
        wait: Wait = None,
        actor: str = "local",
    ) -> Receipt:
        """Record a tool execution (:class:`~rehearse.domain.realtime.ToolExecution`).

        Raises the same errors as :meth:`record_audio_metadata`.
        """
        event = self._pending(session_id, _TOOL_EXECUTION, data, actor)
        if wait is None and self._ready_for(event):
            return self._put(event)
        return (await self._record(session_id, [event], wait))[0]

    async def record_event(
        self,
        session_id: str,
        type: str,
        data: BaseModel | dict[str, Any],
        *,
        wait: Wait = None,
        actor: str = "local",
    ) -> Receipt:
        """Record an update of any type: one of the three above, or a component's own.

        Args:
            session_id: the session (it must exist and not be final).
            type: ``audio_metadata``, ``context_injection``, ``tool_execution`` or a
                custom name (lower-case letters, digits, ``_``; not a built-in event).
            data: a dict, or the type's pydantic model.
            wait: ``"durable"`` to return only after commit (with ``seq`` and
                ``position``); ``None`` returns once queued (microseconds, unless the
                queue is full: then the call waits for room).
            actor: who reports it.

        Raises the same errors as :meth:`record_audio_metadata`, and
        ``ConfigurationError`` for an unknown ``wait`` or a reserved ``type``.
        """
        event = self._pending(session_id, str(type), data, actor)
        if wait is None and self._ready_for(event):
            return self._put(event)  # the hot path: no await
        return (await self._record(session_id, [event], wait))[0]

    async def record_many(
        self,
        session_id: str,
        updates: Sequence[tuple[str, BaseModel | dict[str, Any]]],
        *,
        wait: Wait = None,
        actor: str = "local",
    ) -> list[Receipt]:
        """Record several updates of one session, all or none (the REST endpoint's call).

        Every update is validated before any is queued; they keep their order.

        Raises:
            ConfigurationError: an invalid update; each ``errors`` entry's field starts
                with its index (``"2.data.tool"``), and nothing is queued.
            SessionNotFoundError, SessionImmutableError: as :meth:`record_audio_metadata`.
        """
        now = self._clock.now()
        pending = [
            self._pending(session_id, kind, data, actor, index, now)
            for index, (kind, data) in enumerate(updates)
        ]
        return await self._record(session_id, pending, wait)

    async def _record(
        self, session_id: str, pending: list[PendingEvent], wait: Wait
    ) -> list[Receipt]:
        if wait not in (None, "durable"):
            raise ConfigurationError(
                f"wait={wait!r}: not allowed (allowed: 'durable' or None)",
                [{"field": "wait", "value": str(wait), "message": "allowed: durable"}],
            )
        if self._writer is None:
            await self.start()
        at = pending[0].at if pending else self._clock.now()
        session = self._cached(session_id, at)
        if session is None:
            session = await self._session_for_recording(session_id)
        if session.status.is_final:
            raise SessionImmutableError(session_id, session.status.value, "record realtime updates")
        return await self._enqueue(pending, durable=wait == "durable")

    def _pending(
        self,
        session_id: str,
        kind: str,
        data: BaseModel | dict[str, Any],
        actor: str,
        index: int | None = None,
        now: datetime | None = None,
    ) -> PendingEvent:
        """The validated event, stamped ``now`` (default: the clock's).

        Its ``event_id`` and its JSON text are made here too. Encoding at the call, not
        in the writer, refuses data that cannot be stored to its caller (the writer
        would retry a batch holding it for ever).
        """
        if now is None:
            now = self._clock.now()
        try:
            checked = validate_update(kind, data)
            if "event_id" not in checked:
                # unique without a system call per event: 64 random bits per manager + a counter
                self._ids += 1
                checked["event_id"] = f"{self._id_prefix}{self._ids:x}"
            encoded = encode(checked, plain=kind in PLAIN_KINDS)
        except ConfigurationError as exc:
            if index is None:
                raise
            fields = [{**f, "field": f"{index}.{f['field']}"} for f in exc.errors]
            raise ConfigurationError(f"event {index}: {exc}", fields) from None
        return PendingEvent(session_id, kind, now, actor, checked, encoded)

    def _ready_for(self, event: PendingEvent) -> bool:
        """True when ``event`` may be queued at once.

        That is: the writer runs, the queue has room and the hot cache holds the event's
        session, live at the event's instant.
        """
        if (
            self._writer is None
            or self._closed
            or self._held
            or len(self._buffer) + self._promised >= self._queue_size
        ):
            return False
        # what _cached checks, without fetching the entry: _due holds exactly the cached
        # sessions (never a final one), with the instant until which each may be served
        due = self._due.get(event.session_id)
        return due is not None and event.at < due and self.notifier.connected

    def _put(self, event: PendingEvent) -> Receipt:
        """Queue one event that nobody waits for (the caller checked the room)."""
        self._tickets += 1
        buffer = self._buffer
        buffer.append(event)
        depth = len(buffer)
        if depth == 1:
            self._first_at = self._loop.time()  # type: ignore[union-attr]
            self._batch_due.set()  # type: ignore[union-attr]
        elif depth >= self._batch_size:
            self._batch_due.set()  # type: ignore[union-attr]
        # _make: the tuple's own constructor, without the Python-level __new__ of a
        # named tuple (one receipt per update)
        fields = (event.session_id, event.type, event.data["event_id"], self._tickets, None, None)
        return Receipt._make(fields)

    async def _enqueue(self, pending: list[PendingEvent], *, durable: bool) -> list[Receipt]:
        assert self._loop is not None and self._batch_due is not None
        limit, batch = self._queue_size, self._batch_size
        tickets: list[int] = []
        waiters: list[asyncio.Future[Event]] = []
        for event in pending:
            if self._held or len(self._buffer) + self._promised >= limit:
                await self._wait_for_room()  # back-pressure
            if self._closed:
                raise RuntimeError("this RealtimeSessionManager is closed")
            self._tickets += 1
            tickets.append(self._tickets)
            self._buffer.append(event)
            if durable:
                waiter = self._waiters[self._tickets] = self._loop.create_future()
                waiters.append(waiter)
                self._urgent += 1
            if len(self._buffer) == 1:
                self._first_at = self._loop.time()
            if durable or len(self._buffer) >= batch or len(self._buffer) == 1:
                self._batch_due.set()
        if not durable:
            return [
                Receipt(e.session_id, e.type, e.data["event_id"], t)
                for e, t in zip(pending, tickets, strict=True)
            ]
        try:
            stored = [await waiter for waiter in waiters]
        finally:
            self._urgent -= len(waiters)
        return [
            Receipt(e.session_id, e.type, e.data["event_id"], t, e.seq, e.position)
            for t, e in zip(tickets, stored, strict=True)
        ]

    async def _wait_for_room(self) -> None:
        """Wait behind the callers already held back until a slot is promised to this one."""
        assert self._loop is not None
        turn: asyncio.Future[None] = self._loop.create_future()
        self._held.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._promised -= 1  # promised, then cancelled: the slot goes to the next
                self._make_room()
            else:
                with contextlib.suppress(ValueError):
                    self._held.remove(turn)
            raise
        self._promised -= 1  # the caller takes its slot now (nothing awaits in between)

    def _make_room(self) -> None:
        """Promise the free slots of the queue to held-back callers, first come first."""
        free = self._queue_size - len(self._buffer) - self._promised
        held = self._held
        while free > 0 and held:
            turn = held.popleft()
            if not turn.done():  # (a cancelled caller's turn is skipped)
                turn.set_result(None)
                self._promised += 1
                free -= 1

    # -- the writer -----------------------------------------------------------------

    async def _write_forever(self) -> None:
        assert self._batch_due is not None
        due, buffer = self._batch_due, self._buffer
        size = self.settings.realtime_batch_size
        loop = asyncio.get_running_loop()
        while True:
            if not buffer:
                if self._closed:
                    return
                due.clear()
                await due.wait()
                continue
            if len(buffer) < size and not self._urgent and not self._closed:
                # linger for the batch to fill, at most realtime_batch_seconds after its
                # first event, and no longer than the last commit took: waiting longer
                # than a commit lasts buys little batching and costs every event in it
                # latency (a lone update is durable in one commit, not 50 ms later)
                linger = min(self._last_commit_seconds, self.settings.realtime_batch_seconds)
                remaining = self._first_at + linger - loop.time()
                if remaining > 0:
                    due.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(due.wait(), remaining)
            if len(buffer) <= size:
                batch = list(buffer)
                buffer.clear()
            else:
                batch = [buffer.popleft() for _ in range(size)]
                self._first_at = loop.time()
            first = self._taken + 1
            self._taken += len(batch)
            if self._held:
                self._make_room()
            self.metrics.queue_depth.set(len(buffer))
            await self._write(batch, first)

    async def _write(self, events: list[PendingEvent], first: int) -> None:
        """Append ``events`` (tickets ``first``, ``first + 1`` ...), retrying until stored."""
        assert self._loop is not None
        end = first + len(events) - 1
        # the ticket of each event: a range until some are dropped
        tickets: Sequence[int] = range(first, end + 1)
        attempt = 0
        gave_up_at: float | None = None
        while True:
            if self._gave_up:
                self._give_up(tickets, "an earlier batch could not be written at shutdown")
                self._advance(end)
                return
            started = time.perf_counter()
            try:
                stored: Sequence[Event] = await asyncio.to_thread(
                    self.store.append_events, events, dedupe=attempt > 0
                )
                break
            except SessionNotFoundError as exc:
                # validated when queued and sessions are never deleted: only a session
                # removed behind rehearse's back gets here; keep the rest of the batch
                log.error("dropping realtime events of missing session %s", exc.session_id)
                missing = [e.session_id == exc.session_id for e in events]
                self._fail([t for t, gone in zip(tickets, missing, strict=True) if gone], exc)
                tickets = [t for t, gone in zip(tickets, missing, strict=True) if not gone]
                events = [e for e, gone in zip(events, missing, strict=True) if not gone]
                if not events:
                    self._advance(end)
                    return
            except Exception as exc:
                attempt += 1
                self.metrics.retries.inc()
                if self._closed:
                    limit = self.settings.realtime_shutdown_seconds
                    gave_up_at = gave_up_at or self._loop.time() + limit
                    if self._loop.time() >= gave_up_at:
                        self._gave_up = True
                        lost = len(events) + len(self._buffer)
                        log.error("shutdown: %d realtime event(s) not written: %s", lost, exc)
                        self._give_up(tickets, str(exc))
                        self._advance(end)
                        return
                wait = min(0.05 * 2 ** (attempt - 1), self.settings.realtime_retry_max_seconds)
                log.warning(
                    "realtime batch of %d failed (attempt %d: %s); retrying in %.2fs",
                    len(events),
                    attempt,
                    exc,
                    wait,
                )
                await asyncio.sleep(wait)
        self._last_commit_seconds = time.perf_counter() - started
        self.metrics.flush_seconds.observe(self._last_commit_seconds)
        self.metrics.batch_size.observe(len(stored))
        self.metrics.events.inc(len(stored))
        if len(stored) < len(events):  # a retry found some already stored
            stored = await self._complete(events, stored)
        waiters = self._waiters
        if waiters:  # durable callers of this batch: their events as stored
            for ticket in [t for t in waiters if first <= t <= end]:
                waiter = waiters.pop(ticket)
                if not waiter.done():
                    waiter.set_result(stored[tickets.index(ticket)])
        self._advance(end)

    def _give_up(self, tickets: Iterable[int], reason: str) -> None:
        error = DataStoreError(f"realtime events not written before shutdown: {reason}")
        self._fail(tickets, error)
        for _, waiter in self._flush_waiters:
            if not waiter.done():
                waiter.set_exception(error)
        self._flush_waiters.clear()

    async def _complete(self, batch: list[PendingEvent], stored: Sequence[Event]) -> list[Event]:
        """The stored event of every pending one, reading back those an earlier attempt stored."""
        by_id = {e.data["event_id"]: e for e in stored}
        for session_id in {e.session_id for e in batch}:
            missing = [
                e for e in batch if e.session_id == session_id and e.data["event_id"] not in by_id
            ]
            if missing:
                types = sorted({e.type for e in missing})
                found = await asyncio.to_thread(self.store.get_events, session_id, 0, None, types)
                by_id |= {e.data.get("event_id"): e for e in found}
        return [by_id[e.data["event_id"]] for e in batch]

    def _fail(self, tickets: Iterable[int], error: Exception) -> None:
        for ticket in tickets:
            waiter = self._waiters.pop(ticket, None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)

    def _advance(self, batch_end: int) -> None:
        self._written = max(self._written, batch_end)
        ready = [(t, w) for t, w in self._flush_waiters if t <= self._written]
        self._flush_waiters = [(t, w) for t, w in self._flush_waiters if t > self._written]
        for _, waiter in ready:
            if not waiter.done():
                waiter.set_result(None)

    # -- commits and wake-ups ---------------------------------------------------------

    def _on_commit(self, events: CommittedEvents) -> None:
        """Store listener (any thread): update the cache, then tell every worker."""
        loop = self._loop
        if loop is None or loop.is_closed() or self._silenced:
            return
        heads = events.heads
        # the sessions changed by more than realtime updates (a lifecycle event: their
        # cache entry must go); a commit of realtime updates only is known without a
        # look at each of its events (their types come with the commit)
        changed: set[str] = set()
        ended: set[str] = set()
        if not RESERVED_TYPES.isdisjoint(events.types):
            changed = {e.session_id for e in events if e.type in RESERVED_TYPES}
            ended = {e.session_id for e in events if e.type in FINAL_TYPES}
        # one hand-over to the loop per commit (cache, then this worker's subscribers):
        # each is a write to the loop's wake-up pipe, paid for by this thread with the GIL
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._committed_here, heads, changed, ended)
        self.notifier.publish(heads.items(), here=False)

    def _committed_here(self, heads: dict[str, int], changed: set[str], ended: set[str]) -> None:
        self._cache_committed(heads, changed, ended)
        for session_id, seq in heads.items():
            self._wake(session_id, seq)

    def _cache_committed(self, heads: dict[str, int], changed: set[str], ended: set[str]) -> None:
        """Move the cache on after a commit.

        ``heads`` (session -> newest seq) were appended; ``changed`` sessions got more
        than realtime updates; ``ended`` ones became final.
        """
        for session_id, newest in heads.items():
            cached = self._hot.get(session_id)
            if cached is not None and session_id not in changed:
                # realtime events change nothing but the log's head: keep the entry
                if newest > cached.last_seq:
                    self._hot[session_id] = cached.model_copy(
                        update={"last_seq": newest, "version": cached.version + 1}
                    )
            else:
                self._invalidate(session_id)
            if session_id in ended:
                self.close_session_later(session_id)

    def _wake(self, session_id: str | None, seq: int) -> None:
        """Notifier callback (on the loop): events up to ``seq`` are committed."""
        self.metrics.notifier_connected.set(1 if self.notifier.connected else 0)
        if session_id is None:
            for known in list(self._hot):
                self._invalidate(known)
            for subscriptions in self._subscriptions.values():
                for subscription in subscriptions:
                    subscription.wake()
            return
        cached = self._hot.get(session_id)
        if cached is not None and seq > cached.last_seq:
            self._invalidate(session_id)
        for subscription in self._subscriptions.get(session_id, ()):
            if seq > subscription.last_seq:
                subscription.wake()

    def _invalidate(self, session_id: str) -> None:
        self._hot.pop(session_id, None)
        self._due.pop(session_id, None)
        if session_id in self._generation:  # only sessions read through here are tracked
            self._generation[session_id] += 1

    # -- the hot state cache ------------------------------------------------------------

    async def get_session(self, session_id: str) -> Session:
        """The session, from memory while it is known current, else from the store.

        An entry is dropped on every change to the session, from this worker (at once)
        or another (when its notification arrives); while the notifier cannot hear
        other workers nothing is served from memory. A session whose time ran out is
        expired first (as :meth:`SessionManager.get_session` does).

        Raises:
            SessionNotFoundError: no such session.
        """
        cached = self._cached(session_id, self._clock.now())
        if cached is not None:
            return cached
        generation = self._generation.setdefault(session_id, 0)
        session = await asyncio.to_thread(self.manager.get_session, session_id)
        self._last_known[session_id] = session
        if (
            self._generation.get(session_id, 0) == generation
            and not session.status.is_final
            and self.notifier.connected
        ):
            self._hot[session_id] = session
            if session.status is SessionStatus.ACTIVE:
                # its time runs out at this instant: from then on it must be expired first
                now = self._clock.now()
                self._due[session_id] = now + timedelta(microseconds=session.remaining_us_at(now))
            else:
                self._due[session_id] = _NEVER
        return session

    def _cached(self, session_id: str, now: datetime) -> Session | None:
        """The hot cache's entry, if it may be served at ``now`` (see :meth:`get_session`)."""
        cached = self._hot.get(session_id)
        if cached is None or not self.notifier.connected:
            return None
        due = self._due.get(session_id)
        return cached if due is not None and now < due else None

    async def _session_for_recording(self, session_id: str) -> Session:
        """The session to check a new update against, riding out a database outage.

        A read that fails is tried again once (the pool replaces dead connections);
        if the database is still down, the last state read is used: the update is
        queued, and the writer retries until the database is back.
        """
        for attempt in (1, 2):
            try:
                return await self.get_session(session_id)
            except DataStoreError:
                known = self._last_known.get(session_id)
                if attempt == 2 and known is not None:
                    return known
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def get_state(self, session_id: str) -> SessionState:
        """Status, remaining time, token usage and last ``seq``, from the hot cache.

        Raises:
            SessionNotFoundError: no such session.
        """
        session = await self.get_session(session_id)
        now = self._clock.now()
        return SessionState(
            session_id=session.id,
            status=session.status,
            version=session.version,
            last_seq=session.last_seq,
            remaining_seconds=session.remaining_seconds_at(now),
            tokens_used=session.tokens_used,
            token_budget=session.config.token_budget,
        )

    # -- subscriptions ------------------------------------------------------------------

    def subscribe(
        self,
        session_id: str,
        *,
        types: Sequence[str] = (),
        after: int = 0,
        callback: Callable[[Event], Awaitable[None] | None] | None = None,
    ) -> Subscription:
        """Follow a session's events with ``seq > after`` (only ``types``, if given).

        Iterate the returned :class:`Subscription` (``async for event in sub``), or pass
        ``callback`` (sync or async, called with each event in order). Delivery is
        complete and ordered: events are read from the log. The subscription ends after
        the session's ``realtime_closed`` event (always delivered, whatever ``types``),
        or when closed.
        """
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        subscription = Subscription(self, session_id, tuple(types), max(after, 0))
        self._subscriptions.setdefault(session_id, set()).add(subscription)
        self.metrics.subscribers.inc()
        if callback is not None:
            self._spawn(_feed(subscription, callback))
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        subscriptions = self._subscriptions.get(subscription.session_id)
        if subscriptions and subscription in subscriptions:
            subscriptions.discard(subscription)
            self.metrics.subscribers.dec()
            if not subscriptions:
                del self._subscriptions[subscription.session_id]

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- closing a session ---------------------------------------------------------------

    def close_session_later(self, session_id: str) -> None:
        """Schedule :meth:`close_session` (once per process; the store makes it once overall)."""
        if session_id in self._closing_sessions or self._closed:
            return
        self._closing_sessions.add(session_id)
        self._spawn(self._close_quietly(session_id))

    async def _close_quietly(self, session_id: str) -> None:
        try:
            await self.close_session(session_id)
        except Exception:
            log.exception("closing realtime state of session %s failed", session_id)
            self._closing_sessions.discard(session_id)

    async def close_session(self, session_id: str) -> list[Event]:
        """Close a final session's realtime state, exactly once across all workers.

        Writes what is queued, waits for other workers' queued updates (three batch
        lingers, at least 0.25 s) and for the session's report (up to 5 s), then records
        one ``audio_stream_finalized`` per audio stream (state, chunks, bytes, seconds
        of audio, reports) and ``realtime_closed`` (the final status and how many
        realtime events the session holds). Returns the events recorded here (none when
        another worker closed it first).

        Raises:
            SessionNotFoundError: no such session.
            InvalidStateError: the session is not final.
        """
        await self.flush()
        # other workers may still hold updates accepted before the end: they write them
        # within their batch linger, so give them that (and more) before closing
        await asyncio.sleep(max(CLOSE_GRACE_SECONDS, 3 * self.settings.realtime_batch_seconds))
        deadline = time.monotonic() + REPORT_GRACE_SECONDS
        while True:
            session = await asyncio.to_thread(self.manager.get_session, session_id)
            if not session.status.is_final:
                raise SessionImmutableError(session_id, session.status.value, "close")
            if session.report_status is None or session.report_status.value != "pending":
                break
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.05)
        self._invalidate(session_id)
        realtime = await asyncio.to_thread(
            self.store.get_events, session_id, 0, None, sorted(MODELS)
        )
        now = self._clock.now()
        closing = [
            PendingEvent(session_id, EventType.AUDIO_STREAM_FINALIZED.value, now, "system", data)
            for data in audio_totals(realtime)
        ]
        local = len(self._subscriptions.get(session_id, ()))
        closing.append(
            PendingEvent(
                session_id,
                EventType.REALTIME_CLOSED.value,
                now,
                "system",
                {
                    "reason": session.status.value,
                    "realtime_events": len(realtime),
                    "subscribers_closed_here": local,
                },
            )
        )
        recorded = await asyncio.to_thread(
            self.store.append_events, closing, unless_type=EventType.REALTIME_CLOSED.value
        )
        # a final session is never cached again: forget what this worker knew of it
        for known in (self._last_known, self._generation, self._due):
            known.pop(session_id, None)
        if len(self._closing_sessions) > 10_000:  # only a guard against repeated closing
            self._closing_sessions.clear()
        return list(recorded)


def audio_totals(events: Iterable[Event]) -> list[dict[str, Any]]:
    """Per audio stream: its last state and the sum of its chunks, bytes and seconds."""
    streams: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.type != EventType.AUDIO_METADATA.value:
            continue
        data = event.data
        stream = streams.setdefault(
            str(data.get("stream_id", "main")),
            {"chunks": 0, "bytes": 0, "duration_seconds": 0.0, "reports": 0},
        )
        stream["stream_id"] = str(data.get("stream_id", "main"))
        stream["last_state"] = data.get("state")
        stream["chunks"] += int(data.get("chunks", 0))
        stream["bytes"] += int(data.get("bytes", 0))
        stream["duration_seconds"] = round(
            stream["duration_seconds"] + float(data.get("duration_seconds", 0.0)), 6
        )
        stream["reports"] += 1
        stream["state"] = "finalized"
    return list(streams.values())


@dataclass(eq=False)
class Subscription:
    """An open follow of one session's events; an async iterator (see ``subscribe``).

    Attributes:
        session_id: the session followed.
        types: only these event types (empty: all).
        last_seq: the ``seq`` of the newest event read (0 before the first).
    """

    rt: RealtimeSessionManager
    session_id: str
    types: tuple[str, ...]
    last_seq: int
    _signal: asyncio.Event = field(default_factory=asyncio.Event)
    _buffer: deque[Event] = field(default_factory=deque)
    _ended: bool = False
    _closing_seen: bool = False

    def wake(self) -> None:
        """Something may be new: read the log at the next step."""
        self._signal.set()

    def close(self) -> None:
        """Stop following; a waiting iteration ends."""
        self._ended = True
        self._signal.set()
        self.rt._unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while True:
            event = self._take()
            if event is not None:
                return event
            if self._ended:
                raise StopAsyncIteration
            self._signal.clear()
            if not await self._read():
                await self._signal.wait()

    async def backlog(self) -> list[Event]:
        """The events already in the log, without waiting for new ones (a replay)."""
        while await self._read() == REPLAY_PAGE:
            pass
        ready: list[Event] = []
        while (event := self._take()) is not None:
            ready.append(event)
        return ready

    def _take(self) -> Event | None:
        while self._buffer:
            event = self._buffer.popleft()
            if event.type == EventType.REALTIME_CLOSED.value:
                self._buffer.clear()
                self.close()
                return event
            if event.type in FINAL_TYPES:
                self.rt.close_session_later(self.session_id)
            if not self.types or event.type in self.types:
                return event
        return None

    async def _read(self) -> int:
        """Read the log after ``last_seq`` into the buffer; returns how many were read."""
        if self._ended:
            return 0
        query = (*self.types, EventType.REALTIME_CLOSED.value, *FINAL_TYPES) if self.types else ()
        try:
            events = await asyncio.to_thread(
                self.rt.store.get_events, self.session_id, self.last_seq, REPLAY_PAGE, query
            )
        except DataStoreError as exc:
            log.warning("subscription to %s: %s; retrying", self.session_id, exc)
            await asyncio.sleep(0.5)
            return 0
        if events:
            self.last_seq = events[-1].seq
            self._buffer.extend(events)
        return len(events)


async def _feed(
    subscription: Subscription, callback: Callable[[Event], Awaitable[None] | None]
) -> None:
    try:
        async for event in subscription:
            result = callback(event)
            if inspect.isawaitable(result):
                await result
    finally:
        subscription.close()
