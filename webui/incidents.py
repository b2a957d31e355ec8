"""Incidents: the deals whose process stopped at a failing step, and what to do about them.

/incidents lists them; /incidents/<id> shows one (the failed step, the message, the data it
saw, when) with three forms: correct the data and retry the step, skip it, or cancel the deal.
The engine (usecases.incidents) decides, records and tells the owner; this page turns the forms
into its calls and shows its refusals on the form.  Sales managers and admins only (the
navigation shows the link to them alone); a deal the user may not see is a 404 first.
What failed is shown in the reader's language (`incident_of`, also on the deal's page), the
original text under a disclosure for those who handle incidents.
"""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from engine.core.records import Deal
from engine.errors import ConflictError, ExpressionError, ValidationError
from engine.usecases.forms import load_json_object
from engine.usecases.incidents import MAX_REASON, again_text, incident_record, may_handle
from webui.context import CurrentUser, engine, page_number, per_request, user
from webui.deals import visible_deal
from webui.i18n import _, language

bp = Blueprint("incidents", __name__, url_prefix="/incidents")


def _handler() -> CurrentUser:
    """The user, or a 403 page for one who may not handle incidents."""
    me = user()
    if not may_handle(me.roles):
        abort(403)
    return me


def may_handle_incidents() -> bool:
    """Whether the logged-in user (if any) handles incidents: the navigation asks."""
    me: CurrentUser | None = g.get("user")
    return me is not None and may_handle(me.roles)


def incident_of(error: dict[str, Any] | None) -> dict[str, Any]:
    """A deal's incident (or a history entry's) worded in the user's language, for the
    templates: the deal's page shows it without asking this page."""
    return incident_record(error, language()) or {}


def incident_count() -> int:
    """Deals in error, for the navigation (one COUNT per page, for those who handle them)."""
    return int(per_request("incident_count", lambda: engine().incident_count()))


@bp.get("")
def index() -> str:
    me = _handler()
    page = page_number()
    size = int(current_app.config["SALESFLOW_PAGE_SIZE"])
    found = engine().incidents(
        user=me.username, limit=size + 1, offset=(page - 1) * size, lang=language()
    )
    return render_template(
        "incidents/list.html", incidents=found[:size], page=page, has_next=len(found) > size
    )


def _deal_in_error(instance_id: int) -> tuple[Deal, CurrentUser, Response | None]:
    """The deal (404 if not visible), the user (403 unless a handler), and a redirect to the
    deal's page when it is not in error (any more)."""
    deal = visible_deal(instance_id)
    me = _handler()
    if deal["status"] == "error":
        return deal, me, None
    flash(_("This deal is not in error (any more)."), "info")
    return deal, me, redirect(url_for("deals.show", instance_id=instance_id))


@bp.get("/<int:instance_id>")
def show(instance_id: int) -> Response | str:
    deal, _me, gone = _deal_in_error(instance_id)
    return gone or _page(deal)[0]


def _page(
    deal: Deal,
    *,
    data_text: str | None = None,
    reason: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    incident = incident_of(deal["error"])
    if data_text is None:
        data_text = json.dumps(incident.get("data") or {}, indent=2, ensure_ascii=False)
    page = render_template(
        "incidents/show.html",
        deal=deal,
        incident=incident,
        data_text=data_text,
        reason=reason,
        errors=errors or {},
        max_reason=MAX_REASON,
    )
    return page, status


def _refused(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, ConflictError):
        return str(exc), 409
    if isinstance(exc, ExpressionError):
        error = again_text(exc, language())
        return _("The step failed again; nothing was changed: %(error)s", error=error), 422
    return str(exc), 422


def _done(instance_id: int, result: dict[str, Any], message: str) -> Response:
    if result["status"] == "error":
        step = (result["error"] or {}).get("element_name") or (result["error"] or {}).get(
            "element_id"
        )
        flash(_("The deal went on and stopped again, at %(step)s.", step=step or "?"), "error")
        return redirect(url_for(".show", instance_id=instance_id))
    flash(message, "success")
    return redirect(url_for("deals.show", instance_id=instance_id))


@bp.post("/<int:instance_id>/retry")
def retry(instance_id: int) -> Response | tuple[str, int]:
    deal, me, gone = _deal_in_error(instance_id)
    if gone is not None:
        return gone
    text = request.form.get("data", "")
    try:
        values = load_json_object(text, what="data")
        result = engine().retry(instance_id, user=me.username, data=values)
    except (ValidationError, ExpressionError, ConflictError) as exc:
        message, status = _refused(exc)
        if isinstance(exc, ValidationError):
            message = _(
                'Write the values as a JSON object, for example {"quantity": 2}: %(error)s',
                error=str(exc),
            )
        return _page(deal, data_text=text, errors={"data": message}, status=status)
    return _done(instance_id, result, _("The step ran again and the deal went on."))


@bp.post("/<int:instance_id>/skip")
def skip(instance_id: int) -> Response | tuple[str, int]:
    deal, me, gone = _deal_in_error(instance_id)
    if gone is not None:
        return gone
    try:
        result = engine().skip(instance_id, user=me.username)
    except (ExpressionError, ConflictError) as exc:
        message, status = _refused(exc)
        return _page(deal, errors={"skip": message}, status=status)
    return _done(instance_id, result, _("The step was skipped and the deal went on."))


@bp.post("/<int:instance_id>/cancel")
def cancel(instance_id: int) -> Response | tuple[str, int]:
    deal, me, gone = _deal_in_error(instance_id)
    if gone is not None:
        return gone
    reason = request.form.get("reason", "")
    try:
        engine().cancel(instance_id, user=me.username, reason=reason)
    except ValidationError:
        message = _("Give a reason of 1 to %(max)s characters.", max=MAX_REASON)
        return _page(deal, reason=reason, errors={"reason": message}, status=422)
    except ConflictError as exc:
        return _page(deal, reason=reason, errors={"reason": str(exc)}, status=409)
    flash(_("The deal was cancelled."), "success")
    return redirect(url_for("deals.show", instance_id=instance_id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(
        lambda: {
            "may_handle_incidents": may_handle_incidents,
            "incident_count": incident_count,
            "incident_of": incident_of,
        }
    )
