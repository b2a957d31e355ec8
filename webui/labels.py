"""How engine values read on a page: stages, roles, statuses, channels, times, people.

Keys come from the engine (stage keys are BPMN properties, roles are role keys); the words
are the domain's (domain.md), translated by webui.i18n.  Unknown keys show as they are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, has_request_context

from engine.core.roles import role_key
from engine.core.stages import STAGE_ORDER
from webui.context import engine, per_request, team
from webui.i18n import N_, _, language

# The eight stages of the standard sales process, in order (the board's columns).
PIPELINE_STAGES = tuple(s for s in STAGE_ORDER if s not in ("won", "lost"))

STAGES = {
    "lead": N_("Lead acquisition"),
    "qualification": N_("Lead qualification"),
    "contact": N_("Initial contact"),
    "needs": N_("Needs analysis"),
    "proposal": N_("Proposal"),
    "negotiation": N_("Quote and negotiation"),
    "contract": N_("Contract"),
    "won": N_("Won"),
    "lost": N_("Lost"),
    "after_sales": N_("After-sales"),
}
ROLES = {
    "sales rep": N_("Sales rep"),
    "sales manager": N_("Sales manager"),
    "product expert": N_("Product expert"),
    "legal": N_("Legal"),
    "finance": N_("Finance"),
    "after sales": N_("After-sales support"),
    "marketing": N_("Marketing"),
    "designer": N_("Process designer"),
    "admin": N_("Administrator"),
}
STATUSES = {
    "running": N_("Running"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
    "error": N_("Error"),
}
SOURCES = {
    "trade_show": N_("Trade show"),
    "content": N_("Content marketing"),
    "social": N_("Social media"),
    "referral": N_("Referral"),
    "ads": N_("Advertising"),
    "other": N_("Other"),
}
TIERS = {"A": N_("A: high intent, high value"), "B": N_("B: potential"), "C": N_("C: dormant")}
EVENTS = {
    "started": N_("Deal started"),
    "completed": N_("Completed"),
    "claimed": N_("Claimed"),
    "released": N_("Released to the queue"),
    "comment": N_("Comment"),
    "timer": N_("Timer fired"),
    "message": N_("Message received"),
    "cancelled": N_("Cancelled"),
    "error": N_("Error"),
    "escalated": N_("Escalated (SLA passed)"),
    "incident_retry": N_("Retried after an incident"),
    "incident_skip": N_("Step skipped after an incident"),
    "reassigned": N_("Reassigned"),
    "handover": N_("Handed over"),
    "delegated": N_("Delegated for a holiday"),
    "delegation_ended": N_("Back from holiday"),
    "migrated": N_("Moved to another version"),
    "lost": N_("Marked lost"),
    "updated": N_("Value or close date changed"),
}


def _label(table: dict[str, str], key: Any) -> str:
    if key is None or key == "":
        return "—"
    text = table.get(str(key))
    return _(text) if text is not None else str(key)


def stage(key: Any) -> str:
    """A stage's label: the standard stages' from the catalog, a process's own (the
    initiative's "preparation") from its translations file, else the key made readable."""
    if key is None or key == "" or str(key) in STAGES:
        return _label(STAGES, key)
    own: dict[str, str] = per_request(
        "stage_labels", lambda: engine().every_stage_label(language())
    )
    return own.get(str(key)) or str(key).replace("_", " ").capitalize()


def role(name: Any) -> str:
    return _label(ROLES, role_key(str(name))) if name else "—"


def status(key: Any) -> str:
    return _label(STATUSES, key)


def source(key: Any) -> str:
    return _label(SOURCES, key)


def tier(key: Any) -> str:
    return _label(TIERS, key)


def event(key: Any) -> str:
    return _label(EVENTS, key)


def when(value: Any) -> str:
    """An ISO time from the engine as "2026-03-10 14:05 UTC" (times are kept in UTC)."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def money(value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"¥{number:,.0f}" if number == int(number) else f"¥{number:,.2f}"


def display_names() -> dict[str, str]:
    return per_request("display_names", lambda: {u["username"]: u["display_name"] for u in team()})


def person(username: Any) -> str:
    """A user's display name ("王芳 Wang Fang"), or the user name of someone who left."""
    if not username:
        return "—"
    name = display_names().get(str(username))
    return name or str(username)


# What the engine records with an event (a hand-over's "from" and "to", a migration's
# versions, a change's "before"): the keys of a timeline entry's details.
EVENT_FIELDS = {
    "from": N_("From"),
    "to": N_("To"),
    "by": N_("By"),
    "owner": N_("Owner"),
    "tasks": N_("Tasks"),
    "reason": N_("Reason"),
    "stage": N_("Stage"),
    "until": N_("Until"),
    "from_version": N_("From version"),
    "to_version": N_("To version"),
    "before": N_("Before"),
    "amount": N_("Value"),
    "expected_close": N_("Expected close"),
    "escalate_to": N_("Escalated to"),
    "due_at": N_("Due"),
    "text": N_("Text"),
    "message": N_("Message"),
}


def field_title(key: Any) -> str:
    """A data key as a heading: the title its form (or the translations file) gives it in the
    reader's language, else the key made readable: "annual_revenue" -> "Annual revenue"."""
    titles: dict[str, str] = (
        per_request("field_titles", lambda: engine().every_field_title(language()))
        if has_request_context()
        else {}
    )
    if str(key) in titles:
        return titles[str(key)]
    if str(key) in EVENT_FIELDS:
        return _(EVENT_FIELDS[str(key)])
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def duration(seconds: Any) -> str:
    """A time span: days from a day on, hours below, minutes below an hour."""
    if seconds is None:
        return "—"
    value = float(seconds)
    if value >= 86400:
        return _("%(n)s d", n=format(value / 86400, ".1f"))
    if value >= 3600:
        return _("%(n)s h", n=format(value / 3600, ".1f"))
    return _("%(n)s min", n=format(value / 60, ".0f"))


def percent(ratio: Any, signed: bool = False, digits: int = 1) -> str:
    """A ratio as a percentage ("66.7%"); `signed` for a change ("+12%")."""
    if ratio is None:
        return "—"
    number = float(ratio) * 100
    return f"{number:+.{digits}f}%" if signed else f"{number:.{digits}f}%"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        duration=duration,
        percent=percent,
        stage=stage,
        role=role,
        status=status,
        source=source,
        tier=tier,
        event=event,
        when=when,
        money=money,
        person=person,
        field_title=field_title,
    )
