"""The pipeline's reports: the funnel, lead channels, and the sales cycle with the time in
each stage and at each element.

Entries into stages, stays and times at elements come from the report facts
(usecases.reports.facts): a report reads one compact row per entry or stay of the period, from
an index, and counts them or works out exact percentiles (engine.usecases.reports.stats) without
grouping the history per deal.  The rest (won and lost deals, leads per channel) is read from
the deals and the history's index, which hands over the period's few rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, func, select

from engine import clock
from engine.store.db import Database
from engine.store.models import History, Instance, ReportFact
from engine.usecases.reports.costs import DAYS_PER_MONTH, channel_costs
from engine.usecases.reports.facts import ELEMENT, IRREGULAR, RESTAGE, STAGE, WON_KIND, catch_up
from engine.usecases.reports.scope import (
    LOST,
    WON,
    Filters,
    Scope,
    deal_filter,
    ratio,
    report,
    scope,
    seconds_between,
    starting,
    stats_of,
    within,
)
from engine.usecases.reports.stats import counted, fact_percentiles, percentiles

__all__ = ["channels", "cycle", "funnel", "won_deals"]


def won_deals(f: Filters, sc: Scope, deals: list[ColumnElement[bool]]) -> Any:
    """The deals that entered "won" in the period: (iid, at, created_at, owner, amount)."""
    return (
        select(
            Instance.id.label("iid"),
            History.at.label("at"),
            Instance.created_at,
            Instance.owner,
            Instance.amount,
        )
        .select_from(History)
        .join(Instance, Instance.id == History.instance_id)
        .where(History.element_id.in_(sc.stage_elements(WON) or [""]), *within(History.at, f))
        .where(*deals)
        .subquery("won")
    )


def funnel(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Deals entering each stage in the period, and how many of them have gone on to a later
    stage since; deals won and lost in the period, the win rate, the reasons for losses."""
    catch_up(db)
    with db.read() as s:
        sc = scope(s, f)
        deals = deal_filter(s, f, viewer)
        found: dict[str, tuple[int, int]] = {}
        for (_kind, key, _b, further), n in counted(
            s, (STAGE, RESTAGE), f, deals, stage=True
        ).items():
            entered, converted = found.get(key, (0, 0))
            found[key] = (entered + n, converted + (n if further else 0))
        # Every process has losses: a deal of any process may be marked lost.
        reason = Instance.data["lost_reason"].as_string()
        lost = (
            select(reason, func.count(func.distinct(Instance.id)))
            .select_from(History)
            .join(Instance, Instance.id == History.instance_id)
            .where(
                History.element_id.in_(sc.stage_elements(LOST)),
                *within(History.at, f),
                *deals,
            )
            .group_by(reason)
            .order_by(func.count(func.distinct(Instance.id)).desc(), reason)
        )
        reasons = [{"reason": r or None, "deals": n} for r, n in s.execute(lost)]
    rows = []
    for name in sc.funnel:
        entered, converted = found.get(name, (0, 0))
        last = name == sc.funnel[-1]
        rows.append(
            {
                "stage": name,
                "entered": entered,
                "converted": None if last else converted,
                "conversion": None if last else ratio(converted, entered),
            }
        )
    won = found.get(WON, (0, 0))[0]
    lost_deals = found.get(LOST, (0, 0))[0]
    return report(
        "funnel",
        f,
        stages=rows,
        won=won,
        lost=lost_deals,
        win_rate=ratio(won, won + lost_deals),
        lost_reasons=reasons,
    )


