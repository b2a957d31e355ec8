"""`ReportCases`: the reports as use cases, each a method of `Service`, for the report pages
and the JSON API alike: who may read them, the filters a request chose (the period in the
team's time zone), the reports and the heatmap over the deals the reader may see, and the
monthly spend per lead channel with who may set it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from engine import clock
from engine.core.calendar import zone
from engine.core.graph import Heat
from engine.core.roles import MANAGERS, role_key
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.store import targets, users
from engine.store import team_settings as settings
from engine.usecases.base import UseCases
from engine.usecases.reports import costs, customers, people, pipeline
from engine.usecases.reports.scope import DEFAULT_PROCESS, Filters, period
from engine.usecases.unit import MAX_ID

__all__ = [
    "COST_ROLES",
    "DEFAULT_DAYS",
    "REPORTS",
    "REPORT_ROLES",
    "TEXT_FILTERS",
    "WINDOW_DAYS",
    "ReportCases",
    "may_read_reports",
    "may_set_costs",
]

REPORTS = ("funnel", "channels", "cycle", "reps", "stale", "customers")
# Who reads reports (managers and admins the team's figures, reps those of the deals they may
# see) and who sets what the lead channels cost (role keys).
REPORT_ROLES = MANAGERS | {role_key("Sales Rep")}
COST_ROLES = MANAGERS
DEFAULT_DAYS = 90  # the period when none is chosen: the last 90 days up to today
TEXT_FILTERS = ("process", "owner", "team", "tier", "channel")
_RUN = {
    "funnel": pipeline.funnel,
    "channels": pipeline.channels,
    "cycle": pipeline.cycle,
    "reps": people.reps,
    "stale": people.stale,
    "customers": customers.customers,
}
# The churn window of the customers report, in days: its default and its limits.
WINDOW_DAYS = (customers.DEFAULT_WINDOW_DAYS, 1, 3650)


def may_read_reports(roles: Iterable[str]) -> bool:
    return bool(set(roles) & REPORT_ROLES)


def may_set_costs(roles: Iterable[str]) -> bool:
    return bool(set(roles) & COST_ROLES)


def _date(query: Mapping[str, str | None], name: str) -> date | None:
    value = (query.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError("a date such as 2026-03-01", field=name) from None


class ReportCases(UseCases):
    """The reports on the sales process (engine.usecases.reports)."""

    def check_report_reader(self, username: str) -> None:
        """ForbiddenError unless `username` reads reports."""
        with self.db.read() as s:
            if not may_read_reports(users.roles_of(s, username)):
                raise ForbiddenError("reports are for sales reps, sales managers and admins")

    def report_filters(self, query: Mapping[str, str | None]) -> Filters:
        """Filters from a request's parameters: `from` and `to` (dates, in the team's time
        zone; the last 90 days when neither is given), `process`, `version`, `owner`, `team`
        (a role), `tier`, `channel`.  ValidationError names a bad parameter."""
        first, last = _date(query, "from"), _date(query, "to")
        text = {}
        for name in TEXT_FILTERS:
            value = (query.get(name) or "").strip()
            if len(value) > 200:
                raise ValidationError("at most 200 characters", field=name)
            text[name] = value or None
        version = (query.get("version") or "").strip()
        if version and (not version.isdigit() or not 1 <= int(version) <= MAX_ID):
            raise ValidationError("a version number such as 2", field="version")
        with self.db.read() as s:
            if first is None and last is None:
                today = clock.now().astimezone(zone(settings.get(s, "timezone") or "UTC")).date()
                first, last = today - timedelta(days=DEFAULT_DAYS - 1), today
            since, until = period(s, first, last)
        return Filters(
            since=since,
            until=until,
            process=text["process"] or DEFAULT_PROCESS,
            version=int(version) if version else None,
            owner=text["owner"],
            team=text["team"],
            tier=text["tier"],
            channel=text["channel"],
        )

    def report_days(self, f: Filters) -> tuple[date | None, date | None]:
        """The first and the last day of the filters' period in the team's time zone (what
        the period's form shows)."""
        with self.db.read() as s:
            tz = zone(settings.get(s, "timezone") or "UTC")
        first = f.since.astimezone(tz).date() if f.since else None
        last = (f.until.astimezone(tz) - timedelta(days=1)).date() if f.until else None
        return first, last

    def report_window(self, query: Mapping[str, str | None]) -> int:
        """The customers report's churn window from a request's `window_days` (days; 365
        when not given); ValidationError names the parameter when it is no whole number of
        days within WINDOW_DAYS' limits."""
        default, low, high = WINDOW_DAYS
        value = (query.get("window_days") or "").strip()
        if not value:
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            raise ValidationError(f"a number of days from {low} to {high}", field="window_days")
        return int(value)

    def report(
        self, name: str, f: Filters, *, viewer: str, window_days: int | None = None
    ) -> dict[str, Any]:
        """A report (one of REPORTS) over the deals `viewer` may see (all of them for
        managers and admins); ForbiddenError for someone who reads no reports.  The reps
        report carries each person's target of won value over the period (the months' targets
        in the share of each month the period covers) and the attainment; the customers
        report takes its churn window (`window_days`, 365 by default)."""
        if name not in _RUN:
            raise NotFoundError(f"no report '{name}'")
        self.check_report_reader(viewer)
        if name == "customers":
            return customers.customers(
                self.db, f, viewer=viewer, window_days=window_days or WINDOW_DAYS[0]
            )
        report: dict[str, Any] = _RUN[name](self.db, f, viewer=viewer)
        if name == "reps":
            self._with_targets(report, f)
        return report

    def _with_targets(self, report: dict[str, Any], f: Filters) -> None:
        """Each rep's target of won value over the period and the attainment (None without
        a target, or over a period without both ends)."""
        goals: dict[str | None, Any] = {}
        if f.since is not None and f.until is not None:
            with self.db.read() as s:
                tz = zone(settings.get(s, "timezone") or "UTC")
                goals = targets.prorated(s, "won_value", f.since, f.until, tz)
        for row in report["reps"]:
            goal = goals.get(row["user"]) if row["user"] is not None else None
            row["won_value_target"] = float(goal) if goal is not None else None
            row["won_value_attainment"] = round(row["won_value"] / float(goal), 4) if goal else None

    def report_heat(
        self, f: Filters, *, viewer: str, median_seconds: Mapping[str, float] | None = None
    ) -> Heat:
        """The process heatmap of the deals in scope that `viewer` may see: how many wait at
        each element now, and the median times at elements (from `cycle`) when given."""
        self.check_report_reader(viewer)
        return people.heat(self.db, f, viewer=viewer, median_seconds=median_seconds)

    def channel_costs(self) -> dict[str, float]:
        """Lead channel -> monthly spend, as set."""
        with self.db.read() as s:
            return costs.channel_costs(s)

    def set_channel_costs(self, spend: Mapping[str, Any], *, actor: str) -> dict[str, float]:
        """Set every channel's monthly spend at once (sales managers and admins; an empty
        value removes one); a ValidationError names the channel whose value is no amount."""
        with self.db.read() as s:
            if not may_set_costs(users.roles_of(s, actor)):
                raise ForbiddenError("only sales managers and admins set what channels cost")
        return costs.set_channel_costs(self.db, spend, actor=actor)
