"""The caller's notifications over the API (engine.store.notifications): what the bell shows.

    GET  /notifications         the newest notifications and how many are unread
    POST /notifications/read    {"ids"?: [..]}  mark those (without ids: all) read

Every token reads and marks only its own user's notifications.  The routes join the API's
blueprint (token check, JSON errors); `paths()` and `schemas()` are their part of the OpenAPI
document, which document.py merges in.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.usecases.forms import check_data, load_json_object, make_validator
from webui.api.schemas import answer, fails, record, ref
from webui.api.views import MAX_INT, _int_arg, _service, _user, bp

__all__ = ["list_notifications", "paths", "read_notifications", "schemas"]

TAG = "notifications"
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


@bp.get("/notifications")
def list_notifications() -> ResponseReturnValue:
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT) or DEFAULT_LIMIT
    service = _service()
    user = _user()
    return {
        "items": service.notifications(user, limit),
        "unread": service.unread_notifications(user),
    }


@bp.post("/notifications/read")
def read_notifications() -> ResponseReturnValue:
    body = load_json_object(request.get_data(as_text=True), what="body")
    check_data(_validator("NotificationsRead"), body)
    service = _service()
    user = _user()
    marked = service.mark_notifications_read(user, body.get("ids"))
    return {"marked": marked, "unread": service.unread_notifications(user)}


@functools.cache
def _validator(name: str) -> Any:
    return make_validator(schemas()[name])


# --- the OpenAPI document's part -----------------------------------------------------------


def paths() -> dict[str, Any]:
    """The notification operations, keyed by path."""
    return {
        "/notifications": {
            "get": {
                "operationId": "listNotifications",
                "tags": [TAG],
                "summary": "Your notifications, newest first",
                "description": "What the bell in the app shows: tasks given to you, work handed "
                "over, holidays covered, escalations.",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": "How many, newest first.",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_LIMIT,
                            "default": DEFAULT_LIMIT,
                        },
                    }
                ],
                "responses": dict(
                    sorted(
                        {
                            "200": answer("NotificationList", "The notifications."),
                            **fails("401", "422"),
                        }.items()
                    )
                ),
            }
        },
        "/notifications/read": {
            "post": {
                "operationId": "readNotifications",
                "tags": [TAG],
                "summary": "Mark notifications read",
                "description": "The notifications whose ids are given, or without `ids` all of "
                "yours.  Ids of someone else's notifications change nothing.",
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": ref("NotificationsRead"),
                            "example": {"ids": [12, 13]},
                        }
                    },
                },
                "responses": dict(
                    sorted(
                        {
                            "200": answer("NotificationsMarked", "Marked."),
                            **fails("401", "422"),
                        }.items()
                    )
                ),
            }
        },
    }


def schemas() -> dict[str, Any]:
    """The notification shapes, for components/schemas."""
    text: dict[str, Any] = {"type": "string"}
    return {
        "Notification": record(
            "Something you should know.",
            {
                "id": {"type": "integer", "description": "The notification's id."},
                "kind": {
                    **text,
                    "description": "reassigned, handover, delegated, delegation_ended, ...",
                },
                "text": {**text, "description": "What happened, in words."},
                "instance_id": {
                    "type": ["string", "null"],
                    "description": "The deal it is about, if any.",
                },
                "task_id": {"type": ["string", "null"], "description": "The task, if any."},
                "created_at": {**text, "format": "date-time", "description": "When."},
                "read": {"type": "boolean", "description": "Marked read."},
            },
        ),
        "NotificationList": record(
            "Your newest notifications.",
            {
                "items": {"type": "array", "items": ref("Notification")},
                "unread": {"type": "integer", "description": "How many of all yours are unread."},
            },
        ),
        "NotificationsRead": {
            "type": "object",
            "description": "Which notifications to mark read; without `ids`, all of yours.",
            "properties": {
                "ids": {
                    "type": "array",
                    "description": "Notification ids.",
                    "items": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
                    "maxItems": 1000,
                }
            },
            "additionalProperties": False,
        },
        "NotificationsMarked": record(
            "The result of marking.",
            {
                "marked": {"type": "integer", "description": "How many were unread before."},
                "unread": {"type": "integer", "description": "How many are unread now."},
            },
        ),
    }
