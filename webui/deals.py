"""Deals: the list, the pipeline board, lead capture, one deal's page, comments, charts."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from babel.dates import format_skeleton
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
from engine.errors import (
    ConflictError,
    ExpressionError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from engine.usecases.board import PROBABILITY_ROLES
from engine.usecases.deals import LIST_FILTERS, SORTS, deal_basics
from engine.usecases.initiatives import PROCESS as INITIATIVE
from engine.usecases.outcomes import LOST_KIND
from engine.usecases.saved_filters import MAX_FILTERS, MAX_NAME, SavedFilterRecord
from engine.usecases.service import Service
from webui.chart_svg import MEDIA_TYPES, ChartCache, deal_chart_key, inline_svg
from webui.context import CurrentUser, engine, page_number, team, user
from webui.forecast import board_forecast, deal_forecast
from webui.formats import locale
from webui.i18n import N_, _, language
from webui.labels import SOURCES, STAGES, STATUSES, TIERS, field_title, stage
from webui.schema_form import build, parse
from webui.timeline import sentence as timeline_sentence

bp = Blueprint("deals", __name__, url_prefix="/deals")

PIPELINE = "sales_pipeline"  # the process a new lead starts, unless another is chosen
BOARD_CARDS = 50  # cards per column; the list shows the rest
NEW_DEAL_META = frozenset(
    {
        "csrf_token",
        "deal_name",
        "deal_owner",
        "deal_amount",
        "deal_expected_close",
        "process",
        "customer_id",
        "confirm_customer",
    }
)
# What to tell about a deal's value or close date the engine refused (deals.deal_basics).
BASICS_PROBLEMS = {
    "amount": N_("Enter the deal's value as a number of 0 or more, such as 240000."),
    "expected_close": N_("Enter a date such as 2026-06-30."),
}
VIEWS = "deals"  # the list whose saved filters these are (engine.usecases.saved_filters)


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
    views = engine().saved_filters(me.username, VIEWS)
    # "Deals" in the menu (no parameter at all) opens the user's default view; ?all=1, or
    # any filter, does not.
    default = None if request.args else next((v for v in views if v["default"]), None)
    return _list(default["query"] if default else request.args, views=views, default=default)


def _list(
    params: Mapping[str, str],
    *,
    views: list[SavedFilterRecord],
    default: SavedFilterRecord | None = None,
    save_name: str = "",
    save_default: bool = False,
    save_error: str = "",
) -> str:
    """The deal list filtered and sorted by `params`, with the user's saved views."""
    me = user()
    chosen = {k: str(params.get(k) or "").strip() for k in LIST_FILTERS}
    sort = str(params.get("sort") or "").strip()
    if sort.removeprefix("-") not in SORTS:
        sort = ""
    page = page_number()
    size = int(current_app.config["SALESFLOW_PAGE_SIZE"])
    found = engine().instances(
        sort=sort or None,
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
        reason_label=reason_labels(found[:size]),
        stale=engine().stale_among(found[:size]),
        page=page,
        has_next=len(found) > size,
        chosen=chosen,
        filtered=any(chosen.values()),
        options=_filter_options(),
        args={k: v for k, v in {**chosen, "sort": sort}.items() if v},
        sort=sort,
        views=views,
        default_view=default,
        save_name=save_name,
        save_default=save_default,
        save_error=save_error,
    )


@bp.post("/filters")
def save_filter() -> BaseResponse | tuple[str, int]:
    """Save the list's filter and sort as it is shown (the form's `query`) under a name."""
    me = user()
    name = request.form.get("name", "")
    default = request.form.get("default") == "1"
    query = dict(parse_qsl(request.form.get("query", "")))  # the engine keeps the list's own
    try:
        saved = engine().save_filter(me.username, VIEWS, name, query, default)
    except ValidationError as exc:
        views = engine().saved_filters(me.username, VIEWS)
        if exc.field != "name":
            message = _("This view cannot be saved: filter the list again, then save it.")
        elif name.strip() and len(name.strip()) <= MAX_NAME and len(views) >= MAX_FILTERS:
            message = _(
                "You have %(count)s saved views, the most there can be: delete one first.",
                count=MAX_FILTERS,
            )
        else:
            message = _("Give the view a name of 1 to %(count)s characters.", count=MAX_NAME)
        page = _list(query, views=views, save_name=name, save_default=default, save_error=message)
        return page, 422
    flash(_("Saved the view “%(name)s”.", name=saved["name"]), "success")
    # Its own link: an empty view's is ?all=1 (plain /deals may open another default).
    link: dict[str, Any] = dict(saved["query"]) or {"all": "1"}
    return redirect(url_for(".index", **link))


