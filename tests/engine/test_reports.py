"""Reports (usecases.reports) on generated histories whose answers are known: funnel counts and
conversions, win rate and lost reasons, medians and 90th percentiles of times, per-channel
figures with costs, per-rep figures, stale deals and SLA breaches, the filters, and a deal
driven through the engine itself."""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from sqlalchemy import insert, select

from engine.errors import ValidationError
from engine.store import team_settings as settings
from engine.store.deployments import version_row
from engine.store.models import History, Instance, OpenTask
from engine.usecases import reports
from engine.usecases.demo import LOST, WON, drive
from engine.usecases.reports import Filters, facts
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
NOW = T0 + 100 * DAY
ALL = Filters(since=T0 - DAY, until=NOW)
# The pipeline's human steps to a win, each followed by what the engine runs at once.
PATH = [
    "task_qualify_lead",
    "task_initial_contact",
    "task_needs_analysis",
    "task_design_proposal",
    "task_prepare_quote",
    "task_negotiate",
    "task_legal_review",
    "task_confirm_down_payment",
]
STAGES = {
    "task_qualify_lead": "qualification",
    "task_initial_contact": "contact",
    "task_needs_analysis": "needs",
    "task_design_proposal": "proposal",
    "task_prepare_quote": "negotiation",
    "task_negotiate": "negotiation",
    "task_legal_review": "contract",
    "task_confirm_down_payment": "contract",
}
AUTO_AFTER = {
    "task_qualify_lead": ["task_grade_lead", "gw_qualified"],
    "task_negotiate": ["gw_outcome", "gw_contract_split"],
    "task_confirm_down_payment": ["gw_contract_join", "task_record_win"],
}


class Deals:
    """Writes deals' rows straight into the tables, as the engine would have written them,
    with chosen times, and the deal's report facts from them."""

    def __init__(self, service: Service) -> None:
        self.db = service.db
        with self.db.read() as s:
            row = version_row(s, "sales_pipeline", None)
            self.version = (row.id, row.version)
        self.tasks = 0

    def _task(self) -> str:
        self.tasks += 1
        return f"00000000-0000-4000-8000-{self.tasks:012d}"

    def add(
        self,
        *,
        days: Sequence[float],
        start: datetime = T0,
        owner: str = "alice",
        channel: str | None = "referral",
        tier: str = "A",
        amount: int | None = None,
        lost: str | None = None,
        open_task: bool = True,
        status: str | None = None,
        claims: Sequence[float] = (),
        data: dict[str, Any] | None = None,
    ) -> int:
        """A deal started at `start` whose human steps along PATH took `days` each; the
        step after them is open (unless the deal won), or the deal is lost in negotiation
        with the reason `lost`.  `claims[i]`: days after step i became ready that it was
        claimed."""
        with self.db.write() as s:
            inst = Instance(
                version_id=self.version[0],
                process_id="sales_pipeline",
                version_number=self.version[1],
                name=f"Deal {self.tasks}",
                owner=owner,
                amount=Decimal(amount) if amount is not None else None,
                lead_source=channel,
                tier=tier,
                stage="lead",
                status="running",
                state="{}",
                data={"source_channel": channel, **(data or {})},
                visited={},
                position={},
                timers=[],
                created_at=start,
                updated_at=start,
                activity_at=start,
            )
            s.add(inst)
            s.flush()
            rows: list[dict[str, Any]] = [self._row(inst.id, "started", None, start, owner)]
            for element in ("start_lead_received", "task_prepare_deal", "gw_requalify_merge"):
                rows.append(self._row(inst.id, "completed", element, start))
            at = start
            for n, took in enumerate(days):
                element = PATH[n]
                ready, at = at, at + took * DAY
                task_id = self._task()
                if n < len(claims):
                    rows.append(
                        self._row(inst.id, "claimed", element, ready + claims[n] * DAY, owner)
                        | {"task_id": task_id}
                    )
                rows.append(
                    self._row(inst.id, "completed", element, at, owner, entered=ready)
                    | {"task_id": task_id}
                )
                if element == "task_negotiate" and lost is not None:
                    rows.append(self._row(inst.id, "completed", "gw_outcome", at))
                    rows.append(self._row(inst.id, "completed", "task_record_loss", at))
                    inst.data = {**inst.data, "outcome": "lost", "lost_reason": lost}
                    inst.status, inst.stage = "completed", "lost"
                    break
                for auto in AUTO_AFTER.get(element, []):
                    rows.append(self._row(inst.id, "completed", auto, at))
            won = len(days) == len(PATH)
            if won:
                inst.stage = "after_sales"
                self._open(s, inst.id, "task_satisfaction_revisit", "after_sales", at, owner)
            elif inst.status == "running" and open_task:
                element = PATH[len(days)]
                inst.stage = STAGES[element]
                self._open(s, inst.id, element, inst.stage, at, owner)
            inst.updated_at = inst.activity_at = at
            if status is not None:
                inst.status = status
            s.execute(insert(History), rows)
            s.flush()
            facts.refresh(s, inst.id)  # as the engine does after every change of a deal
            return inst.id

    @staticmethod
    def _row(
        iid: int,
        kind: str,
        element: str | None,
        at: datetime,
        actor: str | None = None,
        *,
        entered: datetime | None = None,
    ) -> dict[str, Any]:
        return {
            "instance_id": iid,
            "at": at,
            "actor": actor,
            "kind": kind,
            "element_id": element,
            "element_name": element,
            "task_id": None,
            "entered_at": entered,
            "data": None,
        }

    def _open(
        self, s: Any, iid: int, element: str, stage: str | None, since: datetime, owner: str
    ) -> None:
        s.add(
            OpenTask(
                task_id=self._task(),
                instance_id=iid,
                element_id=element,
                name=element,
                lane="sales rep",
                role="sales rep",
                assignee=owner,
                stage=stage,
                created_at=since,
            )
        )


