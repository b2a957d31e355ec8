"""Claiming, releasing, comments, and who sees which deal."""

from __future__ import annotations

import pytest

from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA


@pytest.fixture
def deployed(team: Service) -> Service:
    team.deploy([ENGINE_DATA / "review_loop.bpmn", ENGINE_DATA / "review.schema.json"])
    team.add_user("boss", ["admin"])
    return team


def test_claim_and_release_a_queued_task(deployed: Service) -> None:
    iid = deployed.start("review_loop", owner="mia")["instance_id"]  # mia is no rep
    task = deployed.tasks(instance=iid)[0]
    assert task["assignee"] is None
    assert deployed.tasks(user="alice") == [task] and deployed.tasks(user="bob") == [task]
    with pytest.raises(ForbiddenError):
        deployed.claim(task["task_id"], user="lena")  # legal holds no rep role
    claimed = deployed.claim(task["task_id"], user="alice")
    assert claimed["assignee"] == "alice"
    assert deployed.claim(task["task_id"], user="alice")["assignee"] == "alice"  # idempotent
    with pytest.raises(ConflictError, match="alice"):
        deployed.claim(task["task_id"], user="bob")
    assert deployed.tasks(user="bob") == []
    with pytest.raises(ForbiddenError):
        deployed.complete(task["task_id"], user="bob", data={"done": True})
    with pytest.raises(ForbiddenError):
        deployed.release(task["task_id"], user="bob")
    assert deployed.release(task["task_id"], user="alice")["assignee"] is None
    kinds = [(h["kind"], h["actor"]) for h in deployed.show(iid)["history"]]
    assert ("claimed", "alice") in kinds and ("released", "alice") in kinds
    with pytest.raises(NotFoundError):
        deployed.claim("nope", user="alice")


def test_comments_join_the_timeline(deployed: Service) -> None:
    iid = deployed.start("review_loop", owner="alice")["instance_id"]
    added = deployed.comment(iid, user="mia", text="  Call them before Friday <b>!</b>  ")
    assert added["kind"] == "comment" and added["actor"] == "mia"
    assert added["data"] == {"text": "Call them before Friday <b>!</b>"}
    assert deployed.show(iid)["history"][-1] == added
    with pytest.raises(ValidationError):
        deployed.comment(iid, user="mia", text="   ")
    with pytest.raises(NotFoundError):
        deployed.comment("999", user="mia", text="hello")
    with pytest.raises(NotFoundError):
        deployed.comment(iid, user="ghost", text="hello")


def test_who_sees_which_deal(deployed: Service) -> None:
    alices = deployed.start("review_loop", deal="Alice's", owner="alice")["instance_id"]
    bobs = deployed.start("review_loop", deal="Bob's", owner="bob")["instance_id"]
    # Owners see their own deals; bob's review is assigned to bob, so alice does not see it.
    assert deployed.may_see("alice", alices) and not deployed.may_see("alice", bobs)
    assert [d["name"] for d in deployed.instances(visible_to="bob")] == ["Bob's"]
    # Managers and admins see the team's deals.
    assert len(deployed.instances(visible_to="mia")) == 2
    assert len(deployed.instances(visible_to="boss")) == 2
    # The sign-off waits in the managers' queue; a legal person never sees these deals.
    task = deployed.tasks(instance=bobs)[0]
    deployed.complete(task["task_id"], user="bob", data={"done": True})
    assert not deployed.may_see("lena", bobs)
    # Whoever worked on a deal keeps seeing it.
    deployed.complete(deployed.tasks(instance=bobs)[0]["task_id"], user="mia")
    assert deployed.may_see("mia", bobs)
    with pytest.raises(NotFoundError):
        deployed.may_see("ghost", bobs)


def test_deal_list_filters_and_pages(deployed: Service) -> None:
    for n in range(5):
        deployed.start(
            "review_loop", deal=f"Deal {n} 客户", owner="alice", data={"source_channel": "ads"}
        )
    assert len(deployed.instances(search="客户")) == 5
    assert [d["name"] for d in deployed.instances(search="deal 3")] == ["Deal 3 客户"]
    assert deployed.instances(search="%") == []  # wildcards are literal
    page = deployed.instances(limit=2, offset=2)
    assert [d["name"] for d in page] == ["Deal 2 客户", "Deal 3 客户"]
    assert len(deployed.instances(stage="needs", lead_source="ads", owner="alice")) == 5
    assert deployed.instances(tier="A") == []


def test_task_counts_match_the_lists(deployed: Service) -> None:
    deployed.start("review_loop", owner="alice")
    deployed.start("review_loop", owner="mia")  # mia is no rep: the review waits in the queue
    assert deployed.task_counts("alice") == {"mine": 1, "queued": 1}
    assert deployed.task_counts("bob") == {"mine": 0, "queued": 1}
    listed = deployed.tasks(user="alice")
    assert len(listed) == sum(deployed.task_counts("alice").values())
