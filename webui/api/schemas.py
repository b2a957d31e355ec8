"""The shapes of what the JSON API takes and returns, as JSON Schema (OpenAPI 3.1's dialect).

Response objects list every key as required: the engine's records (engine/records.py) always
carry every key, null when there is no value.  Request bodies are closed (no other keys), and
the API checks bodies against these very schemas, so the document cannot promise one thing
while the server checks another.
"""

from __future__ import annotations

from typing import Any

from engine.usecases.deals import MAX_AMOUNT
from engine.usecases.outcomes import MAX_REASON
from engine.usecases.unit import MAX_ID

__all__ = ["DEAL_STATUSES", "SCHEMAS", "ref", "request_schema", "schemas"]

SCHEMAS = "#/components/schemas/"
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def ref(name: str) -> dict[str, Any]:
    return {"$ref": SCHEMAS + name}


def text(description: str, *, null: bool = False, **more: Any) -> dict[str, Any]:
    return {"type": ["string", "null"] if null else "string", "description": description, **more}


def date_time(description: str, *, null: bool = True) -> dict[str, Any]:
    return text(description, null=null, format="date-time")


def record(description: str, properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A response object: every key is always present (null when there is no value)."""
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        **more,
    }


def integer(description: str, *, null: bool = False, **more: Any) -> dict[str, Any]:
    return {"type": ["integer", "null"] if null else "integer", "description": description, **more}


# --- operations (the OpenAPI document and every module that adds its own paths) ---------

_RESPONSES = {"401": "Unauthorized", "403": "Forbidden", "404": "NotFound", "409": "Conflict",
              "413": "TooLarge", "422": "Invalid", "503": "Unavailable"}  # fmt: skip


def fails(*codes: str) -> dict[str, Any]:
    """The shared error responses for these status codes."""
    return {code: {"$ref": f"#/components/responses/{_RESPONSES[code]}"} for code in codes}


def answer(schema: str, description: str) -> dict[str, Any]:
    """A JSON response of the named schema."""
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def operation(
    operation_id: str,
    tag: str,
    summary: str,
    description: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: str | None = None,
    required: bool = True,
    example: dict[str, Any] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """One operation; every one but the public ones answers 401 without a token."""
    op: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "description": description,
    }
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        media: dict[str, Any] = {"schema": ref(body)}
        if example is not None:
            media["example"] = example
        op["requestBody"] = {"required": required, "content": {"application/json": media}}
    every = responses if public else {**responses, **fails("401")}
    op["responses"] = dict(sorted(every.items()))
    if public:
        op["security"] = []
    return op


def _items(description: str, item: str, **more: Any) -> dict[str, Any]:
    return record(description, {"items": {"type": "array", "items": ref(item)}, **more})


DEAL_STATUSES = ["running", "completed", "cancelled", "error"]

_DEAL_SUMMARY = {
    "instance_id": text("The deal's id (digits, as a string)."),
    "process_id": text("The process the deal runs."),
    "version": {"type": "integer", "description": "The process version the deal runs on."},
    "name": text("The deal's name (by default the company)."),
    "owner": text("The user who owns the deal.", null=True),
    "amount": {
        "type": ["number", "null"],
        "description": "The deal's value in CNY: as given when it started or set since by its "
        "owner or a manager, replaced by the process's own figure when that changes (its "
        "data's `amount`, else its quote's price less the discount).",
    },
    "expected_close": text(
        "The day the deal is expected to close (YYYY-MM-DD).", null=True, format="date"
    ),
    "lead_source": text("Where the lead came from (source_channel).", null=True),
    "tier": text("The lead's grade (A/B/C), once graded.", null=True),
    "stage": text("The sales stage the deal is in.", null=True),
    "status": {"type": "string", "enum": DEAL_STATUSES, "description": "Where the run stands."},
    "outcome": {
        "type": ["string", "null"],
        "enum": ["won", "lost", None],
        "description": "`won` once the deal reached the stage won (or one after it, such as "
        "after-sales), `lost` once it reached the stage lost (the process recorded a loss, "
        "or someone marked it lost); null while it is open, and for a deal cancelled "
        "without an outcome.",
    },
    "lost_reason": text(
        "Why a lost deal was lost (a value of the process's lost-reason list, or the "
        "process's own); null for any other deal.",
        null=True,
    ),
    "created_at": date_time("When the deal was started.", null=False),
    "updated_at": date_time("When the deal last changed."),
    "completed_at": date_time("When the process finished."),
    "next_due_at": date_time("When its next timer fires."),
    "activity_at": date_time("When someone last worked on it or it changed stage (stale deals)."),
    "escalated_at": date_time("Set while an SLA of one of its open tasks has passed."),
}

_TASK = {
    "task_id": text("The task's id (a UUID)."),
    "instance_id": text("The deal the task belongs to."),
    "element_id": text("The BPMN element, e.g. task_qualify_lead."),
    "name": text("The task's name as the designer wrote it."),
    "lane": text("The lane (role) the task belongs to.", null=True),
    "assignee": text("Who holds the task; null while it waits in the lane's queue.", null=True),
    "stage": text("The sales stage of the task.", null=True),
    "due_at": date_time("When the task is due."),
    "form": text("The file name of the task's JSON-schema form.", null=True),
    "created_at": date_time("When the task became ready.", null=False),
}

_DEFINITION = {
    "process_id": text("The process id (the BPMN process element's id)."),
    "name": text("The process name as the designer wrote it."),
    "version": {"type": "integer", "description": "The latest version's number."},
    "versions": {"type": "integer", "description": "How many versions are deployed."},
}


_MESSAGE_STATUS = {
    "type": "string",
    "enum": ["delivered", "kept", "expired"],
    "description": "delivered; kept until a deal waits for it; expired before one did.",
}
_MESSAGE_SCHEMAS: dict[str, Any] = {
    "MessageDelivery": {
        "type": "object",
        "description": (
            "A BPMN message for the deal waiting for it, named by `instance_id`, by "
            "`correlate` (deal fields `name`, `owner`, `process_id`; any other key is a field "
            "of the deal's data), or both."
        ),
        "properties": {
            "instance_id": {
                "type": ["string", "integer"],
                "pattern": "^[0-9]{1,10}$",
                "minimum": 1,
                "maximum": MAX_ID,  # the database's integers
                "description": "The deal's id (digits as a string, or a number); one larger "
                "than the database's integers is no deal's (404).",
            },
            "correlate": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": "\\S", "maxLength": 200},
                "additionalProperties": {"type": ["string", "number", "boolean"]},
                "description": 'Fields the deal must have, e.g. {"contract_no": "C-17"}.',
            },
            "data": {"type": "object", "description": "Merged into the deal's data."},
            "message_id": text(
                "Your id of the message: the same id is delivered once.",
                pattern="\\S",
                maxLength=200,
            ),
        },
        # Which deal: without an instance_id, correlate is required.
        "if": {"not": {"required": ["instance_id"]}},
        "then": {"required": ["correlate"]},
        "additionalProperties": False,
    },
    "MessageResult": record(
        "What became of a message (`salesflow message --json`).",
        {
            "name": text("The message name."),
            "message_id": text("The sender's id of the message.", null=True),
            "status": _MESSAGE_STATUS,
            "duplicate": {
                "type": "boolean",
                "description": "The id was sent before: this is the first delivery's answer.",
            },
            "instance_id": text("The deal that received it.", null=True),
            "received_at": date_time("When it arrived.", null=False),
            "delivered_at": date_time("When a deal received it."),
            "expires_at": date_time("Until when a kept message waits for a deal."),
        },
    ),
}


def schemas() -> dict[str, Any]:
    """The components/schemas of the document, built afresh on each call."""
    any_json: dict[str, Any] = {"description": "Any JSON value."}
    return {
        "Error": {
            "type": "object",
            "description": (
                "Every error.  `error` names its kind (e.g. NotFoundError, ForbiddenError, "
                "ConflictError, ValidationError, ExpressionError, Unauthorized); for invalid "
                "data `field` names the first failing field (a query parameter, a key of the "
                "body, or a field of the form inside `data`) and `errors` lists them all."
            ),
            "properties": {
                "error": text("The kind of error."),
                "message": text("What went wrong, written for the person who has to act."),
                "field": text("The first field that failed.", null=True),
                "errors": {
                    "type": "array",
                    "description": "Every failing field.",
                    "items": ref("FieldError"),
                },
                "instance_ids": {
                    "type": "array",
                    "description": "A message several deals match: their ids.",
                    "items": {"type": "string"},
                },
            },
            "required": ["error", "message"],
        },
        "FieldError": record(
            "One failing field.",
            {"field": text("The field."), "message": text("What is wrong with it.")},
        ),
        "DealSummary": record("A deal as listed (`salesflow instances --json`).", _DEAL_SUMMARY),
        "Deal": record(
            "One deal with where it stands (`salesflow show --json`).",
            {
                **_DEAL_SUMMARY,
                "customer_id": {
                    "type": ["integer", "null"],
                    "description": "The customer (account) the deal is for; null for a deal "
                    "without a company.",
                },
                "customer": text("That customer's name.", null=True),
                "position": {
                    "type": "object",
                    "description": "BPMN element id -> its state now (ready, completed...).",
                    "additionalProperties": {"type": "string"},
                },
                "data": {"type": "object", "description": "The deal's data so far."},
                "tasks": {
                    "type": "array",
                    "description": "Its open tasks.",
                    "items": ref("Task"),
                },
                "timers": {
                    "type": "array",
                    "description": "Its waiting timers.",
                    "items": ref("Timer"),
                },
                "error": {
                    "type": ["object", "null"],
                    "description": "Why the deal stopped, when its status is error.",
                },
                "history": {
                    "type": "array",
                    "description": "Everything that happened, oldest first.",
                    "items": ref("HistoryEntry"),
                },
            },
        ),
        "Task": record("An open human task (`salesflow tasks --json`).", _TASK),
        "TaskDetail": record(
            "An open task with what its page shows: its form and instructions in the "
            "request's language, and why it is open again when an approval sent it back.",
            {
                **_TASK,
                "form_schema": {
                    "type": ["object", "null"],
                    "description": "The task's JSON-schema form, translated; null without one.",
                },
                "instructions": text("What to do, as the designer wrote it (translated)."),
                "sent_back": {
                    "type": ["object", "null"],
                    "description": "Who sent the work back, when, from which step, and "
                    "their comment; null unless an approval sent it back.",
                    "properties": {
                        "by": text("Who sent it back.", null=True),
                        "at": date_time("When."),
                        "step": text("The approval step."),
                        "comment": text("Their comment (empty without one)."),
                    },
                },
            },
        ),
        "Timer": record(
            "A timer the deal waits for.",
            {
                "element_id": text("The timer's BPMN element."),
                "name": text("The timer's name.", null=True),
                "due_at": date_time("When it fires."),
            },
        ),
        "HistoryEntry": record(
            "One thing that happened to a deal.",
            {
                "at": date_time("When.", null=False),
                "actor": text("Who (null: the engine).", null=True),
                "kind": text("started, completed, claimed, released, comment, timer..."),
                "element_id": text("The BPMN element.", null=True),
                "element_name": text("Its name.", null=True),
                "task_id": text("The task, for task events.", null=True),
                "entered_at": date_time("When the element was entered."),
                "data": any_json,
            },
        ),
        "DealList": record(
            "A page of deals.",
            {
                "items": {"type": "array", "items": ref("DealSummary")},
                "limit": {"type": "integer", "description": "The page size asked for."},
                "offset": {"type": "integer", "description": "How many deals were skipped."},
            },
        ),
        "StartedDeal": record(
            "A deal just started (`salesflow start --json`).",
            {k: _DEAL_SUMMARY[k] for k in ("instance_id", "process_id", "version", "status")},
        ),
        "CompletedTask": record(
            "The result of completing a task (`salesflow complete --json`).",
            {
                "instance_id": _DEAL_SUMMARY["instance_id"],
                "status": _DEAL_SUMMARY["status"],
                "ready": {
                    "type": "array",
                    "description": "The BPMN ids of the deal's tasks ready now.",
                    "items": {"type": "string"},
                },
            },
        ),
        "TaskList": _items(
            "Open tasks: the caller's own and those in the caller's queues.", "Task"
        ),
        "Definition": record("A deployed process (`salesflow definitions --json`).", _DEFINITION),
        "DefinitionDetail": record(
            "A deployed process and its versions.",
            {
                **_DEFINITION,
                "version_numbers": {
                    "type": "array",
                    "description": "The numbers of its versions, oldest first.",
                    "items": {"type": "integer"},
                },
            },
        ),
        "DefinitionList": _items("The deployed processes.", "Definition"),
        "NewDeal": {
            "type": "object",
            "description": "Starts a deal: the caller is recorded as the one who started it.",
            "properties": {
                "process_id": text("The process to run.", minLength=1),
                "name": text(
                    "The deal's name; default: data.company, else the process name and the "
                    "deal's number.",
                    minLength=1,
                    maxLength=300,
                ),
                "owner": text("The user who owns the deal; default: the caller.", minLength=1),
                "data": {
                    "type": "object",
                    "description": "The start form's data (for sales_pipeline: the lead).",
                },
                "version": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_ID,  # the database's integers
                    "description": "A process version other than the latest.",
                },
                "amount": {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMaximum": float(MAX_AMOUNT),  # what the database holds
                    "description": "The deal's value in CNY, as far as it is known now "
                    "(rounded to cents); default: the start data's `amount` or `price`, if any.",
                },
                "expected_close": text(
                    "The day the deal is expected to close.",
                    format="date",
                    pattern=DATE_PATTERN,
                ),
                "customer_id": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_ID,  # the database's integers
                    "description": "The customer (GET /customers) the deal is for, one you "
                    "may see (else 422); its name is `data.company` when the data names "
                    "none.  Without it the customer is the one whose name compares equal to "
                    "`data.company`, or a new one owned by the deal's owner.",
                },
            },
            "required": ["process_id"],
            "additionalProperties": False,
        },
        "LostDeal": {
            "type": "object",
            "description": "Why the deal was lost: a value of its process's lost-reason list "
            "(the choices of the `lost_reason` field of its forms; for the shipped pipeline "
            "`price too high`, `chose a competitor`, `no budget`, `no need at the moment`, "
            "`no decision`, `not a fit`, `other`), or any text for a process without one.",
            "properties": {
                "reason": text("The reason.", minLength=1, maxLength=MAX_REASON, pattern="\\S"),
            },
            "required": ["reason"],
            "additionalProperties": False,
        },
        "Board": record(
            "The running deals of a process by stage, in the process's order: how many you "
            "may see in each stage, their value and the weighted pipeline.",
            {
                "stages": {
                    "type": "array",
                    "items": record(
                        "One stage of the board.",
                        {
                            "stage": text("The stage (its key in the BPMN).", null=True),
                            "label": text("Its name, in the language of Accept-Language."),
                            "count": {"type": "integer", "description": "Running deals."},
                            "value": {
                                "type": "number",
                                "description": "Their value total in CNY (deals without a "
                                "value count as 0).",
                            },
                            "weighted": {
                                "type": "number",
                                "description": "The value times the stage's probability "
                                "(set by a sales manager; by default from the stage's place "
                                "in the process).",
                            },
                        },
                    ),
                }
            },
        ),
        "TaskCompletion": {
            "type": "object",
            "description": "The task's form data, checked against the task's JSON-schema form.",
            "properties": {"data": {"type": "object", "description": "The form's fields."}},
            "additionalProperties": False,
        },
        **_MESSAGE_SCHEMAS,
    }


def request_schema(name: str) -> dict[str, Any]:
    """A request body's schema (NewDeal, TaskCompletion): the API validates bodies with it."""
    schema: dict[str, Any] = schemas()[name]
    return schema