@pytest.fixture
def deals(team: Service) -> Deals:
    team.deploy([PROCESSES])
    return Deals(team)


def by_stage(report: dict[str, Any], key: str) -> dict[str, Any]:
    return {row["stage"]: row[key] for row in report["stages"]}


# --- funnel ---------------------------------------------------------------------------------


def test_funnel_counts_conversions_win_rate_and_lost_reasons(deals: Deals) -> None:
    for _ in range(4):
        deals.add(days=[1] * 8)  # won
    for _ in range(3):
        deals.add(days=[1, 1])  # waiting at the needs analysis
    deals.add(days=[1] * 6, lost="Budget frozen")
    deals.add(days=[1] * 6, lost="Chose a competitor")
    deals.add(days=[], open_task=True)  # a new lead, not yet qualified
    report = reports.funnel(deals.db, ALL, now=NOW)
    assert by_stage(report, "entered") == {
        "lead": 10,
        "qualification": 10,
        "contact": 9,
        "needs": 9,
        "proposal": 6,
        "negotiation": 6,
        "contract": 4,
        "won": 4,
    }
    assert by_stage(report, "converted") == {
        "lead": 10,
        "qualification": 9,
        "contact": 9,
        "needs": 6,
        "proposal": 6,
        "negotiation": 4,
        "contract": 4,
        "won": None,
    }
    conversion = by_stage(report, "conversion")
    assert conversion["needs"] == pytest.approx(6 / 9, abs=1e-4)
    assert conversion["negotiation"] == pytest.approx(4 / 6, abs=1e-4)
    assert (report["won"], report["lost"]) == (4, 2)
    assert report["win_rate"] == pytest.approx(4 / 6, abs=1e-4)
    assert report["lost_reasons"] == [
        {"reason": "Budget frozen", "deals": 1},
        {"reason": "Chose a competitor", "deals": 1},
    ]