@bp.post("/filters/<int:filter_id>/delete")
def delete_filter(filter_id: int) -> BaseResponse:
    """Delete one of the user's saved views; someone else's is a 404 like a missing one."""
    try:
        engine().delete_filter(user().username, filter_id)
    except NotFoundError:
        abort(404)
    flash(_("The saved view is deleted."), "success")
    return redirect(url_for(".index"))


def reason_labels(deals: Iterable[Mapping[str, Any]]) -> Callable[[Mapping[str, Any]], str | None]:
    """How the lost reason of each of these deals reads in the user's language (None for a
    deal not lost): the label its process gives it (engine.usecases.outcomes)."""
    service, lang = engine(), language()
    labels = {
        process: service.lost_reason_labels(process, lang)
        for process in {d["process_id"] for d in deals if d["lost_reason"]}
    }

    def label(deal: Mapping[str, Any]) -> str | None:
        reason = deal["lost_reason"]
        return labels.get(deal["process_id"], {}).get(reason, reason) if reason else None

    return label


def _filter_options() -> dict[str, list[tuple[str, str]]]:
    return {
        "stage": [(s, s) for s in STAGE_ORDER],
        "owner": [(u["username"], u["display_name"]) for u in team()],
        "status": [(s, s) for s in STATUSES],
        "tier": [(t, t) for t in TIERS],
        "source": [(s, s) for s in SOURCES],
        "process": [
            (d["process_id"], d["name"]) for d in engine().localized_definitions(language())
        ],
    }


@bp.get("/board")
def board() -> tuple[str, int]:
    me = user()
    service = engine()
    process = request.args.get("process") or PIPELINE
    try:
        found = service.board(process, visible_to=me.username, per_stage=BOARD_CARDS)
    except NotFoundError:
        found = {"process_id": process, "stages": []}
    names = stage_names(process)
    columns = [
        {**column, "label": names(column["stage"]), "more": column["count"] > len(column["cards"])}
        for column in found["stages"]
    ]
    # The pipeline still open: the stages whose deals are neither won nor lost.
    still_open = [c for c in columns if c["outcome"] is None]
    return render_template(
        "deals/board.html",
        columns=columns,
        totals={
            "count": sum(c["count"] for c in still_open),
            "value": sum(c["value"] for c in still_open),
            "weighted": sum(c["weighted"] for c in still_open),
        },
        process=process,
        processes=service.localized_definitions(language()),
        empty=not any(c["cards"] for c in columns),
        # The forecast from process position, for report readers (webui/forecast.py).
        forecast=board_forecast(process) if found["stages"] else None,
        probabilities=(
            [c for c in columns if c["outcome"] is None and c["stage"]]
            if sets_probabilities(me)
            else []
        ),
    ), (200 if found["stages"] or process == PIPELINE else 404)


@bp.post("/board/probabilities")
def probabilities() -> BaseResponse:
    """A sales manager's probabilities of the board's stages (the weighted pipeline)."""
    me = user()
    process = request.form.get("process", "") or PIPELINE
    if not sets_probabilities(me):
        abort(403)
    values = {
        key.removeprefix("p_"): value.strip()
        for key, value in request.form.items()
        if key.startswith("p_")
    }
    try:
        engine().set_probabilities(values, user=me.username)
    except ValidationError:
        flash(_("Enter a whole percentage from 0 to 100 for each stage."), "error")
    else:
        flash(_("Stage probabilities saved."), "success")
    return redirect(url_for(".board", process=process))


def sets_probabilities(me: CurrentUser) -> bool:
    """Whether the user may set the board's stage probabilities (the engine checks again)."""
    return me.has_any(PROBABILITY_ROLES)


