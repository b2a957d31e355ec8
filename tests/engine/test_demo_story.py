"""`salesflow demo` lives six months of a team's sales in moved time (issue 14, "The demo
tells the story"): every report, Today, the board and the heatmap have something to show —
deals spread over the months, stale ones, SLA breaches, won and lost for several reasons,
values that differ — because it happened that way, not because rows were written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import clock
from engine.jobs.timers import fire_due
from engine.usecases.demo import STORY_DAYS, load_demo
from engine.usecases.reports.cases import REPORTS
from engine.usecases.service import Service


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Service:
    from engine.store.db import Database

    db = Database(f"sqlite:///{tmp_path_factory.mktemp('story') / 'demo.sqlite3'}")
    db.migrate()
    service = Service(db)
    load_demo(service, tick=lambda: fire_due(service))
    return service


def test_sixty_deals_over_six_months(story: Service) -> None:
    deals = story.instances(process="sales_pipeline")
    assert len(deals) == 61  # 60 over the story, and one customer's deal from before it
    created = sorted(clock.parse_iso(str(d["created_at"])) for d in deals)
    assert created[-1] - created[0] > timedelta(days=STORY_DAYS - 30)
    stages = {d["stage"] for d in deals if d["status"] == "running"}
    assert len(stages) >= 6  # open deals at most stages of the pipeline
    assert len({d["owner"] for d in deals}) >= 3


def test_stale_deals_and_sla_breaches(story: Service) -> None:
    deals = story.instances(process="sales_pipeline")
    assert len(story.stale_among(deals)) >= 3
    now = clock.now()
    overdue = [t for t in story.tasks() if t["due_at"] and clock.parse_iso(t["due_at"]) < now]
    assert len(overdue) >= 2


def test_won_and_lost_for_several_reasons_with_varied_values(story: Service) -> None:
    shown = [story.show(d["instance_id"]) for d in story.instances(process="sales_pipeline")]
    lost = [d for d in shown if d["stage"] == "lost"]
    won = [d for d in shown if d["status"] == "completed" and d["stage"] != "lost"]
    assert len(lost) >= 5 and len(won) >= 5
    reasons = {d["data"].get("lost_reason") for d in lost} - {None}
    assert len(reasons) >= 3
    prices = {d["data"]["price"] for d in shown if "price" in d["data"]}
    assert len(prices) >= 10
    amounts = {d["amount"] for d in shown}
    assert len(amounts) >= 10 and None not in amounts  # every deal has a value, and they vary
    assert all(d["expected_close"] for d in shown)


@pytest.mark.parametrize("name", REPORTS)
def test_every_report_has_varied_figures(story: Service, name: str) -> None:
    report = story.report(name, story.report_filters({}), viewer="zhang.wei")
    figures = _numbers(report)
    assert len(figures) >= 3 and len(set(figures)) >= 3, (name, report)


def test_today_has_something_for_a_rep(story: Service) -> None:
    today = story.digest("wang.fang")
    assert any(today[key] for key in today if isinstance(today[key], list))


def _numbers(value: object) -> list[float]:
    """Every number in a report's figures, however nested."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list | tuple):
        return [n for item in value for n in _numbers(item)]
    return []


def test_customers_buy_again_go_quiet_and_are_followed_up(story: Service) -> None:
    customers = story.customers(None)
    assert sum(1 for c in customers if c["deals"] >= 2) >= 3  # renewals and upsells
    due = [c for c in customers if c["cadence_due"]]
    assert 2 <= len([c for c in due if c["tier"] == "A"]) <= 4  # a few A customers gone quiet
    figures = story.report("customers", story.report_filters({}), viewer="zhang.wei")
    assert figures["churn_rate"] and figures["repeat_purchase_rate"]  # one churned, some repeat
    assert figures["revisit_rate"] is not None
    [busy] = [c for c in customers if c["deals"] >= 2][:1]
    kinds = {a["kind"] for a in story.customer(busy["id"], None)["activities"]}
    assert len(kinds) >= 3  # visits, meetings, calls, e-mails along its deals


def test_targets_with_one_rep_ahead_and_one_behind(story: Service) -> None:
    rows = story.targets_report(None, viewer="zhang.wei")["rows"]
    pace = {r["user"]: r["pace"] for r in rows if r["metric"] == "won_value"}
    assert pace["wang.fang"] == "ahead" and pace["li.na"] == "behind"
    assert pace[None] is not None  # the team has its target too


def test_the_forecast_learns_from_the_story(story: Service) -> None:
    """Issue 17: enough closed deals for the forecast to learn from the team's history, and
    a backtest from the middle of the story that scores deals on both methods."""
    found = story.forecast("sales_pipeline")
    assert found["method"] == "history" and found["closed"] >= 30
    assert found["deals"] and all(d["basis"] == "history" for d in found["deals"])
    assert found["months"][0]["expected_value"] > 0
    chances = {round(d["probability"]) for d in found["deals"]}
    assert len(chances) >= 5  # positions differ, and so do their chances
    at = (clock.now() - timedelta(days=STORY_DAYS // 3)).date()
    report = story.backtest(at)
    assert report["deals"] >= 10 and report["brier"] is not None
