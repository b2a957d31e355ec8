"""The OpenAPI 3.1 document of the JSON API: every operation of webui/api/views.py.

Written by hand as data next to the views it describes; tests keep the two in step (every
route documented, every documented operation routed, real responses valid against the
schemas, and the document valid for openapi-spec-validator).
"""

from __future__ import annotations

import copy
from typing import Any

from engine.usecases.deals import SORTS
from engine.usecases.unit import MAX_ID
from webui.api.schemas import DEAL_STATUSES, answer, fails, operation, schemas

__all__ = ["SECURITY_SCHEME", "document"]

SECURITY_SCHEME = "bearer"


def _param(name: str, where: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }


SORT_KEYS = tuple(SORTS)  # what a deal list sorts by


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return _param(name, "query", description, schema or {"type": "string"})


def _uses(*names: str) -> list[dict[str, Any]]:
    return [{"$ref": f"#/components/parameters/{n}"} for n in names]


def _parameters() -> dict[str, Any]:
    return {
        "InstanceId": _param(
            "instance_id", "path", "The deal's id.", {"type": "string", "examples": ["42"]}
        ),
        "TaskId": _param("task_id", "path", "The task's id (a UUID).", {"type": "string"}),
        "ProcessId": _param(
            "process_id",
            "path",
            "The process id.",
            {"type": "string", "examples": ["sales_pipeline"]},
        ),
        "Format": _param(
            "format",
            "path",
            "The chart's file type.",
            {"type": "string", "enum": ["svg", "png", "pdf"]},
        ),
        "Layout": _query(
            "layout",
            "`drawn`: as the designer drew it (BPMN DI; the default when present); "
            "`auto`: laid out by graphviz.",
            type="string",
            enum=["drawn", "auto"],
        ),
        "Paper": _query(
            "paper",
            "A PDF's landscape pages: `a4` (the default, 842 x 595 pt) or `a3` (1191 x 842 "
            "pt).  The chart is scaled to one page when its 9 pt names still print at 6 pt or "
            "more, otherwise tiled over several pages that overlap a little; every page has a "
            "header (the deal's or process's name, page n/N, row and column of a tile, scale) "
            "and, on a deal's chart or a heatmap, the legend of its colours, in the language "
            "of Accept-Language.  Only a PDF has pages: with svg or png, `paper` is 422.",
            type="string",
            enum=["a4", "a3"],
        ),
    }


def _error(description: str) -> dict[str, Any]:
    return answer("Error", description)


def _responses() -> dict[str, Any]:
    return {
        "Unauthorized": {
            **_error("No token, or a token that is unknown, revoked or of an inactive user."),
            "headers": {
                "WWW-Authenticate": {
                    "description": '`Bearer realm="salesflow"`, with `error="invalid_token"` '
                    "when a token was sent but is not valid.",
                    "schema": {"type": "string"},
                }
            },
        },
        "Forbidden": _error("The caller may not do this (e.g. does not hold the task's lane)."),
        "NotFound": _error("No such id, or a deal the caller may not see (the two look the same)."),
        "Conflict": _error("The task was completed or taken meanwhile; nothing was changed."),
        "Invalid": _error(
            "Invalid data: bad JSON (NaN and Infinity, integers beyond 64 bits and nesting "
            "deeper than 32 levels included), wrong types, a form that fails its schema, or a "
            "process expression that fails on the data."
        ),
        "TooLarge": _error(
            "The body is larger than the server accepts (SALESFLOW_MAX_BODY_BYTES, 10 MB "
            "unless set); it was not read."
        ),
        "Unavailable": {
            **_error(
                "The database cannot be written now (disk full, read-only, its server gone); "
                "nothing was changed and what was saved before is safe.  Try again later."
            ),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            },
        },
    }


WRITES = ("post", "put", "patch", "delete")


def _what_every_operation_may_answer(paths: dict[str, Any]) -> None:
    """413 on every operation that takes a body: the limit holds for all of them.  503 on
    every operation that writes: the database may be out of space, read-only or gone."""
    for item in paths.values():
        for method, op in item.items():
            more = ["413"] if "requestBody" in op else []
            more += ["503"] if method in WRITES else []
            for code in more:
                op["responses"].setdefault(code, fails(code)[code])
            op["responses"] = dict(sorted(op["responses"].items()))


