"""People covering for people (engine.usecases.handover): reassign a task and hand over a deal from
its page, hand over everything a rep has (/people, managers), and a rep's holiday with a
delegate (/holiday).  The engine checks every rule again; the pages only offer what the
user may do.

Every route looks at what it is about before the role: a deal (or its task) the user may not
see is a 404 like one that does not exist, and only then is a visible deal refused with a 403;
a delegation that is not the user's own is a 404 like a missing one, unless the user is a
manager or an admin, who may end anyone's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.core.roles import MANAGERS, role_key
from engine.errors import ConflictError, ForbiddenError, ValidationError
from engine.usecases.deals import may_own
from webui.context import CurrentUser, engine, require_any_role, team, user
from webui.deals import visible_deal
from webui.i18n import _
from webui.labels import person, when
from webui.security import safe_next

bp = Blueprint("handover", __name__)

Choice = tuple[str, str]  # user name, display name
# The engine's field names -> the holiday form's.
FIELDS = {"from": "who", "to": "to", "starts": "starts", "until": "until"}


def is_manager(me: CurrentUser) -> bool:
    return bool(me.roles & MANAGERS)


def _holders(roles: Iterable[str] | None, *, exclude: Iterable[str | None] = ()) -> list[Choice]:
    """Active users holding one of `roles` (anyone active for None), minus `exclude`."""
    wanted = {role_key(r) for r in roles} if roles is not None else None
    left_out = set(exclude)
    return [
        (u["username"], u["display_name"])
        for u in team()
        if u["active"]
        and u["username"] not in left_out
        and (wanted is None or wanted & {role_key(r) for r in u["roles"]})
    ]


def deal_controls(deal: dict[str, Any]) -> dict[str, Any] | None:
    """What the deal page's "Hand over / reassign" offers this user, or None."""
    me = user()
    manager = is_manager(me)
    tasks = []
    for task in deal["tasks"]:
        if manager or task["assignee"] == me.username:
            lanes = [task["lane"]] if task["lane"] else None
            choices = _holders(lanes, exclude=[task["assignee"]])
            if choices:
                tasks.append({"task": task, "choices": choices})
    owners = (
        [
            (u["username"], u["display_name"])
            for u in team()
            if may_own(u) and u["username"] != deal["owner"]
        ]
        if manager and deal["owner"]
        else []
    )
    if not tasks and not owners:
        return None
    return {"tasks": tasks, "owners": owners}


def _back_to(instance_id: int) -> Response:
    return redirect(url_for("deals.show", instance_id=instance_id, _anchor="handover"))


@bp.post("/deals/<int:instance_id>/reassign")
def reassign(instance_id: int) -> Response:
    me = user()
    visible_deal(instance_id)
    task_id = request.form.get("task_id", "")
    to = request.form.get("to", "").strip()
    task = engine().task(task_id)
    if task is None or task["instance_id"] != str(instance_id):
        abort(404)
    try:
        engine().reassign(task_id, to, actor=me.username)
    except ValidationError as exc:
        flash(_("Not reassigned: %(why)s", why=str(exc)), "error")
    else:
        flash(_("%(task)s is now with %(name)s.", task=task["name"], name=person(to)), "success")
    return _back_to(instance_id)


@bp.post("/deals/<int:instance_id>/handover")
def hand_over_deal(instance_id: int) -> Response:
    deal = visible_deal(instance_id)  # the deal first: a 404 says nothing about roles
    me = require_any_role(MANAGERS)
    to = request.form.get("to", "").strip()
    if not deal["owner"]:
        abort(409)
    try:
        done = engine().hand_over(
            deal["owner"], to, actor=me.username, instance_id=str(instance_id)
        )
    except ValidationError as exc:
        flash(_("Not handed over: %(why)s", why=str(exc)), "error")
    else:
        flash(
            _(
                "The deal is %(name)s's now, with %(count)s open tasks.",
                name=person(to),
                count=done["tasks"],
            ),
            "success",
        )
    return _back_to(instance_id)


@bp.route("/people", methods=["GET", "POST"])
def people() -> Response | str | tuple[str, int]:
    """Hand over everything a rep has: choose, see what moves, confirm."""
    me = require_any_role(MANAGERS)
    source = request.form if request.method == "POST" else request.args
    chosen = {k: source.get(k, "").strip() for k in ("from", "to")}
    preview = None
    error = ""
    if request.method == "POST":
        try:
            done = engine().hand_over(chosen["from"], chosen["to"], actor=me.username)
        except ValidationError as exc:
            error = str(exc)
        else:
            flash(
                _(
                    "%(taker)s has %(giver)s's work: %(deals)s deals, %(tasks)s open tasks.",
                    giver=person(done["from"]),
                    taker=person(done["to"]),
                    deals=done["deals"],
                    tasks=done["tasks"],
                ),
                "success",
            )
            flash(_("Customers handed over: %(count)s.", count=done["customers"]), "success")
            return redirect(url_for(".people"))
    elif chosen["from"] and chosen["to"]:
        try:
            preview = engine().handover_preview(chosen["from"], chosen["to"], actor=me.username)
        except ValidationError as exc:
            error = str(exc)
    page = render_template(
        "handover/people.html",
        givers=[(u["username"], u["display_name"], u["active"]) for u in team()],
        takers=_holders(None),
        chosen=chosen,
        preview=preview,
        error=error,
        manager_view=True,
        delegations=engine().delegations(),
    )
    return (page, 422) if error else page


@bp.route("/holiday", methods=["GET", "POST"])
def holiday() -> Response | str | tuple[str, int]:
    """My holiday: who covers for me from when until when; and the cancellation."""
    me = user()
    manager = is_manager(me)
    form = {"who": me.username, "to": "", "starts": "", "until": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form.update({k: request.form.get(k, "").strip() for k in ("to", "starts", "until")})
        if manager and request.form.get("who"):
            form["who"] = request.form.get("who", "").strip()
        if not form["to"]:
            errors["to"] = _("Choose who covers for you.")
        if not form["until"]:
            errors["until"] = _("Choose the last day away.")
        if not errors:
            try:
                made = engine().delegate(
                    form["who"],
                    form["to"],
                    until=form["until"],
                    starts=form["starts"] or None,
                    actor=me.username,
                )
            except ValidationError as exc:
                errors[FIELDS.get(exc.field or "", "until")] = str(exc)
            except ConflictError as exc:
                errors["until"] = str(exc)
                status = 409
            else:
                flash(
                    _(
                        "%(name)s covers until %(when)s.",
                        name=person(made["to_user"]),
                        when=when(made["ends_at"]),
                    ),
                    "success",
                )
                return redirect(url_for(".holiday"))
        status = 409 if status == 409 else 422
    page = render_template(
        "handover/holiday.html",
        form=form,
        errors=errors,
        manager=manager,
        manager_view=manager,
        colleagues=_holders(None, exclude=[] if manager else [me.username]),
        delegations=engine().delegations(None if manager else me.username),
    )
    return page, status


@bp.post("/delegations/<int:delegation_id>/cancel")
def cancel(delegation_id: int) -> Response:
    me = user()
    try:
        done = engine().cancel_delegation(delegation_id, actor=me.username)
    except ForbiddenError:
        abort(404)  # someone else's reads like one that does not exist
    flash(
        _(
            "The delegation to %(name)s has ended; %(count)s open tasks went back.",
            name=person(done["to_user"]),
            count=done["moved"],
        ),
        "info",
    )
    return redirect(safe_next(request.form.get("next"), url_for(".holiday")))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(lambda: {"handover_controls": deal_controls})
