"""Deals in error over the API (engine.usecases.incidents): list them, retry, skip, cancel.

    GET  /incidents                     the deals in error, newest first
    POST /deals/{instance_id}/retry     {"data"?: values to set}  run the failed element again
    POST /deals/{instance_id}/skip      mark the failed element done, go on
    POST /deals/{instance_id}/cancel    {"reason"}  stop the deal

Sales managers and admins only (403 for anyone else); a deal the caller may not see is "not
found" first, word for word like a missing one.  A deal not in error is 409; a retry or skip
whose element fails again is 422 (nothing changed).  An incident's `text` says what failed in
the language of Accept-Language; `message` keeps the engine's English.  The routes join the
API's blueprint (token check, JSON errors); `paths()` and `schemas()` are their part of the
OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.usecases.forms import check_data, load_json_object, make_validator
from engine.usecases.incidents import MAX_REASON
from webui.api.schemas import answer, fails, operation, record, ref, text
from webui.api.schemas import schemas as base_schemas
from webui.api.views import (
    DEFAULT_LIMIT,
    MAX_INT,
    MAX_LIMIT,
    _int_arg,
    _lang,
    _service,
    _user,
    _visible_deal,
    bp,
)

__all__ = ["cancel_deal", "list_incidents", "paths", "retry_deal", "schemas", "skip_deal"]

TAG = "incidents"


@bp.get("/incidents")
def list_incidents() -> ResponseReturnValue:
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_arg("offset", 0, 0, MAX_INT) or 0
    items = _service().incidents(user=_user(), limit=limit, offset=offset, lang=_lang())
    return {"items": items, "limit": limit, "offset": offset}


@bp.post("/deals/<instance_id>/retry")
def retry_deal(instance_id: str) -> ResponseReturnValue:
    _visible_deal(instance_id)
    body = _body("IncidentRetry")
    return _service().retry(instance_id, user=_user(), data=body.get("data"))


@bp.post("/deals/<instance_id>/skip")
def skip_deal(instance_id: str) -> ResponseReturnValue:
    _visible_deal(instance_id)
    return _service().skip(instance_id, user=_user())


@bp.post("/deals/<instance_id>/cancel")
def cancel_deal(instance_id: str) -> ResponseReturnValue:
    _visible_deal(instance_id)
    body = _body("IncidentCancel")
    return _service().cancel(instance_id, user=_user(), reason=body["reason"])


@functools.cache
def _validator(name: str) -> Any:
    return make_validator(schemas()[name])


def _body(name: str) -> dict[str, Any]:
    """The JSON object sent (none is an empty one), checked against its documented schema."""
    body = load_json_object(request.get_data(as_text=True), what="body")
    check_data(_validator(name), body)
    return body


# --- the OpenAPI document's part -----------------------------------------------------------


def _op(
    operation_id: str,
    summary: str,
    description: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """An incident operation: on a deal unless told otherwise, for managers only (403)."""
    return operation(
        operation_id,
        TAG,
        summary,
        description,
        {**responses, **fails("403")},
        parameters=parameters or [{"$ref": "#/components/parameters/InstanceId"}],
        **more,
    )


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "integer", **schema},
    }


def paths() -> dict[str, Any]:
    """The incident operations, keyed by path."""
    done = answer("IncidentResult", "Done: the deal's status now, and its next incident if any.")
    return {
        "/incidents": {
            "get": _op(
                "listIncidents",
                "The deals in error",
                "Deals whose process stopped at a failing expression, script or service call, "
                "newest first, each with its incident.  For sales managers and admins.",
                {"200": answer("IncidentList", "A page of incidents."), **fails("422")},
                parameters=[
                    _query("limit", "Page size.", minimum=1, maximum=MAX_LIMIT, default=50),
                    _query("offset", "Incidents to skip.", minimum=0, maximum=MAX_INT, default=0),
                ],
            )
        },
        "/deals/{instance_id}/retry": {
            "post": _op(
                "retryDeal",
                "Run the failed element again, on corrected data",
                "The failed element runs again on its input data, with the values in `data` "
                "set first (names not given keep their values).  Failing at the same element "
                "again changes nothing (422); failing further on is the deal's next incident.",
                {"200": done, **fails("404", "409", "422")},
                body="IncidentRetry",
                required=False,
                example={"data": {"quantity": 2}},
            )
        },
        "/deals/{instance_id}/skip": {
            "post": _op(
                "skipDeal",
                "Mark the failed element done without running it, and go on",
                "A gateway decides which way the deal goes and cannot be skipped (409): "
                "retry it on corrected data instead.",
                {"200": done, **fails("404", "409", "422")},
            )
        },
        "/deals/{instance_id}/cancel": {
            "post": _op(
                "cancelDeal",
                "Stop a deal in error, with a reason",
                "The deal's status becomes `cancelled`; its open tasks and timers go.",
                {"200": done, **fails("404", "409", "422")},
                body="IncidentCancel",
                example={"reason": "The customer withdrew the order."},
            )
        },
    }


def schemas() -> dict[str, Any]:
    """The schemas the incident operations use, built afresh on each call."""
    summary = base_schemas()["DealSummary"]["properties"]
    return {
        "IncidentError": record(
            "Where and why a deal stopped.",
            {
                "element_id": text("The failed BPMN element.", null=True),
                "element_name": text("Its name.", null=True),
                "task_id": text("The failed task (a UUID).", null=True),
                "message": text("What failed, as the engine or a library reported it (English)."),
                "text": text(
                    "What failed, worded in the language of Accept-Language (English when none "
                    "is given); a library's text no wording covers is kept inside it as it is."
                ),
                "detail": text(
                    "The message, when `text` says it in other words: the technical detail.",
                    null=True,
                ),
                "data": {"description": "The data the element saw when it failed."},
                "at": text("When it failed.", null=True, format="date-time"),
                "skippable": {
                    "type": "boolean",
                    "description": "False for a gateway: it can only be retried.",
                },
            },
        ),
        "Incident": record(
            "A deal in error with its incident.",
            {**summary, "error": ref("IncidentError")},
        ),
        "IncidentList": record(
            "A page of incidents.",
            {
                "items": {"type": "array", "items": ref("Incident")},
                "limit": {"type": "integer", "description": "The page size asked for."},
                "offset": {"type": "integer", "description": "How many were skipped."},
            },
        ),
        "IncidentResult": record(
            "What a retry, skip or cancel left.",
            {
                "instance_id": summary["instance_id"],
                "status": summary["status"],
                "error": {
                    "type": ["object", "null"],
                    "description": "The deal's next incident (an IncidentError), or null.",
                },
            },
        ),
        "IncidentRetry": {
            "type": "object",
            "description": "Values to set on the failed element's data before it runs again.",
            "properties": {
                "data": {"type": "object", "description": "Names and their corrected values."}
            },
            "additionalProperties": False,
        },
        "IncidentCancel": {
            "type": "object",
            "description": "Why the deal is stopped (kept in its history).",
            "properties": {"reason": text("The reason.", minLength=1, maxLength=MAX_REASON)},
            "required": ["reason"],
            "additionalProperties": False,
        },
    }
