"""Activities over the API (engine.usecases.activities): calls, visits, meetings, e-mails and
messages logged with a customer or a deal.

    POST /activities                          log one: {customer_id | deal_id, kind, at?,
                                              notes?, outcome?, next_step?, next_step_at?}
    GET  /activities?customer_id=N|deal_id=N  a customer's (its deals' included) or a deal's,
                                              newest first

A customer or deal the caller may not see is "not found", word for word like a missing one;
one the caller only reads (the team's read-only sharing) cannot be logged on (403).  The
routes join the API's blueprint (token check, JSON errors); `paths()` and `schemas()` are
their part of the OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationError
from engine.usecases.activities import KINDS, MAX_LINE, MAX_NOTES
from engine.usecases.forms import check_data, load_json_object, make_validator
from engine.usecases.unit import MAX_ID
from webui.api.schemas import (
    DATE_PATTERN,
    answer,
    date_time,
    fails,
    integer,
    operation,
    record,
    ref,
    text,
)
from webui.api.views import _service, _user, bp

__all__ = ["list_activities", "log_activity", "paths", "schemas"]

TAG = "activities"
TARGETS = ("customer_id", "deal_id")


def _one_target(given: dict[str, Any]) -> None:
    """Exactly one of customer_id and deal_id, named when it is not."""
    named = [key for key in TARGETS if given.get(key) not in (None, "")]
    if len(named) != 1:
        raise ValidationError(
            "give either customer_id or deal_id, not both",
            field=named[-1] if named else "customer_id",
        )


@bp.get("/activities")
def list_activities() -> ResponseReturnValue:
    unknown = sorted(set(request.args) - set(TARGETS))
    if unknown:
        raise ValidationError("not a parameter: it takes customer_id or deal_id", field=unknown[0])
    given = {key: request.args.get(key) for key in TARGETS}
    _one_target(given)
    found = _service().activities(_user(), **given)
    return {"activities": found}


@bp.post("/activities")
def log_activity() -> ResponseReturnValue:
    body = load_json_object(request.get_data(as_text=True), what="body")
    known = schemas()["NewActivity"]["properties"]
    unknown = sorted(set(body) - set(known))
    if unknown:  # named, as views._body does: the schema's own message names no field
        raise ValidationError(f"unknown key; the body takes {', '.join(known)}", field=unknown[0])
    _one_target(body)
    check_data(_validator(), body)
    logged = _service().log_activity(
        actor=_user(),
        customer_id=body.get("customer_id"),
        deal_id=body.get("deal_id"),
        kind=body["kind"],
        at=body.get("at"),
        notes=body.get("notes") or "",
        outcome=body.get("outcome"),
        next_step=body.get("next_step"),
        next_step_at=body.get("next_step_at"),
    )
    return dict(logged), 201


@functools.cache
def _validator() -> Any:
    return make_validator(schemas()["NewActivity"])


# --- the OpenAPI document's part -----------------------------------------------------------

_DEAL_ID = {"type": "string", "pattern": "^[0-9]{1,10}$", "examples": ["42"]}


def paths() -> dict[str, Any]:
    """The activity operations, keyed by path."""
    kinds = ", ".join(f"`{k}`" for k in KINDS)
    return {
        "/activities": {
            "get": operation(
                "listActivities",
                TAG,
                "A customer's or a deal's activities, newest first",
                "Give `customer_id` (its own activities and those of its deals you may see) "
                "or `deal_id`, not both: else 422 naming the parameter.  A customer or deal "
                "you may not see is not found, like one that does not exist.",
                {
                    "200": answer("ActivityList", "The activities."),
                    **fails("404", "422"),
                },
                parameters=[
                    {
                        "name": "customer_id",
                        "in": "query",
                        "required": False,
                        "description": "The customer's id.",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    },
                    {
                        "name": "deal_id",
                        "in": "query",
                        "required": False,
                        "description": "The deal's id.",
                        "schema": _DEAL_ID,
                    },
                ],
            ),
            "post": operation(
                "logActivity",
                TAG,
                "Log a call, visit, meeting, e-mail or message",
                f"With a customer (`customer_id`) or one of its deals (`deal_id`), not both. "
                f"`kind` is one of {kinds}; `at` when it happened (ISO 8601; without an "
                "offset, in the team's time zone; default now; not in the future); "
                f"`notes` up to {MAX_NOTES} characters.  The customer's `last_activity_at` "
                "moves to the latest activity's time, its next follow-up to `next_step_at` "
                "when given, and its cadence reminder is over; an activity on a deal is also "
                "the customer's and shows in the deal's timeline.  Bad input is 422 naming "
                "the field; a customer or deal you may not see is 404; one you only read "
                "(a colleague's, shared read only) is 403.",
                {"201": answer("Activity", "Logged."), **fails("403", "404", "422")},
                body="NewActivity",
                example={
                    "deal_id": "42",
                    "kind": "visit",
                    "at": "2026-03-02T10:30:00+08:00",
                    "notes": "Met the plant manager; budget confirmed for Q2.",
                    "outcome": "interested",
                    "next_step": "send the proposal",
                    "next_step_at": "2026-03-09",
                },
            ),
        }
    }


def schemas() -> dict[str, Any]:
    """The activity shapes, for components/schemas."""
    short = {"maxLength": MAX_LINE}
    return {
        "Activity": record(
            "A call, visit, meeting, e-mail or message logged with a customer or a deal.",
            {
                "id": integer("The activity's id."),
                "customer_id": integer("The customer it was with.", null=True),
                "deal_id": text("The deal it was about, if any.", null=True),
                "kind": {"type": "string", "enum": list(KINDS), "description": "What it was."},
                "at": date_time("When it happened.", null=False),
                "by": text("Who logged it (the user)."),
                "notes": text("What was said."),
                "outcome": text("How it went.", null=True),
                "next_step": text("What comes next.", null=True),
                "next_step_at": text("When the next step is due.", null=True, format="date"),
            },
        ),
        "ActivityList": record(
            "Activities, newest first.",
            {"activities": {"type": "array", "items": ref("Activity")}},
        ),
        "NewActivity": {
            "type": "object",
            "description": "An activity to log, with a customer or a deal (one of them).",
            "properties": {
                "customer_id": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_ID,
                    "description": "The customer's id.",
                },
                "deal_id": {
                    "type": ["string", "integer"],
                    "pattern": "^[0-9]{1,10}$",
                    "minimum": 1,
                    "maximum": MAX_ID,
                    "description": "The deal's id (digits as a string, or a number).",
                },
                "kind": {"type": "string", "enum": list(KINDS), "description": "What it was."},
                "at": text(
                    "When it happened (ISO 8601, e.g. 2026-03-02T10:30:00+08:00; without an "
                    "offset, in the team's time zone); default now.",
                    null=True,
                    maxLength=40,
                ),
                "notes": text("What was said.", maxLength=MAX_NOTES),
                "outcome": text("How it went.", null=True, **short),
                "next_step": text("What comes next.", null=True, **short),
                "next_step_at": text(
                    "When the next step is due.", null=True, format="date", pattern=DATE_PATTERN
                ),
            },
            "required": ["kind"],
            "oneOf": [{"required": ["customer_id"]}, {"required": ["deal_id"]}],
            "additionalProperties": False,
        },
    }
