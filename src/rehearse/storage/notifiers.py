"""Signals that a session's log grew: in-process, PostgreSQL LISTEN/NOTIFY, or Redis pub/sub.

A notification is only a wake-up call: ``(session id, seq)`` of the newest committed
event. Subscribers then read the log after the last ``seq`` they saw, so a lost,
duplicated or late notification can delay an event but never lose or reorder one
(ARCHITECTURE.md: the notifier wakes subscribers, which read the log). After a
(re)connection the notifier wakes everyone (``session_id=None``) so they catch up.

Which notifier runs is chosen by one value each: ``REHEARSE_REDIS_URL`` (Redis pub/sub),
else the database URL (PostgreSQL: LISTEN/NOTIFY on the same server), else in-process
only (SQLite serves one worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlalchemy.engine import make_url

log = logging.getLogger("rehearse.notify")

#: ``wake(session_id, seq)``: events up to ``seq`` of the session are committed;
#: ``session_id=None`` means "anything may have changed: catch up every session".
Wake = Callable[[str | None, int], None]

CHANNEL = "rehearse_events"
RECONNECT_MAX_SECONDS = 5.0


class Notifier(Protocol):
    """Carries ``(session id, seq)`` wake-ups to this process and, if shared, to the others."""

    #: ``"local"``, ``"postgresql"`` or ``"redis"``
    kind: str

    @property
    def connected(self) -> bool:
        """True while wake-ups from other processes are arriving (always, in-process)."""
        ...

    def publish(self, heads: Iterable[tuple[str, int]], *, here: bool = True) -> None:
        """Announce committed events, ``(session id, newest seq)`` each; thread-safe.

        ``here=False``: tell only the other processes (the caller wakes this one).
        Never raises: a failure is logged (subscribers elsewhere catch up on their next
        wake-up or resynchronisation).
        """
        ...

    async def start(self, wake: Wake) -> None:
        """Deliver wake-ups to ``wake`` on the running event loop from now on."""
        ...

    async def aclose(self) -> None:
        """Stop listening and release connections."""
        ...


class LocalNotifier:
    """In-process wake-ups only: the notifier for one worker (SQLite, tests)."""

    kind = "local"

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: Wake | None = None

    @property
    def connected(self) -> bool:
        """Always true: there is nobody else to hear from."""
        return True

    def publish(self, heads: Iterable[tuple[str, int]], *, here: bool = True) -> None:
        """Wake this process's subscribers of each session (``here=False``: nothing)."""
        if here:
            self._local(heads)

    def _local(self, heads: Iterable[tuple[str, int]]) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        # one hand-over to the loop per commit, not one per session: each is a write to
        # the loop's wake-up pipe, which the committing thread pays for with the GIL
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(_wake_each, wake, list(heads))

    async def start(self, wake: Wake) -> None:
        """Remember the loop and the callback."""
        self._loop = asyncio.get_running_loop()
        self._wake = wake

    async def aclose(self) -> None:
        """Forget the callback."""
        self._wake = None


def _wake_each(wake: Wake, heads: list[tuple[str, int]]) -> None:
    for session_id, seq in heads:
        wake(session_id, seq)


