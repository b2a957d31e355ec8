"""Optimisation initiatives over the API (engine.usecases.initiatives): initiatives, their
execution table rows and weekly reviews.

    GET   /initiatives                              every initiative, newest first
    POST  /initiatives                              {"name", "process_id", "lead"?, "effective_at"?}
    GET   /initiatives/{initiative_id}              rows, latest reviews and the effect
    POST  /initiatives/{initiative_id}/rows         a new row (task and owner needed)
    PATCH /initiatives/{initiative_id}/rows/{row_id}  the fields sent change, the rest stays
    PATCH /initiatives/{initiative_id}/rows         {"rows": {row id: fields}}: the table at
                                                    once, all rows or none
    POST  /initiatives/{initiative_id}/reviews      {"notes"?}: the weekly review

Every token's user reads; sales managers and admins start initiatives; the lead, sales
managers and admins add rows, change any field and record reviews; a row's owner changes its
progress (status, actual_date, notes, contact).  Anyone else gets 403.  Invalid data is 422
with `field` (an owner that is a team, a role or a list: `owner`; elements that are not in the
sales process: `elements`), an unknown initiative or row 404.  `paths()` and `schemas()` are
this module's part of the OpenAPI document, merged in by document.py.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import ValidationError
from engine.usecases.forms import check_data, load_json_object, make_validator
from engine.usecases.initiatives import ROW_STATUSES
from webui.api.schemas import answer, fails, integer, operation, record, ref, text
from webui.api.views import _service, _user, bp

__all__ = ["paths", "schemas"]

TAG = "initiatives"
NOT_BLANK = "\\S"  # the engine strips text: one character other than a space
# The lengths are engine.core.initiatives.LIMITS and MAX_ELEMENTS (tests/security keep them
# in step), checked here by the body's schema before the engine sees it.


@functools.cache
def _validator(name: str) -> Any:
    return make_validator(schemas()[name])


def _body(schema: str) -> dict[str, Any]:
    """The JSON object sent (none is an empty one), checked against its documented schema:
    no other key, and each of the right type."""
    body = load_json_object(request.get_data(as_text=True), what="body")
    keys = list(schemas()[schema]["properties"])
    unknown = sorted(set(body) - set(keys))
    if unknown:
        raise ValidationError(f"unknown key; the body takes {', '.join(keys)}", field=unknown[0])
    check_data(_validator(schema), body)
    return body


@bp.get("/initiatives")
def list_initiatives() -> ResponseReturnValue:
    return {"items": _service().initiatives()}


@bp.post("/initiatives")
def create_initiative() -> ResponseReturnValue:
    service = _service()
    service.check_may_create_initiative(_user())  # who asks, before what they sent
    body = _body("NewInitiative")
    made = service.create_initiative(
        name=body.get("name", ""),
        process_id=body.get("process_id", ""),
        lead=body.get("lead", _user()),
        effective_at=body.get("effective_at"),
        actor=_user(),
    )
    location = url_for(".get_initiative", initiative_id=made["id"])
    return service.initiative(made["id"]), 201, {"Location": location}


@bp.get("/initiatives/<initiative_id>")
def get_initiative(initiative_id: str) -> ResponseReturnValue:
    return _service().initiative(initiative_id)


@bp.post("/initiatives/<initiative_id>/rows")
def add_initiative_row(initiative_id: str) -> ResponseReturnValue:
    row = _service().add_initiative_row(initiative_id, _body("InitiativeRowFields"), actor=_user())
    return row, 201


@bp.patch("/initiatives/<initiative_id>/rows/<row_id>")
def update_initiative_row(initiative_id: str, row_id: str) -> ResponseReturnValue:
    changes = _body("InitiativeRowFields")
    return _service().update_initiative_row(initiative_id, row_id, changes, actor=_user())


@bp.patch("/initiatives/<initiative_id>/rows")
def update_initiative_rows(initiative_id: str) -> ResponseReturnValue:
    body = _body("InitiativeTableChanges")
    changed = _service().update_initiative_rows(initiative_id, body.get("rows", {}), actor=_user())
    return {"rows": changed}


@bp.post("/initiatives/<initiative_id>/reviews")
def record_initiative_review(initiative_id: str) -> ResponseReturnValue:
    body = _body("InitiativeReviewRequest")
    review = _service().record_review(initiative_id, actor=_user(), notes=body.get("notes", ""))
    return review, 201


# --- the OpenAPI document's part -----------------------------------------------------------


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "examples": ["1"]},
    }


INITIATIVE_ID = _path("initiative_id", "The initiative's id.")
ROW_ID = _path("row_id", "The row's id.")


def _op(operation_id: str, summary: str, description: str, *args: Any, **more: Any) -> Any:
    return operation(operation_id, TAG, summary, description, *args, **more)


_ROW_EXAMPLE = {
    "stage": "Needs analysis",
    "task": "Standard pain-point survey",
    "owner": "li.na",
    "planned_date": "2026-03-05",
    "status": "in progress",
    "contact": "",
    "elements": ["task_needs_analysis"],
}


def paths() -> dict[str, Any]:
    """The initiative operations, keyed by path."""
    one = [INITIATIVE_ID]
    return {
        "/initiatives": {
            "get": _op(
                "listInitiatives",
                "The optimisation initiatives",
                "Every initiative, newest first, with how many of its rows are in each status "
                "and how many are flagged.  Every user may read them.",
                {"200": answer("InitiativeList", "The initiatives.")},
            ),
            "post": _op(
                "startInitiative",
                "Start an optimisation initiative",
                "Starts the initiative process for its lead (default: the caller), who must "
                "hold the Sales Manager role, and keeps the initiative beside it.  "
                "`effective_at` is when its changes take effect (a date, or an ISO time; "
                "default now): the effect compares the deals before it with those after it.  "
                "Sales managers and admins only.",
                {
                    "201": answer("Initiative", "Started; `Location` is its URL."),
                    **fails("403", "409", "422"),
                },
                body="NewInitiative",
                example={
                    "name": "Cut needs-analysis time by 20%",
                    "process_id": "sales_pipeline",
                    "lead": "zhang.wei",
                    "effective_at": "2026-03-02",
                },
            ),
        },
        "/initiatives/{initiative_id}": {
            "get": _op(
                "getInitiative",
                "One initiative: its execution table, reviews and effect",
                "The rows in table order, the latest weekly reviews, and the effect: for the "
                "elements the rows link, the deals' time in the element and their conversion "
                "before against after `effective_at`, with the counts behind each figure.",
                {"200": answer("Initiative", "The initiative."), **fails("404")},
                parameters=one,
            )
        },
        "/initiatives/{initiative_id}/rows": {
            "post": _op(
                "addInitiativeRow",
                "Add a row to the execution table",
                "`task` and `owner` are needed.  The owner is exactly one active user: a role, "
                "a team or a list is refused (422 on `owner`).  `elements` are element ids of "
                "the sales process's current version.  The lead, sales managers and admins.",
                {
                    "201": answer("InitiativeRow", "The new row."),
                    **fails("403", "404", "422"),
                },
                parameters=one,
                body="InitiativeRowFields",
                example=_ROW_EXAMPLE,
            ),
            "patch": _op(
                "updateInitiativeRows",
                "Save the execution table at once",
                "`rows`: row id -> the fields sent for it, by the rule of updateInitiativeRow.  "
                "Only the fields that differ from the row's change; a row sent as it is keeps "
                "its `updated_at`.  All rows or none: a bad field anywhere changes nothing, and "
                "the 422 lists every bad field (`errors`, each named `<row id>.<field>`).  "
                "Answers the rows changed.",
                {
                    "200": answer("InitiativeRowList", "The rows changed."),
                    **fails("403", "404", "422"),
                },
                parameters=one,
                body="InitiativeTableChanges",
                required=False,  # no body: nothing changes
                example={"rows": {"1": {"status": "in progress"}, "2": {"notes": "Sent"}}},
            ),
        },
        "/initiatives/{initiative_id}/rows/{row_id}": {
            "patch": _op(
                "updateInitiativeRow",
                "Change a row (only the fields sent)",
                "The lead, sales managers and admins change any field; the row's owner its "
                "progress (`status`, `actual_date`, `notes`, `contact`).  A status other than "
                "`blocked` clears the row's flag.  `null` clears a date.",
                {"200": answer("InitiativeRow", "The row now."), **fails("403", "404", "422")},
                parameters=[INITIATIVE_ID, ROW_ID],
                body="InitiativeRowFields",
                required=False,  # no body: nothing changes
                example={"status": "blocked", "notes": "Customers resist the survey"},
            )
        },
        "/initiatives/{initiative_id}/reviews": {
            "post": _op(
                "recordInitiativeReview",
                "Record the weekly review",
                "Lists the blocked rows; a row blocked at three consecutive reviews is flagged, "
                "and the initiative's process raises its Re-evaluate direction task for the "
                "lead.  The review completes the process's Weekly review task (ending the "
                "week's wait if it still runs); a process in another phase is left as it is "
                "(`process.advanced` false).  The lead, sales managers and admins.",
                {
                    "201": answer("InitiativeReviewResult", "The review and what it caused."),
                    **fails("403", "404", "409", "422"),
                },
                parameters=one,
                body="InitiativeReviewRequest",
                required=False,  # no body: a review without notes
                example={"notes": "The survey is still blocked: customers resist it."},
            )
        },
    }


def _number(description: str, *, null: bool = True) -> dict[str, Any]:
    return {"type": ["number", "null"] if null else "number", "description": description}


def schemas() -> dict[str, Any]:
    """The schemas the initiative operations use, built afresh on each call."""
    status = {"type": "string", "enum": list(ROW_STATUSES), "description": "The row's status."}
    summary = {
        "id": integer("The initiative's id."),
        "name": text("Its name."),
        "process_id": text("The sales process it improves."),
        "lead": text("The user who leads it (holds the Sales Manager role)."),
        "effective_at": text(
            "When its changes took effect: the before/after line.", null=True, format="date-time"
        ),
        "instance_id": text("Its run of the initiative process (a deal id).", null=True),
        "status": text("That run's status (running, completed, ...).", null=True),
        "created_at": text("When it was started.", format="date-time"),
        "created_by": text("Who started it.", null=True),
    }
    fields = {
        "stage": text("The stage the task improves.", maxLength=200),
        "task": text("What is done.", maxLength=2000),
        "owner": text("Exactly one responsible person: a user name."),
        "planned_date": text("The deadline.", null=True, format="date"),
        "actual_date": text("When it was done (not after today).", null=True, format="date"),
        "status": status,
        "notes": text("Notes.", maxLength=5000),
        "contact": text(
            "The contact person in another department, if the task needs one.", maxLength=200
        ),
        "elements": {
            "type": "array",
            "maxItems": 50,
            "items": {"type": "string"},
            "description": "Element ids of the sales process that the task changes.",
        },
    }
    review = {
        "id": integer("The review's id."),
        "at": text("When.", format="date-time"),
        "by": text("Who recorded it.", null=True),
        "blocked_rows": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "The rows blocked at the review.",
        },
        "notes": text("Notes of the review."),
    }
    figures = {
        "passes": integer("How many times deals passed the element."),
        "deals": integer("How many deals did."),
        "mean_seconds": _number("Their mean time in the element."),
        "min_seconds": _number("The shortest."),
        "max_seconds": _number("The longest."),
        "won": integer("Of those deals, how many were won."),
        "lost": integer("How many were lost."),
        "conversion": _number("won / (won + lost); null while none is decided."),
    }
    return {
        "InitiativeRow": record(
            "A row of the execution table.",
            {
                "id": integer("The row's id."),
                **fields,
                "flagged": {
                    "type": "boolean",
                    "description": "Blocked at three or more consecutive weekly reviews.",
                },
                "blocked_reviews": integer("Consecutive weekly reviews that found it blocked."),
                "updated_at": text("Its last change.", null=True, format="date-time"),
                "updated_by": text("Who made it.", null=True),
            },
        ),
        "InitiativeRowFields": {
            "type": "object",
            "description": "Fields of a row; a new row needs `task` and `owner`.",
            "properties": fields,
            "additionalProperties": False,
        },
        "InitiativeRowList": record(
            "Rows of the execution table.",
            {"rows": {"type": "array", "items": ref("InitiativeRow")}},
        ),
        "InitiativeTableChanges": {
            "type": "object",
            "description": "The execution table's changes: row id -> the fields of that row.",
            "properties": {
                "rows": {
                    "type": "object",
                    "description": "Row id -> the fields sent for it.",
                    "maxProperties": 500,
                    "propertyNames": {"pattern": "^[0-9]{1,12}$"},
                    "additionalProperties": {
                        "type": "object",
                        "properties": fields,
                        "additionalProperties": False,
                    },
                }
            },
            "additionalProperties": False,
        },
        "InitiativeReview": record("A weekly review.", review),
        "InitiativeReviewRequest": {
            "type": "object",
            "description": "The weekly review.",
            "properties": {"notes": text("Notes of the review.", maxLength=5000)},
            "additionalProperties": False,
        },
        "InitiativeReviewResult": record(
            "A recorded review, the rows flagged now, and what the process did.",
            {
                **review,
                "flagged_rows": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "Every row flagged after the review.",
                },
                "process": {
                    "type": "object",
                    "description": "What the initiative's process did.",
                    "properties": {
                        "advanced": {
                            "type": "boolean",
                            "description": "The review completed its Weekly review task.",
                        },
                        "status": text("The process's status.", null=True),
                        "open": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "The element ids of its open tasks now.",
                        },
                        "re_evaluation_task": text(
                            "The Re-evaluate direction task raised by this review (its id)."
                        ),
                    },
                    "required": ["advanced", "status", "open"],
                },
            },
        ),
        "InitiativeEffectFigures": record("The figures of one period.", figures),
        "InitiativeEffectElement": record(
            "One linked element, before and after.",
            {
                "element_id": text("The element."),
                "name": text("Its name."),
                "before": ref("InitiativeEffectFigures"),
                "after": ref("InitiativeEffectFigures"),
                "time_change": _number("after / before mean time - 1 (-0.25: a quarter faster)."),
                "conversion_change": _number("after - before conversion."),
            },
        ),
        "InitiativeEffect": record(
            "Before against after `effective_at`, for the elements the rows link.",
            {
                "effective_at": text("The line.", null=True, format="date-time"),
                "elements": {"type": "array", "items": ref("InitiativeEffectElement")},
            },
        ),
        "InitiativeSummary": record(
            "An initiative in the list.",
            {
                **summary,
                "counts": {
                    "type": "object",
                    "description": "Rows per status, and how many are flagged.",
                    "additionalProperties": {"type": "integer"},
                },
            },
        ),
        "InitiativeList": record(
            "The initiatives.",
            {"items": {"type": "array", "items": ref("InitiativeSummary")}},
        ),
        "Initiative": record(
            "An initiative with its execution table, latest reviews and effect.",
            {
                **summary,
                "rows": {"type": "array", "items": ref("InitiativeRow")},
                "reviews": {"type": "array", "items": ref("InitiativeReview")},
                "effect": ref("InitiativeEffect"),
            },
        ),
        "NewInitiative": {
            "type": "object",
            "description": "A new initiative.",
            "properties": {
                "name": text("Its name.", pattern=NOT_BLANK, maxLength=300),
                "process_id": text("The sales process it improves.", pattern=NOT_BLANK),
                "lead": text("Its lead (default: the caller); holds the Sales Manager role."),
                "effective_at": text("A date (YYYY-MM-DD) or an ISO time; default now."),
            },
            "required": ["name", "process_id"],
            "additionalProperties": False,
        },
    }
