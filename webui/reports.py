"""Reports (usecases.reports): funnel, lead channels, cycle and time in stage, reps, stale deals
and SLA breaches, the customer figures; and the month's targets per rep and team
(usecases.targets, the Targets tab, where managers set them).  One page per report with the
filters, a chart drawn on the server (pygal, SVG), the numbers in tables beside it, CSV
downloads (`?format=csv&table=...`) and, on the funnel and time pages, the process heatmap of
the same deals.

Who sees what: sales managers and admins the whole team's figures; a rep the figures of the
deals the rep may see (usecases.access); anyone else no reports (403).  Managers and admins set
the monthly spend per lead channel.  The engine's `ReportCases` (usecases.reports.cases) keep
these rules, read the filters and run the reports; the JSON API (webui/api/reports.py) reads
the same filters with `read_filters` and writes the same CSV with `csv_response`.
"""

from __future__ import annotations

import base64
import csv
import io
import sys
from typing import Any

import pygal
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from lxml import etree
from pygal.style import Style
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

import diagrams
from engine.core.roles import MANAGERS
from engine.errors import NotFoundError, ValidationError
from engine.usecases.deals import may_own
from engine.usecases.reports import REPORTS, Filters
from engine.usecases.reports.cases import COST_ROLES, REPORT_ROLES, TEXT_FILTERS
from webui.chart_svg import inline_svg
from webui.context import engine, require_any_role, user
from webui.i18n import N_, _, language
from webui.labels import SOURCES, TIERS, person, role, source, stage

# pygal puts an import hook for its map plugins on sys.meta_path, one written for the old
# finder protocol: every later import that reaches it (zoneinfo loading a zone, say) warns.
# We draw no maps, so the hook goes.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

bp = Blueprint("reports", __name__, url_prefix="/reports")

TITLES = {
    "funnel": N_("Funnel"),
    "channels": N_("Lead channels"),
    "cycle": N_("Sales cycle and time"),
    "reps": N_("Reps"),
    "stale": N_("Stale deals and SLAs"),
    "customers": N_("Customers"),
    # Not one of REPORTS: the month's targets (engine.usecases.targets), its own page.
    "targets": N_("Targets"),
    # Nor this: the forecast from process position (webui/forecast.py), its own page.
    "forecast": N_("Forecast"),
}
# The tables of each report and their columns: the page, the CSV and the API agree on them.
TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "funnel": {
        "stages": ("stage", "entered", "converted", "conversion"),
        "lost_reasons": ("reason", "deals"),
    },
    "channels": {
        "channels": (
            "channel",
            "leads",
            "won",
            "conversion",
            "median_cycle_seconds",
            "monthly_cost",
            "cost",
            "cost_per_lead",
            "cost_per_won",
        ),
    },
    "cycle": {
        "stages": ("stage", "count", "median_seconds", "p90_seconds"),
        "elements": (
            "element_id",
            "element_name",
            "stage",
            "count",
            "median_seconds",
            "p90_seconds",
        ),
        "cycle": ("count", "median_seconds", "p90_seconds"),
    },
    "reps": {
        "reps": (
            "user",
            "open_deals",
            "won_deals",
            "won_value",
            "open_tasks",
            "overdue_tasks",
            "responses",
            "median_response_seconds",
            "won_value_target",
            "won_value_attainment",
        ),
    },
    "stale": {
        "stages": ("stage", "stale_deals", "overdue_tasks", "escalated_tasks", "escalations"),
        "owners": ("owner", "stale_deals", "overdue_tasks", "escalated_tasks", "escalations"),
        "elements": ("element_id", "element_name", "stage", "escalations"),
        "deals": ("instance_id", "name", "owner", "stage", "activity_at", "quiet_days"),
    },
    "customers": {
        "customers": (
            "customer_id",
            "name",
            "won_deals",
            "won_value",
            "last_won_at",
            "churned",
        ),
        "reps": ("user", "visits", "proposals", "visits_per_week", "proposals_per_week"),
        "channels": (
            "channel",
            "leads",
            "won",
            "cost",
            "cost_per_lead",
            "won_value",
            "value_per_cost",
        ),
        "figures": (
            "customers",
            "churned",
            "churn_rate",
            "repeat_customers",
            "repeat_purchase_rate",
            "clv_median",
            "clv_mean",
            "revisit_wins",
            "revisited",
            "revisit_rate",
            "visits_per_week",
            "proposals_per_week",
            "window_days",
        ),
    },
}
CHART_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family="system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif",
    colors=("#2563eb", "#16a34a", "#ea580c", "#9333ea"),
)


# --- the filters ------------------------------------------------------------------------------


