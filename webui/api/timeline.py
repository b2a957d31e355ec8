"""A deal's timeline in business words over the API (engine.usecases.timeline): the deal page's
timeline.

    GET /deals/{instance_id}/timeline   what happened to the deal, newest first: steps done
                                        and the decisions they made, work sent back with
                                        why, reminders, messages, comments, the end; names
                                        in the language of Accept-Language

The deal record (`GET /deals/{instance_id}`) keeps the raw `history`.  A deal the caller may
not see is "not found", word for word like a missing one (the use case's rule).  The route
joins the API's blueprint (token check, JSON errors); `paths()` and `schemas()` are its part
of the OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from engine.usecases.timeline import BUSINESS_KINDS
from webui.api.schemas import answer, date_time, fails, operation, record, ref, text
from webui.api.views import _lang, _service, _user, bp

__all__ = ["get_deal_timeline", "paths", "schemas"]


@bp.get("/deals/<instance_id>/timeline")
def get_deal_timeline(instance_id: str) -> ResponseReturnValue:
    return {"timeline": _service().deal_timeline(instance_id, _user(), _lang())}


# --- the OpenAPI document's part -----------------------------------------------------------


def paths() -> dict[str, Any]:
    kinds = ", ".join(f"`{k}`" for k in BUSINESS_KINDS)
    return {
        "/deals/{instance_id}/timeline": {
            "get": operation(
                "getDealTimeline",
                "deals",
                "What happened to the deal, in business words, newest first",
                "The deal's history folded the way people selling read it: a task done is a "
                "step, with the names of the flows its decisions took (`outcomes`, e.g. "
                "`approved`); a task whose form sends the work back, completed that way, is "
                "`sent_back`, with the comment and the step it reopens (`target`); the "
                "gateways, scripts and decision tables the engine ran, the start, the "
                "timers cancelled because a task was done in time are folded into the entry "
                "they belong to (`folded`: the raw history entries, oldest first).  `kind` is "
                f"one of {kinds}, or a history kind kept as it is (`comment`, `lost`, "
                "`claimed`, `updated`, `escalated`, ...).  Names come in the language of "
                "Accept-Language.  The raw history is the deal record's `history`.",
                {"200": answer("DealTimeline", "The deal's timeline."), **fails("404")},
                parameters=[{"$ref": "#/components/parameters/InstanceId"}],
            )
        }
    }


def schemas() -> dict[str, Any]:
    return {
        "TimelineEntry": record(
            "One line of a deal's business timeline.",
            {
                "kind": text("What it is: a step, a decision, sent_back, a reminder, ..."),
                "at": date_time("When."),
                "actor": text("Who (null: the process or the clock).", null=True),
                "element_id": text("The BPMN element it is about.", null=True),
                "name": text("That element's name, in the reader's language.", null=True),
                "outcomes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "The names of the flows the step's decisions took.",
                },
                "target": text("sent_back: the step the work went back to.", null=True),
                "comment": text("A comment's text, or why a decision went as it did.", null=True),
                "outputs": {
                    "type": "object",
                    "description": "What the decision tables folded into the step wrote.",
                },
                "data": {"description": "The data of the history entry it stands for."},
                "folded": {
                    "type": "array",
                    "items": ref("HistoryEntry"),
                    "description": "The raw history entries it stands for, oldest first.",
                },
            },
        ),
        "DealTimeline": record(
            "A deal's timeline, newest first.",
            {"timeline": {"type": "array", "items": ref("TimelineEntry")}},
        ),
    }