def channels(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Per lead channel, the leads (deals created in the period), how many of them are won
    by now, the median cycle of those, and what a lead cost where a monthly spend is set."""
    now = now or clock.now()
    with db.read() as s:
        sc = scope(s, f)
        costs = channel_costs(s)
        deals = [*deal_filter(s, f, viewer, scan=True), *within(Instance.created_at, f)]
        channel = func.coalesce(Instance.lead_source, "")
        leads = dict(s.execute(select(channel, func.count()).where(*deals).group_by(channel)).all())
        won_rows = (
            select(History.instance_id.label("iid"), func.min(History.at).label("at"))
            .where(
                History.element_id.in_(sc.stage_elements(WON) or [""]),
                *starting(History.at, f.since),
            )
            .group_by(History.instance_id)
            .subquery()
        )
        cycles = percentiles(
            s,
            select(channel, seconds_between(s, won_rows.c.at, Instance.created_at))
            .join(won_rows, won_rows.c.iid == Instance.id)
            .where(*deals),
        )
        first = f.since or s.scalar(select(func.min(Instance.created_at)).where(*deals))
    months = ((f.until or now) - first).total_seconds() / 86400 / DAYS_PER_MONTH if first else 0.0
    items = []
    for key, count in sorted(leads.items(), key=lambda kv: (-kv[1], kv[0])):
        name = key or None
        won = cycles.get(key, {}).get("count", 0)
        monthly = costs.get(key)
        spent = round(monthly * months, 2) if monthly is not None else None
        items.append(
            {
                "channel": name,
                "leads": count,
                "won": won,
                "conversion": ratio(won, count),
                "median_cycle_seconds": cycles.get(key, {}).get("median"),
                "monthly_cost": monthly,
                "cost": spent,
                "cost_per_lead": round(spent / count, 2) if spent is not None else None,
                "cost_per_won": round(spent / won, 2) if spent is not None and won else None,
            }
        )
    total_leads = sum(i["leads"] for i in items)
    total_won = sum(i["won"] for i in items)
    return report(
        "channels",
        f,
        channels=items,
        leads=total_leads,
        won=total_won,
        conversion=ratio(total_won, total_leads),
        months=round(months, 3),
    )


def _irregular_stays(s: Any, f: Filters, sc: Scope, deals: list[ColumnElement[bool]]) -> Any:
    """Stays in each stage of the deals whose stays depend on where the period starts
    (usecases.reports.facts): from their first entries into each stage since the period began,
    each to the next of those, as the stays that began in the period and have ended."""
    marked = select(ReportFact.instance_id).where(
        ReportFact.kind == IRREGULAR, ReportFact.process_id == f.process
    )
    if len(deals) > 1:
        marked = marked.where(ReportFact.instance_id.in_(select(Instance.id).where(*deals)))
    irregular = sorted(s.scalars(marked))
    if not irregular:
        return {}
    since = [ReportFact.at >= f.since.timestamp()] if f.since is not None else []
    firsts = (
        select(ReportFact.instance_id, ReportFact.key, func.min(ReportFact.at))
        .where(ReportFact.kind.in_((STAGE, RESTAGE)), ReportFact.instance_id.in_(irregular), *since)
        .group_by(ReportFact.instance_id, ReportFact.key)
    )
    per_deal: dict[int, list[tuple[float, int, str]]] = defaultdict(list)
    for iid, key, e in s.execute(firsts).all():
        per_deal[iid].append((float(e), sc.order(key), key))
    stays: dict[str, list[float]] = defaultdict(list)
    until = f.until.timestamp() if f.until is not None else None
    for entries in per_deal.values():
        entries.sort()
        for (e, _rank, key), (left, _r, _k) in pairwise(entries):
            if until is None or e < until:
                stays[key].append(left - e)
    return stays


def cycle(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The sales cycle (creation to won) of the deals won in the period; the time in each
    stage, from entering it to entering the next, of the stays that began in the period and
    have ended; the time at each element of the elements done in the period."""
    catch_up(db)
    with db.read() as s:
        sc = scope(s, f)
        deals = deal_filter(s, f, viewer)
        sales_cycle = fact_percentiles(s, (WON_KIND,), f, deals)
        in_stage = fact_percentiles(
            s,
            (STAGE, RESTAGE),
            f,
            deals,
            stage=True,
            extra=_irregular_stays(s, f, sc, deals),
        )
        at_element = fact_percentiles(s, (ELEMENT,), f, deals)
    return report(
        "cycle",
        f,
        cycle=stats_of(sales_cycle, ""),
        stages=[{"stage": n, **stats_of(in_stage, n)} for n in sc.names],
        elements=[
            {
                "element_id": e,
                "element_name": sc.labels.get(e, e),
                "stage": sc.stages.get(e),
                **stats_of(at_element, e),
            }
            for e in sorted(at_element, key=lambda e: (sc.order(sc.stages.get(e)), e))
        ],
    )