def test_funnel_counts_a_stage_in_the_period_it_was_entered(deals: Deals) -> None:
    # Enters lead and qualification on day 0, contact on day 1, needs on day 2, the proposal
    # on day 12 and negotiation on day 22.
    deals.add(days=[1, 1, 10, 10])
    early = Filters(since=T0, until=T0 + 2 * DAY)
    later = Filters(since=T0 + 10 * DAY, until=T0 + 20 * DAY)
    first = by_stage(reports.funnel(deals.db, early, now=NOW), "entered")
    assert [s for s, n in first.items() if n] == ["lead", "qualification", "contact"]
    second = reports.funnel(deals.db, later, now=NOW)
    assert [s for s, n in by_stage(second, "entered").items() if n] == ["proposal"]
    # It went on to negotiation after the period: still a conversion.
    assert by_stage(second, "converted")["proposal"] == 1


def test_a_nurtured_lead_going_back_enters_no_stage(deals: Deals) -> None:
    iid = deals.add(days=[1], open_task=False)
    with deals.db.write() as s:  # graded C: back to the lead stage, waiting 30 days
        s.execute(
            insert(History), [Deals._row(iid, "completed", "task_count_nurture_round", T0 + DAY)]
        )
        facts.refresh(s, iid)
    report = reports.funnel(deals.db, ALL, now=NOW)
    assert by_stage(report, "entered")["lead"] == 1
    assert by_stage(report, "entered")["qualification"] == 1
    assert by_stage(report, "converted")["qualification"] == 0


# --- cycle and time in stage --------------------------------------------------------------------


def test_sales_cycle_median_and_p90(deals: Deals) -> None:
    for total in (8, 16, 24, 32):  # eight human steps each: cycles of 8, 16, 24, 32 days
        deals.add(days=[total / 8] * 8)
    deals.add(days=[1] * 6, lost="No decision")  # not won: no cycle
    report = reports.cycle(deals.db, ALL, now=NOW)
    cycle = report["cycle"]
    assert cycle["count"] == 4
    assert cycle["median_seconds"] == pytest.approx(20 * 86400)
    # p90 of 8, 16, 24, 32 (linear, as percentile_cont): 24 + 0.7 * 8 = 29.6 days
    assert cycle["p90_seconds"] == pytest.approx(29.6 * 86400)


def test_time_in_each_stage_and_at_each_element(deals: Deals) -> None:
    for needs_days in (1, 2, 3, 4, 5):
        deals.add(days=[1, 2, needs_days])  # now at the proposal
    report = reports.cycle(deals.db, ALL, now=NOW)
    stays = {row["stage"]: row for row in report["stages"]}
    assert stays["needs"]["count"] == 5
    assert stays["needs"]["median_seconds"] == pytest.approx(3 * 86400)
    assert stays["needs"]["p90_seconds"] == pytest.approx(4.6 * 86400)
    assert stays["contact"]["median_seconds"] == pytest.approx(2 * 86400)
    # Lead and qualification are entered at the same moment: no time in the lead stage.
    assert stays["lead"]["median_seconds"] == pytest.approx(0)
    assert stays["proposal"]["count"] == 0  # still there
    elements = {row["element_id"]: row for row in report["elements"]}
    assert elements["task_needs_analysis"]["count"] == 5
    assert elements["task_needs_analysis"]["median_seconds"] == pytest.approx(3 * 86400)
    assert elements["task_needs_analysis"]["stage"] == "needs"
    assert elements["task_initial_contact"]["p90_seconds"] == pytest.approx(2 * 86400)
    # Elements that ran at once have no time.
    assert "task_grade_lead" not in elements


def test_medians_and_percentiles_agree_with_statistics(deals: Deals) -> None:
    rng = random.Random(5)
    spans = [round(rng.uniform(0.1, 30), 3) for _ in range(37)]
    for span in spans:
        deals.add(days=[span])
    report = reports.cycle(deals.db, ALL, now=NOW)
    row = next(r for r in report["elements"] if r["element_id"] == "task_qualify_lead")
    seconds = sorted(s * 86400 for s in spans)
    assert row["count"] == 37
    assert row["median_seconds"] == pytest.approx(statistics.median(seconds), abs=0.01)
    ninetieth = statistics.quantiles(seconds, n=10, method="inclusive")[-1]
    assert row["p90_seconds"] == pytest.approx(ninetieth, abs=0.01)


# --- channels -----------------------------------------------------------------------------------


