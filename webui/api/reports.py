"""Reports over the API (engine.usecases.reports), the same figures and filters as the report pages.

    GET /reports/funnel      deals entering each stage, conversion, win rate, lost reasons
    GET /reports/channels    leads, conversion, median cycle and cost per lead by channel
    GET /reports/cycle       sales cycle, time in each stage and at each element
    GET /reports/reps        open deals, won value, overdue tasks, response time by person
    GET /reports/stale       stale deals, overdue and escalated tasks, escalations
    GET /reports/customers   churn, repeat purchases, lifetime value, revisits, visits and
                             proposals per week, channel cost against won value

Query parameters: `from`, `to` (dates in the team's time zone; the last 90 days when neither
is given), `process`, `version`, `owner`, `team`, `tier`, `channel` (and `window_days`, the
customers report's churn window); `format=csv` answers one table as CSV (`table` names it;
the first by default).  Sales managers and admins get the team's figures, reps those of the
deals they may see, anyone else 403.  `paths()` and
`schemas()` are this module's part of the OpenAPI document (document.py merges them in).
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.usecases.reports import REPORTS
from engine.usecases.reports.cases import WINDOW_DAYS
from engine.usecases.unit import MAX_ID
from webui.api.schemas import fails, record, ref
from webui.api.views import _service, _user, bp
from webui.reports import TABLES, csv_response, read_filters, run

__all__ = ["paths", "schemas"]

TAG = "reports"
MAX_TEXT = 200  # the longest text filter ReportCases.report_filters takes


def _report(name: str) -> ResponseReturnValue:
    user = _user()
    _service().check_report_reader(user)  # before the filters: a refusal says nothing more
    f = read_filters(request.args)
    window = _service().report_window(request.args) if name == "customers" else None
    report = run(name, f, user, window_days=window)
    if request.args.get("format") == "csv":
        return csv_response(name, report, request.args.get("table") or None, bom=False)
    return report


def _route(name: str) -> None:
    def view() -> ResponseReturnValue:
        return _report(name)

    view.__name__ = f"report_{name}"
    bp.add_url_rule(f"/reports/{name}", endpoint=f"report_{name}", view_func=view)


for _name in REPORTS:
    _route(_name)


# --- the OpenAPI document's part -----------------------------------------------------------

_SUMMARIES = {
    "funnel": (
        "Funnel: deals entering each stage, conversion, win rate, lost reasons",
        "Per stage of the process, the deals that entered it in the period and how many of "
        "them have since reached a later stage (a loss is no progress); the deals won and "
        "lost in the period, the win rate and the reasons for the losses.",
    ),
    "channels": (
        "Lead channels: leads, conversion to won, median cycle, cost per lead",
        "Per lead channel, the deals created in the period, how many of them are won by now "
        "and their median cycle; where a monthly spend is set for the channel, the spend over "
        "the period and the cost per lead and per won deal.",
    ),
    "cycle": (
        "Sales cycle and time in each stage and at each element",
        "The cycle (creation to won) of the deals won in the period, the time from entering "
        "each stage to entering the next one, and the time at each element (from becoming "
        "ready to being done): count, median and 90th percentile, in seconds.",
    ),
    "reps": (
        "By person: open deals, won value, overdue tasks, response time",
        "Per person: deals owned and running, deals won in the period and their value, open "
        "and overdue tasks assigned now, and the median time from a task becoming ready to "
        "the person's first action on it.",
    ),
    "customers": (
        "Customer figures: churn, repeat purchases, lifetime value, revisits, activity",
        "Over the customers of the deals in scope (a deal without a customer counts for "
        "none): at the end of the period, the share of customers with a win whose last win "
        "is older than `window_days` with no deal since that is won or open (churn), the "
        "share with two wins or more, the median and mean won value per customer over all "
        "time and the top customers by it; of the deals won in the period, the share "
        "revisited within 7 days (an activity with the deal or its customer, or the "
        "satisfaction revisit done), leaving out wins whose 7 days still run without one; "
        "visits (activities of kind visit) and deals entering the proposal stage per rep "
        "and per week of the period; per lead channel, the cost of the period's leads and "
        "the value of those of them won.",
    ),
    "stale": (
        "Stale deals and SLA breaches",
        "Deals without activity for longer than their stage allows, open tasks past their "
        "SLA and escalated now, and the escalations of the period, per stage and per owner; "
        "the stalest deals by name.",
    ),
}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _text(name: str, description: str) -> dict[str, Any]:
    """A text filter: an empty one is no filter."""
    return _query(name, description, type="string", maxLength=MAX_TEXT)


def _parameters(name: str) -> list[dict[str, Any]]:
    return [
        _query("from", "First day of the period (team's time zone).", type="string", format="date"),
        _query("to", "Last day of the period (included).", type="string", format="date"),
        _text("process", "The process (default `sales_pipeline`)."),
        _query("version", "Only deals on this version.", type="integer", minimum=1, maximum=MAX_ID),
        _text("owner", "Only deals of this owner (a user name)."),
        _text("team", "Only deals owned by holders of this role."),
        _text("tier", "Only deals of this tier (A, B, C)."),
        _text("channel", "Only deals from this lead channel."),
        _query("format", "`csv` for one table as CSV.", type="string", enum=["json", "csv"]),
        _query("table", "The table the CSV holds.", type="string", enum=list(TABLES[name])),
        *(
            [
                _query(
                    "window_days",
                    "Days after its last win from which a customer with no deal since is "
                    "churned (default 365).",
                    type="integer",
                    minimum=WINDOW_DAYS[1],
                    maximum=WINDOW_DAYS[2],
                )
            ]
            if name == "customers"
            else []
        ),
    ]


def paths() -> dict[str, Any]:
    """The report operations, keyed by path."""
    found: dict[str, Any] = {}
    for name in REPORTS:
        summary, description = _SUMMARIES[name]
        schema = f"{name.capitalize()}Report"
        found[f"/reports/{name}"] = {
            "get": {
                "operationId": f"get{schema}",
                "tags": [TAG],
                "summary": summary,
                "description": description,
                "parameters": _parameters(name),
                "responses": {
                    **fails("401", "403", "422"),
                    "200": {
                        "description": "The report, or one of its tables as CSV.",
                        "content": {
                            "application/json": {"schema": ref(schema)},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                },
            }
        }
    return found


_INT = {"type": "integer", "minimum": 0}
_NUMBER = {"type": ["number", "null"]}
_TEXT = {"type": ["string", "null"]}


def _rows(description: str, columns: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "description": description, "items": record("A row.", columns)}


def _stats() -> dict[str, Any]:
    return {"count": _INT, "median_seconds": _NUMBER, "p90_seconds": _NUMBER}


def _report_schema(name: str, description: str, parts: dict[str, Any]) -> dict[str, Any]:
    return record(
        description,
        {"report": {"const": name}, "filters": ref("ReportFilters"), **parts},
    )


def _customers_schema() -> dict[str, Any]:
    per_week = {"visits_per_week": _NUMBER, "proposals_per_week": _NUMBER}
    return _report_schema(
        "customers",
        "Customer figures; rates are shares from 0 to 1, null when nothing to divide by.",
        {
            "window_days": {"type": "integer", "minimum": 1},
            "customers": {**_INT, "description": "Customers with a win by the period's end."},
            "churned": _INT,
            "churn_rate": _NUMBER,
            "repeat_customers": _INT,
            "repeat_purchase_rate": _NUMBER,
            "clv_median": _NUMBER,
            "clv_mean": _NUMBER,
            "revisit_wins": _INT,
            "revisited": _INT,
            "revisit_rate": _NUMBER,
            "weeks": _NUMBER,
            "visits": _INT,
            "proposals": _INT,
            **per_week,
            "top_customers": _rows(
                "The customers with the most won value, most first (at most 10).",
                {
                    "customer_id": {"type": "integer"},
                    "name": {"type": "string"},
                    "won_deals": _INT,
                    "won_value": {"type": "number"},
                    "last_won_at": {"type": "string", "format": "date-time"},
                    "churned": {"type": "boolean"},
                },
            ),
            "reps": _rows(
                "Visits and proposals per rep in the period.",
                {"user": {"type": "string"}, "visits": _INT, "proposals": _INT, **per_week},
            ),
            "channels": _rows(
                "Per lead channel: the period's leads, their cost where a monthly spend is "
                "set, and the value of those won.",
                {
                    "channel": _TEXT,
                    "leads": _INT,
                    "won": _INT,
                    "cost": _NUMBER,
                    "cost_per_lead": _NUMBER,
                    "won_value": {"type": "number"},
                    "value_per_cost": _NUMBER,
                },
            ),
        },
    )


def schemas() -> dict[str, Any]:
    """The schemas the report operations use, built afresh on each call."""
    counts = {k: _INT for k in ("stale_deals", "overdue_tasks", "escalated_tasks", "escalations")}
    return {
        "ReportFilters": record(
            "The filters the figures are for; the period is [from, to) in UTC.",
            {
                "from": {**_TEXT, "format": "date-time"},
                "to": {**_TEXT, "format": "date-time"},
                "process": {"type": "string"},
                "version": {"type": ["integer", "null"]},
                "owner": _TEXT,
                "team": _TEXT,
                "tier": _TEXT,
                "channel": _TEXT,
            },
        ),
        "FunnelReport": _report_schema(
            "funnel",
            "Deals entering each stage in the period and their conversion.",
            {
                "stages": _rows(
                    "The stages in order; the last has no conversion.",
                    {
                        "stage": {"type": "string"},
                        "entered": _INT,
                        "converted": {"type": ["integer", "null"]},
                        "conversion": _NUMBER,
                    },
                ),
                "won": _INT,
                "lost": _INT,
                "win_rate": _NUMBER,
                "lost_reasons": _rows("Losses by reason.", {"reason": _TEXT, "deals": _INT}),
            },
        ),
        "ChannelsReport": _report_schema(
            "channels",
            "Leads by channel.",
            {
                "channels": _rows(
                    "One row per channel, most leads first; costs are null where no spend is set.",
                    {
                        "channel": _TEXT,
                        "leads": _INT,
                        "won": _INT,
                        "conversion": _NUMBER,
                        "median_cycle_seconds": _NUMBER,
                        "monthly_cost": _NUMBER,
                        "cost": _NUMBER,
                        "cost_per_lead": _NUMBER,
                        "cost_per_won": _NUMBER,
                    },
                ),
                "leads": _INT,
                "won": _INT,
                "conversion": _NUMBER,
                "months": {"type": "number"},
            },
        ),
        "CycleReport": _report_schema(
            "cycle",
            "Sales cycle and times.",
            {
                "cycle": record("The cycle of the deals won in the period.", _stats()),
                "stages": _rows("Time in each stage.", {"stage": {"type": "string"}, **_stats()}),
                "elements": _rows(
                    "Time at each element done in the period.",
                    {
                        "element_id": {"type": "string"},
                        "element_name": {"type": "string"},
                        "stage": _TEXT,
                        **_stats(),
                    },
                ),
            },
        ),
        "RepsReport": _report_schema(
            "reps",
            "Figures per person.",
            {
                "reps": _rows(
                    "One row per person (null: deals or tasks without one).",
                    {
                        "user": _TEXT,
                        "open_deals": _INT,
                        "won_deals": _INT,
                        "won_value": {"type": "number"},
                        "open_tasks": _INT,
                        "overdue_tasks": _INT,
                        "responses": _INT,
                        "median_response_seconds": _NUMBER,
                        "won_value_target": _NUMBER,
                        "won_value_attainment": _NUMBER,
                    },
                )
            },
        ),
        "CustomersReport": _customers_schema(),
        "StaleReport": _report_schema(
            "stale",
            "Stale deals and SLA breaches.",
            {
                **counts,
                "stages": _rows("Per stage.", {"stage": _TEXT, **counts}),
                "owners": _rows("Per deal owner.", {"owner": _TEXT, **counts}),
                "elements": _rows(
                    "Escalations in the period per element.",
                    {
                        "element_id": {"type": "string"},
                        "element_name": {"type": "string"},
                        "stage": _TEXT,
                        "escalations": _INT,
                    },
                ),
                "deals": _rows(
                    "The stalest deals, longest quiet first (at most 50).",
                    {
                        "instance_id": {"type": "string"},
                        "name": {"type": "string"},
                        "owner": _TEXT,
                        "stage": _TEXT,
                        "activity_at": {**_TEXT, "format": "date-time"},
                        "quiet_days": {"type": "number"},
                    },
                ),
            },
        ),
    }
