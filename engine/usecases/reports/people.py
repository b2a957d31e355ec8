"""The people's reports: per rep (open deals, won value, tasks overdue, response times),
stale deals and SLA breaches, and the heatmap of where deals wait.

Response times come from the report facts (usecases.reports.facts): one row per person's first
action on a task, counted per person with exact medians (engine.usecases.reports.stats).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from engine import clock
from engine.core.graph import Heat
from engine.store import team_settings as settings
from engine.store.db import Database
from engine.store.models import History, Instance, OpenTask
from engine.store.records import iso
from engine.store.stale import stale_clause
from engine.usecases.reports.facts import RESPONSE, catch_up
from engine.usecases.reports.pipeline import won_deals
from engine.usecases.reports.scope import Filters, deal_filter, report, scope, tasks_of, within
from engine.usecases.reports.stats import fact_percentiles

__all__ = ["heat", "reps", "stale"]

STALE_LIST = 50  # stale deals listed by name


def reps(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Per person: deals owned and running now, deals won in the period and their value, open
    tasks assigned and overdue now, and the median time from a task becoming ready (in the
    period) to the person's first action on it (a claim or the completion)."""
    now = now or clock.now()
    people: dict[str, dict[str, Any]] = {}

    def person(name: str | None) -> dict[str, Any]:
        return people.setdefault(
            name or "",
            {
                "user": name,
                "open_deals": 0,
                "won_deals": 0,
                "won_value": 0.0,
                "open_tasks": 0,
                "overdue_tasks": 0,
                "responses": 0,
                "median_response_seconds": None,
            },
        )

    catch_up(db)
    with db.read() as s:
        sc = scope(s, f)
        deals = deal_filter(s, f, viewer)
        running = (
            select(Instance.owner, func.count())
            .where(*deal_filter(s, f, viewer, scan=True), Instance.status == "running")
            .group_by(Instance.owner)
        )
        for owner, n in s.execute(running):
            person(owner)["open_deals"] = n
        won = won_deals(f, sc, deals)
        value = select(won.c.owner, func.count(), func.sum(won.c.amount)).group_by(won.c.owner)
        for owner, n, amount in s.execute(value):
            person(owner).update(won_deals=n, won_value=float(amount or 0))
        tasks = (
            select(
                OpenTask.assignee,
                func.count(),
                func.sum(case((OpenTask.due_at < now, 1), else_=0)),
            )
            .where(*tasks_of(sc, deals), OpenTask.assignee.is_not(None))
            .group_by(OpenTask.assignee)
        )
        for assignee, n, overdue in s.execute(tasks):
            person(assignee).update(open_tasks=n, overdue_tasks=int(overdue or 0))
        # A person's first action on a task (a claim or the completion), from when it
        # became ready in the period (engine.usecases.reports.facts).
        responses = fact_percentiles(s, (RESPONSE,), f, deals)
        for actor, found in responses.items():
            person(actor).update(responses=found["count"], median_response_seconds=found["median"])
    items = sorted(people.values(), key=lambda p: (p["user"] is None, p["user"] or ""))
    return report("reps", f, reps=items)


