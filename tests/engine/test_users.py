"""Users, passwords and API tokens."""

from __future__ import annotations

import pytest

from engine.errors import NotFoundError, ValidationError
from engine.service import Service


def test_passwords_are_checked_not_stored(service: Service) -> None:
    service.add_user("alice", ["Sales Rep"], password="correct horse")
    assert service.authenticate("alice", "correct horse") == {
        "username": "alice",
        "display_name": "alice",
        "roles": ["Sales Rep"],
        "active": True,
    }
    assert service.authenticate("alice", "wrong") is None
    assert service.authenticate("nobody", "correct horse") is None
    service.add_user("bob", ["Sales Rep"])  # no password: cannot log in
    assert service.authenticate("bob", "") is None


def test_roles_are_added_not_duplicated(service: Service) -> None:
    service.add_user("mia", ["Sales Manager"])
    record = service.add_user("mia", ["sales_manager", "Legal"], display_name="Mia Wu")
    assert record["roles"] == ["Legal", "Sales Manager"]
    assert record["display_name"] == "Mia Wu"
    assert service.roles("mia") == {"sales manager", "legal"}
    with pytest.raises(ValidationError):
        service.add_user("two words", [])
    with pytest.raises(ValidationError):
        service.add_user("x", ["  "])
    with pytest.raises(NotFoundError):
        service.roles("ghost")


def test_tokens_identify_their_user_until_revoked(service: Service) -> None:
    service.add_user("alice", ["Sales Rep"])
    issued = service.create_token("alice", "web lead form")
    assert issued["token"].startswith("sf_") and len(issued["token"]) > 40
    assert service.user_for_token(issued["token"]) == "alice"
    assert service.user_for_token(issued["token"] + "x") is None
    listed = service.tokens("alice")
    assert [(t["id"], t["name"], t["revoked"]) for t in listed] == [
        (issued["id"], "web lead form", False)
    ]
    assert listed[0]["last_used_at"] is not None
    assert issued["token"] not in str(listed)
    with pytest.raises(NotFoundError):
        service.revoke_token(issued["id"], "bob")  # not bob's token
    service.revoke_token(issued["id"])
    assert service.user_for_token(issued["token"]) is None
    with pytest.raises(NotFoundError):
        service.create_token("ghost")
