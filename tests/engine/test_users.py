"""Users, passwords and API tokens."""

from __future__ import annotations

import pytest

from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA


def test_passwords_are_checked_not_stored(service: Service) -> None:
    service.add_user("alice", ["Sales Rep"], password="correct horse")
    assert service.authenticate("alice", "correct horse") == {
        "username": "alice",
        "display_name": "alice",
        "roles": ["Sales Rep"],
        "active": True,
        "email": None,
        "language": None,
        "session_generation": 0,
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


# --- administration ----------------------------------------------------------------------


@pytest.fixture
def review(team: Service) -> Service:
    """The team with the review loop deployed (its first task goes to a sales rep)."""
    team.deploy([ENGINE_DATA / "review_loop.bpmn", ENGINE_DATA / "review.schema.json"])
    return team


def test_set_user_replaces_roles_and_changes_what_is_given(service: Service) -> None:
    service.add_user("mia", ["Sales Manager", "Legal", "Key Accounts"], password="old-password")
    record = service.set_user("mia", roles=["legal", "Finance"], email=" mia@example.com ")
    assert record["roles"] == ["Finance", "Legal"]  # the label first given for a kept role
    assert record["email"] == "mia@example.com"
    assert record["display_name"] == "mia"  # not given: unchanged
    assert service.roles("mia") == {"legal", "finance"}
    record = service.set_user("mia", display_name="  Mia Wu ", password="new-password")
    assert (record["display_name"], record["roles"]) == ("Mia Wu", ["Finance", "Legal"])
    assert service.authenticate("mia", "old-password") is None
    assert service.authenticate("mia", "new-password") is not None
    # Empty values: no roles, the user name as the name, no e-mail.
    record = service.set_user("mia", roles=[], display_name="", email="")
    assert (record["roles"], record["display_name"], record["email"]) == ([], "mia", None)
    assert service.roles("mia") == set()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "mia@localhost"}, "email"),
        ({"email": "mia example.com"}, "email"),
        ({"email": "@example.com"}, "email"),
        ({"password": "short"}, "password"),
        ({"roles": ["Legal", " - "]}, "roles"),
        ({"display_name": "x" * 201}, "display_name"),
    ],
)
def test_set_user_refuses_bad_values_and_changes_nothing(
    service: Service, change: dict[str, object], field: str
) -> None:
    service.add_user("mia", ["Sales Manager"], password="old-password", display_name="Mia")
    before = service.user("mia")
    with pytest.raises(ValidationError) as caught:
        service.set_user("mia", **{"roles": ["Finance"], **change})  # type: ignore[arg-type]
    assert caught.value.field == field
    assert service.user("mia") == before
    assert service.authenticate("mia", "old-password") is not None
    with pytest.raises(NotFoundError):
        service.set_user("ghost", display_name="Ghost")


def test_an_admin_keeps_their_own_admin_role(service: Service) -> None:
    service.add_user("root", ["admin", "Sales Manager"])
    service.add_user("ada", ["admin"])
    with pytest.raises(ForbiddenError, match="own admin role"):
        service.set_user("root", roles=["Sales Manager"], actor="root")
    assert service.roles("root") == {"admin", "sales manager"}
    # Other changes to oneself are fine, and another admin may take the role away.
    assert service.set_user("root", roles=["ADMIN"], actor="root")["roles"] == ["admin"]
    assert service.set_user("root", roles=["Finance"], actor="ada")["roles"] == ["Finance"]


def test_deactivated_user_cannot_log_in_and_keeps_open_tasks(review: Service) -> None:
    review.set_user("alice", password="alice-password")
    iid = review.start("review_loop", deal="ACME", owner="alice")["instance_id"]
    task = review.tasks(instance=iid)[0]
    assert task["assignee"] == "alice"
    token = review.create_token("alice", "lead form")["token"]
    review.add_user("root", ["admin"])

    with pytest.raises(ForbiddenError, match="cannot deactivate themselves"):
        review.deactivate_user("root", actor="root")
    done = review.deactivate_user("alice", actor="root")
    assert done["active"] is False and done["tokens_revoked"] == 1
    assert [(t["task_id"], t["deal"], t["instance_id"]) for t in done["open_tasks"]] == [
        (task["task_id"], "ACME", iid)
    ]
    assert review.authenticate("alice", "alice-password") is None
    assert review.user_for_token(token) is None
    with pytest.raises(NotFoundError):
        review.roles("alice")  # what ends her web sessions
    # The task stays hers, and the admin's page of her still lists it.
    assert review.tasks(instance=iid)[0]["assignee"] == "alice"
    assert [t["task_id"] for t in review.user("alice")["open_tasks"]] == [task["task_id"]]
    assert next(u for u in review.users() if u["username"] == "alice")["active"] is False

    assert review.activate_user("alice")["active"] is True
    assert review.authenticate("alice", "alice-password") is not None
    assert review.roles("alice") == {"sales rep"}
    assert review.user_for_token(token) is None  # revoked tokens stay revoked
    with pytest.raises(NotFoundError):
        review.deactivate_user("ghost")
    with pytest.raises(NotFoundError):
        review.activate_user("ghost")


def test_the_language_is_kept_on_the_user(service: Service) -> None:
    service.add_user("alice", ["Sales Rep"], password="alice-password")
    service.set_language("alice", "zh")
    assert service.user("alice")["language"] == "zh"
    assert service.authenticate("alice", "alice-password")["language"] == "zh"  # type: ignore[index]
    with pytest.raises(ValidationError):
        service.set_language("alice", "klingon")
    service.set_language("alice", None)
    assert service.user("alice")["language"] is None
    with pytest.raises(NotFoundError):
        service.set_language("ghost", "en")


def test_add_user_takes_an_email(service: Service) -> None:
    assert service.add_user("nina", email="nina@example.com")["email"] == "nina@example.com"
    with pytest.raises(ValidationError):
        service.add_user("omar", email="not-an-address")
    assert "omar" not in {u["username"] for u in service.users()}
