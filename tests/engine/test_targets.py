"""Targets broken down to the rep (engine.usecases.targets): who sets them, what a target may be,
and the month's attainment per rep and team on a history driven through the use cases, in the
team's time zone, with the month so far against the target line; and the reps report's
won-value target and attainment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, insert, select

from engine.errors import ForbiddenError, ValidationError
from engine.store.models import Activity, Target
from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from engine.usecases.targets import TargetReport, TargetReportRow
from tests.conftest import LEAD, PROCESSES

MARCH = "2026-03"


@pytest.fixture
def sales(team: Service) -> Service:
    team.add_user("root", ["admin"])
    team.deploy([PROCESSES])
    team.save_team_settings({"timezone": "Asia/Shanghai"}, user="root")
    return team


def win(service: Service, owner: str, price: int, at: datetime, steps: int = len(WON)) -> str:
    """A deal of `owner` driven to a win at `at` (its quote `price`, no discount: its value),
    or only `steps` steps along."""
    quote = {"price": price, "discount_percent": 0}
    path = [(e, quote if e == "task_prepare_quote" else more) for e, more in WON[:steps]]
    with time_machine.travel(at, tick=False):
        deal = service.start(
            "sales_pipeline", owner=owner, actor=owner, data={**LEAD, "company": f"Co {price}"}
        )
        drive(service, deal["instance_id"], path)
    return str(deal["instance_id"])


def visit(service: Service, by: str, at: datetime, kind: str = "visit") -> None:
    with service.db.write() as s:
        s.execute(insert(Activity).values(kind=kind, at=at, by=by, notes="", created_at=at))


def rows_of(report: TargetReport) -> dict[tuple[str | None, str], TargetReportRow]:
    return {(r["user"], r["metric"]): r for r in report["rows"]}


def test_managers_set_and_replace_targets_others_are_refused(sales: Service) -> None:
    assert sales.set_target(MARCH, None, "won_value", "100,000", actor="mia") == {
        "period": MARCH,
        "user": None,
        "metric": "won_value",
        "value": 100_000.0,
    }
    sales.set_target(MARCH, None, "won_value", 200_000, actor="root")  # replaces it
    sales.set_target(MARCH, "alice", "visits", 12, actor="mia")
    sales.set_target(MARCH, "mia", "won_deals", 3, actor="mia")  # a manager owns deals too
    with sales.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Target)) == 3
        team_row = s.scalars(select(Target).where(Target.username == "")).one()
        assert (team_row.value, team_row.set_by) == (200_000, "root")
    for outsider in ("alice", "pete"):
        with pytest.raises(ForbiddenError):
            sales.set_target(MARCH, "alice", "visits", 1, actor=outsider)
    for args, field in (
        (("2026-13", None, "won_value", 1), "period"),
        (("March", None, "won_value", 1), "period"),
        ((MARCH, None, "revenue", 1), "metric"),
        ((MARCH, None, "won_value", -1), "value"),
        ((MARCH, None, "won_value", "lots"), "value"),
        ((MARCH, "alice", "visits", 2.5), "value"),
        ((MARCH, "pete", "visits", 2), "user"),  # owns no deals
        ((MARCH, "nobody", "visits", 2), "user"),
    ):
        with pytest.raises(ValidationError) as err:
            sales.set_target(*args, actor="mia")
        assert err.value.field == field, args
    assert sales.delete_target(MARCH, "alice", "visits", actor="mia") is True
    assert sales.delete_target(MARCH, "alice", "visits", actor="mia") is False
    with pytest.raises(ForbiddenError):
        sales.delete_target(MARCH, None, "won_value", actor="alice")


def test_attainment_per_rep_and_team_in_the_team_s_month(sales: Service) -> None:
    # In Shanghai, March runs from 2026-02-28 16:00 to 2026-03-31 16:00 UTC.
    win(sales, "alice", 100_000, datetime(2026, 3, 5, 2, tzinfo=UTC))
    win(sales, "alice", 50_000, datetime(2026, 2, 28, 17, tzinfo=UTC))  # 1 March, 01:00 there
    win(sales, "bob", 30_000, datetime(2026, 3, 12, 2, tzinfo=UTC))
    win(sales, "bob", 80_000, datetime(2026, 3, 14, 2, tzinfo=UTC), steps=3)  # at the proposal
    win(sales, "bob", 90_000, datetime(2026, 2, 27, 2, tzinfo=UTC), steps=3)  # February's
    for day in (2, 9, 13):
        visit(sales, "alice", datetime(2026, 3, day, 3, tzinfo=UTC))
    visit(sales, "alice", datetime(2026, 3, 10, 3, tzinfo=UTC), kind="call")  # no visit
    visit(sales, "bob", datetime(2026, 3, 11, 3, tzinfo=UTC))
    visit(sales, "bob", datetime(2026, 2, 28, 15, tzinfo=UTC))  # 23:00 on 28 February there
    sales.set_target(MARCH, None, "won_value", 200_000, actor="mia")
    sales.set_target(MARCH, "alice", "won_value", 120_000, actor="mia")
    sales.set_target(MARCH, "alice", "visits", 4, actor="mia")
    sales.set_target(MARCH, "bob", "won_value", 60_000, actor="mia")
    sales.set_target("2026-04", "bob", "won_value", 10, actor="mia")  # another month's

    # 16 of March's 31 days gone by, where the team is.
    with time_machine.travel(datetime(2026, 3, 16, 16, tzinfo=UTC), tick=False):
        report = sales.targets_report(MARCH, viewer="mia")
        assert sales.targets_report(None, viewer="mia")["period"] == MARCH
    assert report["elapsed"] == pytest.approx(16 / 31, abs=1e-4)
    rows = rows_of(report)
    assert {u for u, _m in rows} == {None, "alice", "bob"}
    assert [r["user"] for r in report["rows"][:4]] == [None] * 4  # the team first
    alice, bob = rows["alice", "won_value"], rows["bob", "won_value"]
    team_value = rows[None, "won_value"]
    assert (alice["target"], alice["actual"], alice["attainment"]) == (120_000, 150_000, 1.25)
    assert alice["expected"] == pytest.approx(120_000 * 16 / 31, abs=0.01)
    assert alice["pace"] == "ahead"
    assert (bob["target"], bob["actual"], bob["attainment"]) == (60_000, 30_000, 0.5)
    assert bob["expected"] == pytest.approx(60_000 * 16 / 31, abs=0.01)
    assert bob["pace"] == "behind"
    assert (team_value["actual"], team_value["attainment"]) == (180_000, 0.9)
    assert rows[None, "won_deals"]["actual"] == 3 and rows[None, "won_deals"]["target"] is None
    assert rows[None, "won_deals"]["attainment"] is None and rows[None, "won_deals"]["pace"] is None
    assert (rows["alice", "won_deals"]["actual"], rows["bob", "won_deals"]["actual"]) == (2, 1)
    visits = rows["alice", "visits"]
    assert (visits["target"], visits["actual"], visits["attainment"]) == (4, 3, 0.75)
    assert visits["expected"] == pytest.approx(4 * 16 / 31, abs=0.01)
    assert visits["pace"] == "ahead"  # 3 of 4 visits done with half the month gone
    assert (rows["bob", "visits"]["actual"], rows[None, "visits"]["actual"]) == (1, 4)
    # Deals entering the proposal stage: alice's two wins, bob's win and his deal there now.
    assert (rows["alice", "proposals"]["actual"], rows["bob", "proposals"]["actual"]) == (2, 2)

    # A rep reads their own rows and the team's; someone who reads no reports, nothing.
    with time_machine.travel(datetime(2026, 3, 16, 16, tzinfo=UTC), tick=False):
        mine = rows_of(sales.targets_report(MARCH, viewer="alice"))
        with pytest.raises(ForbiddenError):
            sales.targets_report(MARCH, viewer="pete")
    assert {u for u, _m in mine} == {None, "alice"}
    assert mine[None, "won_value"]["actual"] == 180_000

    # Won on 1 April in Shanghai: April's, not March's; after the month, all of it expected.
    win(sales, "bob", 20_000, datetime(2026, 3, 31, 17, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 4, 2, tzinfo=UTC), tick=False):
        closed = rows_of(sales.targets_report(MARCH, viewer="mia"))
        april = rows_of(sales.targets_report("2026-04", viewer="mia"))
    assert closed["bob", "won_value"]["actual"] == 30_000
    assert closed["bob", "won_value"]["expected"] == 60_000
    assert april["bob", "won_value"]["actual"] == 20_000
    assert april["bob", "won_value"]["attainment"] == 2000.0
    assert "alice" not in {u for u, _m in april}  # no target, nothing done in April


def test_the_reps_report_shows_the_won_value_target_and_attainment(sales: Service) -> None:
    win(sales, "alice", 100_000, datetime(2026, 3, 5, 2, tzinfo=UTC))
    win(sales, "bob", 30_000, datetime(2026, 3, 12, 2, tzinfo=UTC))
    sales.set_target(MARCH, "alice", "won_value", 80_000, actor="mia")
    sales.set_target("2026-04", "alice", "won_value", 60_000, actor="mia")
    march = sales.report_filters({"from": "2026-03-01", "to": "2026-03-31"})
    reps = {r["user"]: r for r in sales.report("reps", march, viewer="mia")["reps"]}
    assert reps["alice"]["won_value"] == 100_000
    assert (reps["alice"]["won_value_target"], reps["alice"]["won_value_attainment"]) == (
        80_000,
        1.25,
    )
    assert (reps["bob"]["won_value_target"], reps["bob"]["won_value_attainment"]) == (None, None)
    # March and the first half of April: the whole of March's target and half of April's.
    longer = sales.report_filters({"from": "2026-03-01", "to": "2026-04-15"})
    alice = {r["user"]: r for r in sales.report("reps", longer, viewer="mia")["reps"]}["alice"]
    assert alice["won_value_target"] == 110_000
