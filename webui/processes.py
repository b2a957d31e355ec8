"""Processes: each deployed definition, its versions, its chart and its heatmap.

For sales managers, designers and admins only (a 403 for everyone else).
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Blueprint, Flask, Response, abort, render_template, request
from markupsafe import Markup

import diagrams
from engine.core.graph import Heat
from engine.core.records import DefinitionRecord
from webui.chart_svg import MEDIA_TYPES, inline_svg
from webui.context import PROCESS_ROLES, engine, require_any_role
from webui.deals import download
from webui.i18n import _, language

bp = Blueprint("processes", __name__, url_prefix="/processes")


@bp.before_request
def _only_process_roles() -> None:
    require_any_role(PROCESS_ROLES)


def _version_arg() -> int | None:
    value = request.args.get("version", "")
    if not value:
        return None
    if not value.isdigit():
        abort(404)
    return int(value)


def _chart(process_id: str, version: int | None, heat: Heat | None) -> tuple[Any, str]:
    graph, key = engine().definition_chart(process_id, version, lang=language())
    try:
        svg = diagrams.render_definition(graph, "svg", heat=heat, cache_key=key, lang=language())
    except diagrams.DiagramError as exc:
        return None, str(exc)
    return inline_svg(svg, label=_("Flowchart of %(process)s", process=graph.name)), ""


@bp.get("")
def index() -> str:
    items = []
    for definition in engine().localized_definitions(language()):
        chart, error = _chart(definition["process_id"], None, None)
        items.append({**definition, "chart": chart, "chart_error": error})
    return render_template("processes/list.html", definitions=items)


def _definition(process_id: str) -> DefinitionRecord:
    for definition in engine().localized_definitions(language()):
        if definition["process_id"] == process_id:
            return definition
    abort(404)


@bp.get("/<process_id>")
def show(process_id: str) -> str:
    return _page(process_id, heatmap=False)


@bp.get("/<process_id>/heatmap")
def heatmap(process_id: str) -> str:
    return _page(process_id, heatmap=True)


# Graphviz draws a page's chart while the page is rendered (Python's lock is free while it
# draws), as on the deal page; the chart goes into its slot afterwards.
_DRAWING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="salesflow-process-chart")


def _page(process_id: str, *, heatmap: bool) -> str:
    """A definition's page: its chart, or its heatmap over the deals."""
    definition = _definition(process_id)
    version = _version_arg()
    heat = engine().heat(process_id, version) if heatmap else None
    graph, key = engine().definition_chart(process_id, version, lang=language())
    label, lang = _("Flowchart of %(process)s", process=graph.name), language()

    def draw() -> Markup:
        svg = diagrams.render_definition(graph, "svg", heat=heat, cache_key=key, lang=lang)
        return inline_svg(svg, label=label)

    drawing = _DRAWING.submit(draw)
    # The process's name in the reader's language, as on its chart.
    texts = engine().process_texts(process_id, language(), version)
    page = {
        "definition": {**definition, "name": texts.name(process_id, definition["name"])},
        "version": version or definition["version"],
        "heat": heat,
    }
    slot = Markup(f"<!--chart-{secrets.token_hex(16)}-->")  # no name or text can hold it
    shown = render_template("processes/show.html", chart=slot, chart_error="", **page)
    try:
        chart = drawing.result()
    except diagrams.DiagramError as exc:
        return render_template("processes/show.html", chart=None, chart_error=str(exc), **page)
    return shown.replace(slot, chart, 1)


@bp.get("/<process_id>/chart.<fmt>")
def chart(process_id: str, fmt: str) -> Response:
    if fmt not in MEDIA_TYPES:
        abort(404)
    _definition(process_id)
    version = _version_arg()
    heat = engine().heat(process_id, version) if request.args.get("heat") == "1" else None
    graph, key = engine().definition_chart(process_id, version, lang=language())
    data = diagrams.render_definition(graph, fmt, heat=heat, cache_key=key, lang=language())
    suffix = "-heatmap" if heat is not None else ""
    return download(data, fmt, f"{process_id}{suffix}.{fmt}")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
