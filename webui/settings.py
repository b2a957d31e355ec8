"""Team settings (admins only): the SLA clock (time zone, business hours, holidays, make-up
working days), the days after which a quiet deal is stale, per stage, the digest time, and
the follow-up cadence of each customer tier.

The engine (engine.usecases.settings: `SettingCases`, methods of `Service`) says who may change
them, checks and stores the values; this page turns the form into them and back, and says in
the user's language which field is wrong.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import ValidationError
from engine.usecases.settings import SETTING_ROLES, STALE_STAGES, TIERS, date_ranges
from webui.context import engine, require_any_role, user
from webui.i18n import N_, _

bp = Blueprint("settings", __name__, url_prefix="/settings")

WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
TIME_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
)
# Every other IANA zone, after the common ones (a choice, never free text).
ALL_TIME_ZONES = tuple(
    sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
)
# Per setting, what to tell the admin (the engine's own words follow, for the detail).
PROBLEMS = {
    "timezone": N_("Enter a time zone such as Asia/Shanghai."),
    "business_hours": N_("Choose a weekday and an opening time before the closing time."),
    "holidays": N_("Enter one date or range per line, such as 2026-10-01..2026-10-07."),
    "workdays": N_("Enter one date or range per line, such as 2026-10-01..2026-10-07."),
    "stale_days": N_("Enter 1 to 3650 days, or nothing for never."),
    "digest_time": N_("Enter a time of day such as 08:00."),
    "cadence_days": N_("Enter 1 to 3650 days, or nothing for no reminders."),
}


@bp.before_request
def _only_admins() -> None:
    require_any_role(SETTING_ROLES)


@bp.route("", methods=["GET", "POST"])
def edit() -> Response | str | tuple[str, int]:
    me = user()
    if request.method == "GET":
        return _page(_form_of(engine().team_settings(user=me.username)), {})
    form = _posted()
    try:
        engine().save_team_settings(_values_of(form), user=me.username)
    except ValidationError as exc:
        errors = {
            str(e["field"]): f"{_(PROBLEMS.get(str(e['field']), str(e['field'])))} ({e['message']})"
            for e in exc.errors
        }
        return _page(form, errors), 422
    flash(_("Settings saved."), "success")
    return redirect(url_for(".edit"))


def _page(form: dict[str, Any], errors: dict[str, str]) -> str:
    return render_template(
        "settings/edit.html",
        form=form,
        errors=errors,
        weekdays=list(enumerate(WEEKDAYS)),
        time_zones=TIME_ZONES,
        all_time_zones=[z for z in ALL_TIME_ZONES if z not in TIME_ZONES],
        stages=STALE_STAGES,
        tiers=TIERS,
    )


def _form_of(values: dict[str, Any]) -> dict[str, Any]:
    """Stored values as the form shows them."""
    hours = values["business_hours"]
    return {
        "timezone": values["timezone"],
        "hours_mode": "business" if hours else "always",
        "weekdays": [str(d) for d in (hours["weekdays"] if hours else range(5))],
        "opens": hours["opens"] if hours else "09:00",
        "closes": hours["closes"] if hours else "18:00",
        "holidays": "\n".join(date_ranges(values["holidays"])),
        "workdays": "\n".join(date_ranges(values["workdays"])),
        "stale_days": {
            stage: "" if days is None else str(days) for stage, days in values["stale_days"].items()
        },
        "digest_time": values["digest_time"],
        "reps_see_team_deals": bool(values.get("reps_see_team_deals")),
        "cadence_days": {
            tier: "" if days is None else str(days) for tier, days in values["cadence_days"].items()
        },
    }


def _posted() -> dict[str, Any]:
    """The form as submitted (shown again when something is wrong)."""
    f = request.form
    return {
        "timezone": f.get("timezone", "").strip(),
        "hours_mode": "business" if f.get("hours_mode") == "business" else "always",
        "weekdays": f.getlist("weekdays"),
        "opens": f.get("opens", "").strip(),
        "closes": f.get("closes", "").strip(),
        "holidays": f.get("holidays", ""),
        "workdays": f.get("workdays", ""),
        "stale_days": {stage: f.get(f"stale_{stage}", "").strip() for stage in STALE_STAGES},
        "digest_time": f.get("digest_time", "").strip(),
        "reps_see_team_deals": f.get("reps_see_team_deals") == "on",
        "cadence_days": {tier: f.get(f"cadence_{tier}", "").strip() for tier in TIERS},
    }


def _values_of(form: dict[str, Any]) -> dict[str, Any]:
    """The submitted form as engine settings (the engine checks them)."""
    hours = None
    if form["hours_mode"] == "business":
        weekdays = [int(d) for d in form["weekdays"] if d.isdigit()]
        hours = {"weekdays": weekdays, "opens": form["opens"], "closes": form["closes"]}
    return {
        "timezone": form["timezone"],
        "business_hours": hours,
        "holidays": form["holidays"],
        "workdays": form["workdays"],
        "stale_days": form["stale_days"],
        "digest_time": form["digest_time"],
        "reps_see_team_deals": form["reps_see_team_deals"],
        "cadence_days": form["cadence_days"],
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
