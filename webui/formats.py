"""Numbers, money, times and due dates as the reader writes them (Babel, in the reader's
language and the team's time zone): ¥240,000; "Dec 6, 2026 7:34 PM" / "2026年12月6日 19:34";
"3 days ago" / "3天前"; "due in 3 days" / "3天后到期", "due today", "2 days overdue".

The team's time zone is a team setting (engine.usecases.settings `team_timezone`), read once
per request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton, format_time, format_timedelta
from babel.numbers import format_decimal, parse_pattern
from flask import Flask

from engine import clock
from webui.context import engine, per_request
from webui.i18n import CHINESE, _, language

BABEL_LOCALES = {CHINESE: "zh_Hans_CN"}
MONEY = "¥#,##0"  # whole yuan (the way a sales team writes a deal's value)
MONEY_CENTS = "¥#,##0.00"


def locale() -> str:
    """The Babel locale of the reader's language."""
    return BABEL_LOCALES.get(language(), "en")


def team_zone() -> ZoneInfo:
    name = per_request("team_timezone", lambda: engine().team_timezone())
    return ZoneInfo(str(name))


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(value: Any) -> str:
    """A time from the engine (ISO, UTC) in the team's time zone and the reader's words."""
    moment = _moment(value)
    if moment is None:
        return "—"
    local = moment.astimezone(team_zone())
    day = format_skeleton("yMMMd", local, locale=locale())
    return f"{day} {format_time(local, 'short', locale=locale())}"


def ago(value: Any, now: datetime | None = None) -> str:
    """How long ago (or from now) a time is: "3 days ago" / "3天前"."""
    moment = _moment(value)
    if moment is None:
        return "—"
    return format_timedelta(
        moment - (now or clock.now()), add_direction=True, threshold=1.0, locale=locale()
    )


def due(value: Any, now: datetime | None = None) -> dict[str, str]:
    """A due time as a phrase and its state: "due in 3 days" (later), "due today" (today),
    "2 days overdue" (overdue) — by calendar days in the team's time zone."""
    moment = _moment(value)
    if moment is None:
        return {"text": "", "state": ""}
    current = now or clock.now()
    zone = team_zone()
    days = (moment.astimezone(zone).date() - current.astimezone(zone).date()).days
    if moment < current:
        if days >= 0:
            return {"text": _("overdue"), "state": "overdue"}
        span = format_timedelta(timedelta(days=-days), granularity="day", locale=locale())
        return {"text": _("%(span)s overdue", span=span), "state": "overdue"}
    if days == 0:
        return {"text": _("due today"), "state": "today"}
    span = format_timedelta(timedelta(days=days), add_direction=True, locale=locale())
    return {"text": _("due %(in_days)s", in_days=span), "state": "later"}


def money(value: Any) -> str:
    """A value in yuan: ¥240,000 (cents only when there are some)."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    # What format_currency does, without parsing the pattern and the locale again for each
    # of the hundreds of values a board shows.
    pattern = _PATTERNS[MONEY if number == int(number) else MONEY_CENTS]
    return pattern.apply(number, _locale(locale()), currency="CNY", currency_digits=False)


_PATTERNS = {pattern: parse_pattern(pattern) for pattern in (MONEY, MONEY_CENTS)}


@cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def number(value: Any) -> str:
    """A number with the reader's grouping: 12,000,000."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return format_decimal(value, locale=locale())


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(when=when, ago=ago, due=due, money=money, number=number)
