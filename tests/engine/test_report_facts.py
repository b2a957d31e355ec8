"""The report facts (engine.usecases.reports.facts): what the engine keeps on every change of a deal
equals what a rebuild from the history gives, after a realistic mix of operations; reports
read from the counts per span equal those read from single facts and the history's own
figures; a deal whose stays depend on the period's start gets them worked out exactly."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, insert, select, text

from engine.jobs.timers import tick
from engine.store import changes
from engine.store.db import Database
from engine.store.deployments import version_row
from engine.store.models import History, Instance, ReportCount, ReportFact, ReportPending
from engine.usecases import reports
from engine.usecases.demo import LOST, NURTURE, WON, complete_step, drive
from engine.usecases.heat import median_stays
from engine.usecases.reports import Filters, facts
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA, LEAD, PROCESSES
from tests.engine.test_migration import make_v2
from tests.engine.test_reports import Deals

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def snapshot(db: Database) -> tuple[list[Any], list[Any]]:
    """The facts (without their ids) once the changed deals' are worked out, and the counts
    per group (a group may have several rows) that are not zero, in a fixed order."""
    facts.catch_up(db)
    with db.read() as s:
        kept = s.execute(
            select(
                ReportFact.instance_id,
                ReportFact.process_id,
                ReportFact.kind,
                ReportFact.key,
                ReportFact.at,
                ReportFact.seconds,
                ReportFact.bucket,
                ReportFact.previous,
                ReportFact.higher,
                ReportFact.task_id,
                ReportFact.version,
            )
        )
        group = (
            ReportCount.kind,
            ReportCount.process_id,
            ReportCount.span,
            ReportCount.key,
            ReportCount.bucket,
            ReportCount.further,
            ReportCount.version,
        )
        total = func.sum(ReportCount.n)
        counts = s.execute(select(*group, total).group_by(*group).having(total != 0))
        return sorted(map(tuple, kept), key=repr), sorted(map(tuple, counts), key=repr)


def rebuilt(db: Database) -> tuple[list[Any], list[Any]]:
    with db.write() as s:
        facts.rebuild(s)
    return snapshot(db)


def tasks_of(service: Service, iid: str) -> list[dict[str, Any]]:
    return service.tasks(instance=iid)


def test_the_facts_the_engine_keeps_equal_a_rebuild_from_the_history(
    team: Service, tmp_path: Path
) -> None:
    team.deploy([PROCESSES])
    team.deploy([ENGINE_DATA / "messages.bpmn"])
    team.deploy([ENGINE_DATA / "incident_order.bpmn"])
    with time_machine.travel(T0, tick=False) as clock:

        def later(days: float) -> None:
            clock.shift(timedelta(days=days))

        def start() -> str:
            return str(team.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"])

        won, lost, nurtured, idle, queued, moved = (start() for _ in range(6))
        for n, step in enumerate(WON):
            later(1.5)
            drive(team, won, [step])
            if n < len(LOST):
                drive(team, lost, [LOST[n]])
        drive(team, nurtured, NURTURE)
        drive(team, idle, WON[:2])  # at the needs analysis, which escalates after 3 idle days
        drive(team, queued, WON[:3])  # the proposal waits in the product expert's queue
        drive(team, moved, WON[:2])
        [proposal] = tasks_of(team, queued)
        team.claim(proposal["task_id"], user="pete")
        later(0.5)
        team.release(proposal["task_id"], user="pete")
        team.claim(proposal["task_id"], user="pete")
        team.comment(queued, user="alice", text="Asked for the budget.")
        later(4)
        assert tick(team)["fired"] >= 1  # the idle needs analysis
        later(31)
        tick(team)  # the nurtured lead's 30 days are up
        complete_step(team, nurtured, "task_nurture_follow_up")
        # A message deal, and two deals in error: one skipped, one cancelled.
        mid = str(team.start("messages", owner="alice", data={"company": "ACME"})["instance_id"])
        [prepare] = tasks_of(team, mid)
        team.complete(prepare["task_id"], user="alice")
        team.deliver_message("contract_signed", instance_id=mid)
        for fate in ("skip", "cancel"):
            iid = str(team.start("incident_order", owner="alice")["instance_id"])
            [order] = tasks_of(team, iid)
            team.complete(order["task_id"], user="alice", data={"price": 100, "discount": 5})
            if fate == "skip":
                team.skip(iid, user="mia")
            else:
                team.cancel(iid, user="mia", reason="entered twice")
        kept_before_migration = snapshot(team.db)
        assert kept_before_migration == rebuilt(team.db)
        # Version 2 and the running deals moved to it.
        later(1)
        team.deploy([make_v2(tmp_path / "v2")])
        assert team.migrate("sales_pipeline", 2, user=None, instance_ids=[moved])["deals"]
        later(2)
        complete_step(team, moved, "task_needs_analysis")
        kept = snapshot(team.db)
    assert {row[2] for row in kept[0]} >= {"stage", "element", "response", "won"}
    assert kept == rebuilt(team.db)


def test_buckets_keep_the_order_of_durations() -> None:
    rng = random.Random(3)
    values = sorted(
        [0.0, -0.0, 1e-12, -1e-12, 86400.0, -86400.0]
        + [rng.uniform(-1e8, 1e8) for _ in range(5000)]
        + [rng.lognormvariate(10, 3) for _ in range(5000)]
    )
    buckets = [facts.bucket(v) for v in values]
    assert buckets == sorted(buckets)
    assert {facts.bucket(v) for v in values if v == 0} == {facts.ZERO}
    assert facts.ZERO not in {facts.bucket(v) for v in values if v != 0}
    coarse = [facts.coarse(b) for b in buckets]
    assert coarse == sorted(coarse)


# --- the counts against single facts and against the history ---------------------------------


@pytest.fixture
def deals(team: Service) -> Deals:
    team.deploy([PROCESSES])
    return Deals(team)


def test_reports_from_counts_equal_those_from_single_facts_and_the_history(
    deals: Deals,
) -> None:
    rng = random.Random(11)
    for _ in range(60):
        steps = rng.randrange(0, 9)
        deals.add(
            days=[round(rng.lognormvariate(0, 1), 3) for _ in range(steps)],
            start=T0 + timedelta(days=rng.uniform(0, 400)),
            owner=rng.choice(["alice", "bob"]),
            claims=[round(rng.uniform(0, 0.5), 3) for _ in range(rng.randrange(0, 3))],
            lost="No decision" if steps == 6 and rng.random() < 0.5 else None,
        )
    now = T0 + 500 * DAY
    periods = [
        Filters(since=T0 - DAY, until=now),
        Filters(since=T0 + timedelta(days=37.3), until=T0 + timedelta(days=311.7)),
        Filters(since=T0 + timedelta(days=100), until=T0 + timedelta(days=190)),
        Filters(since=T0 + timedelta(days=5), until=T0 + timedelta(days=20)),
        Filters(),
    ]
    for f in periods:
        # Every deal here is of tier A and runs on the one version: a tier filter makes the
        # reports read single facts, a version filter the version's counts.
        single = Filters(since=f.since, until=f.until, tier="A")
        version = Filters(since=f.since, until=f.until, version=deals.version[1])
        for name in ("funnel", "cycle", "reps"):
            report = getattr(reports, name)
            expected = _figures(report(deals.db, single, now=now))
            assert _figures(report(deals.db, f, now=now)) == expected, (name, f)
            assert _figures(report(deals.db, version, now=now)) == expected, (name, f)
        # The history's own figures: time at an element, responses.
        cycle = reports.cycle(deals.db, f, now=now)
        expected = _element_times(deals.db, f, "task_qualify_lead")
        row = next((r for r in cycle["elements"] if r["element_id"] == "task_qualify_lead"), None)
        if expected:
            assert row is not None and row["count"] == len(expected)
            assert row["median_seconds"] == pytest.approx(statistics.median(expected), abs=0.01)
            p90 = statistics.quantiles(expected, n=10, method="inclusive")[-1]
            if len(expected) > 1:
                assert row["p90_seconds"] == pytest.approx(p90, abs=0.01)
        else:
            assert row is None


def test_a_versions_figures_from_its_counts_equal_those_from_its_deals_facts(
    team: Service, tmp_path: Path
) -> None:
    # Deals on two versions of the pipeline: each version's reports and heatmap medians come
    # from the facts and counts of that version (they carry it), and equal what that
    # version's deals alone give: the reports read single facts with a tier filter added
    # (every deal here is of tier A), the medians are those of the version's stays.
    team.deploy([PROCESSES])
    deals = Deals(team)
    rng = random.Random(23)

    def add(n: int) -> None:
        for _ in range(n):
            steps = rng.randrange(1, 9)
            deals.add(
                days=[round(rng.lognormvariate(0, 1), 3) for _ in range(steps)],
                start=T0 + timedelta(days=rng.uniform(0, 300)),
                owner=rng.choice(["alice", "bob"]),
            )

    add(40)
    team.deploy([make_v2(tmp_path / "v2")])
    with team.db.read() as s:
        row = version_row(s, "sales_pipeline", None)
        deals.version = (row.id, row.version)
    add(30)
    now = T0 + 400 * DAY
    for number in (1, 2):
        for since, until in ((None, None), (T0 + 45 * DAY, T0 + 250 * DAY)):
            by_counts = Filters(since=since, until=until, version=number)
            by_deals = Filters(since=since, until=until, version=number, tier="A")
            for name in ("funnel", "cycle", "reps"):
                report = getattr(reports, name)
                assert _figures(report(team.db, by_counts, now=now)) == _figures(
                    report(team.db, by_deals, now=now)
                ), (name, number, since)
        with team.db.read() as s:
            medians = median_stays(s, "sales_pipeline", number)
            stays: dict[str, list[float]] = {}
            for element, at, entered in s.execute(
                select(History.element_id, History.at, History.entered_at)
                .join(Instance, Instance.id == History.instance_id)
                .where(Instance.version_number == number, History.entered_at.is_not(None))
            ):
                stays.setdefault(element, []).append((at - entered).total_seconds())
        assert stays and medians.keys() == stays.keys()
        for element, seconds in stays.items():
            assert medians[element] == pytest.approx(statistics.median(seconds)), element
    with team.db.read() as s:
        assert median_stays(s, "sales_pipeline", 1) != median_stays(s, "sales_pipeline", 2)


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "filters"}


def _element_times(db: Database, f: Filters, element: str) -> list[float]:
    with db.read() as s:
        rows = s.execute(
            select(History.at, History.entered_at).where(
                History.element_id == element, History.entered_at.is_not(None)
            )
        ).all()
    return [
        (at - entered).total_seconds()
        for at, entered in rows
        if entered is not None
        and (f.since is None or at >= f.since)
        and (f.until is None or at < f.until)
    ]


# --- stays that depend on where the period starts ----------------------------------------------


def test_stays_of_a_deal_that_goes_back_and_forth_are_exact_for_every_period(
    deals: Deals,
) -> None:
    # A lead on day 0, contact on day 1, needs on day 2, contact again on day 3, the proposal
    # on day 4: in a period from before day 0, the deal's first stays are lead 0-1, contact
    # 1-2 and needs 2-4 (its second contact is no first entry); from day 1.5 on, needs 2-3
    # and contact 3-4.
    iid = deals.add(days=[], open_task=False)
    rows = []
    for element, entered, done in (
        ("task_initial_contact", 1, 1.5),
        ("task_needs_analysis", 2, 2.5),
        ("task_initial_contact", 3, 3.5),
        ("task_design_proposal", 4, 4.5),
    ):
        rows.append(
            Deals._row(
                iid, "completed", element, T0 + done * DAY, "alice", entered=T0 + entered * DAY
            )
        )
    with deals.db.write() as s:
        s.execute(insert(History), rows)
        facts.refresh(s, iid)
    with deals.db.read() as s:
        kinds = set(s.scalars(select(ReportFact.kind).where(ReportFact.instance_id == iid)))
    assert "irregular" in kinds

    def stays(since: float) -> dict[str, float | None]:
        f = Filters(since=T0 + since * DAY, until=T0 + 10 * DAY)
        report = reports.cycle(deals.db, f, now=T0 + 10 * DAY)
        return {r["stage"]: r["median_seconds"] for r in report["stages"] if r["count"]}

    assert stays(-1) == {"lead": 86400.0, "contact": 86400.0, "needs": 2 * 86400.0}
    assert stays(1.5) == {"needs": 86400.0, "contact": 86400.0}


# --- counts written by concurrent changes --------------------------------------------------------


def test_concurrent_changes_add_to_the_same_count_without_waiting(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time")
    group = ("stage", "sales_pipeline", 700, "lead", facts.NO_BUCKET, 0, 1)
    with db.write() as first:
        facts.add_counts(first, Counter({group: 1}))
    with db.write() as first:
        facts.add_counts(first, Counter({group: 1}))  # folds the row there and holds it
        with db.write() as second:
            second.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail here
            facts.add_counts(second, Counter({group: 1}))
    with db.write() as third:
        facts.add_counts(third, Counter({group: -1}))
    with db.read() as s:
        rows = s.scalars(select(ReportCount.n).where(ReportCount.key == "lead")).all()
    assert sum(rows) == 2
    assert len(rows) == 1  # folded again once nobody held them


def test_catching_up_leaves_a_deal_being_changed_for_the_next_time(deals: Deals) -> None:
    if deals.db.is_sqlite:
        pytest.skip("SQLite has one writer at a time")
    iid = deals.add(days=[1])
    with deals.db.write() as s:
        changes.touch(s, iid)
    with deals.db.write() as s:  # a change of the deal in progress holds its row
        s.execute(select(Instance.id).where(Instance.id == iid).with_for_update())
        assert facts.catch_up(deals.db) == 0  # did not wait for it
    with deals.db.read() as s:
        assert s.scalars(select(ReportPending.instance_id)).all() == [iid]  # noted again
    assert facts.catch_up(deals.db) == 1
    assert facts.catch_up(deals.db) == 0
