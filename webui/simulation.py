"""What-if simulation (issue 17): a process's current version beside the designer's draft or
an initiative's change, simulated on the team's history (engine.usecases.simulation).

    GET /simulation/<process_id>   ?draft=1&weeks=52&seed=1&initiative=ID&faster=20

For sales managers, designers and admins (a 403 for everyone else: the rule is the use case's
`may_simulate`).  A run of a year of a few thousand deals takes seconds: the page is drawn
when it is done, and while it runs the browser shows a spinner (static/simulation.js: the form
and the links that start a run say so).  The chart below is the draft's (the current
version's without one), heated with the simulated figures: the deals at each element on an
average day and the median stay, drawn as the process heatmap is.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, render_template, request
from markupsafe import Markup

import diagrams
from engine.core.graph import Heat
from engine.usecases.simulation import (
    DEFAULT_FASTER,
    DEFAULT_SEED,
    DEFAULT_WEEKS,
    MAX_WEEKS,
    may_simulate,
)
from webui.chart_svg import inline_svg
from webui.context import engine, user
from webui.i18n import N_, _, language

__all__ = ["bp", "init_app"]

bp = Blueprint("simulation", __name__, url_prefix="/simulation")

# Where a task's duration came from (engine.core.simulation).
SOURCES = {
    "history": N_("from history"),
    "designer": N_("set by the designer"),
    "role": N_("the role's median (new task)"),
    "none": N_("takes no time"),
}


@bp.before_request
def _only_simulators() -> None:
    if not may_simulate(user().roles):
        abort(403)


def _number(name: str, default: int, low: int, high: int) -> int:
    """A whole-number parameter; a value that is not one or out of range is a 404 (no such
    page), as the other pages treat a bad id."""
    value = request.args.get(name, "")
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        abort(404)
    return int(value)


@bp.get("/<process_id>")
def show(process_id: str) -> str:
    me = user()
    choices = engine().simulation_choices(process_id, me.username)  # NotFoundError: 404
    asked_draft = request.args.get("draft") == "1"
    draft = asked_draft and choices["draft"] is not None
    initiative = request.args.get("initiative") or None
    if initiative is not None and not initiative.isdigit():
        abort(404)
    weeks = _number("weeks", DEFAULT_WEEKS, 1, MAX_WEEKS)
    seed = _number("seed", DEFAULT_SEED, 0, 2**31 - 1)
    faster = _number("faster", DEFAULT_FASTER, 1, 90)
    result = engine().simulate(
        process_id,
        actor=me.username,
        draft=draft,
        initiative=initiative,
        faster=faster,
        weeks=weeks,
        seed=seed,
        lang=language(),
    )
    name = next(
        (d["name"] for d in engine().localized_definitions(language())
         if d["process_id"] == process_id),
        process_id,
    )  # fmt: skip
    name = engine().process_texts(process_id, language(), None).name(process_id, name)
    side = result["draft"] or result["current"]
    chart, chart_error = _heat_chart(process_id, draft, side["heat"])
    return render_template(
        "simulation/show.html",
        process_id=process_id,
        process_name=name,
        result=result,
        choices=choices,
        asked={
            "draft": draft,
            "initiative": int(initiative) if initiative else None,
            "weeks": weeks,
            "seed": seed,
            "faster": faster,
        },
        missing_draft=asked_draft and not draft,
        chart=chart,
        chart_error=chart_error,
        sources=SOURCES,
        rows=_side_by_side(result),
        histogram=_histogram(result),
    )


def _heat_chart(process_id: str, draft: bool, heat: dict[str, Any]) -> tuple[Markup | None, str]:
    graph, key = engine().simulation_graph(
        process_id, actor=user().username, draft=draft, lang=language()
    )
    figures = Heat(
        deals=heat["deals"],
        here_now=heat["here_now"],
        median_seconds=heat["median_seconds"],
        simulated=True,
    )
    try:
        svg = diagrams.render_definition(graph, "svg", heat=figures, cache_key=key, lang=language())
    except diagrams.DiagramError as exc:
        return None, str(exc)
    return inline_svg(svg, label=_("Simulated heatmap of %(process)s", process=graph.name)), ""


def _side_by_side(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Roles and tasks of both sides on one row each (a task only the draft has too)."""
    current, draft = result["current"], result["draft"]
    rows = []
    for kind in ("roles", "tasks"):
        key = "role" if kind == "roles" else "element_id"
        before = {x[key]: x for x in current[kind]}
        after = {x[key]: x for x in draft[kind]} if draft else {}
        order = list(before) + [k for k in after if k not in before]
        rows.append({"kind": kind, "rows": [(before.get(k), after.get(k)) for k in order]})
    return rows


HISTOGRAM_WIDTH, BAR_HEIGHT = 320, 14


def _histogram(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each side's cycle-time bins, with bar lengths in SVG units on one scale."""
    sides = [("current", result["current"]), ("draft", result["draft"])]
    shown = [(name, side["cycle_days"]["histogram"]) for name, side in sides if side]
    top = max((b["deals"] for _name, bins in shown for b in bins), default=0)
    return [
        {
            "side": name,
            "height": BAR_HEIGHT,
            "bins": [
                {**b, "width": round(HISTOGRAM_WIDTH * b["deals"] / top, 1) if top else 0}
                for b in bins
            ],
        }
        for name, bins in shown
    ]


def _may_simulate() -> bool:
    """For the links to this page (the designer, an initiative): whether the user may."""
    return may_simulate(user().roles)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["may_simulate"] = _may_simulate
