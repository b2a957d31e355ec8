# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese notices
"""What became of a task that is no longer open (engine.usecases.tasks `fate`, `gone_task`):
read from the deal's history, for those who may see the deal, named in their language."""

from __future__ import annotations

import pytest

from engine.errors import ConflictError, NotFoundError
from engine.usecases.demo import BIG_DISCOUNT, FORMS, WON, complete_step, drive
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


# --- an approval refused: the rep is told, the reopened task shows why ---------------------


def at_approval(service: Service) -> str:
    iid = service.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    drive(service, iid, BIG_DISCOUNT[:5])  # a quote with 8% discount: the manager decides
    return str(iid)


def test_a_refused_discount_tells_the_rep_and_the_quote_task_shows_the_comment(
    pipeline: Service,
) -> None:
    pipeline.set_user("mia", display_name="张伟 Zhang Wei")
    iid = at_approval(pipeline)
    quote = pipeline.tasks(instance=iid)[0]
    assert pipeline.sent_back_note(quote["task_id"]) is None  # not open: approval is
    complete_step(
        pipeline,
        iid,
        "task_approve_discount",
        discount_approved=False,
        approval_comment="Price too low: 5% at most",
    )
    reopened = next(t for t in pipeline.tasks(instance=iid))
    assert reopened["element_id"] == "task_prepare_quote" and reopened["assignee"] == "alice"
    note = pipeline.sent_back_note(reopened["task_id"])
    assert note is not None
    assert (note["by"], note["step"], note["comment"]) == (
        "mia",
        "Approve discount",
        "Price too low: 5% at most",
    )
    assert pipeline.sent_back_note(reopened["task_id"], lang="zh")["step"] == "折扣审批"  # type: ignore[index]
    # The process got the plain yes/no it always got.
    assert pipeline.show(iid)["data"]["discount_approved"] is False
    told = [n for n in pipeline.notifications("alice") if n["kind"] == "sent_back"]
    assert [n["text"] for n in told] == [
        "张伟 Zhang Wei sent deal 'ACME' back to you: 'Prepare quote' is open again. "
        '张伟 Zhang Wei says: "Price too low: 5% at most"'
    ]
    assert told[0]["task_id"] == reopened["task_id"]
    # Quoted again and approved: the note is gone with the task, nobody is told again.
    complete_step(pipeline, iid, "task_prepare_quote", discount_percent=5)
    assert [n for n in pipeline.notifications("alice") if n["kind"] == "sent_back"] == told


def test_the_notice_of_a_refusal_is_in_the_reps_language(pipeline: Service) -> None:
    pipeline.set_language("alice", "zh")
    iid = at_approval(pipeline)
    complete_step(
        pipeline, iid, "task_approve_discount", discount_approved=False, approval_comment="太低"
    )
    told = [n["text"] for n in pipeline.notifications("alice") if n["kind"] == "sent_back"]
    assert told == ["mia 退回了商机「ACME」：「报价」需要你重新处理。mia 的意见：“太低”"]


def test_an_approval_does_not_send_anything_back(pipeline: Service) -> None:
    iid = at_approval(pipeline)
    complete_step(pipeline, iid, "task_approve_discount", discount_approved=True)
    assert [n for n in pipeline.notifications("alice") if n["kind"] == "sent_back"] == []
    assert [t["element_id"] for t in pipeline.tasks(instance=iid)] == ["task_negotiate"]
