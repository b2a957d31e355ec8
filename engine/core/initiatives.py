"""Optimisation initiatives, the part that needs no database: the vocabulary (the initiative
process's elements, a row's fields and statuses), who plans, how a row's fields are checked
and how the before/after figures of the effect are worked out.

The use cases (engine.usecases.initiatives) read and write the rows and call these; what
needs the database there (is this name an active user? an element of that process's current
version?) they look up and hand over, so each rule is written once and can be tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine import clock
from engine.core.calendar import Calendar
from engine.core.graph import ARTIFACT_KINDS, Graph
from engine.core.roles import MANAGERS, SALES_MANAGER, TEAM_ROLES, role_key
from engine.errors import ValidationError

__all__ = [
    "BLOCKED_LIMIT",
    "EMPTY",
    "PLAN_FIELDS",
    "PROCESS",
    "PROGRESS_FIELDS",
    "ROW_FIELDS",
    "ROW_STATUSES",
    "check_elements",
    "checked_date",
    "checked_status",
    "checked_text",
    "effective_moment",
    "element_ids",
    "figures",
    "flow_nodes",
    "known_fields",
    "not_a_person",
    "owner_name",
    "plans",
]

PROCESS = "optimization_initiative"
REVIEW_TASK = "task_weekly_review"
WEEK_TIMER = "timer_wait_7_days"
REEVALUATE_TASK = "task_re_evaluate_direction"
BLOCKED_LIMIT = 3
LEAD_ROLE = SALES_MANAGER
ROW_STATUSES = ("not started", "in progress", "done", "blocked")
PLAN_FIELDS = ("stage", "task", "owner", "planned_date", "elements")
PROGRESS_FIELDS = ("status", "actual_date", "notes", "contact")
ROW_FIELDS = PLAN_FIELDS + PROGRESS_FIELDS
REMIND_AFTER = timedelta(days=1)
# History kinds that mean a deal went through an element (not cancelled, not failed).
PASSED = ("completed", "timer", "message")
# Names that are a role or a group of people, never one person (role keys).
TEAM_WORDS = frozenset(
    role_key(w)
    for w in (
        *TEAM_ROLES,
        "team",
        "sales team",
        "sales",
        "everyone",
        "all",
    )
)
# Separators of several names, Chinese full-width ones too.
SEVERAL = re.compile("[,;/&+\u3001\uff0c\uff1b]|\\s(?:and|und|et)\\s|\u548c")
LIMITS = {"name": 300, "stage": 200, "task": 2000, "notes": 5000, "contact": 200}
MAX_ELEMENTS = 50
REVIEWS_SHOWN = 10


# --- who may do what -----------------------------------------------------------------------


def plans(roles: Iterable[str], lead: str, username: str) -> bool:
    """Whether `username` plans an initiative led by `lead`: adds rows, changes any field of
    any row, records reviews.  Sales managers, admins and the lead."""
    return bool(set(roles) & MANAGERS) or lead == username


# --- checking what is sent -----------------------------------------------------------------


def checked_text(value: Any, field: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationError("must not be empty", field=field)
    if len(value) > LIMITS[field]:
        raise ValidationError(f"at most {LIMITS[field]} characters", field=field)
    return value


def checked_date(value: Any, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValidationError("a date is written YYYY-MM-DD", field=field)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"no such date: {value.strip()}", field=field) from None


def checked_status(value: Any) -> str:
    if value not in ROW_STATUSES:
        raise ValidationError(f"must be one of: {', '.join(ROW_STATUSES)}", field="status")
    return str(value)


def known_fields(fields: Mapping[str, Any]) -> None:
    """A row's fields are a mapping of the fields a row has, and no other."""
    if not isinstance(fields, Mapping):
        raise ValidationError("must be a JSON object ({...})", field="body")
    unknown = sorted(set(fields) - set(ROW_FIELDS))
    if unknown:
        raise ValidationError(
            f"unknown field; a row has {', '.join(ROW_FIELDS)}", field=str(unknown[0])
        )


