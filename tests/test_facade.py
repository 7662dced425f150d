"""The facade (issue 8 item 1): SessionManager's pure delegations *are* its services' methods."""

from __future__ import annotations

import inspect

import pytest

from rehearse.service import access
from rehearse.service.sessions import SessionManager, delegated


def _delegations() -> dict[str, delegated[..., object]]:
    return {n: v for n, v in vars(SessionManager).items() if isinstance(v, delegated)}


def test_each_delegation_is_the_bound_service_method_with_its_docstring(
    manager: SessionManager,
) -> None:
    found = _delegations()
    assert {"create_session", "start_session", "submit_answer", "get_report"} <= set(found)
    for name, spec in found.items():
        service = getattr(manager.services, spec.part)
        bound = getattr(manager, name)
        assert bound == getattr(service, name), name  # the same method of the same object
        assert bound.__self__ is service
        assert spec.__doc__ and spec.__doc__ == getattr(type(service), name).__doc__
        assert inspect.signature(bound) == inspect.signature(getattr(service, name))
    assert SessionManager.require_staff is access.require_staff


def test_a_delegation_under_another_name_is_refused() -> None:
    from rehearse.service.lifecycle import SessionService

    # Python 3.11 wraps an error of __set_name__ in RuntimeError; 3.12 raises it as it is
    with pytest.raises((TypeError, RuntimeError)) as raised:

        class Wrong:  # the class statement itself must fail
            begin = delegated("sessions", SessionService.start_session)

    error = raised.value.__cause__ or raised.value
    assert isinstance(error, TypeError)
    assert "Wrong.begin delegates to a method named start_session" in str(error)


def test_the_facade_runs_a_session_through_its_delegations(manager: SessionManager) -> None:
    session = manager.create_session({"candidate_name": "Ada"})
    assert manager.start_session(session.id).status.value == "active"
    item = manager.next_question(session.id)
    assert item is not None
    outcome = manager.submit_answer(session.id, item.id, "A thoughtful answer about caching.")
    assert outcome.item.id == item.id
    assert manager.get_answers(session.id)[0].text.startswith("A thoughtful")
