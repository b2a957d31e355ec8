"""Several tasks at once (issue 14, "Deal basics the peers all have"): a rep claims the
ticked queue tasks, a manager gives ticked tasks to someone; all of them or none."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.errors import ConflictError, ForbiddenError
from engine.usecases.demo import BIG_DISCOUNT, WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD

from .conftest import login, post, text


def at_proposal_design(staff: Service, company: str) -> str:
    """A deal whose proposal waits in the Product Expert's queue (nobody holds it yet)."""
    deal = staff.start(
        "sales_pipeline", owner="alice", actor="alice", data={**LEAD, "company": company}
    )
    drive(staff, deal["instance_id"], WON[:3])
    return str(deal["instance_id"])


def queued(staff: Service, iid: str) -> dict[str, object]:
    (task,) = [t for t in staff.tasks(instance=iid) if t["element_id"] == "task_design_proposal"]
    return dict(task)


def test_the_use_cases_take_all_or_none(staff: Service) -> None:
    staff.add_user("pia", ["Product Expert"])
    a, b = at_proposal_design(staff, "A Co"), at_proposal_design(staff, "B Co")
    ta, tb = str(queued(staff, a)["task_id"]), str(queued(staff, b)["task_id"])
    staff.claim(tb, user="pete")
    with pytest.raises(ConflictError):  # B's task is pete's already: nothing changes
        staff.claim_many([ta, tb], user="pia")
    assert queued(staff, a)["assignee"] is None
    with pytest.raises(ForbiddenError):  # a rep gives away what is not theirs
        staff.reassign_many([ta], "pete", actor="alice")
    done = staff.reassign_many([ta, tb], "pete", actor="mia")
    assert [t["assignee"] for t in done] == ["pete", "pete"]


def at_discount_approval(staff: Service, company: str) -> str:
    """A deal whose discount approval waits in the Sales Manager's queue."""
    deal = staff.start(
        "sales_pipeline", owner="alice", actor="alice", data={**LEAD, "company": company}
    )
    drive(staff, deal["instance_id"], BIG_DISCOUNT[:5])
    return str(deal["instance_id"])


def approval(staff: Service, iid: str) -> dict[str, object]:
    (task,) = [t for t in staff.tasks(instance=iid) if t["element_id"] == "task_approve_discount"]
    return dict(task)


def test_a_manager_reassigns_ticked_tasks_from_the_inbox(
    client: FlaskClient, staff: Service
) -> None:
    staff.add_user("max", ["Sales Manager"])
    a, b = at_discount_approval(staff, "A Co"), at_discount_approval(staff, "B Co")
    ta, tb = str(approval(staff, a)["task_id"]), str(approval(staff, b)["task_id"])
    login(client, "mia")
    page = text(client.get("/tasks"))
    assert 'form="bulk"' in page and 'name="to"' in page
    answer = post(client, "/tasks/bulk", {"action": "reassign", "to": "max", "tasks": [ta, tb]})
    assert answer.status_code == 302
    assert approval(staff, a)["assignee"] == "max" and approval(staff, b)["assignee"] == "max"
    assert "2 tasks given to max." in text(client.get("/tasks"))


def test_a_rep_claims_ticked_queue_tasks(client: FlaskClient, staff: Service) -> None:
    a = at_proposal_design(staff, "A Co")
    ta = str(queued(staff, a)["task_id"])
    login(client, "pete")
    page = text(client.get("/tasks"))
    assert 'name="to"' not in page  # reassigning is a manager's
    post(client, "/tasks/bulk", {"action": "claim", "tasks": [ta]})
    assert queued(staff, a)["assignee"] == "pete"
