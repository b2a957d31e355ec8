"""Targets broken down to the rep (目标分解, domain.md): a sales manager sets a month's target
of a metric for the team and for each rep; the targets report sets them against what was done.

Metrics, counted in the team's time zone month (engine.store.team_settings):
- `won_value`: the value (the deal's amount) of the deals the person owns that were won in the
  month; `won_deals`: how many.  A win is the report fact of the deal entering "won"
  (engine.usecases.reports.facts), what the reports count as "won in the period".
- `visits`: activities of kind "visit" the person logged as done in the month.
- `proposals`: deals of the person entering the proposal stage in the month, counted as the
  funnel counts an entry (a deal's first entry since the month began).
The team's actuals are the whole team's, deals without an owner included.

Managers and admins set targets and read every row; a rep reads their own rows and the
team's.  For the month under way the report also says how much of each target the elapsed
share of the month expects (`expected`) and whether the actual is ahead of it or behind.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core.calendar import zone
from engine.core.roles import DEAL_OWNERS, MANAGERS
from engine.errors import ForbiddenError, ValidationError
from engine.store import targets as store
from engine.store import team_settings as settings
from engine.store import users
from engine.store.models import Activity, Instance, ReportFact
from engine.usecases.base import UseCases
from engine.usecases.reports.cases import may_read_reports
from engine.usecases.reports.facts import RESTAGE, STAGE, WON_KIND, catch_up

__all__ = [
    "COUNTS",
    "METRICS",
    "TargetCases",
    "TargetRecord",
    "TargetReport",
    "TargetReportRow",
    "may_set_targets",
    "parse_period",
]

METRICS = ("won_value", "won_deals", "visits", "proposals")
COUNTS = frozenset({"won_deals", "visits", "proposals"})  # whole numbers
PROPOSAL = "proposal"  # the stage whose entries count as proposals
VISIT = "visit"  # engine.store.activities.KINDS
MAX_TARGET = Decimal("1e12")  # Target.value: Numeric(16, 2)
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


class TargetRecord(TypedDict):
    """A target as set: `user` None for the team's."""

    period: str
    user: str | None
    metric: str
    value: float


class TargetReportRow(TypedDict):
    """One metric of one rep (`user` None: the team) in the month."""

    user: str | None
    metric: str
    target: float | None
    actual: float
    attainment: float | None  # actual / target; None without a target (or a target of 0)
    expected: float | None  # the target times the share of the month gone by
    pace: str | None  # "ahead" (actual >= expected) or "behind"; None without a target


class TargetReport(TypedDict):
    period: str
    # The month in UTC, [from, to), and the share of it gone by now (0 before, 1 after it).
    start: str
    end: str
    elapsed: float
    rows: list[TargetReportRow]


def may_set_targets(roles: set[str]) -> bool:
    return bool(roles & MANAGERS)


def parse_period(text: Any) -> str:
    """A month as YYYY-MM; ValidationError (field `period`) otherwise."""
    found = _PERIOD.match(str(text or "").strip())
    # Years a team plans in (a month of year 9999 would end after the last date there is).
    if (
        found is None
        or not 1 <= int(found.group(2)) <= 12
        or not 1970 <= int(found.group(1)) <= 2999
    ):
        raise ValidationError("a month such as 2026-03", field="period")
    return found.group(0)


