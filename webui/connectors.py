"""The connectors page (/connectors): the hosts service tasks may call, the named secrets
their headers use, and the recent calls.

Admins change hosts and secrets; designers read the hosts and the secrets' names, which they
write into a connector as {{secret:NAME}}.  A secret's value is written once and never shown
back, not even to an admin.  Who may do what is the engine's (engine.usecases.connectors):
this page turns the form into calls of `Service` and says in the user's language which field
is wrong.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import NotFoundError, ValidationError
from engine.usecases.connectors import (
    CONNECTOR_READERS,
    OPERATOR_LINES,
    may_manage_connectors,
)
from engine.usecases.incidents import failure_text
from webui.context import engine, require_any_role, user
from webui.i18n import N_, _, language

bp = Blueprint("connectors", __name__, url_prefix="/connectors")

STATUSES = {
    "pending": N_("waiting"),
    "done": N_("done"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
}
PROBLEMS = {
    "host": N_("Enter a host name such as api.example.com, or an address."),
    "note": N_("A note has at most 300 characters."),
    "name": N_("A name starts with a letter: letters, digits, _ . - (at most 80)."),
    "value": N_("Enter the secret on one line (at most 4,000 characters)."),
    "operator": N_("Enter an operator name such as slack/PostMessage."),
    "operator_definition": N_("This request cannot run:"),
}


@bp.before_request
def _only_readers() -> None:
    require_any_role(CONNECTOR_READERS)


@bp.get("")
def index() -> str:
    return _page({}, {})


@bp.post("")
def change() -> Response | tuple[str, int]:
    me = user()
    if not may_manage_connectors(me.roles):
        require_any_role(["admin"])  # a 403 page
    form = request.form
    action = form.get("action", "")
    try:
        _act(action, form, me.username)
    except ValidationError as exc:
        field = str(exc.field or "host")
        message = _(PROBLEMS.get(field, field))
        if field == "operator_definition":  # what is wrong, in the engine's words
            said = exc.errors[0]["message"] if exc.errors else str(exc)  # without the field
            worded = failure_text(said, language())
            message = f"{message} {worded['text'] if worded else said}"
        return _page(form, {field: message}), 422
    except NotFoundError:
        flash(_("It was removed already."), "error")
        return redirect(url_for(".index"))
    flash(_(_DONE[action]), "success")
    return redirect(url_for(".index"))


_DONE = {
    "allow_host": N_("The host is allowed."),
    "remove_host": N_("The host is no longer allowed."),
    "set_secret": N_("The secret is stored."),
    "remove_secret": N_("The secret is removed."),
    "set_operator": N_("The operator is mapped."),
    "remove_operator": N_("The operator mapping is removed."),
}


def _act(action: str, form: Any, me: str) -> None:
    service = engine()
    if action == "allow_host":
        service.allow_host(
            form.get("host", ""),
            user=me,
            internal=form.get("internal") == "on",
            note=form.get("note", ""),
        )
    elif action == "remove_host":
        service.remove_host(form.get("host_id", ""), user=me)
    elif action == "set_secret":
        service.set_connector_secret(form.get("name", ""), form.get("value", ""), user=me)
    elif action == "remove_secret":
        service.remove_connector_secret(form.get("name", ""), user=me)
    elif action == "set_operator":
        lines = {key: form.get(key, "") for key in OPERATOR_LINES}
        service.set_connector_operator(form.get("operator", ""), lines, user=me)
    elif action == "remove_operator":
        service.remove_connector_operator(form.get("operator", ""), user=me)
    else:
        raise ValidationError("choose what to do", field="host")


def _page(form: Any, errors: dict[str, str]) -> str:
    me = user()
    service = engine()
    admin = may_manage_connectors(me.roles)
    return render_template(
        "connectors/index.html",
        hosts=service.connector_hosts(user=me.username),
        secrets=service.connector_secrets(user=me.username),
        operators=service.connector_operators(user=me.username),
        calls=_worded(service.connector_calls(user=me.username, limit=30)) if admin else [],
        admin=admin,
        statuses=STATUSES,
        form=form,
        errors=errors,
    )


def _worded(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls with their last error in the user's language (`failure`: text, detail)."""
    lang = language()
    return [{**c, "failure": failure_text(c.get("last_error"), lang)} for c in calls]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