def test_channels_leads_conversion_cycle_and_cost_per_lead(deals: Deals) -> None:
    for total in (8, 24):
        deals.add(days=[total / 8] * 8, channel="referral")
    deals.add(days=[1], channel="referral")
    for _ in range(3):
        deals.add(days=[1], channel="ads")
    deals.add(days=[8 / 8] * 8, channel="ads")
    deals.add(days=[], channel=None)
    # Before the period: not a lead of it.
    deals.add(days=[1] * 8, channel="ads", start=T0 - 30 * DAY)
    reports.set_channel_costs(deals.db, {"ads": "3,000", "referral": 1500, "social": ""})
    period = Filters(since=T0, until=T0 + 61 * DAY)
    report = reports.channels(deals.db, period, now=NOW)
    rows = {row["channel"]: row for row in report["channels"]}
    assert [r["channel"] for r in report["channels"]] == ["ads", "referral", None]
    assert (rows["ads"]["leads"], rows["ads"]["won"]) == (4, 1)
    assert (rows["referral"]["leads"], rows["referral"]["won"]) == (3, 2)
    assert rows["referral"]["conversion"] == pytest.approx(2 / 3, abs=1e-4)
    assert rows["referral"]["median_cycle_seconds"] == pytest.approx(16 * 86400)
    assert rows["ads"]["median_cycle_seconds"] == pytest.approx(8 * 86400)
    months = 61 / (365.25 / 12)
    assert report["months"] == pytest.approx(months, abs=1e-3)
    assert rows["ads"]["cost"] == pytest.approx(3000 * months, abs=0.01)
    assert rows["ads"]["cost_per_lead"] == pytest.approx(3000 * months / 4, abs=0.01)
    assert rows["ads"]["cost_per_won"] == pytest.approx(3000 * months, abs=0.01)
    assert rows["referral"]["cost_per_lead"] == pytest.approx(1500 * months / 3, abs=0.01)
    assert rows[None]["cost_per_lead"] is None and rows[None]["monthly_cost"] is None
    assert (report["leads"], report["won"]) == (8, 3)


def test_channel_costs_are_checked_and_kept_in_the_settings(deals: Deals) -> None:
    assert reports.set_channel_costs(deals.db, {"ads": "1200.5", "content": 0}) == {
        "ads": 1200.5,
        "content": 0.0,
    }
    with deals.db.read() as s:
        assert settings.get(s, "channel_costs") == {"ads": 1200.5, "content": 0.0}
        assert reports.channel_costs(s) == {"ads": 1200.5, "content": 0.0}
    for bad in ("-5", "lots", "1e13", "nan"):
        with pytest.raises(ValidationError) as caught:
            reports.set_channel_costs(deals.db, {"ads": bad})
        assert caught.value.field == "ads"
    with deals.db.read() as s:  # nothing changed
        assert reports.channel_costs(s) == {"ads": 1200.5, "content": 0.0}
    reports.set_channel_costs(deals.db, {})
    with deals.db.read() as s:
        assert reports.channel_costs(s) == {}


# --- reps ---------------------------------------------------------------------------------------


def test_reps_open_deals_won_value_overdue_tasks_and_response_time(deals: Deals) -> None:
    deals.add(days=[1] * 8, owner="alice", amount=100_000)
    deals.add(days=[1] * 8, owner="alice", amount=50_000)
    deals.add(days=[1] * 8, owner="bob", amount=70_000)
    waiting = deals.add(days=[1, 1], owner="bob", claims=[0.5, 0.25])
    deals.add(days=[1], owner="alice", claims=[2 / 24])
    with deals.db.write() as s:  # bob's needs analysis was due two days ago
        task = s.scalars(select(OpenTask).where(OpenTask.instance_id == waiting)).one()
        task.due_at = NOW - 2 * DAY
    report = reports.reps(deals.db, ALL, now=NOW)
    rows = {row["user"]: row for row in report["reps"]}
    assert rows["alice"]["open_deals"] == 3  # two won (still in after-sales) and one open
    assert (rows["alice"]["won_deals"], rows["alice"]["won_value"]) == (2, 150_000)
    assert (rows["bob"]["won_deals"], rows["bob"]["won_value"]) == (1, 70_000)
    assert (rows["bob"]["open_tasks"], rows["bob"]["overdue_tasks"]) == (2, 1)
    assert rows["alice"]["overdue_tasks"] == 0
    # Responses: alice completed 16 tasks a day after they were ready and claimed one after
    # 2 hours; bob claimed two (12 h, 6 h) and completed 8 after a day.
    assert rows["alice"]["responses"] == 17
    assert rows["alice"]["median_response_seconds"] == pytest.approx(86400)
    assert rows["bob"]["responses"] == 10
    assert rows["bob"]["median_response_seconds"] == pytest.approx(86400)
    only_claims = reports.reps(deals.db, ALL, now=NOW, viewer="bob")
    bob = {row["user"]: row for row in only_claims["reps"]}
    assert set(bob) == {"bob"}  # bob sees his own deals only


