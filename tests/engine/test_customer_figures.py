"""The customer figures (engine.usecases.reports.customers) on a small history whose answers are
worked out by hand: churn with its window, repeat purchases, lifetime value, the revisit within
7 days of a win, visits and proposals per rep per week, and each lead channel's cost against the
value it won; a rep's figures cover the customers of the deals the rep may see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, update

from engine.errors import ValidationError
from engine.store.models import Activity, Customer, History, Instance
from engine.usecases.reports import Filters
from engine.usecases.reports.costs import DAYS_PER_MONTH
from engine.usecases.reports.customers import customers
from engine.usecases.service import Service
from tests.conftest import PROCESSES
from tests.engine.test_reports import Deals

FEBRUARY = Filters(since=datetime(2026, 2, 1, tzinfo=UTC), until=datetime(2026, 3, 1, tzinfo=UTC))
NOW = datetime(2026, 3, 10, tzinfo=UTC)
WIN = [1] * 8  # the pipeline's eight human steps, a day each: won 8 days after the start


def day(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}T09:00:00+00:00")


class Story:
    """Customers, their deals (tests.engine.test_reports.Deals) and activities."""

    def __init__(self, service: Service) -> None:
        self.db = service.db
        self.deals = Deals(service)

    def customer(self, name: str) -> int:
        with self.db.write() as s:
            row = Customer(
                name=name, name_key=name.lower(), owner=None, created_at=NOW, updated_at=NOW
            )
            s.add(row)
            s.flush()
            return row.id

    def deal(self, customer: int, start: str, owner: str, **kw: Any) -> int:
        iid = self.deals.add(start=day(start), owner=owner, **kw)
        with self.db.write() as s:
            s.execute(update(Instance).where(Instance.id == iid).values(customer_id=customer))
        return iid

    def activity(
        self,
        at: str,
        by: str,
        kind: str = "visit",
        *,
        customer: int | None = None,
        deal: int | None = None,
    ) -> None:
        with self.db.write() as s:
            s.execute(
                insert(Activity).values(
                    customer_id=customer,
                    instance_id=deal,
                    kind=kind,
                    at=day(at),
                    by=by,
                    notes="",
                    created_at=day(at),
                )
            )

    def revisit_done(self, deal: int, at: str) -> None:
        with self.db.write() as s:
            s.execute(
                insert(History).values(
                    instance_id=deal,
                    at=day(at),
                    actor="sam",
                    kind="completed",
                    element_id="task_satisfaction_revisit",
                    element_name="Satisfaction revisit",
                )
            )


@pytest.fixture
def story(team: Service) -> Story:
    team.deploy([PROCESSES])
    h = Story(team)
    alpha, beta, gamma = h.customer("Alpha"), h.customer("Beta"), h.customer("Gamma")
    delta, epsilon, zeta = h.customer("Delta"), h.customer("Epsilon"), h.customer("Zeta")
    # Alpha buys twice (won 2025-01-09 and 2026-02-09): a repeat customer, 400 in all.
    h.deal(alpha, "2025-01-01", "alice", days=WIN, amount=100)
    d2 = h.deal(alpha, "2026-02-01", "alice", days=WIN, amount=300)
    # Beta's one win was on 2024-12-09 and nothing since: churned.
    h.deal(beta, "2024-12-01", "bob", days=WIN, amount=200)
    # Gamma won on 2026-02-18, through an ad.
    d4 = h.deal(gamma, "2026-02-10", "bob", days=WIN, amount=50, channel="ads")
    # Delta's win is old (2024-11-09) but it has an open deal since: not churned.
    h.deal(delta, "2024-11-01", "alice", days=WIN, amount=1000)
    h.deal(delta, "2025-06-01", "alice", days=[1, 1])
    # Epsilon has an open deal only: no buyer yet.
    h.deal(epsilon, "2026-01-05", "bob", days=[1])
    # Zeta won on 2026-02-13; after-sales did the satisfaction revisit three days later.
    d7 = h.deal(zeta, "2026-02-05", "alice", days=WIN, amount=600)
    h.revisit_done(d7, "2026-02-16")
    # Alpha called three days after its win (a revisit); Gamma visited nine days after.
    h.activity("2026-02-12", "alice", "call", customer=alpha)
    h.activity("2026-02-27", "bob", deal=d4, customer=gamma)
    assert d2 and d4
    # Visits in February: alice six, bob two (the one above too); a call and March's don't count.
    for date in (
        "2026-02-02",
        "2026-02-03",
        "2026-02-10",
        "2026-02-11",
        "2026-02-20",
        "2026-02-25",
    ):
        h.activity(date, "alice")
    h.activity("2026-02-14", "bob")
    h.activity("2026-02-15", "alice", "meeting")
    h.activity("2026-03-02", "alice")
    return h


def test_each_customer_figure_against_its_answer(story: Story, team: Service) -> None:
    team.set_channel_costs({"referral": 1000}, actor="mia")
    report = team.report("customers", FEBRUARY, viewer="mia")
    # Five customers with a win: Alpha, Beta, Gamma, Delta, Zeta.
    assert (report["customers"], report["churned"], report["churn_rate"]) == (5, 1, 0.2)
    assert (report["repeat_customers"], report["repeat_purchase_rate"]) == (1, 0.2)
    # Won value per customer: 400, 200, 50, 1000, 600.
    assert (report["clv_median"], report["clv_mean"]) == (400, 450)
    top = [(c["name"], c["won_value"], c["won_deals"]) for c in report["top_customers"]]
    assert top == [("Delta", 1000, 1), ("Zeta", 600, 1), ("Alpha", 400, 2), ("Beta", 200, 1),
                   ("Gamma", 50, 1)]  # fmt: skip
    assert [c["churned"] for c in report["top_customers"]] == [False, False, False, True, False]
    # Won in February: Alpha's second deal (called in 3 days), Zeta's (revisit task in 3 days),
    # Gamma's (visited after 9 days).
    assert (report["revisit_wins"], report["revisited"]) == (3, 2)
    assert report["revisit_rate"] == pytest.approx(2 / 3, abs=1e-4)
    # Four weeks: 8 visits, 3 deals entering the proposal stage (Alpha's and Zeta's of alice,
    # Gamma's of bob).
    assert (report["weeks"], report["visits"], report["proposals"]) == (4, 8, 3)
    assert (report["visits_per_week"], report["proposals_per_week"]) == (2, 0.75)
    assert report["reps"] == [
        {"user": "alice", "visits": 6, "proposals": 2, "visits_per_week": 1.5,
         "proposals_per_week": 0.5},
        {"user": "bob", "visits": 2, "proposals": 1, "visits_per_week": 0.5,
         "proposals_per_week": 0.25},
    ]  # fmt: skip
    # Leads of February: Alpha's and Zeta's by referral (900 won), Gamma's by an ad (50).
    channels = {c["channel"]: c for c in report["channels"]}
    cost = round(1000 * 28 / DAYS_PER_MONTH, 2)
    assert channels["referral"] == {
        "channel": "referral",
        "leads": 2,
        "won": 2,
        "cost": cost,
        "cost_per_lead": round(cost / 2, 2),
        "won_value": 900,
        "value_per_cost": round(900 / cost, 4),
    }
    assert (channels["ads"]["won_value"], channels["ads"]["cost"]) == (50, None)
    assert channels["ads"]["value_per_cost"] is None


def test_the_churn_window_is_settable(story: Story, team: Service) -> None:
    assert team.report_window({}) == 365
    assert team.report_window({"window_days": "19"}) == 19
    for bad in ("0", "x", "-5", "99999"):
        with pytest.raises(ValidationError) as err:
            team.report_window({"window_days": bad})
        assert err.value.field == "window_days"
    # 19 days before 1 March: Alpha's last win (9 February) is older, and nothing since.
    report = team.report("customers", FEBRUARY, viewer="mia", window_days=19)
    assert (report["window_days"], report["churned"], report["churn_rate"]) == (19, 2, 0.4)


def test_a_rep_sees_the_customers_of_the_deals_they_may_see(story: Story, team: Service) -> None:
    report = team.report("customers", FEBRUARY, viewer="alice")
    # Alpha, Delta and Zeta are alice's; Beta's and Gamma's deals are bob's.
    assert (report["customers"], report["churned"], report["repeat_customers"]) == (3, 0, 1)
    assert [c["name"] for c in report["top_customers"]] == ["Delta", "Zeta", "Alpha"]
    assert (report["revisit_wins"], report["revisited"]) == (2, 2)
    assert [r["user"] for r in report["reps"]] == ["alice"]
    assert (report["visits"], report["proposals"]) == (6, 2)
    # The filters apply to the deals: bob's deals only.
    bobs = team.report("customers", Filters(since=FEBRUARY.since, until=FEBRUARY.until,
                                            owner="bob"), viewer="mia")  # fmt: skip
    assert (bobs["customers"], bobs["churned"]) == (2, 1)
    assert [r["user"] for r in bobs["reps"]] == ["bob"]


def test_a_win_whose_days_still_run_waits_for_its_revisit(story: Story, team: Service) -> None:
    # Judged on 20 February: Gamma's win (18 February) is still within its 7 days.
    report = team.report("customers", FEBRUARY, viewer="mia")
    assert report["revisit_wins"] == 3
    early = customers(team.db, FEBRUARY, viewer="mia", now=day("2026-02-20"))
    assert (early["revisit_wins"], early["revisited"]) == (2, 2)
