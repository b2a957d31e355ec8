"""A deal's data as people read it over the API (engine.usecases.deal_data): the deal page's
"Deal data" panel.

    GET /deals/{instance_id}/data   the data grouped by the form that asked for it, in the
                                    order the deal went through the forms, labelled in the
                                    language of Accept-Language

The deal record (`GET /deals/{instance_id}`) keeps its `data` as stored.  A deal the caller may
not see is "not found", word for word like a missing one (the use case's rule).  The route
joins the API's blueprint (token check, JSON errors); `paths()` and `schemas()` are its part
of the OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from engine.usecases.deal_data import KINDS
from webui.api.schemas import answer, fails, operation, record, ref, text
from webui.api.views import _lang, _service, _user, bp

__all__ = ["get_deal_data", "paths", "schemas"]


@bp.get("/deals/<instance_id>/data")
def get_deal_data(instance_id: str) -> ResponseReturnValue:
    return {"sections": _service().deal_data_sections(instance_id, _user(), _lang())}


# --- the OpenAPI document's part -----------------------------------------------------------


def paths() -> dict[str, Any]:
    return {
        "/deals/{instance_id}/data": {
            "get": operation(
                "getDealData",
                "deals",
                "The deal's data as people read it, grouped by the form that asked for it",
                "One section per form the deal went through: the new-deal form first, then "
                "each task's form in the order the deal reached it (forms not reached yet are "
                "left out).  Within a section the fields keep the form's order, each with its "
                "title and, for a choice or a yes/no, its label, in the language of "
                "Accept-Language; a field two forms ask for is in the later one.  What no form "
                "asked for (written by scripts and decisions) comes last, in a section whose "
                "`form` is null; the deal's value, close date, outcome and lost reason are "
                "left out of it.  `kind` tells how to format `value`: `money` (CNY), "
                "`number`, `date` (YYYY-MM-DD), `text`, `choice`, `bool`, `list` and "
                "`object` (their items and fields are in `parts`).  The stored data itself "
                "is the deal record's `data`.",
                {"200": answer("DealData", "The deal's data by form."), **fails("404")},
                parameters=[{"$ref": "#/components/parameters/InstanceId"}],
            )
        }
    }


def schemas() -> dict[str, Any]:
    return {
        "DataField": record(
            "One value of the deal's data.",
            {
                "key": text("The data key; a list item's position (0, 1, ...) as text."),
                "title": text("Its title, in the language of Accept-Language."),
                "value": {"description": "The value as stored (any JSON value)."},
                "display": text(
                    "The label of a choice or a yes/no, in the language of Accept-Language; "
                    "null for a value to format by its kind.",
                    null=True,
                ),
                "kind": {"type": "string", "enum": list(KINDS)},
                "parts": {
                    "type": "array",
                    "description": "An object's fields or a list's items, in order; empty "
                    "for any other kind.",
                    "items": ref("DataField"),
                },
            },
        ),
        "DataSection": record(
            "The fields one form asked for.",
            {
                "form": text("The form's file name; null for what no form asked for.", null=True),
                "title": text("The form's title (or `Other`), in the language of Accept-Language."),
                "fields": {"type": "array", "items": ref("DataField")},
            },
        ),
        "DealData": record(
            "A deal's data grouped by form.",
            {"sections": {"type": "array", "items": ref("DataSection")}},
        ),
    }
