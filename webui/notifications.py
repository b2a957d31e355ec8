"""The bell: the unread count in the navigation, the page of one's notifications, and
marking them read (engine.store.notifications).  A user only ever sees and marks their own."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from webui.context import engine, per_request, user
from webui.i18n import _
from webui.security import safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

SHOWN = 100  # the newest ones; older ones are history


@bp.get("")
def index() -> str:
    me = user()
    found = engine().notifications(me.username, SHOWN)
    return render_template(
        "notifications/list.html",
        notifications=found,
        unread=sum(1 for n in found if not n["read"]),
    )


@bp.post("/read")
def read() -> Response:
    """Mark the notification `id` read, or all of the user's without one."""
    me = user()
    raw = request.form.get("id", "").strip()
    if raw:
        if not raw.isdigit():
            return redirect(url_for(".index"))
        engine().mark_notifications_read(me.username, [int(raw)])
    else:
        count = engine().mark_notifications_read(me.username)
        if count:
            flash(_("All notifications are marked read."), "success")
    return redirect(safe_next(request.form.get("next"), url_for(".index")))


def unread_count() -> int:
    """The bell's number: one COUNT per page, for a logged-in user only."""
    if g.get("user") is None:
        return 0
    return int(per_request("unread", lambda: engine().unread_notifications(user().username)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(lambda: {"unread_notifications": unread_count})
