"""Team settings kept in the `setting` table: the SLA calendar (time zone, business hours,
holidays, make-up working days), the days of no activity after which a deal is stale, per
stage, when the daily digest goes out, and the probability of closing a deal in each stage
(the board's weighted pipeline).

Every key has a default, so a team that configured nothing gets a 24/7 SLA clock in UTC and
deals that go stale after 7 quiet days.  Values are checked and normalised on the way in
(`ValidationError` naming the key); functions take an open session, `load`/`save` open their
own transaction for the settings page.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.core.calendar import BusinessHours, Calendar, clock_minutes, minutes_text, zone
from engine.core.customers import CADENCE_DAYS, TIERS
from engine.errors import ValidationError
from engine.store.db import Database, remembered
from engine.store.models import Setting

__all__ = [
    "DEFAULTS",
    "DEFAULT_PROBABILITIES",
    "cadence_days",
    "get",
    "load",
    "machine_zone",
    "put",
    "save",
    "sla_calendar",
    "stage_probabilities",
    "stale_days",
]

# Stages a deal never goes stale in: after-sales is run by timers (the 7-day revisit), won and
# lost are ends.
NEVER_STALE = ("won", "lost", "after_sales")
STALE_STAGES = (
    "lead",
    "qualification",
    "contact",
    "needs",
    "proposal",
    "negotiation",
    "contract",
    *NEVER_STALE,
)
DEFAULT_STALE_DAYS = 7
# The chance, in percent, that a deal in each stage of the shipped pipeline is won (the
# board's weighted pipeline: value x probability); a sales manager changes them.  A stage of
# another process without one gets its place's share (engine.usecases.board).
DEFAULT_PROBABILITIES: dict[str, int] = {
    "lead": 10,
    "qualification": 20,
    "contact": 30,
    "needs": 40,
    "proposal": 60,
    "negotiation": 75,
    "contract": 90,
    "won": 100,
    "lost": 0,
    "after_sales": 100,
}
MAX_STAGE_NAME = 40  # Instance.stage
MAX_HOLIDAYS = 1000
MAX_STALE_DAYS = 3650


def machine_zone() -> str:
    """The time zone this machine runs in (an IANA name), for a team that has not chosen one:
    $TZ, else where /etc/localtime points, else /etc/timezone, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    target = os.path.realpath("/etc/localtime")
    candidates.append(target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "")
    try:
        with open("/etc/timezone", encoding="utf-8") as file:
            candidates.append(file.read().strip())
    except OSError:
        pass
    for name in candidates:
        try:
            if name:
                zone(name)
                return "UTC" if name in _UTC_ALIASES else name
        except ValueError:
            continue
    return "UTC"


_UTC_ALIASES = frozenset(
    {"Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu", "UCT", "Etc/GMT"}
)


DEFAULTS: dict[str, Any] = {
    "timezone": machine_zone(),  # until the team chooses one
    # None: 24/7.  Otherwise {"weekdays": [0, ..., 4], "opens": "09:00", "closes": "18:00"}.
    "business_hours": None,
    "holidays": [],  # ISO dates off
    "workdays": [],  # ISO dates worked although their weekday is off (调休)
    "stale_days": {s: (None if s in NEVER_STALE else DEFAULT_STALE_DAYS) for s in STALE_STAGES},
    "digest_time": "08:00",  # local time the daily digest goes out
    "stage_probabilities": DEFAULT_PROBABILITIES,
    # Reps may open (read only) their colleagues' deals; off: each sees their own.
    "reps_see_team_deals": False,
    # Tier -> days of silence after which a customer is due a follow-up (None: never).
    "cadence_days": dict(CADENCE_DAYS),
}
# Kept in the same table by the engine itself, never edited on the page.
DIGEST_SENT_ON = "digest_sent_on"


def get(s: Session, key: str) -> Any:
    """A setting's value, or its default (the caller's own copy)."""
    return copy.deepcopy(remembered(s, ("setting", key), lambda: _read(s, key)))


def _read(s: Session, key: str) -> Any:
    row = s.get(Setting, key)
    return DEFAULTS.get(key) if row is None else row.value


def load_all(s: Session) -> dict[str, Any]:
    """Every editable setting, defaults filled in."""
    stored = {
        row.key: row.value for row in s.scalars(select(Setting).where(Setting.key.in_(DEFAULTS)))
    }
    values = {key: stored.get(key, copy.deepcopy(default)) for key, default in DEFAULTS.items()}
    # A stage added since the table was saved gets its default.
    values["stale_days"] = {**DEFAULTS["stale_days"], **(values["stale_days"] or {})}
    values["cadence_days"] = {**DEFAULTS["cadence_days"], **(values["cadence_days"] or {})}
    return values