def _chart(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "image/svg+xml": {"schema": {"type": "string"}},
            "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
            "application/pdf": {
                "schema": {"type": "string", "contentMediaType": "application/pdf"}
            },
        },
    }


_LEAD = {
    "company": "ACME",
    "contact": "Li Wei, +86 21 5555 0100",
    "source_channel": "referral",
    "annual_revenue": 8000000,
    "intent": "high",
}
_QUALIFIED = {
    "annual_revenue": 8000000,
    "intent": "high",
    "decision_chain": "known",
    "industry": "manufacturing",
    "region": "Shanghai",
}


def _paths() -> dict[str, Any]:
    deal_filters = [
        _query("status", "Only deals with this status.", type="string", enum=DEAL_STATUSES),
        _query("stage", "Only deals in this sales stage."),
        _query("owner", "Only deals this user owns."),
        _query("tier", "Only leads of this grade (A, B, C)."),
        _query("source", "Only leads from this source channel."),
        _query("process", "Only deals of this process."),
        _query("q", "Deals whose name contains this text (any case)."),
        _query(
            "sort",
            "Order by this column, descending with a leading '-' (empty values last): "
            + ", ".join(SORT_KEYS)
            + ".  Oldest first without it.",
            type="string",
            enum=[*SORT_KEYS, *(f"-{k}" for k in SORT_KEYS)],
        ),
        _query("limit", "Page size.", type="integer", minimum=1, maximum=200, default=50),
        _query("offset", "Deals to skip.", type="integer", minimum=0, maximum=MAX_ID, default=0),
    ]
    return {
        "/deals": {
            "get": operation(
                "listDeals",
                "deals",
                "List the deals you may see",
                "A rep sees the deals they own, work on or have worked on, and those with a "
                "task in their queues; a manager sees the team's deals.  Oldest first.",
                {"200": answer("DealList", "A page of deals."), **fails("422")},
                parameters=deal_filters,
            ),
            "post": operation(
                "startDeal",
                "deals",
                "Start a deal",
                "Starts the process with the start form's data, checked against its form.  "
                "The process says who may start it (its starting roles): anyone else gets "
                "403.  `owner` must be an active user who may own the deal, `process_id` a "
                "deployed process and `version` one of its versions, `amount` (the deal's "
                "value) a number from 0 and `expected_close` a date YYYY-MM-DD: else 422 on "
                "that field.",
                {
                    "201": {
                        **answer("StartedDeal", "Started; `Location` is the deal's URL."),
                        "headers": {
                            "Location": {
                                "description": "The new deal's URL.",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    **fails("403", "422"),
                },
                body="NewDeal",
                example={
                    "process_id": "sales_pipeline",
                    "data": _LEAD,
                    "amount": 240000,
                    "expected_close": "2026-06-30",
                },
            ),
        },
        "/deals/{instance_id}": {
            "get": operation(
                "getDeal",
                "deals",
                "One deal: position, data, open tasks, timers, history",
                "",
                {"200": answer("Deal", "The deal."), **fails("404")},
                parameters=_uses("InstanceId"),
            )
        },
        "/deals/{instance_id}/lost": {
            "post": operation(
                "markDealLost",
                "deals",
                "Mark an open deal lost, from any stage",
                "Its owner or a sales manager (or an admin) ends the deal as lost with a reason "
                "from its process's lost-reason list: its running tasks are cancelled, its "
                "stage becomes `lost` and its outcome `lost` with that `lost_reason`, its "
                "history says who did it and why, and the reports count it.  Anyone else who "
                "may see the deal gets 403; a deal already finished 409; a reason missing or "
                "not on the list 422 (the body is checked first).",
                {
                    "200": answer("DealSummary", "The deal, lost."),
                    **fails("403", "404", "409", "422"),
                },
                parameters=_uses("InstanceId"),
                body="LostDeal",
                example={"reason": "price too high"},
            )
        },
        "/deals/{instance_id}/diagram.{format}": {
            "get": operation(
                "getDealDiagram",
                "deals",
                "The deal's flowchart",
                "The path taken, the open tasks and any error, drawn on the deal's process.",
                {"200": _chart("The chart."), **fails("404", "422")},
                parameters=[*_uses("InstanceId", "Format", "Layout", "Paper")],
            )
        },
        "/board": {
            "get": operation(
                "getBoard",
                "deals",
                "The pipeline board of a process: deals, value and weighted value per stage",
                "Per stage of the process (in its order; its end stages `won` and `lost` only "
                "while a running deal is in them), the running deals you may see: how many, "
                "their value total, and the weighted pipeline (value times the stage's "
                "probability).  A process not deployed is 404; a query parameter other than "
                "`process` is 422.",
                {"200": answer("Board", "The stages."), **fails("404", "422")},
                parameters=[
                    _query(
                        "process",
                        "The process whose board you want (default `sales_pipeline`).",
                        type="string",
                        minLength=1,
                        maxLength=200,
                    )
                ],
            )
        },
        "/tasks": {
            "get": operation(
                "listTasks",
                "tasks",
                "Your open tasks and your queues",
                "Tasks assigned to you and those waiting, unassigned, in the queues of the "
                "lanes you hold; soonest due first.",
                {
                    "200": answer("TaskList", "The tasks."),
                    "404": _error("No deal with that id, or one you may not see."),
                    **fails("422"),
                },
                parameters=[
                    _query(
                        "instance",
                        "Only the tasks of this deal (its id).",
                        type="string",
                        pattern="^[0-9]+$",
                    ),
                    _query("role", "Only the tasks of this lane."),
                ],
            )
        },
        "/tasks/{task_id}": {
            "get": operation(
                "getTask",
                "tasks",
                "One open task with its form",
                "The task as `listTasks` lists it, with its form schema and instructions in the "
                "request's Accept-Language, and `sent_back` when an approval sent the work "
                "back.  A task completed meanwhile is a 409 that says who completed it and "
                "when; a task of a deal you may not see is a 404.",
                {"200": answer("TaskDetail", "The task."), **fails("404", "409")},
                parameters=_uses("TaskId"),
            )
        },
        "/tasks/{task_id}/claim": {
            "post": operation(
                "claimTask",
                "tasks",
                "Take a task from your lane's queue",
                "Claiming a task you already hold changes nothing.",
                {"200": answer("Task", "The task, now yours."), **fails("403", "404", "409")},
                parameters=_uses("TaskId"),
            )
        },
        "/tasks/{task_id}/release": {
            "post": operation(
                "releaseTask",
                "tasks",
                "Give a task back to its lane's queue",
                "A task completed meanwhile cannot be given back (409).",
                {"200": answer("Task", "The task, unassigned."), **fails("403", "404", "409")},
                parameters=_uses("TaskId"),
            )
        },
        "/tasks/{task_id}/complete": {
            "post": operation(
                "completeTask",
                "tasks",
                "Complete a task with its form data",
                "The data is checked against the task's form; then the process runs on to "
                "its next tasks.  Only the assignee, or for a queued task someone holding its "
                "lane, may complete it.",
                {
                    "200": answer("CompletedTask", "Completed."),
                    **fails("403", "404", "409", "422"),
                },
                parameters=_uses("TaskId"),
                body="TaskCompletion",
                example={"data": _QUALIFIED},
            )
        },
        "/messages/{name}": {"post": _message_op()},
        "/definitions": {
            "get": operation(
                "listDefinitions",
                "definitions",
                "The deployed processes",
                "",
                {"200": answer("DefinitionList", "The processes.")},
            )
        },
        "/definitions/{process_id}": {
            "get": operation(
                "getDefinition",
                "definitions",
                "One deployed process and its versions",
                "",
                {"200": answer("DefinitionDetail", "The process."), **fails("404")},
                parameters=_uses("ProcessId"),
            )
        },
        "/definitions/{process_id}/diagram.{format}": {
            "get": operation(
                "getDefinitionDiagram",
                "definitions",
                "The process's flowchart, optionally as a heatmap",
                "With heatmap=1: how many deals are at each step now and how long they stay.",
                {"200": _chart("The chart."), **fails("404", "422")},
                parameters=[
                    *_uses("ProcessId", "Format", "Layout", "Paper"),
                    _query(
                        "version",
                        "A version other than the latest.",
                        type="integer",
                        minimum=1,
                        maximum=MAX_ID,
                    ),
                    _query("heatmap", "1 for a heatmap.", type="string", enum=["0", "1"]),
                ],
            )
        },
        "/openapi.json": {
            "get": operation(
                "getOpenApi",
                "documentation",
                "This document",
                "",
                {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
                public=True,
            )
        },
        "/docs": {
            "get": operation(
                "getDocs",
                "documentation",
                "This document as a page to read",
                "",
                {
                    "200": {
                        "description": "HTML.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
                public=True,
            )
        },
    }


def _message_op() -> dict[str, Any]:
    return operation(
        "postMessage",
        "messages",
        "Deliver a BPMN message to the deal waiting for it",
        "For the deal named by `instance_id` or matching `correlate`, waiting for this message "
        "at a message catch event, a message boundary event or an event-based gateway: its "
        "`data` is merged into the deal's data and the process runs on.  Nothing waiting: 404, "
        "unless the process keeps early messages (the catch event's property `keepMessagesFor`, "
        "e.g. `P2D`): then 202, and the first matching deal that starts waiting receives it "
        "before it expires.  Several deals match: 409 with their `instance_ids`.  A "
        "`message_id` sent again is not delivered again: 200 with `duplicate` true.  A token "
        "reaches the deals its user may see; a user who sees every deal or holds the "
        "`integration` role reaches any deal and may have messages kept.",
        {
            "200": answer("MessageResult", "Delivered, or a duplicate of a message sent before."),
            "202": answer("MessageResult", "Kept until a deal waits for it."),
            "404": _error("No deal you may see waits for it, or no process receives it."),
            "409": _error("Several deals match (`instance_ids`); nothing was delivered."),
            **fails("422"),
        },
        parameters=[
            _param(
                "name",
                "path",
                "The message name as in the BPMN (`bpmn:message name`).",
                {"type": "string", "examples": ["contract_signed"]},
            )
        ],
        body="MessageDelivery",
        example={
            "correlate": {"contract_no": "C-17"},
            "data": {"signed_at": "2026-03-02"},
            "message_id": "esign-8812",
        },
    )


_DESCRIPTION = """\
The JSON API of salesflow: start deals, work tasks and fetch flowcharts from other systems.

Authenticate with a per-user token: `salesflow tokens create USER` prints one; send it as \
`Authorization: Bearer <token>`.  Tokens are revoked with `salesflow tokens revoke ID`.  \
Every call acts as the token's user, with the same rules as the web pages: a deal you may \
not see is reported as not found.

Errors are JSON objects `{"error", "message"}`, with `field` and `errors` for invalid data.  \
No token or a bad one gives 401, unknown ids 404, invalid data 422 (query parameters too: \
each is checked against its schema here, and an empty value is no value of an enum, a \
number or a date), a task completed or taken meanwhile 409, something your roles do not \
allow 403, a body over the size limit 413, a method a path does not have 405, and a \
database that cannot be written now 503 with `Retry-After`.  No text may hold a NUL \
character (U+0000): in a path it names nothing (404), in a query or a body it is invalid \
data (422).  Deals and tasks use the same keys as the `--json` output of the `salesflow` \
command.

Process content comes in the language of the request's `Accept-Language` header (`zh`, \
`zh-CN` or `zh-Hans`: Simplified Chinese; anything else: as the designer wrote it): task \
names, a deal's timeline, flowchart labels, and the messages of invalid form data, which \
name each field by its translated title.  Keys, codes and stored values never change."""


def document() -> dict[str, Any]:
    """The OpenAPI document, a fresh copy on each call."""
    # Imported here: the incident routes import the views, which import this module.
    from webui.api import activities as activity_api
    from webui.api import customers as customer_api
    from webui.api import deal_data as deal_data_api
    from webui.api import definitions_publish as publish_api
    from webui.api import filters as filter_api
    from webui.api import forecast as forecast_api
    from webui.api import imports as import_api
    from webui.api import incidents, people, progress
    from webui.api import initiatives as initiative_api
    from webui.api import reports as report_api
    from webui.api import simulation as simulation_api
    from webui.api import targets as target_api
    from webui.api import timeline as timeline_api
    from webui.api import versions as version_api
    from webui.api import webhooks as webhook_api

    doc = {
        "openapi": "3.1.0",
        "info": {"title": "salesflow API", "version": "1", "description": _DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "security": [{SECURITY_SCHEME: []}],
        "tags": [
            {"name": "deals", "description": "Deals: one run of a sales process each."},
            {"name": "tasks", "description": "Human tasks: claim, release, complete."},
            {"name": "definitions", "description": "Deployed processes and their charts."},
            {"name": "messages", "description": "BPMN messages from other systems."},
            {"name": "incidents", "description": "Deals in error: retry, skip, cancel."},
            {"name": "notifications", "description": "Your notifications (the bell)."},
            {"name": "initiatives", "description": "Optimisation initiatives and their tables."},
            {
                "name": "reports",
                "description": "Funnel, channels, cycle, reps, stale deals, customers, targets, "
                "forecast.",
            },
            {"name": "filters", "description": "Your saved filters of the lists (saved views)."},
            {"name": "customers", "description": "Customers (accounts) and their contacts."},
            {"name": "activities", "description": "Calls, visits, meetings with customers."},
            {"name": "webhooks", "description": "Deal events sent to other systems (admins)."},
            {"name": "documentation", "description": "This document; no token needed."},
        ],
        "paths": {**_paths(), **incidents.paths(), **people.paths()},
        "components": {
            "schemas": {**schemas(), **incidents.schemas(), **people.schemas()},
            "parameters": _parameters(),
            "responses": _responses(),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `salesflow tokens create USER`.",
                }
            },
        },
    }
    doc["paths"].update(initiative_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(initiative_api.schemas())  # type: ignore[index]
    doc["paths"].update(version_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(version_api.schemas())  # type: ignore[index]
    doc["paths"].update(report_api.paths())  # type: ignore[attr-defined]
    doc["paths"].update(progress.paths())  # type: ignore[attr-defined]
    doc["paths"].update(forecast_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(forecast_api.schemas())  # type: ignore[index]
    doc["components"]["schemas"].update(progress.schemas())  # type: ignore[index]
    doc["paths"].update(timeline_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(timeline_api.schemas())  # type: ignore[index]
    doc["paths"].update(deal_data_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(deal_data_api.schemas())  # type: ignore[index]
    doc["paths"].update(filter_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(filter_api.schemas())  # type: ignore[index]
    doc["paths"].update(import_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(import_api.schemas())  # type: ignore[index]
    doc["components"]["schemas"].update(report_api.schemas())  # type: ignore[index]
    doc["paths"].update(simulation_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(simulation_api.schemas())  # type: ignore[index]
    doc["paths"].update(target_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(target_api.schemas())  # type: ignore[index]
    doc["paths"].update(customer_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(customer_api.schemas())  # type: ignore[index]
    doc["paths"].update(activity_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(activity_api.schemas())  # type: ignore[index]
    doc["paths"].update(webhook_api.paths())  # type: ignore[attr-defined]
    doc["components"]["schemas"].update(webhook_api.schemas())  # type: ignore[index]
    # POST /definitions shares its path with the GET above.
    doc["paths"]["/definitions"]["post"] = publish_api.operation()  # type: ignore[index]
    doc["components"]["schemas"].update(publish_api.schemas())  # type: ignore[index]
    doc = copy.deepcopy(doc)  # the schema constants above are shared between calls
    _what_every_operation_may_answer(doc["paths"])  # type: ignore[arg-type]
    return doc
