"""Deals: the list, the pipeline board, lead capture, one deal's page, comments, charts."""

from __future__ import annotations

import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

import diagrams
from engine.core.records import Deal
from engine.core.stages import STAGE_ORDER
from engine.errors import ExpressionError, ForbiddenError, NotFoundError, ValidationError
from engine.usecases.initiatives import PROCESS as INITIATIVE
from engine.usecases.service import Service
from webui.chart_svg import MEDIA_TYPES, ChartCache, deal_chart_key, inline_svg
from webui.context import engine, page_number, team, user
from webui.i18n import _, language
from webui.labels import PIPELINE_STAGES, SOURCES, STATUSES, TIERS
from webui.schema_form import build, parse

bp = Blueprint("deals", __name__, url_prefix="/deals")

PIPELINE = "sales_pipeline"  # the process a new lead starts, unless another is chosen
BOARD_CARDS = 50  # cards per column; the list shows the rest
NEW_DEAL_META = frozenset({"csrf_token", "deal_name", "deal_owner", "process"})
FILTERS = ("stage", "owner", "status", "tier", "source", "process", "stale")


def visible_deal(instance_id: int) -> Deal:
    """Everything about a deal the user may see; a 404 for any other (never a 403: that
    would tell that the deal exists)."""
    service = engine()
    if not service.may_see(user().username, instance_id):
        abort(404)
    # Task names and the timeline in the reader's language (engine.usecases.texts).
    return service.localize_deal(service.show(instance_id), language())


@bp.get("")
def index() -> str:
    me = user()
    chosen = {k: request.args.get(k, "").strip() for k in (*FILTERS, "q")}
    page = page_number()
    size = int(current_app.config["SALESFLOW_PAGE_SIZE"])
    found = engine().instances(
        process=chosen["process"] or None,
        status=chosen["status"] or None,
        owner=chosen["owner"] or None,
        stage=chosen["stage"] or None,
        tier=chosen["tier"] or None,
        lead_source=chosen["source"] or None,
        search=chosen["q"] or None,
        stale=chosen["stale"] == "1",
        visible_to=me.username,
        limit=size + 1,  # one more than shown tells whether there is a next page
        offset=(page - 1) * size,
    )
    return render_template(
        "deals/list.html",
        deals=found[:size],
        stale=engine().stale_among(found[:size]),
        page=page,
        has_next=len(found) > size,
        chosen=chosen,
        filtered=any(chosen.values()),
        options=_filter_options(),
        args={k: v for k, v in chosen.items() if v},
    )


def _filter_options() -> dict[str, list[tuple[str, str]]]:
    return {
        "stage": [(s, s) for s in STAGE_ORDER],
        "owner": [(u["username"], u["display_name"]) for u in team()],
        "status": [(s, s) for s in STATUSES],
        "tier": [(t, t) for t in TIERS],
        "source": [(s, s) for s in SOURCES],
        "process": [(d["process_id"], d["name"]) for d in engine().definitions()],
    }