def _value(metric: str, raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise ValidationError("a number from 0", field="value")
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError("a number from 0", field="value") from None
    if not value.is_finite() or value < 0 or value >= MAX_TARGET:
        raise ValidationError("a number from 0", field="value")
    if metric in COUNTS and value != value.to_integral_value():
        raise ValidationError("a whole number from 0", field="value")
    return round(value, 2)


def _number(metric: str, value: Decimal | float) -> float:
    return float(int(value)) if metric in COUNTS else round(float(value), 2)


def actuals(s: Session, since: datetime, until: datetime) -> dict[str, dict[str | None, float]]:
    """metric -> person (None: deals without an owner) -> what was done in [since, until).
    The report facts must be caught up first (facts.catch_up)."""
    low, high = since.timestamp(), until.timestamp()
    found: dict[str, dict[str | None, float]] = {m: defaultdict(float) for m in METRICS}
    won = s.execute(
        select(ReportFact.instance_id, Instance.owner, Instance.amount)
        .join(Instance, Instance.id == ReportFact.instance_id)
        .where(ReportFact.kind == WON_KIND, ReportFact.at >= low, ReportFact.at < high)
        .distinct()
    ).all()
    for _iid, owner, amount in won:
        found["won_deals"][owner] += 1
        found["won_value"][owner] += float(amount or 0)
    # A deal's first entry into the proposal stage since the month began, as the funnel counts.
    proposals = s.execute(
        select(ReportFact.instance_id, Instance.owner)
        .join(Instance, Instance.id == ReportFact.instance_id)
        .where(
            ReportFact.kind.in_((STAGE, RESTAGE)),
            ReportFact.key == PROPOSAL,
            ReportFact.at >= low,
            ReportFact.at < high,
            or_(ReportFact.previous.is_(None), ReportFact.previous < low),
        )
        .distinct()
    ).all()
    for _iid, owner in proposals:
        found["proposals"][owner] += 1
    visits = s.execute(
        select(Activity.by, func.count())
        .where(Activity.kind == VISIT, Activity.at >= since, Activity.at < until)
        .group_by(Activity.by)
    ).all()
    for by, n in visits:
        found["visits"][by] += n
    return found


def _row(
    user: str | None, metric: str, target: Decimal | None, actual: float, elapsed: float
) -> TargetReportRow:
    goal = _number(metric, target) if target is not None else None
    expected = round(goal * elapsed, 2) if goal is not None else None
    return {
        "user": user,
        "metric": metric,
        "target": goal,
        "actual": _number(metric, actual),
        "attainment": round(actual / goal, 4) if goal else None,
        "expected": expected,
        "pace": None if expected is None else ("ahead" if actual >= expected else "behind"),
    }


class TargetCases(UseCases):
    """Targets per month, team and rep, and the report against them."""

    def _zone(self, s: Session) -> tzinfo:
        return zone(settings.get(s, "timezone") or "UTC")

    def current_period(self) -> str:
        """This month where the team is (YYYY-MM)."""
        with self.db.read() as s:
            return store.month_of(clock.now(), self._zone(s))

    def set_target(
        self, period: str, user: str | None, metric: str, value: Any, *, actor: str
    ) -> TargetRecord:
        """Set a month's target of `metric` for the team (`user` None) or a rep, replacing the
        one set before.  Sales managers and admins only (ForbiddenError); ValidationError
        names the bad field: a month as YYYY-MM, a metric of METRICS, a value from 0 (whole
        for counts), a user who is active and may own deals."""
        period = parse_period(period)
        if metric not in METRICS:
            raise ValidationError(f"one of {', '.join(METRICS)}", field="metric")
        amount = _value(metric, value)
        with self.db.write() as s:
            if not may_set_targets(users.roles_of(s, actor)):
                raise ForbiddenError("only sales managers and admins set targets")
            name = (user or "").strip() or None
            if name is not None and not users.roles_held(s, name) & DEAL_OWNERS:
                raise ValidationError(
                    f"'{name}' is no active user who owns deals (Sales Rep or Sales Manager)",
                    field="user",
                )
            store.put_target(s, period, name, metric, amount, actor=actor, now=clock.now())
        return {"period": period, "user": name, "metric": metric, "value": _number(metric, amount)}

    def delete_target(self, period: str, user: str | None, metric: str, *, actor: str) -> bool:
        """Remove a target (sales managers and admins); whether there was one."""
        period = parse_period(period)
        with self.db.write() as s:
            if not may_set_targets(users.roles_of(s, actor)):
                raise ForbiddenError("only sales managers and admins set targets")
            return store.delete_target(s, period, (user or "").strip() or None, metric)

    def targets_report(self, period: str | None, *, viewer: str) -> TargetReport:
        """The month's targets against what was done (see the module): the team's rows and
        every person's with a target or an actual; a rep gets their own and the team's.
        ForbiddenError for someone who reads no reports; the current month when `period` is
        None."""
        chosen = parse_period(period) if period is not None else None
        catch_up(self.db)
        now = clock.now()
        with self.db.read() as s:
            roles = users.roles_of(s, viewer)
            if not may_read_reports(roles):
                raise ForbiddenError("reports are for sales reps, sales managers and admins")
            tz = self._zone(s)
            chosen = chosen or store.month_of(now, tz)
            since, until = store.month_bounds(chosen, tz)
            done = actuals(s, since, until)
            goals = {(t["user"], t["metric"]): t["value"] for t in store.targets_of(s, [chosen])}
        span = (until - since).total_seconds()
        elapsed = min(max((now - since).total_seconds() / span, 0.0), 1.0)
        people = {u for u, _m in goals if u is not None}
        people |= {u for per in done.values() for u, n in per.items() if u is not None and n}
        if not may_set_targets(roles):
            people &= {viewer}
        rows = [
            _row(None, m, goals.get((None, m)), sum(done[m].values()), elapsed) for m in METRICS
        ]
        for person in sorted(people, key=str.casefold):
            rows += [
                _row(person, m, goals.get((person, m)), done[m].get(person, 0.0), elapsed)
                for m in METRICS
            ]
        return {
            "period": chosen,
            "start": since.isoformat(),
            "end": until.isoformat(),
            "elapsed": round(elapsed, 4),
            "rows": rows,
        }
