# ruff: noqa: RUF001 - full-width Chinese punctuation in the expected texts
"""Every notification in its recipient's language (engine.core.notices, engine.usecases.notices):
escalations, initiative reminders and flags, reassigned tasks, handovers, delegations starting
and ending, incidents retried, skipped and cancelled.  A recipient who reads Chinese
(`User.language` "zh") gets the Chinese sentence with the task's and role's names from the
deal's version's translations; everyone else the English one as it always was."""

from __future__ import annotations

import json
import re
import string
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from engine.core.definitions import read_paths
from engine.core.notices import SENTENCES, deals_and_tasks, period, tasks_moved
from engine.core.translations import CHINESE, ENGLISH
from engine.jobs import reminders
from engine.jobs.delegations import end_expired_delegations
from engine.jobs.escalation import escalate_due
from engine.store.models import Notification
from engine.usecases import initiatives
from engine.usecases.demo import WON, drive, who_completes
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA, LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)


def told(service: Service, user: str, kind: str) -> list[str]:
    """The texts of `user`'s notifications of `kind`, oldest first."""
    with service.db.read() as s:
        rows = s.scalars(
            select(Notification.text)
            .where(Notification.username == user, Notification.kind == kind)
            .order_by(Notification.id)
        )
        return list(rows)


def at_needs_analysis(service: Service, owner: str = "alice", company: str = "ACME") -> str:
    deal = service.start(
        "sales_pipeline", owner=owner, actor=owner, data={**LEAD, "company": company}
    )
    drive(service, deal["instance_id"], WON[:2])
    return str(deal["instance_id"])


@pytest.fixture
def sales(team: Service) -> Service:
    team.deploy([PROCESSES])
    team.set_language("alice", "zh")  # alice reads Chinese, everyone else English
    return team


# --- the sentences -------------------------------------------------------------------------


