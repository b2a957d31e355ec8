"""Today: the signed-in user's daily digest (tasks due today or overdue, stale deals, timers
firing in the next 24 hours), from the use case Service.digest (engine.usecases.digests)."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from webui.context import engine, user
from webui.i18n import language

bp = Blueprint("digest", __name__)


@bp.get("/digest")
def today() -> str:
    me = user()
    found = engine().digest(me.username, lang=language())
    return render_template("digest/today.html", digest=found)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
