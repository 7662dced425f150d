"""The events one transaction appended, as a store's commit listeners and callers get them.

A realtime batch appends up to ``realtime_batch_size`` events (500) of which, most of
the time, nobody reads one back: the writer answers only the callers that wait for
durability, and subscribers read the log. So :class:`CommittedEvents` holds what the
append already had in hand (the pending events, their ``seq`` and ``position``) and
builds an :class:`~rehearse.domain.events.Event` only when one is read; what listeners
need of every event (each session's newest ``seq``, the types written) comes with it.
Building all 500 up front was most of the batch writer's Python time, on the
interpreter lock the callers share, and most of the cyclic collector's work during
ingestion (``benchmarks/bench_realtime.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, overload

from rehearse.domain.events import Event

if TYPE_CHECKING:  # a read-only command never loads the realtime types (issue 8)
    from rehearse.domain.realtime import PendingEvent

#: every field of a stored event is set: one set shared by the events built here
#: (pydantic copies it before any change, and an Event is frozen)
_EVENT_FIELDS = set(Event.model_fields)


class CommittedEvents(Sequence[Event]):
    """The events of one commit, in append order; an immutable sequence of :class:`Event`.

    Attributes:
        heads: each session's newest ``seq`` after the commit.
        types: the event types the commit holds.
    """

    __slots__ = ("_built", "_pending", "_positions", "_seqs", "heads", "types")

    def __init__(
        self,
        pending: Sequence[PendingEvent],
        seqs: Sequence[int],
        positions: Sequence[int | None],
        heads: dict[str, int],
    ) -> None:
        """Events to build from ``pending[i]``, stored as ``seqs[i]`` at ``positions[i]``."""
        self._pending = pending
        self._seqs = seqs
        self._positions = positions
        self._built: list[Event] | None = None
        self.heads = heads
        self.types = frozenset(event.type for event in pending)

    @classmethod
    def of(cls, events: Sequence[Event]) -> CommittedEvents:
        """The commit of events already built (the session writer's few per change)."""
        heads: dict[str, int] = {}
        for event in events:
            heads[event.session_id] = max(event.seq, heads.get(event.session_id, 0))
        made = cls((), (), (), heads)
        made._built = list(events)
        made.types = frozenset(event.type for event in made._built)
        return made

    def __len__(self) -> int:
        return len(self._built) if self._built is not None else len(self._pending)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if self._built is not None or isinstance(index, slice):
            return self._all()[index]
        return self._build(index)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CommittedEvents | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which are unhashable

    def __repr__(self) -> str:
        return f"CommittedEvents({self._all()!r})"

    def _all(self) -> list[Event]:
        if self._built is None:
            self._built = [self._build(index) for index in range(len(self._pending))]
        return self._built

    def _build(self, index: int) -> Event:
        """What ``Event.model_construct`` builds, without its loop over the defaults.

        Every field was checked when the event was queued; ``test_realtime.py`` proves
        the result equal to ``model_construct``'s.
        """
        event = self._pending[index]
        made = object.__new__(Event)
        put = object.__setattr__
        put(
            made,
            "__dict__",
            {
                "session_id": event.session_id,
                "seq": self._seqs[index],
                "type": event.type,
                "at": event.at,
                "actor": event.actor,
                "data": event.data,
                "position": self._positions[index],
            },
        )
        put(made, "__pydantic_fields_set__", _EVENT_FIELDS)
        put(made, "__pydantic_extra__", None)
        put(made, "__pydantic_private__", None)
        return made