class _Remote(LocalNotifier):
    """A notifier that also hears other processes, through a listener task that reconnects."""

    def __init__(self) -> None:
        super().__init__()
        self._connected = False
        self._stopped = False
        self._task: asyncio.Task[None] | None = None
        self._send_lock = threading.Lock()

    @property
    def connected(self) -> bool:
        """True while the listening connection is up."""
        return self._connected

    def publish(self, heads: Iterable[tuple[str, int]], *, here: bool = True) -> None:
        """Wake this process at once (unless ``here=False``), then tell the others."""
        heads = list(heads)
        if here:
            self._local(heads)
        if not heads or self._stopped:
            return
        payloads = [f"{session_id}:{seq}" for session_id, seq in heads]
        with self._send_lock:
            if self._stopped:  # closed while this thread waited for the lock
                return
            for attempt in (1, 2):
                try:
                    self._send(payloads)
                    return
                except Exception as exc:
                    self._reset_sender()
                    if attempt == 2:
                        log.warning("could not publish %d wake-up(s): %s", len(payloads), exc)

    async def start(self, wake: Wake) -> None:
        """Start the listener task."""
        await super().start(wake)
        self._task = asyncio.create_task(self._listen_forever(), name=f"{self.kind}-listener")

    async def aclose(self) -> None:
        """Cancel the listener and close the sender."""
        self._stopped = True
        await super().aclose()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with self._send_lock:
            self._reset_sender()

    async def _listen_forever(self) -> None:
        delay = 0.1
        while True:
            payloads = self._listen()
            try:
                async for payload in payloads:
                    delay = 0.1
                    if payload is None:  # (re)connected: everyone catches up from the log
                        self._connected = True
                        self._deliver(None, 0)
                        continue
                    session_id, _, seq = payload.rpartition(":")
                    if session_id and seq.isdigit():
                        self._deliver(session_id, int(seq))
            except asyncio.CancelledError:
                self._connected = False
                raise
            except Exception as exc:
                log.warning("%s listener lost its connection (%s); reconnecting", self.kind, exc)
            finally:
                with contextlib.suppress(Exception):  # closes the connection now, not in GC
                    await payloads.aclose()
            self._connected = False
            self._deliver(None, 0)  # caches must not trust what they hold while deaf
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _deliver(self, session_id: str | None, seq: int) -> None:
        if self._wake is not None:
            self._wake(session_id, seq)

    def _listen(self) -> Any:  # an async iterator of payloads, None after connecting
        raise NotImplementedError

    def _send(self, payloads: list[str]) -> None:
        raise NotImplementedError

    def _reset_sender(self) -> None:
        raise NotImplementedError


class PostgresNotifier(_Remote):
    """LISTEN/NOTIFY on the PostgreSQL server the sessions live on (payload ``id:seq``).

    Args:
        database_url: the SQLAlchemy URL of the store (``postgresql+psycopg://...``).
        channel: the NOTIFY channel.
    """

    kind = "postgresql"

    def __init__(self, database_url: str, channel: str = CHANNEL) -> None:
        super().__init__()
        self.conninfo = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self.channel = channel
        self._sender: Any = None

    def _send(self, payloads: list[str]) -> None:
        import psycopg

        if self._sender is None or self._sender.closed:
            self._sender = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
        self._sender.execute(
            "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload",
            (self.channel, payloads),
        )

    def _reset_sender(self) -> None:
        if self._sender is not None:
            with contextlib.suppress(Exception):
                self._sender.close()
        self._sender = None

    async def _listen(self) -> Any:
        import psycopg
        from psycopg import sql

        async with await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, connect_timeout=5
        ) as connection:
            await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            yield None
            async for notice in connection.notifies():
                yield notice.payload


class RedisNotifier(_Remote):
    """Redis pub/sub (``REHEARSE_REDIS_URL``): for deployments that already run Redis.

    Args:
        redis_url: ``redis://host:6379/0``.
        channel: the pub/sub channel.
    """

    kind = "redis"

    def __init__(self, redis_url: str, channel: str = CHANNEL) -> None:
        super().__init__()
        self.redis_url = redis_url
        self.channel = channel
        self._sender: Any = None

    def _send(self, payloads: list[str]) -> None:
        import redis

        if self._sender is None:
            self._sender = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        pipeline = self._sender.pipeline(transaction=False)
        for payload in payloads:
            pipeline.publish(self.channel, payload)
        pipeline.execute()

    def _reset_sender(self) -> None:
        if self._sender is not None:
            with contextlib.suppress(Exception):
                self._sender.close()
        self._sender = None

    async def _listen(self) -> Any:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.redis_url)
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(self.channel)
            yield None
            async for message in pubsub.listen():
                data = message.get("data")
                if isinstance(data, bytes):
                    yield data.decode()
        finally:
            await client.aclose()


def open_notifier(database_url: str, redis_url: str = "") -> Notifier:
    """The notifier for this deployment: Redis if ``redis_url``, PostgreSQL, else local."""
    if redis_url:
        return RedisNotifier(redis_url)
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresNotifier(database_url)
    return LocalNotifier()
