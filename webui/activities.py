"""Logging a call, visit, meeting, e-mail or message from the deal page or the customer page
(the panel templates/activities/_panel.html), and how an activity reads on a page.

The engine (engine.usecases.activities) says who may log what and checks the values; this
view turns the panel's form into them, goes back to the page the form was on with a flash,
or shows that page again with the form as typed and its problems marked (422).  The panel
needs no view's help: its kinds, the default "when" (now, in the team's time zone) and the
link to a customer's page are template globals set here.
"""

from __future__ import annotations

from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from engine import clock
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.usecases.activities import KINDS
from webui.context import engine, user
from webui.formats import team_zone
from webui.i18n import N_, _

__all__ = ["KIND_LABELS", "activity_kind", "bp", "customer_url", "init_app"]

bp = Blueprint("activities", __name__)

KIND_LABELS = {
    "call": N_("Call"),
    "visit": N_("Visit"),
    "meeting": N_("Meeting"),
    "email": N_("E-mail"),
    "message": N_("Message"),
}
FIELDS = ("kind", "at", "notes", "outcome", "next_step", "next_step_at")
# Per field, what to tell the rep (the engine's own words are for the API and the CLI); the
# limits are engine.usecases.activities' MAX_NOTES and MAX_LINE.
PROBLEMS = {
    "kind": N_("Choose what kind of contact it was."),
    "at": N_("Enter when it happened: a date and time, not in the future."),
    "notes": N_("Notes are at most 5000 characters."),
    "outcome": N_("At most 300 characters."),
    "next_step": N_("At most 300 characters."),
    "next_step_at": N_("Enter a date such as 2026-03-09."),
}
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> takes and sends


def activity_kind(key: Any) -> str:
    """A kind of activity in the reader's language ("Call" / "电话")."""
    label = KIND_LABELS.get(str(key))
    return _(label) if label is not None else str(key or "—")


def activity_kinds() -> list[tuple[str, str]]:
    """The kinds the panel offers, as (value, label)."""
    return [(kind, activity_kind(kind)) for kind in KINDS]


def default_at() -> str:
    """Now, in the team's time zone, as the panel's "when" starts."""
    return clock.now().astimezone(team_zone()).strftime(LOCAL_MINUTE)


def customer_url(customer_id: Any) -> str | None:
    """The customer's page, once the app has one (engine.usecases.customers' pages)."""
    path = f"/customers/{customer_id}"
    try:
        current_app.url_map.bind("").match(path, method="GET")
    except HTTPException:
        return None
    return path


@bp.post("/activities")
def log() -> Response | tuple[str, int] | str:
    """Log an activity with the deal or customer the panel's form names."""
    f = request.form
    target = {key: f.get(key, "").strip() for key in ("customer_id", "deal_id")}
    form = {key: f.get(key, "") for key in FIELDS}
    try:
        engine().log_activity(
            actor=user().username,
            customer_id=target["customer_id"] or None,
            deal_id=target["deal_id"] or None,
            kind=form["kind"],
            at=form["at"].strip() or None,
            notes=form["notes"],
            outcome=form["outcome"] or None,
            next_step=form["next_step"] or None,
            next_step_at=form["next_step_at"].strip() or None,
        )
    except NotFoundError:
        abort(404)
    except ForbiddenError:
        abort(403)
    except ValidationError as exc:
        if exc.field in ("customer_id", "deal_id"):
            abort(400)  # a form that names no deal or customer: no page to go back to
        errors = {
            str(e["field"]): _(PROBLEMS.get(str(e["field"]), PROBLEMS["kind"])) for e in exc.errors
        }
        return _page_again(target, form, errors), 422
    flash(_("%(kind)s logged.", kind=activity_kind(form["kind"])), "success")
    return redirect(_back(target))


def _back(target: dict[str, str]) -> str:
    """The page the form was on: the deal's or the customer's."""
    if target["deal_id"]:
        return url_for("deals.show", instance_id=int(target["deal_id"]), _anchor="activities")
    found = customer_url(target["customer_id"])
    if found is None:  # cannot be: the panel is on the customer's page
        abort(404)
    return found + "#activities"


def _page_again(target: dict[str, str], form: dict[str, str], errors: dict[str, str]) -> str:
    """The page the form was on, shown again by its own view with the panel's form as typed
    and its problems (the panel reads them from `g`)."""
    path = _back(target).split("#", 1)[0]
    endpoint, args = current_app.url_map.bind("").match(path, method="GET")
    g.activity_form = form
    g.activity_errors = errors
    return cast(str, current_app.view_functions[endpoint](**args))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["activity_kind"] = activity_kind
    app.jinja_env.globals.update(
        activity_kinds=activity_kinds,
        activity_default_at=default_at,
        customer_url=customer_url,
    )
