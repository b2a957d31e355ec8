"""What the pages with charts share: zoom, pan and fit (svg-pan-zoom), and a deal's stage
progress bar.

svg-pan-zoom comes from the npm registry (webui/package.json, installed into webui/node_modules
by `make npm-assets`) and is served from there, as the designer serves bpmn-js, never copied
into the repo; webui/static/chart.js drives it.  The progress bar's figures are the engine's
(`Service.deal_progress`, engine.usecases.charts); this module only words them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, send_from_directory
from werkzeug.wrappers import Response

from engine.core.records import Deal
from webui.context import engine
from webui.i18n import _

PAN_ZOOM_DIST = Path(__file__).resolve().parent / "node_modules" / "svg-pan-zoom" / "dist"
PAN_ZOOM_FILES = frozenset({"svg-pan-zoom.min.js", "svg-pan-zoom.js"})

bp = Blueprint("chart_pages", __name__, url_prefix="/charts")


@bp.get("/assets/<filename>")
def asset(filename: str) -> Response:
    """svg-pan-zoom's script from webui/node_modules (for every page with a chart)."""
    if filename not in PAN_ZOOM_FILES:
        abort(404)
    return send_from_directory(PAN_ZOOM_DIST, filename, max_age=3600)


def days_text(days: float) -> str:
    """How long a deal spent in a stage, as a rep reads it."""
    if days < 1:
        return _("under a day")
    if days < 1.05:
        return _("1 day")
    shown = f"{days:.1f}".removesuffix(".0") if days < 10 else str(round(days))
    return _("%(days)s days", days=shown)


def state_text(state: str) -> str:
    """The words a screen reader says for a stage's state (the bar shows it by colour)."""
    words = {
        "done": _("done"),
        "current": _("current stage"),
        "skipped": _("skipped"),
        "ahead": _("not reached yet"),
        "lost": _("lost here"),
    }
    return words.get(state, state)


def deal_progress(deal: Deal) -> dict[str, Any]:
    """The deal's stages for its page (the engine decides them)."""
    return dict(engine().deal_progress(deal["instance_id"]))


def init_app(app: Flask) -> None:
    """Serve the charts' front-end package and give templates the progress bar."""
    if bp.name in app.blueprints:
        return
    app.register_blueprint(bp)
    app.context_processor(
        lambda: {
            "deal_progress": deal_progress,
            "progress_days": days_text,
            "progress_state": state_text,
        }
    )
