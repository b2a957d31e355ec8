"""The caller's saved filters over the API (engine.usecases.saved_filters): the "saved views"
of the deal list.

    GET    /filters?page=deals   the caller's saved filters of that list, by name
    POST   /filters              {name, page?, query?, default?}: save (or replace by name)
    DELETE /filters/{filter_id}  delete one of the caller's

Every token reads, saves and deletes only its own user's filters; someone else's id is "not
found", word for word like a missing one.  The routes join the API's blueprint (token check,
JSON errors); `paths()` and `schemas()` are their part of the OpenAPI document, which
document.py merges in.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Response, request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationError
from engine.usecases.deals import LIST_FILTERS, SORTS
from engine.usecases.forms import check_data, load_json_object, make_validator
from engine.usecases.saved_filters import MAX_FILTERS, MAX_NAME, MAX_VALUE, PAGES
from webui.api.schemas import answer, fails, operation, record, ref
from webui.api.views import _service, _user, bp

__all__ = ["delete_filter", "list_filters", "paths", "save_filter", "schemas"]

TAG = "filters"
DEFAULT_PAGE = "deals"


@bp.get("/filters")
def list_filters() -> ResponseReturnValue:
    unknown = sorted(set(request.args) - {"page"})
    if unknown:  # a misspelt `page` must not list another list's filters
        raise ValidationError("not a parameter of the list: it takes `page`", field=unknown[0])
    page = request.args.get("page") or DEFAULT_PAGE  # checked against the document first
    return {"filters": _service().saved_filters(_user(), page)}


@bp.post("/filters")
def save_filter() -> ResponseReturnValue:
    body = load_json_object(request.get_data(as_text=True), what="body")
    known = schemas()["NewSavedFilter"]["properties"]
    unknown = sorted(set(body) - set(known))
    if unknown:  # named, as views._body does: the schema's own message names no field
        raise ValidationError(f"unknown key; the body takes {', '.join(known)}", field=unknown[0])
    check_data(_validator("NewSavedFilter"), body)
    saved = _service().save_filter(
        _user(),
        body.get("page", DEFAULT_PAGE),
        body["name"],
        body.get("query", {}),
        body.get("default", False),
    )
    return dict(saved), 201


@bp.delete("/filters/<filter_id>")
def delete_filter(filter_id: str) -> ResponseReturnValue:
    _service().delete_filter(_user(), filter_id)
    return Response(status=204)


@functools.cache
def _validator(name: str) -> Any:
    return make_validator(schemas()[name])


# --- the OpenAPI document's part -----------------------------------------------------------

_PAGE = {"type": "string", "enum": sorted(PAGES), "description": "The list: `deals`."}


def paths() -> dict[str, Any]:
    """The saved-filter operations, keyed by path."""
    return {
        "/filters": {
            "get": operation(
                "listSavedFilters",
                TAG,
                "Your saved filters of a list",
                "The filters and sorts of the list you saved under a name (the list's "
                '"saved views"), by name; at most one is your `default`, the one the list '
                "opens with.  No one else's are listed.  A query parameter other than `page` "
                "is 422.",
                {"200": answer("SavedFilterList", "Your saved filters."), **fails("422")},
                parameters=[
                    {
                        "name": "page",
                        "in": "query",
                        "required": False,
                        "description": "The list whose saved filters you want (default `deals`).",
                        "schema": {**_PAGE, "default": DEFAULT_PAGE},
                    }
                ],
            ),
            "post": operation(
                "saveFilter",
                TAG,
                "Save a filter and sort of a list under a name",
                "`query` holds the list's own query parameters (those of `GET /deals`, and "
                "`stale`: `1` for stale deals only); an empty value is no filter and is left "
                "out.  A name you have used already in that list is replaced (same id).  With "
                "`default` true, the list opens with it and your other filters of the list "
                "stop being the default.  The name is 1 to "
                f"{MAX_NAME} characters (blanks around it are dropped), at most {MAX_FILTERS} "
                "saved filters per list: else 422 naming the field.",
                {"201": answer("SavedFilter", "Saved."), **fails("422")},
                body="NewSavedFilter",
                example={
                    "name": "My big proposals",
                    "page": "deals",
                    "query": {"stage": "proposal", "owner": "alice", "sort": "-amount"},
                    "default": True,
                },
            ),
        },
        "/filters/{filter_id}": {
            "delete": operation(
                "deleteSavedFilter",
                TAG,
                "Delete one of your saved filters",
                "Someone else's saved filter is not found, like one that does not exist.",
                {"204": {"description": "Deleted."}, **fails("404")},
                parameters=[
                    {
                        "name": "filter_id",
                        "in": "path",
                        "required": True,
                        "description": "The saved filter's id.",
                        "schema": {"type": "string", "examples": ["1"]},
                    }
                ],
            )
        },
    }


def schemas() -> dict[str, Any]:
    """The saved-filter shapes, for components/schemas."""
    value: dict[str, Any] = {"type": "string", "maxLength": MAX_VALUE}
    sorts = [*SORTS, *(f"-{k}" for k in SORTS)]
    query_properties: dict[str, Any] = {
        key: {**value, "description": f"The list's `{key}` parameter."} for key in LIST_FILTERS
    }
    query_properties["sort"] = {
        "type": "string",
        "enum": ["", *sorts],
        "description": "The list's order, as `sort` of `GET /deals`.",
    }
    query = {
        "type": "object",
        "description": "The list's query parameters and their values.",
        "properties": query_properties,
        "additionalProperties": False,
    }
    return {
        "SavedFilter": record(
            "A filter and sort of a list you saved under a name.",
            {
                "id": {"type": "integer", "description": "The saved filter's id."},
                "name": {"type": "string", "description": "Its name."},
                "page": _PAGE,
                "query": {
                    "type": "object",
                    "description": "The list's query parameters it applies.",
                    "additionalProperties": {"type": "string"},
                },
                "default": {"type": "boolean", "description": "The list opens with it."},
            },
        ),
        "SavedFilterList": record(
            "Your saved filters of a list, by name.",
            {"filters": {"type": "array", "items": ref("SavedFilter")}},
        ),
        "NewSavedFilter": {
            "type": "object",
            "description": "A filter and sort of a list to save under a name.",
            "properties": {
                "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_NAME,
                    "pattern": "\\S",
                    "description": "The name it is listed under.",
                },
                "page": {**_PAGE, "default": DEFAULT_PAGE},
                "query": query,
                "default": {
                    "type": "boolean",
                    "default": False,
                    "description": "Open the list with it.",
                },
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    }
