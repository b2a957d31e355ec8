"""Webhooks and signed incoming messages over the API (engine.usecases.integrations).

    GET    /webhooks                          the webhooks, each with its recent deliveries
    POST   /webhooks                          {url, events, secret}: register one (201)
    DELETE /webhooks/{webhook_id}             stop sending to one (204)
    POST   /webhooks/deliveries/{delivery_id}/replay   send a delivery again
    POST   /hooks/messages/{name}             a BPMN message signed with the shared secret

The webhook routes are the admins' (403 for anyone else, decided by the use case).  The
signed message needs no token: `X-Salesflow-Timestamp` (seconds) and `X-Salesflow-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` under the secret an admin set for that
message name stand for the sender; a missing, stale or wrong signature is 401 in the JSON
error shape.  `paths()` and `schemas()` are their part of the OpenAPI document.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import Unauthorized

from engine.errors import NotFoundError, ValidationError
from engine.usecases.forms import check_data, load_json_object, make_validator
from engine.usecases.integrations import DEAL_EVENTS, MAX_SECRET, MIN_SECRET, SignatureError
from engine.usecases.unit import MAX_ID
from webui.api.schemas import answer, fails, operation, record, ref
from webui.api.views import _body, _service, _user, bp

__all__ = [
    "SIGNED_ENDPOINT",
    "add_webhook",
    "list_webhooks",
    "paths",
    "pause_webhook",
    "remove_webhook",
    "replay_delivery",
    "resume_webhook",
    "schemas",
    "signed_message",
]

TAG = "webhooks"
SIGNED_ENDPOINT = "api.signed_message"


@bp.get("/webhooks")
def list_webhooks() -> ResponseReturnValue:
    return {"webhooks": _service().webhooks(user=_user())}


@bp.post("/webhooks")
def add_webhook() -> ResponseReturnValue:
    _service().check_integrator(_user())  # who asks, before what they sent
    body = load_json_object(request.get_data(as_text=True), what="body")
    known = schemas()["NewWebhook"]["properties"]
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ValidationError(f"unknown key; the body takes {', '.join(known)}", field=unknown[0])
    check_data(_validator("NewWebhook"), body)
    made = _service().add_webhook(
        user=_user(), url=body["url"], events=body["events"], secret=body["secret"]
    )
    return made, 201


@bp.delete("/webhooks/<webhook_id>")
def remove_webhook(webhook_id: str) -> ResponseReturnValue:
    _service().remove_webhook(_number(webhook_id, "webhook"), user=_user())
    return Response(status=204)


@bp.post("/webhooks/<webhook_id>/pause")
def pause_webhook(webhook_id: str) -> ResponseReturnValue:
    return _service().pause_webhook(_number(webhook_id, "webhook"), paused=True, user=_user())


@bp.post("/webhooks/<webhook_id>/resume")
def resume_webhook(webhook_id: str) -> ResponseReturnValue:
    return _service().pause_webhook(_number(webhook_id, "webhook"), paused=False, user=_user())


@bp.post("/webhooks/deliveries/<delivery_id>/replay")
def replay_delivery(delivery_id: str) -> ResponseReturnValue:
    return _service().replay_delivery(_number(delivery_id, "delivery"), user=_user())


@bp.post("/hooks/messages/<name>")
def signed_message(name: str) -> ResponseReturnValue:
    raw = request.get_data()  # the exact bytes that were signed
    try:
        # The signature before anything else: an unsigned body is not even parsed.
        _service().check_signed_message(
            name,
            raw,
            signature=request.headers.get("X-Salesflow-Signature"),
            timestamp=request.headers.get("X-Salesflow-Timestamp"),
        )
    except SignatureError as exc:
        raise Unauthorized(str(exc)) from None
    body = _body("MessageDelivery")
    iid = body.get("instance_id")
    if iid is not None and int(iid) > MAX_ID:
        raise NotFoundError(f"no deal with id '{iid}'")
    result = _service().deliver_signed_message(name, body)
    kept = result["status"] == "kept" and not result["duplicate"]
    return result, 202 if kept else 200


def _number(text: str, what: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise NotFoundError(f"no {what} '{text[:40]}'")
    return int(text)


@functools.cache
def _validator(name: str) -> Any:
    return make_validator(schemas()[name])


# --- the OpenAPI document's part -----------------------------------------------------------


def _path_id(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "examples": ["1"]},
    }


def paths() -> dict[str, Any]:
    """The webhook and signed-message operations, keyed by path."""
    admins = "Admins only: anyone else gets 403."
    return {
        "/webhooks": {
            "get": operation(
                "listWebhooks",
                TAG,
                "The webhooks and their recent deliveries",
                f"Every registered webhook with its latest deliveries. {admins} Secrets are "
                "never shown: at most their last four characters.",
                {"200": answer("WebhookList", "The webhooks."), **fails("403")},
            ),
            "post": operation(
                "addWebhook",
                TAG,
                "Register a webhook for deal events",
                "Each event of a deal (`deal.started`, `deal.stage_changed`, "
                "`deal.task_completed`, `deal.won`, `deal.lost`, `deal.sla_breached`, "
                '`deal.incident`) is POSTed to `url` as `{"event", "at", "deal"}` with the '
                "headers `X-Salesflow-Event`, `X-Salesflow-Delivery` (the same id on every "
                "retry: deliveries are at least once, the id makes them once) and "
                "`X-Salesflow-Signature: sha256=<hex HMAC-SHA256 of the raw body under the "
                "secret>`.  A delivery the receiver does not answer with 2xx is tried again "
                "with growing waits (30 s doubling, at most an hour apart, 10 tries), then "
                f"stays failed until replayed.  Only http(s) addresses. {admins}",
                {"201": answer("Webhook", "Registered."), **fails("403", "422")},
                body="NewWebhook",
                example={
                    "url": "https://erp.example.com/salesflow",
                    "events": ["deal.started", "deal.won"],
                    "secret": "a-long-shared-secret-0042",
                },
            ),
        },
        "/webhooks/{webhook_id}": {
            "delete": operation(
                "removeWebhook",
                TAG,
                "Stop sending to a webhook",
                f"Its pending deliveries are dropped; its log stays. {admins}",
                {"204": {"description": "Removed."}, **fails("403", "404")},
                parameters=[_path_id("webhook_id", "The webhook's id.")],
            )
        },
        **{
            f"/webhooks/{{webhook_id}}/{action}": {
                "post": operation(
                    f"{action}Webhook",
                    TAG,
                    summary,
                    f"{detail} Its settings and its log stay. {admins}",
                    {"200": answer("Webhook", "The webhook, as listed."), **fails("403", "404")},
                    parameters=[_path_id("webhook_id", "The webhook's id.")],
                )
            }
            for action, summary, detail in (
                (
                    "pause",
                    "Pause a webhook",
                    "Nothing is queued for it or sent to it until it is resumed; what waits "
                    "for it stays waiting.",
                ),
                ("resume", "Resume a paused webhook", "What waited for it is sent."),
            )
        },
        "/webhooks/deliveries/{delivery_id}/replay": {
            "post": operation(
                "replayWebhookDelivery",
                TAG,
                "Send a delivery again",
                "The same body and delivery id, from its first try (a receiver that has it "
                f"already may ignore it by its id). {admins}",
                {"200": answer("WebhookDelivery", "Queued again."), **fails("403", "404")},
                parameters=[_path_id("delivery_id", "The delivery's number (`id`).")],
            )
        },
        "/hooks/messages/{name}": {
            "post": operation(
                "postSignedMessage",
                "messages",
                "Deliver a BPMN message signed with a shared secret (no token)",
                "For systems that cannot hold a user's token (an e-signature or payment "
                "service): the body is that of `POST /messages/{name}`, and the request "
                "carries `X-Salesflow-Timestamp` (seconds since 1970, within 5 minutes of "
                "now) and `X-Salesflow-Signature: sha256=<hex HMAC-SHA256 of "
                '"<timestamp>.<raw body>">` under the secret an admin set for this message '
                "name.  A missing, stale or wrong signature (or a name without a secret) is "
                "401; otherwise the answers of `POST /messages/{name}` (it reaches any deal).",
                {
                    "200": answer("MessageResult", "Delivered, or a duplicate."),
                    "202": answer("MessageResult", "Kept until a deal waits for it."),
                    "401": answer("Error", "No signature, a stale one or a wrong one."),
                    "404": answer("Error", "No deal waits for it."),
                    "409": answer("Error", "Several deals match; nothing was delivered."),
                    **fails("422"),
                },
                parameters=[
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "description": "The message name as in the BPMN.",
                        "schema": {"type": "string", "examples": ["payment_received"]},
                    },
                    {
                        "name": "X-Salesflow-Timestamp",
                        "in": "header",
                        "required": False,
                        "description": "When it was signed, in seconds since 1970.",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "X-Salesflow-Signature",
                        "in": "header",
                        "required": False,
                        "description": "sha256=<hex HMAC-SHA256 of <timestamp>.<raw body>>.",
                        "schema": {"type": "string"},
                    },
                ],
                body="MessageDelivery",
                example={"correlate": {"contract_no": "C-17"}, "message_id": "pay-991"},
                public=True,
            )
        },
    }


def schemas() -> dict[str, Any]:
    """The webhook shapes, for components/schemas."""
    events = {"type": "string", "enum": list(DEAL_EVENTS)}
    when = {"type": ["string", "null"], "format": "date-time"}
    return {
        "NewWebhook": {
            "type": "object",
            "description": "An address for deal events, and the secret its deliveries are "
            "signed with.",
            "properties": {
                "url": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 2000,
                    "description": "An http:// or https:// address.",
                },
                "events": {
                    "type": "array",
                    "items": events,
                    "minItems": 1,
                    "maxItems": len(DEAL_EVENTS),
                    "description": "The events to send there.",
                },
                "secret": {
                    "type": "string",
                    "minLength": MIN_SECRET,
                    "maxLength": MAX_SECRET,
                    "description": "The shared secret of the HMAC signatures; never shown back.",
                },
            },
            "required": ["url", "events", "secret"],
            "additionalProperties": False,
        },
        "WebhookDelivery": record(
            "One event sent (or being sent) to a webhook.",
            {
                "id": {"type": "integer", "description": "Its number, to replay it."},
                "delivery_id": {
                    "type": "string",
                    "description": "X-Salesflow-Delivery: the same on every try.",
                },
                "event": {"type": "string", "description": "The event."},
                "instance_id": {"type": ["string", "null"], "description": "The deal."},
                "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                "attempts": {"type": "integer", "description": "Tries so far."},
                "last_status": {
                    "type": ["integer", "null"],
                    "description": "The receiver's last HTTP status.",
                },
                "last_error": {"type": ["string", "null"], "description": "Why it failed."},
                "replays": {"type": "integer", "description": "How often it was replayed."},
                "created_at": {"type": ["string", "null"], "format": "date-time"},
                "next_at": {**when, "description": "The next try, while pending."},
                "delivered_at": when,
            },
        ),
        "Webhook": record(
            "A registered webhook.",
            {
                "id": {"type": "integer", "description": "Its id."},
                "url": {"type": "string", "description": "Where deliveries go."},
                "events": {"type": "array", "items": events},
                "secret": {
                    "type": ["string", "null"],
                    "description": "The secret's last four characters at most.",
                },
                "paused": {
                    "type": "boolean",
                    "description": "Paused by an admin on the integrations page: nothing is "
                    "queued for it or sent to it until it is resumed.",
                },
                "created_by": {"type": ["string", "null"]},
                "created_at": {"type": ["string", "null"], "format": "date-time"},
                "deliveries": {
                    "type": "array",
                    "items": ref("WebhookDelivery"),
                    "description": "The latest deliveries, newest first.",
                },
            },
        ),
        "WebhookList": record(
            "The webhooks.", {"webhooks": {"type": "array", "items": ref("Webhook")}}
        ),
    }
