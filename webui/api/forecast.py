"""The forecast over the API (engine.usecases.forecast): the forecast page's figures.

    GET /forecast   each open deal's chance of a win, expected close (with its 80% interval)
                    and expected value; the months' expected won value with an 80% band,
                    the team's, per owner and per channel

Whoever reads reports reads it (sales reps, managers, admins; anyone else 403); a rep gets
the deals they may see and the months of those deals only.  The route joins the API's
blueprint (token check, JSON errors, query parameters checked against the document);
`paths()` and `schemas()` are its part of the OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from webui.api.schemas import answer, fails, integer, operation, record, ref, text
from webui.api.views import _lang, _service, _user, bp

__all__ = ["get_forecast", "paths", "schemas"]

TAG = "reports"
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


@bp.get("/forecast")
def get_forecast() -> ResponseReturnValue:
    return _service().forecast(
        request.args.get("process") or "sales_pipeline",
        visible_to=_user(),
        month=request.args.get("month") or None,
        lang=_lang(),
    )


# --- the OpenAPI document's part -----------------------------------------------------------


def paths() -> dict[str, Any]:
    return {
        "/forecast": {
            "get": operation(
                "getForecast",
                TAG,
                "The forecast of the open deals: chance, close date, expected value by month",
                "Each open deal's chance of being won, learnt from the team's closed deals: "
                "the share won of the closed deals that were where it is (its BPMN element, "
                "at least as long, after as many repeated steps, with its tier and channel), "
                "each refinement shrunk towards the coarser one and the stage weights (the "
                "board's) as the prior.  `method` is `stage_weights` while the process has "
                "fewer than `min_closed` closed deals; a deal's `basis` is `stage_weight` "
                "when its step has too little history.  The expected close is the median "
                "of how long the won deals still took from the same step (`close_low` and "
                "`close_high`: the 10th and 90th percentiles), or the owner's date "
                "(`close_basis` `owner`).  A month's `expected_value` adds value x chance x "
                "the share of the deal's close falling in it; `low` and `high` are its 80% "
                "band.  Reps get the deals they may see; managers and admins every deal.  "
                "Percentages are 0-100.",
                {"200": answer("Forecast", "The forecast."), **fails("403", "404", "422")},
                parameters=[
                    {
                        "name": "process",
                        "in": "query",
                        "required": False,
                        "description": "The process (default `sales_pipeline`).",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "month",
                        "in": "query",
                        "required": False,
                        "description": "Only this month, YYYY-MM, and the deals expected to "
                        "close in it.",
                        "schema": {"type": "string", "pattern": MONTH},
                    },
                ],
            )
        }
    }


def _money(description: str, *, null: bool = False) -> dict[str, Any]:
    return {"type": ["number", "null"] if null else "number", "description": description}


def _percent(description: str, *, null: bool = False) -> dict[str, Any]:
    return {
        "type": ["number", "null"] if null else "number",
        "minimum": 0,
        "maximum": 100,
        "description": description,
    }


def schemas() -> dict[str, Any]:
    day = {"format": "date"}
    month = record(
        "A month's expected won value, with its 80% band.",
        {
            "month": text("YYYY-MM, in the team's time zone."),
            "expected_value": _money("The value expected to be won in the month."),
            "low": _money("The 80% band's lower end."),
            "high": _money("The 80% band's upper end."),
        },
    )
    factor = {
        "type": "object",
        "description": "One thing that moved the deal's chance, by `points` (percentage "
        "points): `age` (`days` at its step), `path` (`repeats` of steps done again, the "
        "last `element_id` repeated), `tier` or `channel` (`value`).",
        "properties": {
            "level": {"type": "string", "enum": ["age", "path", "tier", "channel"]},
            "points": {"type": "number"},
            "days": {"type": "integer"},
            "repeats": {"type": "integer"},
            "element_id": {"type": ["string", "null"]},
            "element_name": {"type": ["string", "null"]},
            "value": {"type": ["string", "null"]},
        },
        "required": ["level", "points"],
    }
    deal = record(
        "An open deal's forecast.",
        {
            "instance_id": integer("The deal's id."),
            "name": text("The deal's name."),
            "owner": text("Its owner.", null=True),
            "stage": text("Its stage.", null=True),
            "channel": text("Its lead channel.", null=True),
            "tier": text("Its tier (A, B, C).", null=True),
            "amount": _money("Its value.", null=True),
            "element_id": text("The step it waits at.", null=True),
            "element_name": text("That step's name, in the request's language.", null=True),
            "days_there": integer("Whole days at that step.", null=True),
            "probability": _percent("Its chance of being won."),
            "stage_weight": _percent("Its stage's weight: the board's chance."),
            "element_share": _percent(
                "The share won of closed deals at its step (smoothed).", null=True
            ),
            "basis": {"type": "string", "enum": ["history", "stage_weight"]},
            "beyond_history": {
                "type": "boolean",
                "description": "It has waited longer than any closed deal waited there.",
            },
            "expected_close": text("The day it is expected to close, if won.", null=True, **day),
            "close_low": text("The 80% interval's first day.", null=True, **day),
            "close_high": text("The 80% interval's last day.", null=True, **day),
            "close_basis": {"type": ["string", "null"], "enum": ["history", "owner", None]},
            "expected_value": _money("Value x chance."),
            "factors": {"type": "array", "items": ref("ForecastFactor"), "maxItems": 3},
        },
    )
    group = record(
        "The months of one owner's or one channel's deals.",
        {
            "key": text("The owner or the channel.", null=True),
            "deals": integer("Its open deals."),
            "expected_value": _money("Their value x chance, together."),
            "months": {"type": "array", "items": ref("ForecastMonth")},
        },
    )
    return {
        "ForecastMonth": month,
        "ForecastFactor": factor,
        "ForecastDeal": deal,
        "ForecastGroup": group,
        "Forecast": record(
            "The forecast of a process's open deals.",
            {
                "process_id": text("The process."),
                "as_of": text("When it was worked out.", format="date-time"),
                "method": {"type": "string", "enum": ["history", "stage_weights"]},
                "closed": integer("Closed deals it learnt from."),
                "won": integer("Of them won."),
                "min_closed": integer("Closed deals needed before history is used."),
                "fell_back": integer("Deals shown on their stage weight."),
                "month": text("The month asked for.", null=True),
                "deals": {"type": "array", "items": ref("ForecastDeal")},
                "total": record(
                    "The deals together.",
                    {
                        "deals": integer("How many."),
                        "value": _money("Their value."),
                        "expected_value": _money("Their value x chance."),
                    },
                ),
                "months": {"type": "array", "items": ref("ForecastMonth")},
                "by_owner": {"type": "array", "items": ref("ForecastGroup")},
                "by_channel": {"type": "array", "items": ref("ForecastGroup")},
            },
        ),
    }
