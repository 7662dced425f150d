"""Access rules (seed 001 validate_session_access): admin all, interviewer own, candidate own."""

from __future__ import annotations

import pytest

from rehearse.domain.access import Principal, PrincipalRole
from rehearse.errors import AccessDeniedError, SessionNotFoundError
from rehearse.service.sessions import SessionManager

ADMIN = Principal(id="root", role=PrincipalRole.ADMIN)
ALICE_IV = Principal(id="alice", role=PrincipalRole.INTERVIEWER)
BOB_IV = Principal(id="bob", role=PrincipalRole.INTERVIEWER)
CARA = Principal(id="cara", role=PrincipalRole.CANDIDATE, email="Cara@Example.com")
DAN = Principal(id="dan", role=PrincipalRole.CANDIDATE, email="dan@example.com")


def test_rules(manager: SessionManager) -> None:
    by_alice = manager.create_session(
        {"candidate_name": "Cara", "candidate_email": "cara@example.com"}, created_by=ALICE_IV
    ).id
    by_dan = manager.create_session({"candidate_name": "Dan"}, created_by=DAN).id
    linked = manager.create_session(
        {"candidate_name": "Dan"}, created_by=BOB_IV, candidate_id="dan"
    ).id
    table = {
        ADMIN: {by_alice: True, by_dan: True, linked: True},
        ALICE_IV: {by_alice: True, by_dan: False, linked: False},
        BOB_IV: {by_alice: False, by_dan: False, linked: True},
        CARA: {by_alice: True, by_dan: False, linked: False},  # matched by e-mail, any case
        DAN: {by_alice: False, by_dan: True, linked: True},
    }
    for principal, expected in table.items():
        for session_id, allowed in expected.items():
            assert manager.validate_session_access(session_id, principal) is allowed, (
                principal.id,
                session_id,
            )
            if not allowed:
                with pytest.raises(
                    AccessDeniedError, match=f"{principal.role.value} '{principal.id}'"
                ):
                    manager.get_session_for(session_id, principal)
        visible = {s.id for s in manager.list_sessions(principal=principal).sessions}
        assert visible == {sid for sid, allowed in expected.items() if allowed}


def test_missing_session(manager: SessionManager) -> None:
    with pytest.raises(SessionNotFoundError):
        manager.validate_session_access("missing", ADMIN)


def test_explicit_grant_of_one_session(manager: SessionManager) -> None:
    one = manager.create_session({"candidate_name": "Eve"}, created_by=ALICE_IV).id
    two = manager.create_session({"candidate_name": "Eve"}, created_by=ALICE_IV).id
    link = Principal(id="link:abc", role=PrincipalRole.CANDIDATE, sessions=frozenset({one}))
    assert manager.validate_session_access(one, link)
    assert not manager.validate_session_access(two, link)
    assert [s.id for s in manager.list_sessions(principal=link).sessions] == [one]
