"""Read-only look-ups for the pages: one task, its form and instructions, the start form."""

from __future__ import annotations

import pytest

from engine.errors import ConflictError, NotFoundError
from engine.usecases.demo import FORMS
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def test_a_task_its_form_and_its_instructions(pipeline: Service) -> None:
    iid = pipeline.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
    listed = pipeline.tasks(instance=iid)[0]
    assert pipeline.task(listed["task_id"]) == listed
    form = pipeline.task_form(listed["task_id"])
    assert form["schema"]["required"] == [
        "annual_revenue", "intent", "decision_chain", "industry", "region"
    ]  # fmt: skip
    assert form["instructions"].startswith("Confirm the lead against the ideal customer profile")
    assert pipeline.completed_task(listed["task_id"]) is None

    pipeline.complete(listed["task_id"], user="alice", data=FORMS["task_qualify_lead"])
    assert pipeline.task(listed["task_id"]) is None
    done = pipeline.completed_task(listed["task_id"])
    assert done is not None
    assert (done["instance_id"], done["name"], done["actor"]) == (iid, "Qualify lead", "alice")
    with pytest.raises(ConflictError):
        pipeline.task_form(listed["task_id"])
    with pytest.raises(NotFoundError):
        pipeline.task_form("no-such-task")


def test_start_form_and_deals_by_id(pipeline: Service) -> None:
    schema = pipeline.start_form("sales_pipeline")
    assert schema is not None and "company" in schema["required"]
    assert pipeline.start_form("optimization_initiative") is None
    with pytest.raises(NotFoundError):
        pipeline.start_form("nope")
    ids = [pipeline.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"] for _ in "abc"]
    assert [d["instance_id"] for d in pipeline.instances(ids=[ids[2], ids[0]])] == [ids[0], ids[2]]
    assert pipeline.instances(ids=[]) == []
