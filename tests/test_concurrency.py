"""16 threads on one session: usage racing pause, resume and end loses nothing."""

from __future__ import annotations

import threading
from collections import Counter

from rehearse.domain.lifecycle import SessionStatus
from rehearse.errors import InvalidStateError, SessionImmutableError
from rehearse.service.sessions import SessionManager

USAGE_THREADS = 12
LIFECYCLE_THREADS = 4
CALLS = 15


def test_usage_racing_transitions(manager_on_each_backend: SessionManager) -> None:
    manager = manager_on_each_backend
    session_id = manager.create_session({"candidate_name": "Ada", "token_budget": 200_000}).id
    manager.start_session(session_id)
    barrier = threading.Barrier(USAGE_THREADS + LIFECYCLE_THREADS)
    lock = threading.Lock()
    succeeded: Counter[str] = Counter()
    unexpected: list[BaseException] = []

    def usage_worker(n: int) -> None:
        barrier.wait()
        for i in range(CALLS):
            try:
                manager.record_usage(session_id, 10 + n, i, model=f"m{n}")
            except SessionImmutableError:
                continue  # the session ended under us: refused, not lost
            except BaseException as exc:
                unexpected.append(exc)
                continue
            with lock:
                succeeded["usage"] += 1
                succeeded["tokens"] += 10 + n + i

    def lifecycle_worker(n: int) -> None:
        barrier.wait()
        for i in range(CALLS):
            action = "end" if (n == 0 and i == CALLS - 1) else ("pause" if i % 2 == 0 else "resume")
            try:
                getattr(manager, f"{action}_session")(session_id)
            except (InvalidStateError, SessionImmutableError):
                continue  # refused from the state another thread left: expected
            except BaseException as exc:
                unexpected.append(exc)
                continue
            with lock:
                succeeded[action] += 1

    threads = [threading.Thread(target=usage_worker, args=(n,)) for n in range(USAGE_THREADS)]
    threads += [
        threading.Thread(target=lifecycle_worker, args=(n,)) for n in range(LIFECYCLE_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    session = manager.get_session(session_id)
    events = manager.get_events(session_id)
    assert session.status is SessionStatus.COMPLETED
    assert succeeded["end"] == 1
    # nothing lost: every successful call is in the row and in the log, exactly once
    assert session.tokens_used == succeeded["tokens"]
    usage_events = [e for e in events if e.type == "usage_recorded"]
    assert len(usage_events) == succeeded["usage"]
    assert (
        sum(e.data["prompt_tokens"] + e.data["completion_tokens"] for e in usage_events)
        == succeeded["tokens"]
    )
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert session.last_seq == len(events)
    kinds = Counter(e.type for e in events)
    assert kinds["session_paused"] == succeeded["pause"]
    assert kinds["session_resumed"] == succeeded["resume"]
    assert kinds["session_completed"] == 1
    # the log replays to the row: states alternate correctly and end completed
    state = "created"
    for event in events:
        if "from" in event.data:
            assert event.data["from"] == state
            state = event.data["to"]
    assert state == "completed"
    # nothing was recorded after the session became final
    completed_at = next(i for i, e in enumerate(events) if e.type == "session_completed")
    assert all(e.type != "usage_recorded" for e in events[completed_at + 1 :])
