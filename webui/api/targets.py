"""Targets broken down to the rep over the API (engine.usecases.targets).

    POST /targets            {period, user, metric, value}: set a month's target (managers)
    GET  /reports/targets    ?period=YYYY-MM: the month's targets against what was done

Sales managers and admins set targets (anyone else 403); the report is for those who read
reports, a rep getting their own rows and the team's.  `format=csv` answers the rows as CSV
like the other reports.  The routes join the API's blueprint (token check, JSON errors);
`paths()` and `schemas()` are their part of the OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationError
from engine.usecases.forms import check_data, load_json_object, make_validator
from engine.usecases.targets import MAX_TARGET, METRICS
from webui.api.schemas import answer, fails, operation, record
from webui.api.views import _service, _user, bp
from webui.reports import TARGET_COLUMNS, csv_table

__all__ = ["paths", "report_targets", "schemas", "set_target"]

TAG = "reports"
PERIOD = "^[0-9]{4}-(0[1-9]|1[0-2])$"


@bp.post("/targets")
def set_target() -> ResponseReturnValue:
    user = _user()
    body = load_json_object(request.get_data(as_text=True), what="body")
    known = schemas()["NewTarget"]["properties"]
    unknown = sorted(set(body) - set(known))
    if unknown:  # named, as views._body does: the schema's own message names no field
        raise ValidationError(f"unknown key; the body takes {', '.join(known)}", field=unknown[0])
    check_data(_validator("NewTarget"), body)
    saved = _service().set_target(
        body["period"], body.get("user"), body["metric"], body["value"], actor=user
    )
    return dict(saved), 201


@bp.get("/reports/targets")
def report_targets() -> ResponseReturnValue:
    user = _user()
    _service().check_report_reader(user)  # before the period: a refusal says nothing more
    unknown = sorted(set(request.args) - {"period", "format"})
    if unknown:  # as the other reports: a parameter they do not take is a mistake to say
        raise ValidationError(
            "unknown parameter; this report takes period and format", field=unknown[0]
        )
    report = _service().targets_report(request.args.get("period") or None, viewer=user)
    if request.args.get("format") == "csv":
        return csv_table(TARGET_COLUMNS, report["rows"], f"targets-{report['period']}", bom=False)
    return dict(report)


@functools.cache
def _validator(name: str) -> Any:
    return make_validator(schemas()[name])


# --- the OpenAPI document's part -----------------------------------------------------------

_METRIC = {
    "type": "string",
    "enum": list(METRICS),
    "description": "`won_value` (the value of the deals won, CNY), `won_deals` (how many), "
    "`visits` (activities of kind visit logged), `proposals` (deals entering the proposal "
    "stage).",
}
_NUMBER = {"type": ["number", "null"]}


def paths() -> dict[str, Any]:
    """The target operations, keyed by path."""
    return {
        "/targets": {
            "post": operation(
                "setTarget",
                TAG,
                "Set a month's target for the team or a rep",
                "Sales managers and admins only (anyone else 403).  `user` is the rep (an "
                "active user holding Sales Rep or Sales Manager) or null for the team's "
                "target; `value` is from 0, a whole number for the counts.  Setting the "
                "target of a month, user and metric again replaces it.  Else 422 naming the "
                "field.",
                {"201": answer("Target", "Set."), **fails("403", "422")},
                body="NewTarget",
                example={
                    "period": "2026-03",
                    "user": "wang.fang",
                    "metric": "won_value",
                    "value": 500000,
                },
            )
        },
        "/reports/targets": {
            "get": {
                "operationId": "getTargetsReport",
                "tags": [TAG],
                "summary": "Targets and attainment per rep and team for a month",
                "description": "For the month (in the team's time zone; the current one by "
                "default), each metric of the team and of every person with a target or "
                "something done: the target, the actual, the attainment (actual / target, "
                "null without a target), what the share of the month gone by expects "
                "(`expected`) and whether the actual is `ahead` of it or `behind`.  A rep "
                "gets their own rows and the team's; managers and admins everyone's.",
                "parameters": [
                    {
                        "name": "period",
                        "in": "query",
                        "required": False,
                        "description": "The month, YYYY-MM (default: this month).",
                        "schema": {"type": "string", "pattern": PERIOD},
                    },
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "description": "`csv` for the rows as CSV.",
                        "schema": {"type": "string", "enum": ["json", "csv"]},
                    },
                ],
                "responses": {
                    **fails("401", "403", "422"),
                    "200": {
                        "description": "The report, or its rows as CSV.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TargetsReport"}
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                },
            }
        },
    }


def schemas() -> dict[str, Any]:
    """The target shapes, for components/schemas."""
    user = {"type": ["string", "null"], "description": "The rep; null for the team."}
    return {
        "NewTarget": {
            "type": "object",
            "description": "A month's target of one metric for the team or a rep.",
            "properties": {
                "period": {"type": "string", "pattern": PERIOD, "description": "YYYY-MM."},
                "user": {**user, "maxLength": 80},
                "metric": _METRIC,
                "value": {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMaximum": float(MAX_TARGET),
                    "description": "The target: CNY for won_value, a count for the others.",
                },
            },
            "required": ["period", "metric", "value"],
            "additionalProperties": False,
        },
        "Target": record(
            "A target as set.",
            {
                "period": {"type": "string"},
                "user": user,
                "metric": _METRIC,
                "value": {"type": "number"},
            },
        ),
        "TargetsReport": record(
            "A month's targets against what was done.",
            {
                "period": {"type": "string", "description": "The month, YYYY-MM."},
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "elapsed": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 1,
                    "description": "The share of the month gone by.",
                },
                "rows": {
                    "type": "array",
                    "description": "The team's rows first (user null), then per person.",
                    "items": record(
                        "One metric of the team or a person.",
                        {
                            "user": user,
                            "metric": _METRIC,
                            "target": _NUMBER,
                            "actual": {"type": "number"},
                            "attainment": _NUMBER,
                            "expected": _NUMBER,
                            "pace": {"type": ["string", "null"], "enum": ["ahead", "behind", None]},
                        },
                    ),
                },
            },
        ),
    }
