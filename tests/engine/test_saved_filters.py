"""Saved filters ("saved views") of the deal list, on a real SQLite file: saving, replacing by
name, one default per user and list, the limits, and someone else's filter read as missing."""

from __future__ import annotations

import pytest

from engine.errors import NotFoundError, ValidationError
from engine.usecases.saved_filters import MAX_FILTERS, MAX_NAME, MAX_VALUE
from engine.usecases.service import Service

PROPOSALS = {"stage": "proposal", "sort": "-amount"}


def test_a_saved_filter_is_listed_for_its_user_only(team: Service) -> None:
    saved = team.save_filter("alice", "deals", " Big proposals ", PROPOSALS)
    assert saved == {
        "id": saved["id"],
        "name": "Big proposals",  # the blanks around it go
        "page": "deals",
        "query": PROPOSALS,
        "default": False,
    }
    team.save_filter("alice", "deals", "all mine", {"owner": "alice"})
    assert [f["name"] for f in team.saved_filters("alice", "deals")] == [
        "all mine",
        "Big proposals",
    ]
    assert team.saved_filters("bob", "deals") == []
    assert team.default_filter("alice", "deals") is None


def test_empty_values_are_no_filter_and_are_left_out(team: Service) -> None:
    saved = team.save_filter("alice", "deals", "Stale", {"stale": "1", "q": " ", "owner": ""})
    assert saved["query"] == {"stale": "1"}


def test_saving_a_name_again_replaces_that_filter(team: Service) -> None:
    first = team.save_filter("alice", "deals", "Mine", {"owner": "alice"})
    again = team.save_filter("alice", "deals", "Mine", {"owner": "alice", "sort": "deal"}, True)
    assert again["id"] == first["id"]
    assert team.saved_filters("alice", "deals") == [again]
    assert again["query"] == {"owner": "alice", "sort": "deal"} and again["default"] is True
    # Saved once more without the default: it is no longer the default.
    team.save_filter("alice", "deals", "Mine", {"owner": "alice"})
    assert team.default_filter("alice", "deals") is None


def test_one_default_per_user_and_list(team: Service) -> None:
    first = team.save_filter("alice", "deals", "Won", {"status": "completed"}, default=True)
    bobs = team.save_filter("bob", "deals", "Bob's", {"owner": "bob"}, default=True)
    assert team.default_filter("alice", "deals") == first
    second = team.save_filter("alice", "deals", "Proposals", PROPOSALS, default=True)
    assert team.default_filter("alice", "deals") == second
    defaults = {f["name"]: f["default"] for f in team.saved_filters("alice", "deals")}
    assert defaults == {"Proposals": True, "Won": False}
    assert team.default_filter("bob", "deals") == bobs  # another user's stays


@pytest.mark.parametrize(
    ("name", "query", "field"),
    [
        ("", {}, "name"),
        ("   ", {}, "name"),
        ("x" * (MAX_NAME + 1), {}, "name"),
        ("nul\x00", {}, "name"),
        ("Bad key", {"password": "x"}, "query"),
        ("Bad key", {"page": "2"}, "query"),  # a page of the list is no filter
        ("Long", {"q": "x" * (MAX_VALUE + 1)}, "query"),
        ("Nul", {"q": "a\x00"}, "query"),
        ("Not text", {"stale": 1}, "query"),
        ("Bad sort", {"sort": "-password"}, "query"),
        ("Not a mapping", ["stage"], "query"),
    ],
)
def test_what_is_refused_names_its_field(
    team: Service, name: str, query: object, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        team.save_filter("alice", "deals", name, query)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert team.saved_filters("alice", "deals") == []


def test_a_name_of_the_longest_length_and_every_parameter_of_the_list_are_kept(
    team: Service,
) -> None:
    query = {
        "stage": "proposal",
        "owner": "alice",
        "status": "running",
        "tier": "A",
        "source": "referral",
        "process": "sales_pipeline",
        "stale": "1",
        "q": "x" * MAX_VALUE,
        "sort": "-expected_close",
    }
    saved = team.save_filter("alice", "deals", "n" * MAX_NAME, query)
    assert team.saved_filters("alice", "deals") == [saved] and saved["query"] == query


def test_an_unknown_list_is_refused(team: Service) -> None:
    for call in (
        lambda: team.saved_filters("alice", "tasks"),
        lambda: team.default_filter("alice", "tasks"),
        lambda: team.save_filter("alice", "tasks", "Mine", {}),
    ):
        with pytest.raises(ValidationError) as refused:
            call()
        assert refused.value.field == "page"


def test_at_most_so_many_filters_per_user_and_list(team: Service) -> None:
    for n in range(MAX_FILTERS):
        team.save_filter("alice", "deals", f"View {n:02}", {"q": str(n)})
    with pytest.raises(ValidationError) as refused:
        team.save_filter("alice", "deals", "One too many", {})
    assert refused.value.field == "name"
    # Replacing one is no new one; another user has a limit of their own.
    replaced = team.save_filter("alice", "deals", "View 07", {"q": "seven"})
    assert replaced["query"] == {"q": "seven"}
    team.save_filter("bob", "deals", "Bob's", {})
    assert len(team.saved_filters("alice", "deals")) == MAX_FILTERS
    # Once one is deleted, there is room again.
    team.delete_filter("alice", replaced["id"])
    team.save_filter("alice", "deals", "One too many", {})
    assert len(team.saved_filters("alice", "deals")) == MAX_FILTERS


def test_deleting_a_filter(team: Service) -> None:
    kept = team.save_filter("alice", "deals", "Kept", {"owner": "alice"})
    gone = team.save_filter("alice", "deals", "Gone", PROPOSALS, default=True)
    team.delete_filter("alice", str(gone["id"]))
    assert team.saved_filters("alice", "deals") == [kept]
    assert team.default_filter("alice", "deals") is None
    with pytest.raises(NotFoundError):
        team.delete_filter("alice", gone["id"])  # twice: it is gone


def test_someone_elses_filter_reads_like_a_missing_one(team: Service) -> None:
    bobs = team.save_filter("bob", "deals", "Bob's", {"owner": "bob"})
    with pytest.raises(NotFoundError) as foreign:
        team.delete_filter("alice", bobs["id"])
    missing_id = bobs["id"] + 1000
    with pytest.raises(NotFoundError) as missing:
        team.delete_filter("alice", missing_id)
    assert str(foreign.value).replace(str(bobs["id"]), "<id>") == str(missing.value).replace(
        str(missing_id), "<id>"
    )
    assert team.saved_filters("bob", "deals") == [bobs]  # still there


@pytest.mark.parametrize("filter_id", ["abc", "-1", "0", "9" * 40, 2**31])
def test_an_id_no_filter_can_have_is_not_found(team: Service, filter_id: str | int) -> None:
    with pytest.raises(NotFoundError):
        team.delete_filter("alice", filter_id)