def read_filters(args: MultiDict[str, str]) -> Filters:
    """Filters from query parameters (ReportCases.report_filters): `from` and `to` (dates, in
    the team's time zone; the last 90 days when neither is given), `process`, `version`,
    `owner`, `team` (a role), `tier`, `channel`.  ValidationError names a bad parameter."""
    return engine().report_filters(args)


def run(name: str, f: Filters, username: str, *, window_days: int | None = None) -> dict[str, Any]:
    """A report over the deals `username` may see (all of them for managers and admins);
    `window_days`: the customers report's churn window."""
    return engine().report(name, f, viewer=username, window_days=window_days)


def rows_of(name: str, report: dict[str, Any], table: str) -> list[dict[str, Any]]:
    if name == "cycle" and table == "cycle":
        return [report["cycle"]]
    if name == "customers" and table == "customers":
        return list(report["top_customers"])
    if name == "customers" and table == "figures":
        return [report]
    rows: list[dict[str, Any]] = report[table]
    return rows


# --- CSV ----------------------------------------------------------------------------------------


def csv_response(name: str, report: dict[str, Any], table: str | None, *, bom: bool) -> Response:
    """One table of a report as CSV (the first unless `table` names another); `bom` for
    spreadsheets that need it to read UTF-8 (Chinese names)."""
    tables = TABLES[name]
    table = table or next(iter(tables))
    if table not in tables:
        raise ValidationError(f"one of {', '.join(tables)}", field="table")
    period = report["filters"]
    stem = "-".join(p for p in (name, table, (period["from"] or "")[:10]) if p)
    return csv_table(tables[table], rows_of(name, report, table), stem, bom=bom)


def csv_table(columns: tuple[str, ...], rows: list[Any], stem: str, *, bom: bool) -> Response:
    """Rows as a CSV download named `stem`.csv, one column per key of `columns`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    response = Response(("\ufeff" if bom else "") + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    response.mimetype_params["charset"] = "utf-8"
    return response


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet must not take a name for a formula
    return value


# --- how numbers read ---------------------------------------------------------------------------


def _days(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 86400, 1)


# --- the charts ---------------------------------------------------------------------------------


def _bar() -> Any:
    return pygal.Bar(
        style=CHART_STYLE,
        js=[],
        disable_xml_declaration=True,
        width=720,
        height=360,
        legend_at_bottom=True,
        x_label_rotation=25,
        truncate_label=24,
        print_values=False,
        margin=12,
    )


def bar_chart(title: str, labels: list[str], series: list[tuple[str, list[Any]]]) -> str:
    """A bar chart as an SVG data URL (an <img>: the page's CSP allows no inline style, and
    pygal styles its SVG with a <style> element)."""
    bar = _bar()
    bar.x_labels = labels
    bar.title = title
    bar.no_data_text = _("No data")
    for name, values in series:
        bar.add(name, values)
    return _data_url(bar)


def chart(name: str, report: dict[str, Any]) -> str:
    """The report's chart as an SVG data URL (an <img>: the page's CSP allows no inline
    style, and pygal styles its SVG with a <style> element)."""
    bar = _bar()
    series: list[tuple[str, list[Any]]] = []
    if name == "funnel":
        rows = report["stages"]
        bar.x_labels = [stage(r["stage"]) for r in rows]
        series = [
            (_("Entered"), [r["entered"] for r in rows]),
            (_("Went on"), [r["converted"] for r in rows]),
        ]
    elif name == "channels":
        rows = report["channels"]
        bar.x_labels = [source(r["channel"]) for r in rows]
        series = [(_("Leads"), [r["leads"] for r in rows]), (_("Won"), [r["won"] for r in rows])]
    elif name == "cycle":
        rows = report["stages"]
        bar.x_labels = [stage(r["stage"]) for r in rows]
        series = [
            (_("Median (days)"), [_days(r["median_seconds"]) for r in rows]),
            (_("90th percentile (days)"), [_days(r["p90_seconds"]) for r in rows]),
        ]
    elif name == "customers":
        rows = report["reps"]
        bar.x_labels = [person(r["user"]) for r in rows]
        series = [
            (_("Visits per week"), [r["visits_per_week"] for r in rows]),
            (_("Proposals per week"), [r["proposals_per_week"] for r in rows]),
        ]
    elif name == "reps":
        rows = report["reps"]
        bar.x_labels = [person(r["user"]) for r in rows]
        series = [
            (_("Open deals"), [r["open_deals"] for r in rows]),
            (_("Won deals"), [r["won_deals"] for r in rows]),
            (_("Overdue tasks"), [r["overdue_tasks"] for r in rows]),
        ]
    else:
        rows = report["stages"]
        bar.x_labels = [stage(r["stage"]) for r in rows]
        series = [
            (_("Stale deals"), [r["stale_deals"] for r in rows]),
            (_("Overdue tasks"), [r["overdue_tasks"] for r in rows]),
            (_("Escalations"), [r["escalations"] for r in rows]),
        ]
    bar.title = _(TITLES[name])
    bar.no_data_text = _("No data")
    for title, values in series:
        bar.add(title, values)
    return _data_url(bar)


def _data_url(bar: Any) -> str:
    root = etree.fromstring(bar.render(is_unicode=False), etree.XMLParser(resolve_entities=False))
    for script in root.findall(".//{http://www.w3.org/2000/svg}script"):
        script.getparent().remove(script)  # pygal's tooltip settings: nothing runs in an <img>
    svg = etree.tostring(root, encoding="unicode").encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def customer_charts(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The customers report's other charts (title, SVG data URL): the top customers' lifetime
    value, and each lead channel's cost against the value it won."""
    top = report["top_customers"]
    rows = report["channels"]
    value_title = _("Lifetime value of the top customers")
    channel_title = _("Lead cost and won value per channel")
    return [
        (
            value_title,
            bar_chart(
                value_title,
                [c["name"] for c in top],
                [(_("Won value"), [c["won_value"] for c in top])],
            ),
        ),
        (
            channel_title,
            bar_chart(
                channel_title,
                [source(r["channel"]) for r in rows],
                [
                    (_("Lead cost"), [r["cost"] for r in rows]),
                    (_("Won value"), [r["won_value"] for r in rows]),
                ],
            ),
        ),
    ]


