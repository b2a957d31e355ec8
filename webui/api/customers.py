"""Customers over the API (engine.usecases.customers).

    GET  /customers                  the customers the caller may see (filters, sort)
    GET  /customers/{customer_id}    one, with its contacts, deals and activities
    POST /customers                  {name, owner?, tier?, industry?, region?, confirm?}: add

A customer the caller may not see is "not found", word for word like a missing one.  The
routes join the API's blueprint (token check, JSON errors); `paths()` and `schemas()` are
their part of the OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import ForbiddenError, ValidationError
from engine.usecases.customers import ACTIVITY_KINDS, FIELD_LIMITS, MAX_NAME, SORT_KEYS, TIERS
from engine.usecases.forms import check_data, load_json_object, make_validator
from webui.api.schemas import (
    DEAL_STATUSES,
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

__all__ = ["create_customer", "get_customer", "list_customers", "paths", "schemas"]

TAG = "customers"
_PARAMETERS = ("q", "tier", "owner", "due", "sort")


@bp.get("/customers")
def list_customers() -> ResponseReturnValue:
    unknown = sorted(set(request.args) - set(_PARAMETERS))
    if unknown:  # a misspelt filter must not list every customer
        raise ValidationError(
            f"not a parameter of the list: it takes {', '.join(_PARAMETERS)}", field=unknown[0]
        )
    due = request.args.get("due") or None  # checked against the document first
    items = _service().customers(
        _user(),
        q=request.args.get("q") or None,
        tier=request.args.get("tier") or None,
        owner=request.args.get("owner") or None,
        due=None if due is None else due == "1",
        sort=request.args.get("sort") or None,
    )
    return {"items": items}


@bp.get("/customers/<customer_id>")
def get_customer(customer_id: str) -> ResponseReturnValue:
    return dict(_service().customer(customer_id, _user()))


@bp.post("/customers")
def create_customer() -> ResponseReturnValue:
    user = _user()
    service = _service()
    if not service.may_add_customers(user):  # the role before the body: says nothing more
        raise ForbiddenError(
            f"{user} may not add customers: a Sales Rep, a Sales Manager or an admin does"
        )
    body = load_json_object(request.get_data(as_text=True), what="body")
    known = schemas()["NewCustomer"]["properties"]
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ValidationError(f"unknown key; the body takes {', '.join(known)}", field=unknown[0])
    check_data(_validator("NewCustomer"), body)
    made = service.create_customer(
        body["name"],
        actor=user,
        owner=body.get("owner"),
        tier=body.get("tier"),
        industry=body.get("industry"),
        region=body.get("region"),
        confirm=body.get("confirm", False),
    )
    location = url_for(".get_customer", customer_id=made["id"])
    return dict(made), 201, {"Location": location}


@functools.cache
def _validator(name: str) -> Any:
    return make_validator(schemas()[name])


# --- the OpenAPI document's part -----------------------------------------------------------


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def paths() -> dict[str, Any]:
    """The customer operations, keyed by path."""
    return {
        "/customers": {
            "get": operation(
                "listCustomers",
                TAG,
                "List the customers you may see",
                "A rep sees the customers they own and the customers of the deals they may "
                "see; a manager sees every customer.  By name unless `sort` says otherwise.  "
                "A query parameter not listed here is 422.",
                {"200": answer("CustomerList", "The customers."), **fails("422")},
                parameters=[
                    _query("q", "Customers whose name contains this text (any case)."),
                    _query("tier", "Only customers of this tier.", type="string", enum=list(TIERS)),
                    _query("owner", "Only the customers this user owns."),
                    _query(
                        "due",
                        "`1`: only customers due a follow-up (silent longer than their "
                        "tier's cadence); `0`: only those that are not.",
                        type="string",
                        enum=["0", "1"],
                    ),
                    _query(
                        "sort",
                        "Order by this column, descending with a leading '-' (empty values last).",
                        type="string",
                        enum=[*SORT_KEYS, *(f"-{k}" for k in SORT_KEYS)],
                    ),
                ],
            ),
            "post": operation(
                "createCustomer",
                TAG,
                "Add a customer",
                "Sales reps, sales managers and admins add customers (anyone else: 403).  "
                "`owner` (default: you) must be an active user who may own deals.  A name "
                "that compares equal to a customer's (case, spaces, punctuation and company "
                "forms such as `Ltd.` or `有限公司` left out) is 409 naming that customer; "
                "names that are only similar are 422 on `name` listing them, unless "
                "`confirm` is true.  Other invalid data: 422 naming the field.",
                {
                    "201": {
                        **answer("Customer", "Added; `Location` is the customer's URL."),
                        "headers": {
                            "Location": {
                                "description": "The new customer's URL.",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    **fails("403", "409", "422"),
                },
                body="NewCustomer",
                example={"name": "ACME Ltd.", "tier": "A", "industry": "manufacturing"},
            ),
        },
        "/customers/{customer_id}": {
            "get": operation(
                "getCustomer",
                TAG,
                "One customer: contacts, deals, activities",
                "The customer as listed, with its contacts, the ids of its deals you may "
                "see (`deal_ids`, `deal_list`) and its activities (its own and those of the "
                "deals you may see), newest first.  A customer you may not see is 404, like "
                "one that does not exist.",
                {"200": answer("CustomerDetail", "The customer."), **fails("404")},
                parameters=[
                    {
                        "name": "customer_id",
                        "in": "path",
                        "required": True,
                        "description": "The customer's id.",
                        "schema": {"type": "string", "examples": ["1"]},
                    }
                ],
            )
        },
    }


def _item() -> dict[str, Any]:
    return {
        "id": integer("The customer's id."),
        "name": text("The company's name."),
        "tier": {
            "type": ["string", "null"],
            "enum": [*TIERS, None],
            "description": "A, B or C: from the latest grading of its deals, or as set by "
            "its owner or a manager; null until graded.",
        },
        "owner": text("The user who owns the customer.", null=True),
        "industry": text("Its industry.", null=True),
        "region": text("Its region.", null=True),
        "deals": integer("How many deals it has had (every one, won, lost or open)."),
        "won_value": {"type": "number", "description": "The value of its won deals in CNY."},
        "last_activity_at": date_time("When an activity was last logged with it or its deals."),
        "next_follow_up": text(
            "The next step's date of the latest activity that set one.", null=True, format="date"
        ),
        "cadence_due": {
            "type": "boolean",
            "description": "Silent (since its last activity, or since it was added) longer "
            "than its tier's cadence: due a follow-up.",
        },
    }


def schemas() -> dict[str, Any]:
    """The customer shapes, for components/schemas."""
    contact = {
        "id": integer("The contact's id."),
        "customer_id": integer("Their customer."),
        "name": text("Their name."),
        "role": text("Their role in the decision chain.", null=True),
        "phone": text("Their phone number.", null=True),
        "email": text("Their e-mail address.", null=True),
        "wechat": text("Their WeCom / WeChat id.", null=True),
    }
    deal = {
        "id": text("The deal's id (digits, as a string)."),
        "name": text("The deal's name."),
        "stage": text("Its sales stage.", null=True),
        "status": {"type": "string", "enum": DEAL_STATUSES, "description": "Where it stands."},
        "outcome": {
            "type": ["string", "null"],
            "enum": ["won", "lost", None],
            "description": "`won`, `lost`, or null while open.",
        },
        "amount": {"type": ["number", "null"], "description": "Its value in CNY."},
        "owner": text("Who owns it.", null=True),
        "created_at": date_time("When it started."),
    }
    activity = {
        "id": integer("The activity's id."),
        "customer_id": integer("Its customer.", null=True),
        "deal_id": text("The deal it was about, if any.", null=True),
        "kind": {"type": "string", "enum": list(ACTIVITY_KINDS), "description": "What it was."},
        "at": date_time("When it happened."),
        "by": text("Who did it."),
        "notes": text("What was said."),
        "outcome": text("What came of it.", null=True),
        "next_step": text("What comes next.", null=True),
        "next_step_at": text("When the next step is due.", null=True, format="date"),
    }
    item = _item()
    return {
        "Customer": record("A customer as listed (`salesflow customers --json`).", item),
        "CustomerList": record(
            "The customers you may see.",
            {"items": {"type": "array", "items": ref("Customer")}},
        ),
        "Contact": record("A person at a customer.", contact),
        "CustomerDeal": record("One deal of a customer.", deal),
        "CustomerActivity": record("An activity logged with a customer or its deal.", activity),
        "CustomerDetail": record(
            "One customer (`salesflow customer ID --json`).",
            {
                **item,
                "contacts": {"type": "array", "items": ref("Contact")},
                "deal_ids": {
                    "type": "array",
                    "description": "The ids of its deals you may see, newest first.",
                    "items": {"type": "string"},
                },
                "deal_list": {
                    "type": "array",
                    "description": "Those deals, newest first.",
                    "items": ref("CustomerDeal"),
                },
                "activities": {
                    "type": "array",
                    "description": "Its activities and those of the deals you may see, newest "
                    "first.",
                    "items": ref("CustomerActivity"),
                },
            },
        ),
        "NewCustomer": {
            "type": "object",
            "description": "A customer to add.",
            "properties": {
                "name": text("The company's name.", minLength=1, maxLength=MAX_NAME, pattern="\\S"),
                "owner": text("Who owns it; default: you.", minLength=1, maxLength=80),
                "tier": {"type": "string", "enum": list(TIERS), "description": "A, B or C."},
                "industry": text("Its industry.", maxLength=FIELD_LIMITS["industry"]),
                "region": text("Its region.", maxLength=FIELD_LIMITS["region"]),
                "confirm": {
                    "type": "boolean",
                    "default": False,
                    "description": "Add it even though customers with similar names exist.",
                },
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    }
