"""Stale deals: no activity for N days in a stage (per stage, from the settings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.errors import ValidationError
from engine.jobs.timers import tick
from engine.store import team_settings as settings
from engine.store.models import Instance
from engine.store.stale import stale_among
from engine.usecases.deals import deal_sla
from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
SECOND = timedelta(seconds=1)


def stale(service: Service) -> set[str]:
    return {d["instance_id"] for d in service.instances(stale=True)}


def start(service: Service, steps: int, owner: str = "alice") -> str:
    deal = service.start("sales_pipeline", owner=owner, actor=owner, data=LEAD)
    drive(service, deal["instance_id"], WON[:steps])
    return str(deal["instance_id"])


def test_a_deal_nobody_works_on_goes_stale_after_7_days(team: Service) -> None:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        quiet = start(team, 2)  # needs analysis
        busy = start(team, 2)
        clock.move_to(T0 + WEEK - SECOND)
        assert stale(team) == set()
        # Someone comments on one of them: a week from now for that one.
        team.comment(busy, user="alice", text="Called, they are on holiday.")
        clock.move_to(T0 + WEEK + SECOND)
        assert stale(team) == {quiet}
        assert stale_among(team.db, [team.show(quiet), team.show(busy)]) == {quiet}
        # The needs-analysis timer fires meanwhile: the deal moves nowhere, still stale.
        assert tick(team)["fired"] == 2
        assert stale(team) == {quiet}
        # Working on it makes it fresh: completing the task moves it to the proposal.
        drive(team, quiet, WON[2:3])
        assert stale(team) == set()
        clock.move_to(T0 + 2 * WEEK)
        assert stale(team) == {busy}
        # The list filters on top of the other filters.
        assert team.instances(stale=True, owner="bob") == []
        assert [d["instance_id"] for d in team.instances(stale=True, owner="alice")] == [busy]


def test_claiming_a_task_is_activity(team: Service) -> None:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        iid = start(team, 3)  # the proposal waits in the product experts' queue
        task = next(
            t for t in team.tasks(instance=iid) if t["element_id"] == "task_design_proposal"
        )
        assert task["assignee"] is None
        clock.move_to(T0 + timedelta(days=6))
        team.claim(task["task_id"], user="pete")
        clock.move_to(T0 + WEEK + SECOND)
        assert stale(team) == set()
        clock.move_to(T0 + timedelta(days=13) + SECOND)
        assert stale(team) == {iid}


def test_days_are_set_per_stage_and_some_stages_never_go_stale(team: Service) -> None:
    team.deploy([PROCESSES])
    settings.save(team.db, {"stale_days": {"needs": 2, "contact": None}}, actor="root")
    with time_machine.travel(T0, tick=False) as clock:
        needs = start(team, 2)
        contact = start(team, 1)
        won = start(team, 8)  # after-sales: never stale by default
        assert team.show(won)["stage"] == "after_sales"
        clock.move_to(T0 + timedelta(days=2) + SECOND)
        assert stale(team) == {needs}
        clock.move_to(T0 + timedelta(days=60))
        assert stale(team) == {needs}
        assert contact not in stale(team) and won not in stale(team)
    # The rest of the stages keep their default.
    with team.db.read() as s:
        days = settings.stale_days(s)
    assert days["proposal"] == 7 and days["after_sales"] is None and days["needs"] == 2


def test_finished_deals_are_never_stale(team: Service) -> None:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        iid = start(team, 0)
        team.start("sales_pipeline", owner="alice", data=LEAD)
        with team.db.write() as s:
            inst = s.get(Instance, int(iid))
            assert inst is not None
            inst.status = "cancelled"
        clock.move_to(T0 + timedelta(days=30))
        assert iid not in stale(team)
        assert len(stale(team)) == 1


def test_stale_days_are_checked(team: Service) -> None:
    with pytest.raises(ValidationError) as err:
        settings.save(team.db, {"stale_days": {"needs": 0}}, actor="root")
    assert err.value.field == "stale_days"
    with pytest.raises(ValidationError):
        settings.save(team.db, {"stale_days": {"needs": "soon"}}, actor="root")


def test_one_deals_page_says_what_the_list_says(team: Service) -> None:
    """The deal page, the list's page and the board decide in Python (engine.store.stale.is_stale)
    on what they read; the stale filter asks the database (stale_clause).  They must agree
    for every deal at every moment."""
    team.deploy([PROCESSES])
    settings.save(team.db, {"stale_days": {"needs": 2, "contact": None}}, actor="root")
    with time_machine.travel(T0, tick=False) as clock:
        deals = [start(team, 0), start(team, 1), start(team, 2), start(team, 3), start(team, 8)]
        with team.db.write() as s:
            inst = s.get(Instance, int(deals[0]))
            assert inst is not None
            inst.activity_at = None  # from before activity was recorded: counts from the start
        clock.move_to(T0 + timedelta(days=1))
        team.comment(deals[3], user="alice", text="Still waiting for the expert.")
        seen_stale = set()
        for days in (0, 1, 2, 3, 6, 7, 8, 9, 30):
            clock.move_to(T0 + timedelta(days=days) + SECOND)
            listed = stale(team)
            seen_stale |= listed
            assert {d for d in deals if deal_sla(team.db, int(d))["stale"]} == listed, days
            assert stale_among(team.db, team.instances()) == listed, days  # list page, board
        assert seen_stale == {deals[0], deals[2], deals[3]}  # contact and after-sales never