def owner_name(value: Any) -> str:
    """The one name given as a row's owner; a list or nothing is refused (whether the name is
    an active user is the database's to say)."""
    if isinstance(value, list | tuple | set | dict):
        raise ValidationError(
            "exactly one person owns a task: give one user name, not a list", field="owner"
        )
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("exactly one person owns a task: give a user name", field="owner")
    return value.strip()


def not_a_person(name: str, *, held_role: bool) -> ValidationError:
    """Why `name`, which is no user, cannot own a row: a role or a team (`held_role`: someone
    holds a role of that name), several names, or simply nobody."""
    if role_key(name) in TEAM_WORDS or held_role:
        return ValidationError(
            f"'{name}' is a role or a team, not a person: exactly one user owns a task",
            field="owner",
        )
    if SEVERAL.search(name):
        return ValidationError(
            f"'{name}' names several people: exactly one user owns a task", field="owner"
        )
    return ValidationError(f"no active user '{name}'", field="owner")


def flow_nodes(graph: Graph, process_id: str) -> dict[str, str]:
    """element id -> its name, for the flow nodes of `process_id` (artifacts left out)."""
    return {
        n.id: n.name or n.id
        for n in graph.nodes
        if n.kind not in ARTIFACT_KINDS and n.process_id in (None, process_id)
    }


def element_ids(value: Any) -> list[str]:
    """The element ids a row links, each once (whether the process has them is
    `check_elements`')."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value] if value else []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("a list of element ids", field="elements")
    chosen = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(chosen) > MAX_ELEMENTS:
        raise ValidationError(f"at most {MAX_ELEMENTS} elements", field="elements")
    return chosen


def check_elements(chosen: Iterable[str], graph: Graph, process_id: str, version: int) -> None:
    """Every element linked is a flow node of the process's current version (`graph`,
    version number `version`)."""
    unknown = [e for e in chosen if e not in flow_nodes(graph, process_id)]
    if unknown:
        raise ValidationError(
            f"not elements of process '{process_id}' (version {version}): {', '.join(unknown)}",
            field="elements",
        )


def effective_moment(value: Any, calendar: Calendar, now: datetime) -> datetime:
    """A moment: an aware datetime, ISO text, or a date (its start in the team's time zone,
    `calendar`'s); nothing is `now`."""
    if value is None or value == "":
        return now
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        value = checked_date(value, "effective_at")
    if isinstance(value, date):
        return calendar.at(value, 0)
    if isinstance(value, str):
        try:
            return clock.parse_iso(value.strip())
        except ValueError:
            pass
    raise ValidationError(
        "a date (YYYY-MM-DD) or a time (ISO 8601, e.g. 2026-03-02T09:00:00+08:00)",
        field="effective_at",
    )


# --- the effect ----------------------------------------------------------------------------


def figures(
    passes: int, deals: int, mean: Any, low: Any, high: Any, won: int, lost: int
) -> dict[str, Any]:
    """One side (before or after) of one element's effect; conversion is won of decided."""
    decided = won + lost
    return {
        "passes": passes,
        "deals": deals,
        "mean_seconds": round(float(mean), 1) if mean is not None else None,
        "min_seconds": round(float(low), 1) if low is not None else None,
        "max_seconds": round(float(high), 1) if high is not None else None,
        "won": won,
        "lost": lost,
        "conversion": round(won / decided, 4) if decided else None,
    }


EMPTY = figures(0, 0, None, None, None, 0, 0)


def element_effect(
    element_id: str, name: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, Any]:
    """One linked element's before and after, and how time and conversion changed."""
    return {
        "element_id": element_id,
        "name": name,
        "before": dict(before),
        "after": dict(after),
        "time_change": ratio(after["mean_seconds"], before["mean_seconds"]),
        "conversion_change": difference(after["conversion"], before["conversion"]),
    }


def ratio(after: float | None, before: float | None) -> float | None:
    """The change of the mean time, as a fraction of before (-0.25: a quarter faster)."""
    if after is None or not before:
        return None
    return round(after / before - 1, 4)


def difference(after: float | None, before: float | None) -> float | None:
    if after is None or before is None:
        return None
    return round(after - before, 4)