def put(
    s: Session, key: str, value: Any, *, actor: str | None = None, now: datetime | None = None
) -> Any:
    """Check, normalise and store one setting; returns the stored value."""
    if key not in DEFAULTS:
        raise ValidationError(f"no setting named '{key}'", field=key)
    value = normalise(key, value)
    store(s, key, value, actor=actor, now=now)
    return value


def store(
    s: Session, key: str, value: Any, *, actor: str | None = None, now: datetime | None = None
) -> None:
    """Write a value as it is (engine-internal keys; `put` checks editable ones).  None
    removes the row: the key is back to its default (the column holds no SQL NULL)."""
    row = s.get(Setting, key)
    if value is None:
        if row is not None:
            s.delete(row)
            s.flush()
        return
    if row is None:
        row = Setting(key=key)
        s.add(row)
    row.value = value
    row.updated_at = now or clock.now()
    row.updated_by = actor
    s.flush()


def load(db: Database) -> dict[str, Any]:
    """The settings page's values."""
    with db.read() as s:
        return load_all(s)


def save(db: Database, values: Mapping[str, Any], *, actor: str | None) -> dict[str, Any]:
    """Check every given setting, then store them all, or none (ValidationError with
    `errors` naming every bad key)."""
    normalised: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for key, value in values.items():
        try:
            if key not in DEFAULTS:
                raise ValidationError(f"no setting named '{key}'", field=key)
            normalised[key] = normalise(key, value)
        except ValidationError as exc:
            errors.extend(exc.errors or [{"field": key, "message": str(exc)}])
    if errors:
        raise ValidationError(errors[0]["message"], field=errors[0]["field"], errors=errors)
    with db.write() as s:
        now = clock.now()
        for key, value in normalised.items():
            store(s, key, value, actor=actor, now=now)
        return load_all(s)


# --- what the engine reads ------------------------------------------------------------


def sla_calendar(s: Session) -> Calendar:
    """The SLA clock as configured (24/7 in UTC when nothing is)."""
    values = load_all(s)
    return calendar_of(values)


def calendar_of(values: Mapping[str, Any]) -> Calendar:
    hours = values.get("business_hours")
    business = (
        BusinessHours.parse(hours["weekdays"], hours["opens"], hours["closes"])
        if hours
        else BusinessHours()
    )
    return Calendar(
        hours=business,
        holidays=frozenset(date.fromisoformat(d) for d in values.get("holidays") or ()),
        workdays=frozenset(date.fromisoformat(d) for d in values.get("workdays") or ()),
        tz=str(values.get("timezone") or "UTC"),
    )


def stale_days(s: Session) -> dict[str, int | None]:
    """Stage -> days without activity after which a running deal there is stale."""
    days: dict[str, int | None] = load_all(s)["stale_days"]
    return days


def cadence_days(s: Session) -> dict[str, int | None]:
    """Tier -> days of silence after which a customer of that tier is due a follow-up
    (None: the tier has no cadence): as the team set it, else engine.core.customers'."""
    return {**DEFAULTS["cadence_days"], **(get(s, "cadence_days") or {})}


# --- checking values ------------------------------------------------------------------


def stage_probabilities(s: Session) -> dict[str, int]:
    """Stage -> the probability in percent that a deal there is won: as a sales manager set
    it, else the default."""
    return {**DEFAULT_PROBABILITIES, **(get(s, "stage_probabilities") or {})}


def normalise(key: str, value: Any) -> Any:
    """The value as stored; ValidationError (field = key) when it is not acceptable."""
    try:
        return _NORMALISERS[key](value)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationError(str(exc), field=key) from None


def _timezone(value: Any) -> str:
    name = str(value or "").strip()
    zone(name)
    return name


def _business_hours(value: Any) -> dict[str, Any] | None:
    if value is None or value == {}:
        return None
    if not isinstance(value, Mapping):
        raise ValueError("business hours are weekdays, an opening and a closing time")
    hours = BusinessHours.parse(value["weekdays"], value["opens"], value["closes"])
    return {
        "weekdays": sorted(hours.weekdays),
        "opens": minutes_text(hours.opens),
        "closes": minutes_text(hours.closes),
    }


