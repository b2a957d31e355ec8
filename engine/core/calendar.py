"""The SLA clock: business time over working hours, weekends and holidays, and the SLA a task
declares.  Pure: no database, no clock reads; times go in and come out timezone-aware.

An SLA is an ISO 8601 duration counted on the team's calendar: `P3D` is three working days,
`PT4H` four working hours, `P1W` one working week.  A working day lasts from opening to closing
time, so "three working days" from Friday 17:00 (Mon-Fri 09:00-18:00) ends on Wednesday 17:00.
With no business hours configured the calendar is 24/7 and `P3D` is 72 hours.  Months and years
are refused: their length is ambiguous, and an SLA of months is a timer, not an SLA.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.core.roles import TEAM_ROLES, role_key
from engine.errors import DefinitionError

__all__ = [
    "ALWAYS",
    "BusinessHours",
    "Calendar",
    "Duration",
    "Sla",
    "add_business_time",
    "check_slas",
    "parse_duration",
    "sla_problems",
    "task_sla",
]

SLA_PROPERTY = "sla"
ESCALATE_PROPERTY = "escalateTo"
# Roles of the app and of the standard sales process (domain.md); a process's own lanes are
# known roles too.
STANDARD_ROLES = frozenset(role_key(r) for r in TEAM_ROLES)
DAY_MINUTES = 24 * 60
_SEARCH_DAYS = 366 * 20  # a calendar that has no working time for 20 years is broken
_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


@dataclass(frozen=True)
class Duration:
    """A span of business time: working weeks and days, then working hours/minutes/seconds."""

    weeks: int = 0
    days: int = 0
    seconds: int = 0

    @classmethod
    def of(cls, value: str | timedelta | Duration) -> Duration:
        """From ISO text, or a timedelta (its days count as working days, the rest as
        working time: `timedelta(days=3)` reads like `P3D`)."""
        if isinstance(value, Duration):
            return value
        if isinstance(value, timedelta):
            return cls(days=value.days, seconds=value.seconds)
        return parse_duration(value)


def parse_duration(text: str) -> Duration:
    """An ISO 8601 duration (`P3D`, `PT4H`, `P1DT2H30M`, `P2W`); ValueError otherwise."""
    raw = str(text).strip()
    found = _DURATION.fullmatch(raw.upper())
    if not raw or found is None or raw.upper() in ("P", "PT") or raw.upper().endswith("T"):
        raise ValueError(f"'{raw}' is not an ISO 8601 duration such as P3D or PT4H")
    parts = {k: int(v) for k, v in found.groupdict().items() if v is not None}
    if parts.get("years") or parts.get("months"):
        raise ValueError(f"'{raw}': months and years are not allowed in an SLA; write days (P30D)")
    duration = Duration(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        seconds=parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0),
    )
    if duration == Duration():
        raise ValueError(f"'{raw}' is no time at all; an SLA needs a length")
    return duration


@dataclass(frozen=True)
class BusinessHours:
    """When the team works: the weekdays (0 = Monday) and one daily window in minutes after
    local midnight (`closes` may be 1440, midnight at the end of the day)."""

    weekdays: frozenset[int] = frozenset(range(7))
    opens: int = 0
    closes: int = DAY_MINUTES

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("business hours need at least one weekday (0 = Monday ... 6)")
        if not 0 <= self.opens < self.closes <= DAY_MINUTES:
            raise ValueError("business hours must open before they close, within one day")

    @property
    def always(self) -> bool:
        return len(self.weekdays) == 7 and self.opens == 0 and self.closes == DAY_MINUTES

    @property
    def day_seconds(self) -> int:
        """The length of one working day."""
        return (self.closes - self.opens) * 60

    @classmethod
    def parse(cls, weekdays: Iterable[int], opens: str, closes: str) -> BusinessHours:
        """From "09:00"/"18:00" texts ("24:00" closes at midnight)."""
        return cls(frozenset(int(d) for d in weekdays), clock_minutes(opens), clock_minutes(closes))


ALWAYS = BusinessHours()


def clock_minutes(text: str) -> int:
    """ "09:30" -> 570; "24:00" -> 1440; ValueError for anything else."""
    found = re.fullmatch(r"(\d{1,2}):(\d{2})", str(text).strip())
    if found is None:
        raise ValueError(f"'{text}' is not a time of day such as 09:00")
    hours, minutes = int(found.group(1)), int(found.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"'{text}' is not a time of day such as 09:00")
    return hours * 60 + minutes


def minutes_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def zone(name: str) -> ZoneInfo:
    """The IANA time zone; ValueError for an unknown name."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"'{name}' is not a time zone such as Asia/Shanghai") from exc


