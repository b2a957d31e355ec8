"""A process's heatmap stays what the deals say after they change: where the open deals sit is
kept per lock_version between views (engine.store.heat), the median stays come from the
report facts (engine.usecases.heat)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.usecases.demo import complete_step
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def deal(service: Service) -> str:
    return service.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]


def test_heat_follows_the_deals_between_views(pipeline: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        a, b, c = deal(pipeline), deal(pipeline), deal(pipeline)
        assert pipeline.heat("sales_pipeline").here_now == {"task_qualify_lead": 3}
        # Qualified one after another: a waited 1 h, b 3 h, c 7 h.
        for moved, (hours, iid) in enumerate(((1, a), (2, b), (4, c)), start=1):
            clock.shift(timedelta(hours=hours))
            complete_step(pipeline, iid, "task_qualify_lead")
            heat = pipeline.heat("sales_pipeline")
            left = {"task_qualify_lead": 3 - moved} if moved < 3 else {}
            assert heat.here_now == {**left, "task_initial_contact": moved}
            stays = [h * 3600.0 for h in (1, 3, 7)[:moved]]
            assert heat.median_seconds["task_qualify_lead"] == statistics.median(stays)
        pipeline.mark_lost(a, user="mia", reason="no budget")
        heat = pipeline.heat("sales_pipeline")
        assert heat.here_now == {"task_initial_contact": 2}
        assert heat.deals == 3
        assert pipeline.heat("sales_pipeline", 1) == heat  # every deal runs on version 1
