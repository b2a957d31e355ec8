"""What-if simulation over the API (engine.usecases.simulation).

    GET /definitions/{process_id}/simulation   ?draft=true&weeks=52&seed=1&initiative=&faster=

The current version of the process (and the designer's draft, or the change an initiative
proposes) simulated on the team's history, with the validation figure.  Sales managers,
designers and admins (anyone else 403).  The route joins the API's blueprint (token check,
JSON errors); `paths()` and `schemas()` are its part of the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.usecases.simulation import DEFAULT_FASTER, DEFAULT_SEED, DEFAULT_WEEKS, MAX_WEEKS
from engine.usecases.unit import MAX_ID
from webui.api.schemas import answer, fails, operation, record, text
from webui.api.views import _lang, _service, _user, bp

__all__ = ["get_simulation", "paths", "schemas"]

TAG = "definitions"


@bp.get("/definitions/<process_id>/simulation")
def get_simulation(process_id: str) -> ResponseReturnValue:
    user = _user()
    _service().check_may_simulate(user)  # before anything else: a refusal says nothing more
    args = request.args
    initiative = args.get("initiative") or None
    return dict(
        _service().simulate(
            process_id,
            actor=user,
            draft=args.get("draft") == "true",
            initiative=int(initiative) if initiative else None,
            faster=int(args.get("faster") or DEFAULT_FASTER),
            weeks=int(args.get("weeks") or DEFAULT_WEEKS),
            seed=int(args.get("seed") or DEFAULT_SEED),
            lang=_lang(),
        )
    )


# --- the OpenAPI document's part -----------------------------------------------------------


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def paths() -> dict[str, Any]:
    return {
        "/definitions/{process_id}/simulation": {
            "get": operation(
                "simulateDefinition",
                TAG,
                "What-if: the process and its draft simulated on the team's history",
                "Sales managers, designers and admins (anyone else 403).  The current "
                "version is simulated over `weeks` on what the last 52 weeks of history say "
                "(arrivals per week and channel, each element's stays, how often each way "
                "out of a choice was taken, how many deals a person of each role keeps in "
                "hand, the people holding each role); with `draft=true` the designer's "
                "draft beside it (the caller's own, else the one saved last: 404 without "
                "one), with `initiative` the change that initiative proposes (its tasks "
                "`faster` per cent faster).  `validation` replays the history's period on "
                "the current version: actual and simulated median sales cycle and wins, "
                "and whether they agree within the stated tolerance.  The same seed gives "
                "the same answer.",
                {"200": answer("Simulation", "The simulation."), **fails("403", "404", "422")},
                parameters=[
                    {"$ref": "#/components/parameters/ProcessId"},
                    _query(
                        "draft",
                        "`true`: simulate the designer's draft beside the current version.",
                        {"type": "string", "enum": ["true", "false"]},
                    ),
                    _query(
                        "weeks",
                        f"How many weeks to simulate ({DEFAULT_WEEKS}).",
                        {"type": "integer", "minimum": 1, "maximum": MAX_WEEKS},
                    ),
                    _query(
                        "seed",
                        f"The random seed ({DEFAULT_SEED}): the same seed, the same answer.",
                        {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    ),
                    _query(
                        "initiative",
                        "An optimisation initiative of this process: simulate its change.",
                        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    ),
                    _query(
                        "faster",
                        f"With `initiative`: its tasks this many per cent faster "
                        f"({DEFAULT_FASTER}).",
                        {"type": "integer", "minimum": 1, "maximum": 90},
                    ),
                ],
            )
        }
    }


_DAYS = {"type": "number", "minimum": 0}
_COUNT = {"type": "integer", "minimum": 0}


def schemas() -> dict[str, Any]:
    """The simulation's shapes, for components/schemas."""
    task = record(
        "A task (or a waiting event) of the chart.",
        {
            "element_id": text("The BPMN element id."),
            "name": text("Its name, in the language asked for."),
            "role": text("The role that does it; empty for what runs by itself."),
            "count": {**_COUNT, "description": "Times it was done in the window."},
            "wait_days_p50": {**_DAYS, "description": "Median wait for someone free."},
            "work_days_p50": {**_DAYS, "description": "Median time it took once begun."},
            "queue": {**_DAYS, "description": "Deals waiting there on an average day."},
            "deals_here": {**_DAYS, "description": "Deals there on an average day."},
            "source": {
                "type": "string",
                "enum": ["history", "designer", "role", "none"],
                "description": "Where its duration came from: history, the designer's "
                "`duration` property, the median of the role's tasks (a new task), none.",
            },
        },
    )
    bottleneck = record(
        "Where deals queue the most (`queue`), or spend the most time when none queue.",
        {
            "element_id": text("The BPMN element id."),
            "name": text("Its name."),
            "role": text("The role that does it."),
            "wait_days_p50": _DAYS,
            "work_days_p50": _DAYS,
            "queue": _DAYS,
            "reason": {"type": "string", "enum": ["queue", "time"]},
        },
    )
    role = record(
        "A role of the chart and its capacity.",
        {
            "role": text("The lane's name."),
            "people": {**_COUNT, "description": "Active users holding it."},
            "slots": {**_COUNT, "description": "Deals its people keep in hand at once."},
            "hours_per_week": {**_DAYS, "description": "Its people's hours on the calendar."},
            "utilisation": {**_DAYS, "description": "Share of the slots in use (0 to 1)."},
            "wait_days_p50": _DAYS,
            "wait_days_p90": _DAYS,
            "queue": {**_DAYS, "description": "Deals waiting for it on an average day."},
        },
    )
    figures = {"cycle_days_p50": _DAYS, "won": _COUNT}
    relative = {"type": ["number", "null"], "description": "(simulated - actual) / actual."}
    validation = record(
        "The current version replayed over the history's period.",
        {
            "period": record(
                "The period.",
                {
                    "from": text("Start (ISO 8601)."),
                    "to": text("End (ISO 8601)."),
                    "weeks": _DAYS,
                    "deals": _COUNT,
                },
            ),
            "actual": record("What happened.", figures),
            "simulated": record("What the simulation made of it.", figures),
            "error": record("Relative errors.", {"cycle_days_p50": relative, "won": relative}),
            "tolerance": record(
                "Agreement within `relative`, or within the absolute slack.",
                {"relative": _DAYS, "cycle_days": _DAYS, "won": _COUNT},
            ),
            "within": {"type": "boolean"},
            "comparable": {
                "type": "boolean",
                "description": "False when no deal was won in the period.",
            },
        },
    )
    result = record(
        "One version's simulated figures.",
        {
            "deals": {**_COUNT, "description": "Deals that arrived in the window."},
            "won": {**_COUNT, "description": "Deals won in the window."},
            "cut": {**_COUNT, "description": "Deals stopped in a loop (step limit)."},
            "cycle_days": record(
                "Sales cycle (start to win) of the deals won in the window.",
                {
                    "p50": _DAYS,
                    "p90": _DAYS,
                    "histogram": {
                        "type": "array",
                        "items": record(
                            "A bin of cycle days.",
                            {"from": _DAYS, "to": _DAYS, "deals": _COUNT},
                        ),
                    },
                },
            ),
            "won_per_month": _DAYS,
            "roles": {"type": "array", "items": role},
            "tasks": {"type": "array", "items": task},
            "bottleneck": {"oneOf": [bottleneck, {"type": "null"}]},
            "heat": record(
                "For the chart: deals at each element on an average day, median stays.",
                {
                    "deals": _COUNT,
                    "here_now": {"type": "object", "additionalProperties": _COUNT},
                    "median_seconds": {"type": "object", "additionalProperties": _DAYS},
                },
            ),
            "validation": validation,
        },
    )
    nullable_result = {"oneOf": [result, {"type": "null"}]}
    return {
        "Simulation": record(
            "The current version and the change, side by side.",
            {
                "process_id": text("The process."),
                "version": {**_COUNT, "description": "Its current version."},
                "weeks": _COUNT,
                "seed": _COUNT,
                "phases": _COUNT,
                "history": record(
                    "What the figures were fitted on.",
                    {
                        "from": text("Start (ISO 8601)."),
                        "to": text("End (ISO 8601)."),
                        "weeks": _DAYS,
                        "deals": _COUNT,
                        "won": _COUNT,
                        "arrivals_per_week": _DAYS,
                        "channels": {
                            "type": "array",
                            "items": record(
                                "Arrivals of one lead channel.",
                                {"channel": text("The channel."), "per_week": _DAYS},
                            ),
                        },
                        "hours_per_week": _DAYS,
                    },
                ),
                "current": result,
                "draft": nullable_result,
                "change": {
                    "type": ["object", "null"],
                    "description": "What the draft side is: `kind` draft (`saved_by`, "
                    "`saved_at`, `base_version`) or initiative (`initiative`, `faster`).",
                },
                "warnings": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "code": text("no_history, few_deals, role_unheld, cut."),
                            "message": text("In English."),
                        },
                        "required": ["code", "message"],
                    },
                },
            },
        )
    }