def test_response_time_of_a_claim_is_the_first_action(deals: Deals) -> None:
    deals.add(days=[3], owner="bob", claims=[0.5])
    deals.add(days=[3], owner="bob", claims=[1.5])
    deals.add(days=[1], owner="bob")
    rows = {row["user"]: row for row in reports.reps(deals.db, ALL, now=NOW)["reps"]}
    # First actions after 12 h, 36 h and 24 h (plus the open initial contacts: none taken)
    assert rows["bob"]["responses"] == 3
    assert rows["bob"]["median_response_seconds"] == pytest.approx(86400)


# --- stale deals and SLA breaches -----------------------------------------------------------------


def test_stale_deals_overdue_tasks_and_escalations(deals: Deals) -> None:
    quiet = deals.add(days=[1, 1], owner="alice")  # needs analysis since day 2
    deals.add(days=[1, 1], owner="bob", start=NOW - 3 * DAY)  # recent: not stale
    with deals.db.write() as s:
        task = s.scalars(select(OpenTask).where(OpenTask.instance_id == quiet)).one()
        task.due_at, task.escalated_at = T0 + 5 * DAY, T0 + 5 * DAY
        s.add(
            History(
                instance_id=quiet,
                at=T0 + 5 * DAY,
                kind="escalated",
                element_id="task_needs_analysis",
                element_name="Needs analysis",
                task_id=task.task_id,
            )
        )
    report = reports.stale(deals.db, ALL, now=NOW)
    assert report["stale_deals"] == 1
    assert [d["instance_id"] for d in report["deals"]] == [str(quiet)]
    assert report["deals"][0]["quiet_days"] == pytest.approx(98.0)
    assert (report["overdue_tasks"], report["escalated_tasks"], report["escalations"]) == (1, 1, 1)
    needs = next(r for r in report["stages"] if r["stage"] == "needs")
    assert needs == {
        "stage": "needs",
        "stale_deals": 1,
        "overdue_tasks": 1,
        "escalated_tasks": 1,
        "escalations": 1,
    }
    assert report["elements"] == [
        {
            "element_id": "task_needs_analysis",
            "element_name": "Needs analysis",
            "stage": "needs",
            "escalations": 1,
        }
    ]
    assert {r["owner"]: r["stale_deals"] for r in report["owners"]} == {"alice": 1}
    # An escalation before the period is not one of it.
    late = reports.stale(deals.db, Filters(since=T0 + 6 * DAY, until=NOW), now=NOW)
    assert late["escalations"] == 0 and late["stale_deals"] == 1


# --- filters --------------------------------------------------------------------------------------