@dataclass(frozen=True)
class Calendar:
    """The SLA clock of a team: business hours, holidays (local dates off) and make-up
    working days (local dates worked although the weekday is off, as in 调休)."""

    hours: BusinessHours = ALWAYS
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    tz: str = "UTC"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", zone(self.tz))

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def always(self) -> bool:
        """24/7: every moment counts."""
        return self.hours.always and not self.holidays

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() in self.hours.weekdays or day in self.workdays

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()

    def day_bounds(self, moment: datetime) -> tuple[datetime, datetime]:
        """The local day of `moment`, as UTC [start, end)."""
        day = self.local_date(moment)
        return self._at(day, 0), self._at(day, DAY_MINUTES)

    def at(self, day: date, minutes: int) -> datetime:
        """A local date and clock time (minutes after midnight), in UTC."""
        return self._at(day, minutes)

    def working_windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working windows [open, close) in UTC from `start` on (the first one cut at
        `start`), day by day."""
        day = self.local_date(start)
        for _ in range(_SEARCH_DAYS):
            if self.is_working_day(day):
                opens = max(start, self._at(day, self.hours.opens))
                closes = self._at(day, self.hours.closes)
                if opens < closes:
                    yield opens, closes
            day += timedelta(days=1)
        raise ValueError("the calendar has no working time in the next 20 years")

    def add(self, start: datetime, duration: str | timedelta | Duration) -> datetime:
        """`start` plus `duration` of business time, in UTC."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        span = Duration.of(duration)
        working_days = span.weeks * len(self.hours.weekdays) + span.days
        remaining = timedelta(seconds=working_days * self.hours.day_seconds + span.seconds)
        start = start.astimezone(UTC)
        if self.always:
            return start + remaining
        for opens, closes in self.working_windows(start):
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        raise AssertionError("unreachable: working_windows raises when it runs out")

    def _at(self, day: date, minutes: int) -> datetime:
        # Arithmetic in UTC: a day with a daylight-saving change is 23 or 25 hours long.
        if minutes == DAY_MINUTES:
            day, minutes = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minutes // 60, minutes % 60), self._zone)
        return local.astimezone(UTC)


def add_business_time(
    start: datetime,
    duration: str | timedelta | Duration,
    hours: BusinessHours = ALWAYS,
    holidays: Iterable[date] = (),
    tz: str = "UTC",
    *,
    workdays: Iterable[date] = (),
) -> datetime:
    """`start` plus `duration` of business time (see the module's text), in UTC."""
    calendar = Calendar(hours, frozenset(holidays), frozenset(workdays), tz)
    return calendar.add(start, duration)


# --- the SLA a task declares ----------------------------------------------------------


@dataclass(frozen=True)
class Sla:
    """A task's SLA: how long it may stay open, and the role told when it passes."""

    text: str  # as the designer wrote it, e.g. "P3D"
    duration: Duration
    escalate_to: str | None  # the role as written, e.g. "Sales Manager"


def task_sla(task_spec: Any) -> Sla | None:
    """The SLA declared on a task (spiffworkflow properties `sla` and `escalateTo`), or
    None; ValueError for a bad one."""
    ext = getattr(task_spec, "extensions", None) or {}
    props: Mapping[str, Any] = ext.get("properties") or {}
    text = str(props.get(SLA_PROPERTY) or "").strip()
    role = str(props.get(ESCALATE_PROPERTY) or "").strip() or None
    if not text:
        if role is not None:
            raise ValueError(f"'{ESCALATE_PROPERTY}' needs an '{SLA_PROPERTY}' duration as well")
        return None
    if not getattr(task_spec, "manual", False):
        raise ValueError("an SLA applies to user and manual tasks only")
    return Sla(text=text, duration=parse_duration(text), escalate_to=role)


def known_sla(task_spec: Any) -> Sla | None:
    """The task's SLA for running deals: one that no longer parses counts as none (it was
    checked when deployed)."""
    try:
        return task_sla(task_spec)
    except ValueError:
        return None


def sla_problems(spec: Any, subprocess_specs: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every task whose SLA has a bad duration or an escalation role nobody can hold (neither
    a lane of the process nor a role of the team), as (element id, message)."""
    processes = (spec, *subprocess_specs.values())
    task_specs = [ts for p in processes for ts in p.task_specs.values()]
    known = STANDARD_ROLES | {role_key(ts.lane) for ts in task_specs if getattr(ts, "lane", None)}
    for ts in task_specs:
        element = getattr(ts, "bpmn_id", None)
        if element is None:
            continue
        try:
            sla = task_sla(ts)
        except ValueError as exc:
            yield element, f"SLA: {exc}"
            continue
        if sla is not None and sla.escalate_to and role_key(sla.escalate_to) not in known:
            yield (
                element,
                (
                    f"SLA: '{ESCALATE_PROPERTY}' names the role '{sla.escalate_to}', which is "
                    "neither a lane of the process nor a role of the team"
                ),
            )


def check_slas(
    spec: Any,
    subprocess_specs: Mapping[str, Any],
    *,
    file: str | None = None,
    element_lines: Mapping[str, int] | None = None,
) -> None:
    """Refuse the first bad SLA (sla_problems): DefinitionError naming the element."""
    for element, message in sla_problems(spec, subprocess_specs):
        line = (element_lines or {}).get(element)
        raise DefinitionError(message, file=file, line=line, element_id=element)