def stage_names(process: str) -> Any:
    """How a stage of `process` reads: the process's own translation of it, the sales
    stages' names, or the key made readable ("after_sales" -> "After sales")."""
    translated = engine().stage_labels(process, language())

    def name(key: str | None) -> str:
        if not key:
            return "—"
        return translated.get(key) or (stage(key) if key in STAGES else field_title(key))

    return name


@bp.route("/new", methods=["GET", "POST"])
def new() -> BaseResponse | str | tuple[str, int]:
    me = user()
    service = engine()
    # Who may start which process is the engine's rule (Service.start checks it again); the
    # initiative process starts from the initiatives page, which keeps the initiative too.
    named = {d["process_id"]: d["name"] for d in service.localized_definitions(language())}
    processes = [
        {**p, "name": named.get(p["process_id"], p["name"])}
        for p in service.startable(me.username)
        if p["process_id"] != INITIATIVE
    ]
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
    # The customer: one the user sees (engine.usecases.customers), or new from the company.
    customers = {str(c["id"]): c["name"] for c in service.customers(me.username)}
    customer = request.values.get("customer_id", "").strip()
    page = {
        "processes": processes,
        "process": process,
        "process_name": names[process],
        "customers": customers,
        "customer": customer if customer in customers else "",
    }
    if request.method == "GET":
        return render_template(
            "deals/new.html",
            form=build(schema, {}),
            owners=owners,
            name="",
            owner=me.username,
            basics={"amount": "", "expected_close": ""},
            basics_errors={},
            **page,
        )

    raw = {k: request.form.getlist(k) for k in request.form if k not in NEW_DEAL_META}
    name = request.form.get("deal_name", "").strip()
    owner = request.form.get("deal_owner", "").strip() or me.username
    basics = {
        "amount": request.form.get("deal_amount", "").strip(),
        "expected_close": request.form.get("deal_expected_close", "").strip(),
    }
    basics_errors = basics_problems(basics)
    if customer in customers and not "".join(raw.get("company", [])).strip():
        raw["company"] = [customers[customer]]  # the chosen customer's name
    parsed = parse(schema, raw)
    errors = list(parsed.errors)
    owner_error = customer_error = None
    similar: list[dict[str, Any]] = []
    status = 422
    company = parsed.data.get("company")
    if customer and customer not in customers:
        customer_error = _("Choose one of the customers in the list.")
    elif not customer and isinstance(company, str) and company.strip():
        # A new customer: warn of similar names first, unless one compares equal (the deal
        # joins that one) or the user confirmed it is another company.
        similar = service.similar_customers(company, me.username)
        if any(c["same"] for c in similar) or request.form.get("confirm_customer") == "1":
            similar = []
    if owner not in {o for o, _name in owners}:
        owner_error = _("Choose one of the people in the list.")
    elif not errors and not basics_errors and not customer_error and not similar:
        try:
            started = service.start(
                process,
                deal=name or None,
                owner=owner,
                data=parsed.data,
                actor=me.username,
                amount=basics["amount"],
                expected_close=basics["expected_close"],
                customer_id=int(customer) if customer else None,
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
        basics=basics,
        basics_errors=basics_errors,
        customer_error=customer_error,
        similar=similar,
        **page,
    )
    return html, status


def basics_of(deal: Mapping[str, Any]) -> dict[str, str]:
    """A deal's value and expected close date as its form shows them ("240000", "2026-06-30")."""
    amount = deal["amount"]
    return {
        "amount": "" if amount is None else f"{amount:.2f}".removesuffix(".00"),
        "expected_close": deal["expected_close"] or "",
    }