def _heatmap(f: Filters, username: str, report: dict[str, Any] | None) -> tuple[Any, str]:
    """The process chart coloured by the deals in scope (where they wait now, and on the
    time page how long they stay at each element)."""
    times = None
    if report is not None:
        times = {r["element_id"]: r["median_seconds"] for r in report["elements"]}
    try:
        graph, key = engine().definition_chart(f.process, f.version, lang=language())
        heat = engine().report_heat(f, viewer=username, median_seconds=times)
        svg = diagrams.render_definition(graph, "svg", heat=heat, cache_key=key, lang=language())
    except (NotFoundError, diagrams.DiagramError) as exc:
        return None, str(exc)
    label = _("Heatmap of %(process)s", process=graph.name)
    return inline_svg(svg, label=label), ""


# --- the pages ----------------------------------------------------------------------------------


@bp.before_request
def _only_report_roles() -> None:
    require_any_role(REPORT_ROLES)


@bp.get("")
def index() -> BaseResponse:
    args: dict[str, Any] = request.args.to_dict()
    return redirect(url_for("reports.show", name="funnel", **args))


@bp.get("/<name>")
def show(name: str) -> Response | str | tuple[str, int]:
    if name not in REPORTS:
        abort(404)
    me = user()
    chosen = {
        k: (request.args.get(k) or "").strip() for k in ("from", "to", "version", *TEXT_FILTERS)
    }
    if name == "customers":
        chosen["window_days"] = (request.args.get("window_days") or "").strip()
    try:
        f = read_filters(request.args)
        window = engine().report_window(request.args) if name == "customers" else None
    except ValidationError as exc:
        return _page(name, chosen, None, error=exc), 422
    report = run(name, f, me.username, window_days=window)
    if request.args.get("format") == "csv":
        try:
            return csv_response(name, report, request.args.get("table"), bom=True)
        except ValidationError:
            abort(404)
    chosen["process"] = f.process
    if not (chosen["from"] and chosen["to"]):
        first, last = engine().report_days(f)
        chosen["from"] = chosen["from"] or (first.isoformat() if first else "")
        chosen["to"] = chosen["to"] or (last.isoformat() if last else "")
    return _page(name, chosen, report, filters=f)


def _page(
    name: str,
    chosen: dict[str, str],
    report: dict[str, Any] | None,
    *,
    filters: Filters | None = None,
    error: ValidationError | None = None,
) -> str:
    me = user()
    heatmap, heatmap_error = None, ""
    if report is not None and filters is not None and name in ("funnel", "cycle"):
        heatmap, heatmap_error = _heatmap(filters, me.username, report if name == "cycle" else None)
    args = {k: v for k, v in chosen.items() if v}
    return render_template(
        f"reports/{name}.html",
        name=name,
        titles=TITLES,
        report=report,
        chart=chart(name, report) if report is not None else None,
        more_charts=customer_charts(report) if report is not None and name == "customers" else [],
        tables=TABLES[name],
        chosen=chosen,
        args=args,
        options=_options(),
        error=error,
        heatmap=heatmap,
        heatmap_error=heatmap_error,
        may_set_costs=me.has_any(COST_ROLES),
        costs=_costs() if name == "channels" else {},
        team_wide=me.has_any(MANAGERS),
        # A lost reason as the process labels it, in the reader's language.
        reason_label=engine().lost_reason_labels(
            filters.process if filters is not None and filters.process else "sales_pipeline",
            language(),
        ),
    )


