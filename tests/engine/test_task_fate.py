"""What became of a task that is no longer open (engine.usecases.tasks `fate`, `gone_task`):
read from the deal's history, for those who may see the deal, named in their language."""

from __future__ import annotations

import pytest

from engine.errors import ConflictError, NotFoundError
from engine.usecases.demo import FORMS, WON, drive
from engine.usecases.service import Service
from engine.usecases.tasks import TaskGoneError
from tests.conftest import LEAD, PROCESSES


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def at_needs(service: Service, owner: str = "alice") -> tuple[str, str]:
    iid = service.start("sales_pipeline", owner=owner, actor=owner, data=LEAD)["instance_id"]
    drive(service, iid, WON[:2])
    task = next(t for t in service.tasks(instance=iid) if t["element_id"] == "task_needs_analysis")
    return str(iid), task["task_id"]


def test_a_completed_task_says_who_completed_it_and_when(pipeline: Service) -> None:
    iid, task_id = at_needs(pipeline)
    assert pipeline.gone_task(task_id, user="alice") is None  # still open
    pipeline.complete(task_id, user="alice", data=FORMS["task_needs_analysis"])
    gone = pipeline.gone_task(task_id, user="alice")
    assert gone is not None
    assert (gone["what"], gone["actor"], gone["instance_id"]) == ("completed", "alice", iid)
    assert gone["name"] == "Needs analysis" and gone["deal"] == "ACME" and gone["at"]
    # In Chinese the task is named as the process's translations name it.
    assert pipeline.gone_task(task_id, user="alice", lang="zh")["name"] == "需求分析"  # type: ignore[index]
    # A second completion is refused, saying the same, and nothing changes.
    with pytest.raises(TaskGoneError) as refused:
        pipeline.complete(task_id, user="alice", data=FORMS["task_needs_analysis"])
    assert isinstance(refused.value, ConflictError)
    assert "'Needs analysis' was already completed by alice at" in str(refused.value)
    assert refused.value.to_dict()["gone"]["what"] == "completed"  # type: ignore[index]


def test_a_task_of_a_deal_marked_lost_says_the_deal_was_lost(pipeline: Service) -> None:
    iid, task_id = at_needs(pipeline)
    reason = pipeline.lost_reasons("sales_pipeline")[0]["value"]
    pipeline.mark_lost(iid, user="mia", reason=reason)
    gone = pipeline.gone_task(task_id, user="alice")
    assert gone is not None
    assert (gone["what"], gone["actor"], gone["reason"]) == ("lost", "mia", reason)
    with pytest.raises(TaskGoneError, match="the deal was marked lost by mia"):
        pipeline.claim(task_id, user="alice")


def test_nothing_is_told_of_a_deal_one_may_not_see_or_of_a_task_that_never_was(
    pipeline: Service,
) -> None:
    _iid, task_id = at_needs(pipeline, owner="alice")
    pipeline.complete(task_id, user="alice", data=FORMS["task_needs_analysis"])
    assert pipeline.gone_task(task_id, user="bob") is None  # another rep's deal
    assert pipeline.gone_task(task_id, user="mia") is not None  # the manager sees every deal
    assert pipeline.gone_task("no-such-task", user="mia") is None
    with pytest.raises(NotFoundError):
        pipeline.complete("no-such-task", user="alice", data={})
