"""A deal's stage progress bar (Service.deal_progress): the process's stages in order, which
are done, where the deal is, and the days spent in each, from its history in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.errors import NotFoundError
from engine.usecases.charts import DealProgress
from engine.usecases.demo import LOST, NURTURE, WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PIPELINE = [
    "lead",
    "qualification",
    "contact",
    "needs",
    "proposal",
    "negotiation",
    "contract",
    "won",
    "after_sales",
]


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def deal(service: Service) -> str:
    return service.start("sales_pipeline", owner="alice", data=dict(LEAD))["instance_id"]


def steps(progress: DealProgress) -> dict[str, tuple[str, float]]:
    return {s["stage"]: (s["state"], s["days"]) for s in progress["stages"]}


def test_days_in_each_stage_and_the_current_one(pipeline: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = deal(pipeline)
        clock.move_to(T0 + timedelta(days=2))
        drive(pipeline, iid, WON[:1])  # qualified after 2 days
        clock.move_to(T0 + timedelta(days=5))
        drive(pipeline, iid, WON[1:2])  # first contact after 3 more
        clock.move_to(T0 + timedelta(days=9, hours=12))
        progress = pipeline.deal_progress(iid)
    assert progress["stage"] == "needs"
    assert [s["stage"] for s in progress["stages"]] == PIPELINE  # no "lost": it is not lost
    got = steps(progress)
    assert got["lead"] == ("done", 0.0)
    assert got["qualification"] == ("done", 2.0)
    assert got["contact"] == ("done", 3.0)
    assert got["needs"] == ("current", 4.5)  # until now
    assert got["proposal"] == ("ahead", 0.0)
    by_stage = {s["stage"]: s for s in progress["stages"]}
    assert by_stage["needs"]["entered_at"] == (T0 + timedelta(days=5)).isoformat()
    assert by_stage["proposal"]["entered_at"] is None
    assert by_stage["needs"]["seconds"] == 4.5 * 86400


def test_a_lost_deal_ends_at_lost_and_stops_counting(pipeline: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = deal(pipeline)
        drive(pipeline, iid, LOST[:-1])
        clock.move_to(T0 + timedelta(days=4))
        drive(pipeline, iid, LOST[-1:])
        clock.move_to(T0 + timedelta(days=30))
        progress = pipeline.deal_progress(iid)
    assert progress["stage"] == "lost"
    stages = [s["stage"] for s in progress["stages"]]
    assert stages[-1] == "lost" and "won" not in stages and "after_sales" not in stages
    got = steps(progress)
    assert got["lost"][0] == "lost"
    assert got["negotiation"] == ("done", 4.0)  # not until now: the deal ended on day 4
    assert got["contract"][0] == "skipped"


def test_a_lead_sent_to_nurture_is_back_in_the_lead_stage(pipeline: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = deal(pipeline)
        clock.move_to(T0 + timedelta(days=1))
        drive(pipeline, iid, NURTURE)
        clock.move_to(T0 + timedelta(days=3))
        progress = pipeline.deal_progress(iid)
    got = steps(progress)
    assert progress["stage"] == "lead"
    assert got["lead"] == ("current", 2.0)  # the day before qualifying is not counted again
    assert got["qualification"] == ("ahead", 1.0)


def test_the_initiative_process_shows_its_own_stages(pipeline: Service) -> None:
    started = pipeline.start(
        "optimization_initiative", owner="mia", actor="mia", data={"name": "Faster quotes"}
    )
    progress = pipeline.deal_progress(started["instance_id"])
    assert [s["stage"] for s in progress["stages"]] == ["preparation", "execution", "review"]
    assert steps(progress)["preparation"][0] == "current"


def test_an_unknown_deal_is_not_found(pipeline: Service) -> None:
    with pytest.raises(NotFoundError):
        pipeline.deal_progress(999)