def stale(
    db: Database, f: Filters, *, viewer: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Stale deals now (engine.store.stale) per stage and owner, the stalest listed; open tasks
    past their SLA now, and escalated; SLA escalations in the period."""
    now = now or clock.now()
    blank = {"stale_deals": 0, "overdue_tasks": 0, "escalated_tasks": 0, "escalations": 0}
    by_stage: dict[str, dict[str, Any]] = {}
    by_owner: dict[str, dict[str, Any]] = {}

    def add(table: dict[str, dict[str, Any]], key_name: str, key: str | None, **n: Any) -> None:
        if not any(n.values()):
            return  # an open task with an SLA that is not due yet
        row = table.setdefault(key or "", {key_name: key, **blank})
        for name, value in n.items():
            row[name] += int(value or 0)

    with db.read() as s:
        sc = scope(s, f)
        deals = deal_filter(s, f, viewer)
        quiet = stale_clause(settings.stale_days(s), now)
        grouped = (
            select(Instance.stage, Instance.owner, func.count())
            .where(*deals, quiet)
            .group_by(Instance.stage, Instance.owner)
        )
        for stage_name, owner, n in s.execute(grouped):
            add(by_stage, "stage", stage_name, stale_deals=n)
            add(by_owner, "owner", owner, stale_deals=n)
        quiet_since = func.coalesce(Instance.activity_at, Instance.created_at)
        listed = s.execute(
            select(Instance.id, Instance.name, Instance.owner, Instance.stage, quiet_since)
            .where(*deals, quiet)
            .order_by(quiet_since, Instance.id)
            .limit(STALE_LIST)
        ).all()
        tasks = (
            select(
                OpenTask.stage,
                Instance.owner,
                func.sum(case((OpenTask.due_at < now, 1), else_=0)),
                func.sum(case((OpenTask.escalated_at.is_not(None), 1), else_=0)),
            )
            .join(Instance, Instance.id == OpenTask.instance_id)
            .where(*deal_filter(s, f, viewer, scan=True), OpenTask.due_at.is_not(None))
            .group_by(OpenTask.stage, Instance.owner)
        )
        for stage_name, owner, overdue, escalated in s.execute(tasks):
            add(by_stage, "stage", stage_name, overdue_tasks=overdue, escalated_tasks=escalated)
            add(by_owner, "owner", owner, overdue_tasks=overdue, escalated_tasks=escalated)
        escalations = (
            select(History.element_id, Instance.owner, func.count())
            .join(Instance, Instance.id == History.instance_id)
            .where(
                History.element_id.in_(sorted(sc.slas) or [""]),
                *within(History.at, f),
                History.kind == "escalated",
                *deals,
            )
            .group_by(History.element_id, Instance.owner)
        )
        per_element: dict[str, int] = {}
        for element_id, owner, n in s.execute(escalations):
            add(by_stage, "stage", sc.stages.get(element_id or ""), escalations=n)
            add(by_owner, "owner", owner, escalations=n)
            per_element[element_id or ""] = per_element.get(element_id or "", 0) + n
    stage_rows = sorted(by_stage.values(), key=lambda r: (sc.order(r["stage"]), r["stage"] or ""))
    return report(
        "stale",
        f,
        **{k: sum(r[k] for r in stage_rows) for k in blank},
        stages=stage_rows,
        owners=sorted(by_owner.values(), key=lambda r: (r["owner"] is None, r["owner"] or "")),
        elements=[
            {
                "element_id": e,
                "element_name": sc.labels.get(e, e),
                "stage": sc.stages.get(e),
                "escalations": n,
            }
            for e, n in sorted(per_element.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        deals=[
            {
                "instance_id": str(iid),
                "name": name,
                "owner": owner,
                "stage": stage_name,
                "activity_at": iso(since),
                "quiet_days": round((now - since).total_seconds() / 86400, 1),
            }
            for iid, name, owner, stage_name, since in listed
        ],
    )


def heat(
    db: Database,
    f: Filters,
    *,
    viewer: str | None = None,
    median_seconds: Mapping[str, float] | None = None,
) -> Heat:
    """A heatmap of the deals in scope (diagrams/): how many running deals wait at each
    element now, and the median times at elements (from `cycle`) when given."""
    with db.read() as s:
        sc = scope(s, f)
        deals = deal_filter(s, f, viewer)
        here = s.execute(
            select(OpenTask.element_id, func.count(func.distinct(OpenTask.instance_id)))
            .where(*tasks_of(sc, deals))
            .group_by(OpenTask.element_id)
        ).all()
        count = s.scalar(select(func.count()).select_from(Instance).where(*deals)) or 0
    return Heat(
        deals=count,
        here_now={element: n for element, n in here},
        median_seconds=dict(median_seconds or {}),
    )