def _dates(value: Any) -> list[str]:
    """ISO dates, and ranges written `2025-10-01..2025-10-07`; sorted, each once."""
    items = value.split() if isinstance(value, str) else list(value or [])
    days: set[date] = set()
    for item in (str(i).strip().rstrip(",") for i in items):
        if not item:
            continue
        first, _, last = item.partition("..")
        try:
            start = date.fromisoformat(first)
            end = date.fromisoformat(last) if last else start
        except ValueError:
            raise ValueError(f"'{item}' is not a date such as 2025-10-01") from None
        if end < start or (end - start).days > 366:
            raise ValueError(f"'{item}' is not a range of dates within one year")
        days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    if len(days) > MAX_HOLIDAYS:
        raise ValueError(f"at most {MAX_HOLIDAYS} dates")
    return sorted(d.isoformat() for d in days)


def _stale_days(value: Any) -> dict[str, int | None]:
    if not isinstance(value, Mapping):
        raise ValueError("stale days are a number of days per stage")
    result: dict[str, int | None] = dict(DEFAULTS["stale_days"])
    for stage, days in value.items():
        if days is None or days == "":
            result[str(stage)] = None
            continue
        try:
            number = int(str(days).strip())
        except ValueError:
            raise ValueError(f"stage '{stage}': '{days}' is not a number of days") from None
        if not 1 <= number <= MAX_STALE_DAYS:
            raise ValueError(f"stage '{stage}': a number of days from 1 to {MAX_STALE_DAYS}")
        result[str(stage)] = number
    return result


def _cadence_days(value: Any) -> dict[str, int | None]:
    """Tier -> days from 1 to MAX_STALE_DAYS; an empty value: no cadence for the tier."""
    if not isinstance(value, Mapping):
        raise ValueError("the cadence is a number of days per tier")
    result: dict[str, int | None] = dict(DEFAULTS["cadence_days"])
    for tier, days in value.items():
        if tier not in TIERS:
            raise ValueError(f"'{str(tier)[:20]}' is not a tier: {', '.join(TIERS)}")
        if days is None or (isinstance(days, str) and not days.strip()):
            result[tier] = None
            continue
        if isinstance(days, bool) or (isinstance(days, float) and not days.is_integer()):
            raise ValueError(f"tier {tier}: a whole number of days")
        try:
            number = int(str(days).strip()) if isinstance(days, str) else int(days)
        except ValueError:
            raise ValueError(f"tier {tier}: '{str(days)[:20]}' is not a number of days") from None
        if not 1 <= number <= MAX_STALE_DAYS:
            raise ValueError(f"tier {tier}: a number of days from 1 to {MAX_STALE_DAYS}")
        result[tier] = number
    return result


def _time_of_day(value: Any) -> str:
    minutes = clock_minutes(str(value))
    if minutes >= 24 * 60:
        raise ValueError("a time of day before 24:00")
    return minutes_text(minutes)


def _stage_probabilities(value: Any) -> dict[str, int]:
    """Stage -> percent from 0 to 100; an empty value drops the stage (back to its default)."""
    if not isinstance(value, Mapping):
        raise ValueError("stage probabilities are a stage and a percentage each")
    found: dict[str, int] = {}
    for stage, percent in value.items():
        name = str(stage).strip()
        if not name or len(name) > MAX_STAGE_NAME:
            raise ValueError(f"a stage is named in 1 to {MAX_STAGE_NAME} characters")
        if percent is None or (isinstance(percent, str) and not percent.strip()):
            continue
        if isinstance(percent, bool) or (isinstance(percent, float) and not percent.is_integer()):
            raise ValueError(f"{name}: a whole percentage from 0 to 100")
        number = int(str(percent).strip()) if isinstance(percent, str) else int(percent)
        if not 0 <= number <= 100:
            raise ValueError(f"{name}: a percentage from 0 to 100, not {number}")
        found[name] = number
    return found


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("", "0", "false", "off", "no"):
        return False
    raise ValueError("on or off")


_NORMALISERS: dict[str, Any] = {
    "timezone": _timezone,
    "business_hours": _business_hours,
    "holidays": _dates,
    "workdays": _dates,
    "stale_days": _stale_days,
    "digest_time": _time_of_day,
    "stage_probabilities": _stage_probabilities,
    "reps_see_team_deals": _flag,
    "cadence_days": _cadence_days,
}


def date_ranges(days: Iterable[str]) -> list[str]:
    """ISO dates folded into ranges for showing: ["2025-10-01..2025-10-07", "2026-01-01"]."""
    ordered = sorted(date.fromisoformat(d) for d in days)
    runs: list[list[date]] = []
    for day in ordered:
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in runs]
