"""The customer figures the sources watch (domain.md, "Numbers the users watch"): churn,
repeat purchases, customer lifetime value, the revisit after a win, visits and proposals per
rep per week, and what each lead channel cost against the value it won.

A customer counts through its deals in scope (the process, version, owner, team, tier and
channel filters, and who is asking: a rep's figures cover the customers of the deals the rep
may see); a deal without a customer counts for none.  A win is the report fact of the deal
entering "won" (usecases.reports.facts).  Figures about customers are taken at the end of the
period (or now, if sooner):
- `churn_rate`: customers whose last win is older than `window_days` and who have had no
  deal since that was won or is still open, over the customers with a win;
- `repeat_purchase_rate`: customers with two wins or more over those with one or more;
- `clv_median` / `clv_mean`: the won value per customer over all time, with the top
  customers by it;
- `revisit_rate`: deals won in the period revisited within REVISIT_DAYS after the win (an
  activity logged with the deal or its customer, or the pipeline's satisfaction revisit done)
  over those deals, leaving out the wins whose days are still running without a revisit;
- visits (activities of kind visit, by their author; a rep sees their own) and proposals
  (deals entering the proposal stage, as the funnel counts them) per rep per week;
- per lead channel, its leads of the period, what they cost (the channels report's figures)
  and the value of those of them won by now.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select

from engine import clock
from engine.core.roles import role_key
from engine.store import users
from engine.store.db import Database
from engine.store.models import Activity, Customer, History, Instance, ReportFact, User, UserRole
from engine.usecases import access
from engine.usecases.outcomes import outcome_of
from engine.usecases.reports.facts import RESTAGE, STAGE, WON_KIND, catch_up
from engine.usecases.reports.pipeline import channels
from engine.usecases.reports.scope import Filters, deal_filter, ratio, report

__all__ = ["DEFAULT_WINDOW_DAYS", "REVISIT_DAYS", "TOP_CUSTOMERS", "customers"]

DEFAULT_WINDOW_DAYS = 365
REVISIT_DAYS = 7
REVISIT_TASK = "task_satisfaction_revisit"  # the sales pipeline's after-sales revisit
TOP_CUSTOMERS = 10
PROPOSAL = "proposal"
VISIT = "visit"
DAY = 86400.0


def _epoch(moment: datetime) -> float:
    """Seconds since 1970 of a stored time (SQLite hands them back without a zone: UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def customers(
    db: Database,
    f: Filters,
    *,
    viewer: str | None = None,
    now: datetime | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> dict[str, Any]:
    """The customer figures over the deals in scope (see the module)."""
    now = now or clock.now()
    at_end = min(f.until, now) if f.until is not None else now
    catch_up(db)
    with db.read() as s:
        deals = deal_filter(s, f, viewer)
        # Every deal in scope with a customer: its customer, creation, outcome, value, win.
        wins = (
            select(ReportFact.instance_id, func.min(ReportFact.at).label("at"))
            .where(ReportFact.kind == WON_KIND)
            .group_by(ReportFact.instance_id)
            .subquery()
        )
        rows = s.execute(
            select(
                Instance.id,
                Instance.customer_id,
                Instance.created_at,
                Instance.stage,
                Instance.status,
                Instance.amount,
                Instance.owner,
                wins.c.at,
            )
            .outerjoin(wins, wins.c.instance_id == Instance.id)
            .where(*deals, Instance.customer_id.is_not(None))
        ).all()
        names = dict(
            s.execute(
                select(Customer.id, Customer.name).where(
                    Customer.id.in_(sorted({r.customer_id for r in rows}))
                )
            ).all()
        )
        revisited = _revisited(s, f, rows, now)
        per_rep = _per_rep(s, f, viewer, deals)
    per_customer = _per_customer(rows, at_end, window_days)
    values = [c["won_value"] for c in per_customer.values()]
    buyers = len(per_customer)
    churned = sum(1 for c in per_customer.values() if c["churned"])
    repeat = sum(1 for c in per_customer.values() if c["won_deals"] >= 2)
    top = sorted(per_customer.values(), key=lambda c: (-c["won_value"], c["customer_id"]))
    weeks = (
        ((f.until or now) - f.since).total_seconds() / (7 * DAY) if f.since is not None else None
    )
    visits = sum(r["visits"] for r in per_rep)
    proposals = sum(r["proposals"] for r in per_rep)
    for rep in per_rep:
        rep["visits_per_week"] = _round(rep["visits"] / weeks if weeks else None)
        rep["proposals_per_week"] = _round(rep["proposals"] / weeks if weeks else None)
    return report(
        "customers",
        f,
        window_days=window_days,
        customers=buyers,
        churned=churned,
        churn_rate=ratio(churned, buyers),
        repeat_customers=repeat,
        repeat_purchase_rate=ratio(repeat, buyers),
        clv_median=_round(statistics.median(values)) if values else None,
        clv_mean=_round(statistics.fmean(values)) if values else None,
        revisit_wins=revisited[0],
        revisited=revisited[1],
        revisit_rate=ratio(revisited[1], revisited[0]),
        weeks=_round(weeks, 3),
        visits=visits,
        visits_per_week=_round(visits / weeks if weeks else None),
        proposals=proposals,
        proposals_per_week=_round(proposals / weeks if weeks else None),
        top_customers=[{**c, "name": names.get(c["customer_id"], "")} for c in top[:TOP_CUSTOMERS]],
        reps=per_rep,
        channels=_channels(db, f, viewer, now),
    )


def _per_customer(rows: Any, at_end: datetime, window_days: int) -> dict[int, dict[str, Any]]:
    """Per customer with a win by `at_end`: wins, won value, last win, churned or not."""
    deals_of: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        deals_of[row.customer_id].append(row)
    end = at_end.timestamp()
    found: dict[int, dict[str, Any]] = {}
    for customer_id, its in deals_of.items():
        won = [r for r in its if r.at is not None and r.at < end]
        if not won:
            continue
        last = max(r.at for r in won)
        # A deal since the last win that is won or still open: the customer is still buying.
        since_then = [
            r
            for r in its
            if _epoch(r.created_at) > last
            and _epoch(r.created_at) < end
            and (r.at is not None or (r.status == "running" and outcome_of(r.stage) is None))
        ]
        found[customer_id] = {
            "customer_id": customer_id,
            "won_deals": len(won),
            "won_value": round(sum(float(r.amount or 0) for r in won), 2),
            "last_won_at": datetime.fromtimestamp(last, UTC).isoformat(),
            "churned": last < end - window_days * DAY and not since_then,
        }
    return found


def _revisited(s: Any, f: Filters, rows: Any, now: datetime) -> tuple[int, int]:
    """(wins counted, wins revisited) of the deals won in the period (see the module)."""
    low = f.since.timestamp() if f.since is not None else float("-inf")
    high = f.until.timestamp() if f.until is not None else float("inf")
    won = [r for r in rows if r.at is not None and low <= r.at < high]
    if not won:
        return 0, 0
    ids = sorted(r.id for r in won)
    customers_of = sorted({r.customer_id for r in won})
    done = s.execute(
        select(History.instance_id, History.at).where(
            History.instance_id.in_(ids),
            History.element_id == REVISIT_TASK,
            History.kind == "completed",
        )
    ).all()
    logged = s.execute(
        select(Activity.instance_id, Activity.customer_id, Activity.at).where(
            or_(Activity.instance_id.in_(ids), Activity.customer_id.in_(customers_of))
        )
    ).all()
    counted = revisited = 0
    for deal in won:
        start = deal.at
        stop = start + REVISIT_DAYS * DAY
        times = [_epoch(at) for iid, at in done if iid == deal.id]
        times += [
            _epoch(at) for iid, cid, at in logged if iid == deal.id or cid == deal.customer_id
        ]
        if any(start <= t <= stop for t in times):
            counted, revisited = counted + 1, revisited + 1
        elif stop <= now.timestamp():
            counted += 1  # its days are over without a revisit (still running: not yet)
    return counted, revisited


def _per_rep(s: Any, f: Filters, viewer: str | None, deals: Any) -> list[dict[str, Any]]:
    """Visits (by their author) and proposals (by the deal's owner) in the period per rep."""
    people: dict[str, dict[str, Any]] = {}

    def rep(name: str) -> dict[str, Any]:
        return people.setdefault(name, {"user": name, "visits": 0, "proposals": 0})

    where = [Activity.kind == VISIT]
    if f.since is not None:
        where.append(Activity.at >= f.since)
    if f.until is not None:
        where.append(Activity.at < f.until)
    if f.owner is not None:
        where.append(Activity.by == f.owner)
    if f.team is not None:
        members = (
            select(User.username)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role_key(f.team))
        )
        where.append(Activity.by.in_(members))
    if viewer is not None and not access.sees_all(users.roles_of(s, viewer)):
        where.append(Activity.by == viewer)  # a rep's own visits; managers see everyone's
    for by, n in s.execute(select(Activity.by, func.count()).where(*where).group_by(Activity.by)):
        rep(by)["visits"] = n
    low = f.since.timestamp() if f.since is not None else None
    entries = select(Instance.owner, func.count(func.distinct(ReportFact.instance_id))).join(
        Instance, Instance.id == ReportFact.instance_id
    )
    entries = entries.where(
        *deals,
        ReportFact.kind.in_((STAGE, RESTAGE)),
        ReportFact.key == PROPOSAL,
        Instance.owner.is_not(None),
    )
    if low is not None:
        entries = entries.where(
            ReportFact.at >= low, or_(ReportFact.previous.is_(None), ReportFact.previous < low)
        )
    else:
        entries = entries.where(ReportFact.previous.is_(None))
    if f.until is not None:
        entries = entries.where(ReportFact.at < f.until.timestamp())
    for owner, n in s.execute(entries.group_by(Instance.owner)):
        rep(owner)["proposals"] = n
    return sorted(people.values(), key=lambda r: str(r["user"]).casefold())


def _channels(db: Database, f: Filters, viewer: str | None, now: datetime) -> list[dict[str, Any]]:
    """Per lead channel: the channels report's leads and cost, and the value won from them."""
    found = channels(db, f, viewer=viewer, now=now)["channels"]
    with db.read() as s:
        deals = [*deal_filter(s, f, viewer, scan=True)]
        if f.since is not None:
            deals.append(Instance.created_at >= f.since)
        if f.until is not None:
            deals.append(Instance.created_at < f.until)
        won = select(ReportFact.instance_id).where(ReportFact.kind == WON_KIND)
        channel = func.coalesce(Instance.lead_source, "")
        value = dict(
            s.execute(
                select(channel, func.sum(Instance.amount))
                .where(*deals, Instance.id.in_(won))
                .group_by(channel)
            ).all()
        )
    rows = []
    for row in found:
        won_value = round(float(value.get(row["channel"] or "", 0) or 0), 2)
        rows.append(
            {
                "channel": row["channel"],
                "leads": row["leads"],
                "won": row["won"],
                "cost": row["cost"],
                "cost_per_lead": row["cost_per_lead"],
                "won_value": won_value,
                "value_per_cost": ratio(won_value, row["cost"]) if row["cost"] else None,
            }
        )
    return rows
