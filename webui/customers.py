"""Customer pages (engine.usecases.customers): the list, a new customer with the warning of
similar names, and a customer's page with its contacts, deals and activities.

The engine decides who sees and changes what; a customer the user may not see is a 404 like
one that does not exist (the engine's NotFoundError), and a refused change a 403.  The pages
only offer what the user may do.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.core.roles import MANAGERS
from engine.errors import ConflictError, ForbiddenError, ValidationError
from engine.usecases.customers import CONTACT_FIELDS, SORT_KEYS, TIERS
from webui.context import engine, user
from webui.i18n import _

bp = Blueprint("customers", __name__, url_prefix="/customers")

FILTERS = ("q", "tier", "owner", "due")
CUSTOMER_FIELDS = ("name", "tier", "industry", "region", "owner")


def _owners() -> list[tuple[str, str]]:
    """Who may own a customer the user adds or edits (the deals' owners rule)."""
    return [(u["username"], u["display_name"]) for u in engine().deal_owners(user().username)]


def _field_errors(exc: ValidationError) -> dict[str, str]:
    return {e["field"]: e["message"] for e in exc.errors} or {"name": str(exc)}


@bp.get("")
def index() -> str:
    me = user()
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    if args["tier"] not in TIERS:
        args["tier"] = ""
    sort = request.args.get("sort", "").strip()
    if sort.removeprefix("-") not in SORT_KEYS:
        sort = ""
    service = engine()
    customers = service.customers(
        me.username,
        q=args["q"] or None,
        tier=args["tier"] or None,
        owner=args["owner"] or None,
        due=True if args["due"] == "1" else None,
        sort=sort or None,
    )
    everyone = service.customers(me.username) if any(args.values()) else customers
    owners = sorted({c["owner"] for c in everyone if c["owner"]})
    return render_template(
        "customers/list.html",
        customers=customers,
        chosen=args,
        sort=sort,
        args={k: v for k, v in {**args, "sort": sort}.items() if v},
        filtered=any(args.values()),
        owners=owners,
        tiers=TIERS,
        may_add=service.may_add_customers(me.username),
        cadence=service.cadence() if service.may_set_cadence(me.username) else None,
    )


@bp.post("/cadence")
def set_cadence() -> Response:
    """The team's follow-up rhythm per tier (a sales manager's)."""
    values = {t: request.form.get(f"cadence_{t}", "").strip() or None for t in TIERS}
    try:
        engine().set_cadence(values, user=user().username)
    except ForbiddenError:
        abort(403)
    except ValidationError:
        flash(_("A follow-up rhythm is a whole number of days, or empty."), "error")
        return redirect(url_for(".index"))
    flash(_("The follow-up rhythm is saved."), "success")
    return redirect(url_for(".index"))


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | str | tuple[str, int]:
    me = user()
    service = engine()
    if not service.may_add_customers(me.username):
        return render_template("customers/new.html", forbidden=True), 403
    values = {k: request.form.get(k, "").strip() for k in CUSTOMER_FIELDS}
    values["owner"] = values["owner"] or me.username
    errors: dict[str, str] = {}
    similar: list[dict[str, Any]] = []
    exists = False
    if request.method == "POST":
        try:
            made = service.create_customer(
                values["name"],
                actor=me.username,
                owner=values["owner"],
                tier=values["tier"] or None,
                industry=values["industry"],
                region=values["region"],
                confirm=request.form.get("confirm") == "1",
            )
        except ConflictError:  # the very same name: the person should pick that one
            exists = True
            similar = [
                c for c in service.similar_customers(values["name"], me.username) if c["same"]
            ]
        except ValidationError as exc:
            if exc.field == "name" and values["name"]:
                similar = service.similar_customers(values["name"], me.username)
            if not similar:
                errors = _field_errors(exc)
        else:
            flash(_("Customer added: %(name)s.", name=made["name"]), "success")
            return redirect(url_for(".show", customer_id=made["id"]))
    html = render_template(
        "customers/new.html",
        values=values,
        errors=errors,
        similar=similar,
        exists=exists,
        owners=_owners(),
        tiers=TIERS,
    )
    return (html, 422) if request.method == "POST" else html


@bp.get("/<int:customer_id>")
def show(customer_id: int) -> str:
    me = user()
    service = engine()
    customer = service.customer(customer_id, me.username)
    return render_template(
        "customers/show.html",
        customer=customer,
        may_change=service.may_change_customer(customer_id, me.username),
        manager=bool(me.roles & MANAGERS),
        owners=_owners(),
        tiers=TIERS,
        contact_fields=CONTACT_FIELDS,
        activities=customer["activities"],
        activity_target={"customer_id": customer_id},
    )


def _back(customer_id: int, anchor: str | None = None) -> Response:
    return redirect(url_for(".show", customer_id=customer_id, _anchor=anchor))


@bp.post("/<int:customer_id>")
def edit(customer_id: int) -> Response:
    me = user()
    changes = {k: request.form[k].strip() for k in CUSTOMER_FIELDS if k in request.form}
    try:
        engine().update_customer(customer_id, changes, me.username)
    except (ValidationError, ConflictError) as exc:
        flash(_("Not saved: %(why)s", why=str(exc)), "error")
    else:
        flash(_("Customer saved."), "success")
    return _back(customer_id)


def _contact_form() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in ("name", *CONTACT_FIELDS) if k in request.form}


@bp.post("/<int:customer_id>/contacts")
def add_contact(customer_id: int) -> Response:
    try:
        engine().add_contact(customer_id, _contact_form(), user().username)
    except ValidationError as exc:
        flash(_("Contact not added: %(why)s", why=str(exc)), "error")
    else:
        flash(_("Contact added."), "success")
    return _back(customer_id, "contacts")


@bp.post("/<int:customer_id>/contacts/<int:contact_id>")
def update_contact(customer_id: int, contact_id: int) -> Response:
    try:
        engine().update_contact(customer_id, contact_id, _contact_form(), user().username)
    except ValidationError as exc:
        flash(_("Contact not saved: %(why)s", why=str(exc)), "error")
    else:
        flash(_("Contact saved."), "success")
    return _back(customer_id, "contacts")


@bp.post("/<int:customer_id>/contacts/<int:contact_id>/delete")
def delete_contact(customer_id: int, contact_id: int) -> Response:
    engine().delete_contact(customer_id, contact_id, user().username)
    flash(_("Contact removed."), "success")
    return _back(customer_id, "contacts")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