@bp.get("/board")
def board() -> str:
    me = user()
    process = request.args.get("process") or PIPELINE
    found = engine().board(process, visible_to=me.username, per_stage=BOARD_CARDS)
    columns = []
    # The pipeline's stages in order, then any other stage a deal of this process has.
    for stage in [s for s in STAGE_ORDER if s != "lost"] + sorted(set(found) - set(STAGE_ORDER)):
        column = found.get(stage, {"count": 0, "cards": []})
        if stage in PIPELINE_STAGES or column["count"]:
            columns.append(
                {
                    "stage": stage,
                    "cards": column["cards"],
                    "count": column["count"],
                    "more": column["count"] > len(column["cards"]),
                }
            )
    return render_template(
        "deals/board.html",
        columns=columns,
        stale=engine().stale_among([d for c in columns for d in c["cards"]]),
        process=process,
        processes=engine().definitions(),
        empty=not any(c["cards"] for c in columns),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> BaseResponse | str | tuple[str, int]:
    me = user()
    service = engine()
    # Who may start which process is the engine's rule (Service.start checks it again); the
    # initiative process starts from the initiatives page, which keeps the initiative too.
    processes = [p for p in service.startable(me.username) if p["process_id"] != INITIATIVE]
    if not processes:
        if not any(d["process_id"] != INITIATIVE for d in service.definitions()):
            return render_template("deals/new.html", missing=True), 404
        return render_template("deals/new.html", forbidden=True), 403
    names = {p["process_id"]: p["name"] for p in processes}
    process = request.values.get("process", "").strip()
    if not process:
        process = PIPELINE if PIPELINE in names else processes[0]["process_id"]
    if process not in names:
        if process not in {d["process_id"] for d in service.definitions()}:
            abort(404)
        return render_template("deals/new.html", forbidden=True, processes=processes), 403
    try:
        schema = service.localized_start_form(process, language())
    except NotFoundError:
        return render_template("deals/new.html", missing=True), 404
    schema = schema or {"type": "object", "properties": {}}
    # Who may own the deal is the engine's rule (Service.start checks it again).
    owners = [(u["username"], u["display_name"]) for u in service.deal_owners(me.username)]
    page = {"processes": processes, "process": process, "process_name": names[process]}
    if request.method == "GET":
        return render_template(
            "deals/new.html",
            form=build(schema, {}),
            owners=owners,
            name="",
            owner=me.username,
            **page,
        )

    raw = {k: request.form.getlist(k) for k in request.form if k not in NEW_DEAL_META}
    name = request.form.get("deal_name", "").strip()
    owner = request.form.get("deal_owner", "").strip() or me.username
    parsed = parse(schema, raw)
    errors = list(parsed.errors)
    owner_error = None
    status = 422
    if owner not in {o for o, _name in owners}:
        owner_error = _("Choose one of the people in the list.")
    elif not errors:
        try:
            started = service.start(
                process, deal=name or None, owner=owner, data=parsed.data, actor=me.username
            )
        except ForbiddenError:  # the process's start roles changed since the page was shown
            errors = [{"field": "(form)", "message": _("You may not start this process.")}]
            status = 403
        except ValidationError as exc:
            errors = exc.errors or [{"field": "(form)", "message": str(exc)}]
        except ExpressionError as exc:
            errors = [{"field": "(form)", "message": str(exc)}]
        else:
            flash(
                _("Deal started: %(name)s.", name=name or parsed.data.get("company", "")), "success"
            )
            return redirect(url_for(".show", instance_id=int(started["instance_id"])))
    html = render_template(
        "deals/new.html",
        form=build(schema, raw, errors, parsed),
        owners=owners,
        name=name,
        owner=owner,
        owner_error=owner_error,
        **page,
    )
    return html, status


@bp.get("/<int:instance_id>")
def show(instance_id: int) -> str:
    return _show(instance_id)


def _show(instance_id: int, *, comment: str = "", comment_error: str = "") -> str:
    deal = visible_deal(instance_id)
    chart = _PageChart(deal)
    page = render_template(
        "deals/show.html",
        deal=deal,
        sla=engine().deal_sla(instance_id),
        chart_slot=chart.slot,
        history=list(reversed(deal["history"])),
        comment=comment,
        comment_error=comment_error,
    )
    return chart.put_into(page)


# A deal's chart not drawn yet waits several ms for graphviz; the page is rendered meanwhile
# (Python's lock is free while graphviz draws) and the chart put in its slot afterwards.
_DRAWING = ThreadPoolExecutor(max_workers=4, thread_name_prefix="salesflow-chart")


class _PageChart:
    """The deal's chart for its page, being drawn while the page is rendered."""

    def __init__(self, deal: Deal) -> None:
        links: dict[str, str] = {}
        for task in deal["tasks"]:
            links.setdefault(
                task["element_id"], url_for("tasks.task_page", task_id=task["task_id"])
            )
        label = _("Flowchart of %(deal)s", deal=deal["name"])
        lang = language()  # drawn in another thread: the request's language, read here
        key = (deal_chart_key(deal), label, tuple(sorted(links.items())), lang)
        pages, svgs, service = _charts()["page"], _charts()["svg"], engine()

        def draw() -> Markup:
            svg = svgs.get_or_make((*deal_chart_key(deal), lang), lambda: _svg(service, deal, lang))
            return inline_svg(svg, links=links, label=label)

        made = pages.peek(key)
        self.chart: Future[Markup] = Future()
        if made is not None:
            self.chart.set_result(made)
        else:
            self.chart = _DRAWING.submit(pages.get_or_make, key, draw)
        # A comment no one can write: names and comments on the page are escaped.
        self.slot = Markup(f"<!--chart-{secrets.token_hex(16)}-->")

    def put_into(self, page: str) -> str:
        try:
            chart, error = self.chart.result(), ""
        except diagrams.DiagramError as exc:
            chart, error = None, str(exc)
        markup = render_template("deals/_chart.html", chart=chart, chart_error=error)
        return page.replace(self.slot, markup, 1)


def _charts() -> dict[str, ChartCache[Any]]:
    charts: dict[str, ChartCache[Any]] = current_app.extensions["salesflow_charts"]
    return charts


def _svg(service: Service, deal: Deal, lang: str) -> bytes:
    """The chart of the deal as read for its page, so it shows just what its cache key
    names (`deal_chart_key`), its labels in `lang`."""
    graph, view, key = service.deal_chart(deal, lang=lang)
    return diagrams.render_instance(graph, view, "svg", cache_key=key)


def _deal_svg(deal: Deal) -> bytes:
    """The deal's chart as SVG, rendered once per state of the deal (`deal` is what
    `Service.show` returned for it)."""
    service, lang = engine(), language()
    svg: bytes = _charts()["svg"].get_or_make(
        (*deal_chart_key(deal), lang), lambda: _svg(service, deal, lang)
    )
    return svg


@bp.post("/<int:instance_id>/comments")
def comment(instance_id: int) -> BaseResponse | tuple[str, int]:
    visible_deal(instance_id)
    text = request.form.get("text", "")
    try:
        engine().comment(instance_id, user=user().username, text=text)
    except ValidationError:
        message = _("A comment is 1 to 5000 characters.")
        return _show(instance_id, comment=text, comment_error=message), 422
    flash(_("Comment added."), "success")
    return redirect(url_for(".show", instance_id=instance_id, _anchor="timeline"))


@bp.get("/<int:instance_id>/chart.<fmt>")
def chart(instance_id: int, fmt: str) -> Response:
    if fmt not in MEDIA_TYPES:
        abort(404)
    deal = visible_deal(instance_id)
    if fmt == "svg":
        data = _deal_svg(deal)
    else:  # PNG and PDF are rare downloads: drawn each time
        graph, view, key = engine().instance_chart(instance_id, lang=language())
        data = diagrams.render_instance(graph, view, fmt, cache_key=key, lang=language())
    return download(data, fmt, f"deal-{instance_id}.{fmt}")


def download(data: bytes, fmt: str, filename: str) -> Response:
    response = Response(data, mimetype=MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # An SVG opened on its own must not run anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def init_app(app: Flask) -> None:
    # Rendered charts of deals: raw SVG (page and download) and the inlined markup of pages.
    app.extensions["salesflow_charts"] = {
        "svg": ChartCache[bytes](),
        "page": ChartCache[Markup](),
    }
    app.register_blueprint(bp)