def test_every_sentence_has_both_languages_with_the_same_blanks() -> None:
    def blanks(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, texts in SENTENCES.items():
        assert set(texts) == {ENGLISH, CHINESE}, key
        assert blanks(texts[ENGLISH]) == blanks(texts[CHINESE]), key
        assert not re.search(r"[\u4e00-\u9fff]", texts[ENGLISH]), key
        assert re.search(r"[\u4e00-\u9fff]", texts[CHINESE]), key
    assert tasks_moved(1, 0, ENGLISH) == "1 open task"
    assert tasks_moved(3, 1, ENGLISH) == "3 open tasks (1 of them to their role's queue)"
    assert tasks_moved(3, 1, CHINESE) == "3 项待办任务（其中 1 项转入其角色的队列）"
    assert deals_and_tasks(2, 1, 0, CHINESE) == "2 个商机和1 项待办任务"
    assert deals_and_tasks(1, 2, 0, ENGLISH) == "1 deal and 2 open tasks"
    assert period(T0, None, ENGLISH) == "from 2026-03-02 09:00 UTC until further notice"
    assert period(T0, T0 + DAY, CHINESE) == "自 2026-03-02 09:00 UTC 至 2026-03-03 09:00 UTC"


# --- escalation ----------------------------------------------------------------------------


def test_an_escalation_tells_each_in_their_language(sales: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        at_needs_analysis(sales)
        clock.move_to(T0 + timedelta(days=3, seconds=1))
        assert escalate_due(sales.db) == 1
    [zh] = told(sales, "alice", "escalated")
    [en] = told(sales, "mia", "escalated")
    assert zh == (
        "已逾期：商机「ACME」的任务「需求分析」应于 2026-03-05 09:00 UTC 完成，已上报给销售经理。"
    )
    assert en == (
        "Overdue: 'Needs analysis' on ACME was due 2026-03-05 09:00 UTC; "
        "escalated to Sales Manager."
    )


# --- one task, everything a rep has, holidays ----------------------------------------------


def test_a_reassigned_task_is_named_in_each_ones_language(sales: Service) -> None:
    with time_machine.travel(T0, tick=False):
        bobs = at_needs_analysis(sales, owner="bob")
        [task] = sales.tasks(instance=bobs)
        sales.reassign(task["task_id"], "alice", actor="mia")
        sales.reassign(task["task_id"], "bob", actor="mia")
    assert told(sales, "alice", "reassigned") == [
        "mia 把商机「ACME」的任务「需求分析」交给了你。",
        "mia 把你在商机「ACME」中的任务「需求分析」转派给了 bob。",
    ]
    assert told(sales, "bob", "reassigned") == [
        "mia reassigned your task 'Needs analysis' of deal 'ACME' to alice.",
        "mia gave you the task 'Needs analysis' of deal 'ACME'.",
    ]


def test_a_handover_tells_giver_and_taker_in_their_languages(sales: Service) -> None:
    with time_machine.travel(T0, tick=False):
        at_needs_analysis(sales, owner="bob")
        sales.hand_over("bob", "alice", actor="mia")
        at_needs_analysis(sales, owner="alice", company="Lotus")
        sales.hand_over("alice", "bob", actor="mia")
    assert told(sales, "alice", "handover") == [
        "mia 把 bob 的工作交接给了你：1 个商机和1 项待办任务。",
        "mia 把你的工作交接给了 bob：2 个商机和2 项待办任务。",
    ]
    assert told(sales, "bob", "handover") == [
        "mia handed over your work to alice: 1 deal and 1 open task.",
        "mia handed over to you the work of alice: 2 deals and 2 open tasks.",
    ]


def test_a_delegation_and_its_end_in_each_ones_language(sales: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        at_needs_analysis(sales)
        sales.delegate("alice", "bob", until="2026-03-06", actor="mia")
        clock.move_to(datetime(2026, 3, 7, tzinfo=UTC))
        assert end_expired_delegations(sales.db, datetime.now(UTC))["ended"] == 1
    [away, back] = told(sales, "alice", "delegated") + told(sales, "alice", "delegation_ended")
    assert away.startswith("mia 已把你的工作交给 bob，自 2026-03-02 09:00 UTC 至 ")
    assert back == "欢迎回来：你交给 bob 的代理已结束，1 项待办任务已回到你手中。"
    [cover, over] = told(sales, "bob", "delegated") + told(sales, "bob", "delegation_ended")
    assert cover.startswith("You cover for alice from 2026-03-02 09:00 UTC until ")
    assert cover.endswith(": their tasks and new assignments come to you (1 open now).")
    assert over == "You no longer cover for alice; 1 open task went back to them."


# --- initiatives ---------------------------------------------------------------------------


def test_initiative_reminders_and_flags_in_the_owners_and_leads_language(
    sales: Service,
) -> None:
    row = {"stage": "Needs analysis", "task": "Pain-point survey", "status": "in progress"}
    sales.set_language("mia", "zh")
    with time_machine.travel(T0, tick=False) as clock:
        ini = sales.create_initiative(
            name="Faster needs analysis", process_id="sales_pipeline", lead="mia", actor="mia"
        )
        for element_id, data in initiatives.PREPARATION:
            [task] = sales.tasks(instance=ini["instance_id"])
            assert task["element_id"] == element_id
            sales.complete(task["task_id"], user=who_completes(sales, task), data=data)
        sales.add_initiative_row(ini["id"], {**row, "owner": "alice"}, actor="mia")
        sales.add_initiative_row(ini["id"], {**row, "owner": "bob"}, actor="mia")
        sales.add_initiative_row(
            ini["id"], {**row, "owner": "bob", "status": "blocked"}, actor="mia"
        )
        clock.shift(DAY + timedelta(minutes=1))
        assert reminders.send_reminders(sales) == 2
        for _ in range(3):
            clock.shift(DAY)
            sales.record_review(ini["id"], actor="mia", notes="Friday")
    assert told(sales, "alice", "initiative_reminder") == [
        "优化项目「Faster needs analysis」：「Pain-point survey」正在进行，已有 1 天未更新。"
        "请在执行表中更新这一行（状态、备注）。"
    ]
    assert told(sales, "bob", "initiative_reminder") == [
        "Initiative 'Faster needs analysis': 'Pain-point survey' is in progress and was last "
        "updated 1 day(s) ago. Update its row in the execution table (status, notes)."
    ]
    assert told(sales, "mia", "initiative_flagged") == [
        "优化项目「Faster needs analysis」：「Pain-point survey」（bob）已连续 3 次周检受阻。"
        "请重新评估方向。"
    ]


# --- incidents -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_incident_notices_name_the_element_in_the_owners_language(team: Service, lang: str) -> None:
    files = read_paths([ENGINE_DATA / "incident_order.bpmn"])
    zh = {"elements": {"script_total": {"name": "计算订单总额"}}}
    team.deploy_sources({**files, "incident_order.zh-Hans.json": json.dumps(zh)})
    team.set_language("alice", lang)

    def in_error() -> str:
        iid = str(team.start("incident_order", owner="alice")["instance_id"])
        [task] = team.tasks(instance=iid)
        done = team.complete(task["task_id"], user="alice", data={"price": 100, "discount": 5})
        assert done["status"] == "error"
        return iid

    team.skip(in_error(), user="mia")
    team.retry(in_error(), user="mia", data={"quantity": 2})
    team.cancel(in_error(), user="mia", reason="Customer withdrew.")
    skipped, retried, cancelled = (
        told(team, "alice", kind)[0] for kind in ("incident_skip", "incident_retry", "cancelled")
    )
    if lang == "zh":
        assert skipped.startswith("mia 跳过了商机「") and skipped.endswith("」的「计算订单总额」。")
        assert retried.startswith("mia 重试了商机「") and retried.endswith("」的「计算订单总额」。")
        assert cancelled.startswith("mia 取消了商机「") and cancelled.endswith(
            "：Customer withdrew."
        )
    else:
        assert skipped.startswith("mia skipped 'Total the order' of deal '")
        assert retried.startswith("mia retried 'Total the order' of deal '")
        assert cancelled.startswith("mia cancelled deal '")
        assert cancelled.endswith("': Customer withdrew.")
