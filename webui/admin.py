"""User administration: the team, and adding a user with roles and a password (admins only)."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import ValidationError
from webui.context import ADMIN_ROLES, engine, require_any_role
from webui.i18n import _

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The lanes of the shipped processes plus the two roles of the app itself, as stored labels.
ROLE_CHOICES = (
    "Sales Rep",
    "Sales Manager",
    "Product Expert",
    "Legal",
    "Finance",
    "After-Sales",
    "Marketing",
    "designer",
    "admin",
)
MIN_PASSWORD = 8


@bp.before_request
def _only_admins() -> None:
    require_any_role(ADMIN_ROLES)


@bp.route("/users", methods=["GET", "POST"])
def users() -> Response | str | tuple[str, int]:
    service = engine()
    team = service.users()
    if request.method == "GET":
        return render_template(
            "admin/users.html", users=team, roles=ROLE_CHOICES, form={}, errors={}
        )

    form = {
        "username": request.form.get("username", "").strip(),
        "display_name": request.form.get("display_name", "").strip(),
        "roles": request.form.getlist("roles"),
        "extra_roles": request.form.get("extra_roles", "").strip(),
    }
    password = request.form.get("password", "")
    roles = [r for r in form["roles"] if r in ROLE_CHOICES]
    roles += [r.strip() for r in str(form["extra_roles"]).split(",") if r.strip()]
    exists = any(u["username"] == form["username"] for u in team)
    errors: dict[str, str] = {}
    if not form["username"]:
        errors["username"] = _("Enter a user name.")
    if not exists and not password:
        errors["password"] = _("A new user needs a password.")
    elif password and len(password) < MIN_PASSWORD:
        errors["password"] = _("A password has at least %(count)s characters.", count=MIN_PASSWORD)
    if not errors:
        try:
            service.add_user(
                str(form["username"]),
                roles,
                password=password or None,
                display_name=str(form["display_name"]) or None,
            )
        except ValidationError as exc:
            field = {"name": "username", "role": "extra_roles"}.get(exc.field or "", "username")
            errors[field] = str(exc)
        else:
            if exists:
                flash(_("User %(name)s updated.", name=form["username"]), "success")
            else:
                flash(_("User %(name)s added.", name=form["username"]), "success")
            return redirect(url_for(".users"))
    page = render_template(
        "admin/users.html", users=team, roles=ROLE_CHOICES, form=form, errors=errors
    )
    return page, 422


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
