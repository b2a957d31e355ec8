"""User administration (admins only): the team, adding a user, and one user's page where an
admin changes the name, e-mail, roles and password, deactivates or reactivates the account, and
ends every session of the user ("log out everywhere").

The rules (an admin keeps their own admin role and account, what deactivating does, the
shortest password) live in the engine (engine.usecases.users); this module turns forms into
calls and errors into messages on their fields.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from engine.core.roles import TEAM_ROLES, role_key
from engine.errors import ForbiddenError, ValidationError
from engine.usecases.users import MIN_PASSWORD
from webui.context import ADMIN_ROLES, engine, require_any_role, user
from webui.i18n import _, language

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The lanes of the shipped processes plus the two roles of the app itself, as stored labels.
ROLE_CHOICES = TEAM_ROLES
CHOICE_KEYS = {role_key(r): r for r in ROLE_CHOICES}
# The engine's field names -> the form's (the form splits roles into ticks and free text).
FIELDS = {"name": "username", "role": "extra_roles", "roles": "extra_roles"}


@bp.before_request
def _only_admins() -> None:
    require_any_role(ADMIN_ROLES)


@bp.route("/users", methods=["GET", "POST"])
def users() -> Response | str | tuple[str, int]:
    service = engine()
    team = service.users()
    if request.method == "GET":
        return _team_page(team, {}, {})

    form = _role_form()
    form.update(
        username=request.form.get("username", "").strip(),
        display_name=request.form.get("display_name", "").strip(),
        email=request.form.get("email", "").strip(),
    )
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not form["username"]:
        errors["username"] = _("Enter a user name.")
    elif any(u["username"] == form["username"] for u in team):
        errors["username"] = _(
            "%(name)s exists already: change them on their page.", name=form["username"]
        )
    if not password:
        errors["password"] = _("A new user needs a password.")
    elif len(password) < MIN_PASSWORD:
        errors["password"] = _("A password has at least %(count)s characters.", count=MIN_PASSWORD)
    if not errors:
        try:
            service.add_user(
                str(form["username"]),
                _roles(form),
                password=password,
                display_name=str(form["display_name"]) or None,
                email=str(form["email"]),
            )
        except ValidationError as exc:
            errors[FIELDS.get(exc.field or "", exc.field or "username")] = _message(exc)
        else:
            flash(_("User %(name)s added.", name=form["username"]), "success")
            return redirect(url_for(".users"))
    return _team_page(team, form, errors), 422


@bp.route("/users/<path:username>", methods=["GET", "POST"])
def user_page(username: str) -> Response | str | tuple[str, int]:
    service = engine()
    found = service.user(username, lang=language())  # a 404 for an unknown user
    if request.method == "GET":
        return _user_page(found, _form_of(found), {})
    action = request.form.get("action", "save")
    if action not in ("save", "deactivate", "activate", "logout_everywhere"):
        abort(400)
    if action == "logout_everywhere":
        service.end_sessions(username)
        flash(_("Every session of %(name)s has ended.", name=username), "success")
        return redirect(url_for(".user_page", username=username))
    if action == "deactivate":
        return _deactivate(found)
    if action == "activate":
        service.activate_user(username)
        flash(_("%(name)s is active again and can log in.", name=username), "success")
        return redirect(url_for(".user_page", username=username))

    form = _role_form()
    form.update(
        display_name=request.form.get("display_name", "").strip(),
        email=request.form.get("email", "").strip(),
    )
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if password and len(password) < MIN_PASSWORD:
        errors["password"] = _("A password has at least %(count)s characters.", count=MIN_PASSWORD)
    if not errors:
        try:
            service.set_user(
                username,
                roles=_roles(form),
                display_name=str(form["display_name"]),
                email=str(form["email"]),
                password=password or None,
                actor=user().username,
            )
        except ValidationError as exc:
            errors[FIELDS.get(exc.field or "", exc.field or "display_name")] = _message(exc)
        except ForbiddenError:
            errors["extra_roles"] = _(
                "You cannot take away your own admin role: another admin has to."
            )
        else:
            if password and username == user().username:
                # A new password ends the other sessions; this one, which set it, goes on.
                session["generation"] = service.session_generation(username)
            flash(_("User %(name)s updated.", name=username), "success")
            return redirect(url_for(".user_page", username=username))
    return _user_page(found, form, errors), 422


def _deactivate(found: dict[str, Any]) -> Response:
    name = found["username"]
    try:
        done = engine().deactivate_user(name, actor=user().username)
    except ForbiddenError:
        flash(_("You cannot deactivate yourself: another admin has to."), "error")
        return redirect(url_for(".user_page", username=name))
    flash(
        _("%(name)s is deactivated: no more log-ins, and their API tokens are revoked.", name=name),
        "success",
    )
    held = len(done["open_tasks"])
    if held == 1:
        flash(_("One open task stays assigned to %(name)s; it is listed below.", name=name), "info")
    elif held:
        flash(
            _(
                "%(count)s open tasks stay assigned to %(name)s; they are listed below.",
                count=held,
                name=name,
            ),
            "info",
        )
    return redirect(url_for(".user_page", username=name))


def _message(exc: ValidationError) -> str:
    """The engine's message, in the user's language where the page knows the case."""
    if exc.field == "email":
        return _("Enter an e-mail address such as name@example.com.")
    return str(exc)


def _role_form() -> dict[str, Any]:
    return {
        "roles": [r for r in request.form.getlist("roles") if r in ROLE_CHOICES],
        "extra_roles": request.form.get("extra_roles", "").strip(),
    }


def _roles(form: dict[str, Any]) -> list[str]:
    """The ticked roles and the typed ones (comma-separated lanes of one's own processes)."""
    typed = [r.strip() for r in str(form["extra_roles"]).split(",") if r.strip()]
    return [*form["roles"], *typed]


def _form_of(found: dict[str, Any]) -> dict[str, Any]:
    """The edit form filled from the stored user: known roles ticked, the others typed."""
    ticked = [CHOICE_KEYS[role_key(r)] for r in found["roles"] if role_key(r) in CHOICE_KEYS]
    typed = [r for r in found["roles"] if role_key(r) not in CHOICE_KEYS]
    return {
        "display_name": found["display_name"],
        "email": found["email"] or "",
        "roles": ticked,
        "extra_roles": ", ".join(typed),
    }


def _team_page(team: list[dict[str, Any]], form: dict[str, Any], errors: dict[str, str]) -> str:
    return render_template(
        "admin/users.html",
        users=team,
        roles=ROLE_CHOICES,
        form=form,
        errors=errors,
        min_password=MIN_PASSWORD,
    )


def _user_page(found: dict[str, Any], form: dict[str, Any], errors: dict[str, str]) -> str:
    return render_template(
        "admin/user.html",
        account=found,
        roles=ROLE_CHOICES,
        form=form,
        errors=errors,
        myself=found["username"] == user().username,
        min_password=MIN_PASSWORD,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