def _options() -> dict[str, list[tuple[str, str]]]:
    people = engine().users()
    roles = sorted({r for u in people for r in u["roles"]}, key=str.casefold)
    return {
        "process": [
            (d["process_id"], d["name"]) for d in engine().localized_definitions(language())
        ],
        # Only people who own deals (a sales role): Legal or Finance own no pipeline.
        "owner": [
            (u["username"], u["display_name"] or u["username"]) for u in people if may_own(u)
        ],
        "team": [(r, role(r)) for r in roles],
        "tier": [(t, t) for t in TIERS],
        "channel": [(c, source(c)) for c in SOURCES],
    }


def _costs() -> dict[str, float]:
    return engine().channel_costs()


@bp.post("/channels/costs")
def set_costs() -> BaseResponse:
    me = require_any_role(COST_ROLES)
    costs = {c: request.form.get(f"cost_{c}", "") for c in SOURCES}
    try:
        engine().set_channel_costs(costs, actor=me.username)
    except ValidationError as exc:
        flash(
            _("Not saved: %(channel)s needs an amount of 0 or more.", channel=source(exc.field)),
            "error",
        )
    else:
        flash(_("Monthly spend per channel saved."), "success")
    back: dict[str, Any] = {
        k: v for k, v in request.form.items() if k in ("from", "to", *TEXT_FILTERS) and v
    }
    return redirect(url_for("reports.show", name="channels", **back))


# --- targets (目标分解) -------------------------------------------------------------------------

METRICS = {
    "won_value": N_("Won value"),
    "won_deals": N_("Won deals"),
    "visits": N_("Visits"),
    "proposals": N_("Proposals"),
}
TARGET_COLUMNS = ("user", "metric", "target", "actual", "attainment", "expected", "pace")
# What a refused target names, as the form labels it.
TARGET_FIELDS = {
    "period": N_("Month"),
    "user": N_("For"),
    "metric": N_("Metric"),
    "value": N_("Target"),
}


def targets_chart(report: dict[str, Any]) -> str:
    """Won value against its target, for the team and per rep."""
    rows = [r for r in report["rows"] if r["metric"] == "won_value"]
    return bar_chart(
        _("Won value against target, %(month)s", month=report["period"]),
        [person(r["user"]) if r["user"] else _("Team") for r in rows],
        [
            (_("Target"), [r["target"] for r in rows]),
            (_("Actual"), [r["actual"] for r in rows]),
        ],
    )


@bp.get("/targets")
def targets() -> Response | str | tuple[str, int]:
    me = user()
    error: ValidationError | None = None
    try:
        report = engine().targets_report(request.args.get("period") or None, viewer=me.username)
    except ValidationError as exc:
        error, report = exc, engine().targets_report(None, viewer=me.username)
    if request.args.get("format") == "csv" and error is None:
        return csv_table(TARGET_COLUMNS, report["rows"], f"targets-{report['period']}", bom=True)
    groups: dict[str | None, list[Any]] = {}
    for row in report["rows"]:
        groups.setdefault(row["user"], []).append(row)
    page = render_template(
        "reports/targets.html",
        name="targets",
        titles=TITLES,
        args={},
        report=report,
        groups=list(groups.items()),
        chart=targets_chart(dict(report)),
        metrics=METRICS,
        owners=_options()["owner"],
        may_set=me.has_any(MANAGERS),
        team_wide=me.has_any(MANAGERS),
        error=error,
    )
    return (page, 422) if error is not None else page


@bp.post("/targets")
def set_target() -> BaseResponse:
    me = require_any_role(MANAGERS)
    form = request.form
    period = (form.get("period") or "").strip()
    try:
        engine().set_target(
            period,
            form.get("user") or None,
            form.get("metric") or "",
            form.get("value") or "",
            actor=me.username,
        )
    except ValidationError as exc:
        field = _(TARGET_FIELDS.get(exc.field or "", N_("Target")))
        flash(_("Not saved: check %(field)s.", field=field), "error")
        return redirect(url_for("reports.targets"))
    flash(_("Target saved."), "success")
    return redirect(url_for("reports.targets", period=period))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