def test_filters_owner_team_tier_channel_and_version(deals: Deals, team: Service) -> None:
    team.add_user("carl", ["Sales Rep", "East team"])
    team.add_user("bob", ["East team"])
    deals.add(days=[1], owner="alice", tier="A", channel="ads")
    deals.add(days=[1], owner="bob", tier="B", channel="ads")
    deals.add(days=[1], owner="carl", tier="B", channel="referral")

    def leads(**filters: Any) -> int:
        f = Filters(since=ALL.since, until=ALL.until, **filters)
        return int(by_stage(reports.funnel(deals.db, f, now=NOW), "entered").get("lead", 0))

    assert leads() == 3
    assert leads(owner="bob") == 1
    assert leads(team="east_team") == 2
    assert leads(tier="B") == 2
    assert leads(channel="ads") == 2
    assert leads(tier="B", channel="ads") == 1
    assert leads(version=deals.version[1]) == 3
    assert leads(version=deals.version[1] + 1) == 0
    assert leads(process="optimization_initiative") == 0
    # Every report takes them.
    f = Filters(since=ALL.since, until=ALL.until, owner="carl")
    assert reports.channels(deals.db, f, now=NOW)["leads"] == 1
    assert reports.cycle(deals.db, f, now=NOW)["elements"][0]["count"] == 1
    assert {r["user"] for r in reports.reps(deals.db, f, now=NOW)["reps"]} == {"carl"}
    assert reports.stale(deals.db, f, now=NOW)["stale_deals"] == 1


def test_a_rep_sees_the_figures_of_the_deals_they_may_see(deals: Deals) -> None:
    deals.add(days=[1] * 8, owner="alice")
    deals.add(days=[1] * 8, owner="bob")
    deals.add(days=[1], owner="bob")
    whole = reports.funnel(deals.db, ALL, now=NOW)
    alice = reports.funnel(deals.db, ALL, viewer="alice", now=NOW)
    manager = reports.funnel(deals.db, ALL, viewer="mia", now=NOW)
    assert by_stage(whole, "entered")["lead"] == 3
    assert by_stage(alice, "entered")["lead"] == 1
    assert by_stage(manager, "entered")["lead"] == 3
    assert reports.channels(deals.db, ALL, viewer="alice", now=NOW)["leads"] == 1


def test_the_period_runs_over_whole_days_in_the_team_time_zone(team: Service) -> None:
    with team.db.write() as s:
        settings.put(s, "timezone", "Asia/Shanghai")
    with team.db.read() as s:
        since, until = reports.period(s, date(2026, 3, 1), date(2026, 3, 31))
        assert since == datetime(2026, 2, 28, 16, tzinfo=UTC)
        assert until == datetime(2026, 3, 31, 16, tzinfo=UTC)
        assert reports.period(s, None, None) == (None, None)
        with pytest.raises(ValidationError):
            reports.period(s, date(2026, 3, 2), date(2026, 3, 1))


# --- a deal driven through the engine -----------------------------------------------------------


def test_deals_driven_through_the_engine(team: Service) -> None:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False) as clock:
        won = team.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
        lost = team.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
        for n, step in enumerate(WON):
            clock.move_to(T0 + (n + 1) * DAY)
            drive(team, won["instance_id"], [step])
            if n < len(LOST):
                drive(team, lost["instance_id"], [LOST[n]])
        now = T0 + 20 * DAY
        clock.move_to(now)
        f = Filters(since=T0, until=now)
        funnel = reports.funnel(team.db, f, now=now)
        assert set(by_stage(funnel, "entered").values()) == {1, 2}
        assert by_stage(funnel, "entered")["negotiation"] == 2
        assert by_stage(funnel, "entered")["contract"] == 1
        assert (funnel["won"], funnel["lost"], funnel["win_rate"]) == (1, 1, 0.5)
        assert funnel["lost_reasons"] == [{"reason": "no budget", "deals": 1}]
        cycle = reports.cycle(team.db, f, now=now)
        assert cycle["cycle"]["median_seconds"] == pytest.approx(8 * 86400)
        needs = next(r for r in cycle["elements"] if r["element_id"] == "task_needs_analysis")
        assert needs["median_seconds"] == pytest.approx(86400)
        stays = {r["stage"]: r for r in cycle["stages"]}
        assert stays["contract"]["median_seconds"] == pytest.approx(2 * 86400)
        reps = {r["user"]: r for r in reports.reps(team.db, f, now=now)["reps"]}
        assert reps["alice"]["median_response_seconds"] == pytest.approx(86400)
        assert reps["alice"]["won_deals"] == 1
        assert reports.channels(team.db, f, now=now)["channels"][0]["won"] == 1