def basics_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with a deal's value and close date as typed into a form, per field, in
    the user's language ({} when the engine's check, deals.deal_basics, accepts them)."""
    try:
        deal_basics(values)
    except ValidationError as exc:
        return {str(e["field"]): _(BASICS_PROBLEMS[str(e["field"])]) for e in exc.errors}
    return {}


@bp.get("/<int:instance_id>")
def show(instance_id: int) -> str:
    return _show(instance_id)


def _show(
    instance_id: int,
    *,
    comment: str = "",
    comment_error: str = "",
    lost_error: str = "",
    basics: Mapping[str, str] | None = None,
    basics_errors: Mapping[str, str] | None = None,
) -> str:
    deal = visible_deal(instance_id)
    service, me = engine(), user()
    chart = _PageChart(deal)
    history = list(reversed(deal["history"]))
    # Who may mark it lost or change its value is the engine's rule (it checks again).
    changeable = service.may_change_deal(me.username, instance_id)
    still_open = deal["status"] in ("running", "error") and deal["outcome"] is None
    reason_label = reason_labels([deal])
    page = render_template(
        "deals/show.html",
        deal=deal,
        sla=engine().deal_sla(instance_id),
        chart_slot=chart.slot,
        history=history,
        # The timeline in business words (engine.usecases.timeline), newest first.
        timeline=service.deal_timeline(instance_id, me.username, language()),
        timeline_sentence=timeline_sentence,
        comment=comment,
        comment_error=comment_error,
        changeable=changeable,
        still_open=still_open,
        lost_reasons=(
            service.lost_reasons(deal["process_id"], language())
            if changeable and still_open
            else []
        ),
        lost_reason=reason_label(deal),
        lost_reason_of=lambda value: reason_label({**deal, "lost_reason": value}),
        marked_lost=next((h for h in history if h["kind"] == LOST_KIND), None),
        lost_error=lost_error,
        basics=basics or basics_of(deal),
        basics_errors=basics_errors or {},
        # The "Deal data" panel: by form, in the reader's words (engine.usecases.deal_data).
        data_sections=service.deal_data_sections(instance_id, me.username, language()),
        # The activities panel (templates/activities/_panel.html, webui.activities).
        activities=service.activities(me.username, deal_id=instance_id),
        activity_target={"deal_id": instance_id},
        # Its chance of a win, close and value (engine.usecases.forecast), for report readers.
        forecast=deal_forecast(instance_id) if still_open else None,
    )
    return chart.put_into(page)


@bp.post("/<int:instance_id>/lost")
def mark_lost(instance_id: int) -> BaseResponse | tuple[str, int]:
    """Mark the deal lost with a reason from its process's list (engine.usecases.outcomes)."""
    visible_deal(instance_id)
    reason = request.form.get("reason", "")
    try:
        engine().mark_lost(instance_id, user=user().username, reason=reason)
    except ForbiddenError:
        abort(403)
    except ConflictError:
        flash(_("This deal is finished already: it cannot be marked lost."), "error")
        return redirect(url_for(".show", instance_id=instance_id))
    except ValidationError:
        message = _("Choose the reason the deal was lost.")
        return _show(instance_id, lost_error=message), 422
    flash(_("The deal is marked lost."), "success")
    return redirect(url_for(".show", instance_id=instance_id))


@bp.post("/<int:instance_id>/basics")
def change_basics(instance_id: int) -> BaseResponse | tuple[str, int]:
    """Change the deal's value and expected close date (its owner or a manager)."""
    visible_deal(instance_id)
    if not engine().may_change_deal(user().username, instance_id):
        abort(403)
    basics = {
        "amount": request.form.get("amount", "").strip(),
        "expected_close": request.form.get("expected_close", "").strip(),
    }
    problems = basics_problems(basics)
    if problems:
        return _show(instance_id, basics=basics, basics_errors=problems), 422
    try:
        engine().update_deal(instance_id, user=user().username, values=basics)
    except ForbiddenError:
        abort(403)
    except ConflictError:
        flash(_("Someone changed this deal at the same time; nothing was saved."), "error")
        return redirect(url_for(".show", instance_id=instance_id))
    flash(_("The deal's value and close date are saved."), "success")
    return redirect(url_for(".show", instance_id=instance_id))


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
    return diagrams.render_instance(graph, view, "svg", cache_key=key, lang=lang)


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


def day(value: Any) -> str:
    """A day from the engine (YYYY-MM-DD, an expected close date) in the reader's words:
    "Sep 30, 2026" / "2026年9月30日"."""
    if not value:
        return "—"
    return str(format_skeleton("yMMMd", date.fromisoformat(str(value)), locale=locale()))


def init_app(app: Flask) -> None:
    # Rendered charts of deals: raw SVG (page and download) and the inlined markup of pages.
    app.extensions["salesflow_charts"] = {
        "svg": ChartCache[bytes](),
        "page": ChartCache[Markup](),
    }
    app.jinja_env.filters["day"] = day
    app.register_blueprint(bp)
