"""A deal's stage progress over the API (engine.usecases.charts.deal_progress): the bar above the
deal page's chart.

    GET /deals/{instance_id}/progress   the process's stages in order, each done, current,
                                        skipped, ahead or lost, with the days spent in it

A deal the caller may not see is "not found", word for word like a missing one.  The route
joins the API's blueprint (token check, JSON errors); `paths()` and `schemas()` are its part
of the OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from engine.usecases.charts import PROGRESS_STATES
from webui.api.schemas import answer, fails, operation, record, ref, text
from webui.api.views import _service, _visible_deal, bp

__all__ = ["get_deal_progress", "paths", "schemas"]


@bp.get("/deals/<instance_id>/progress")
def get_deal_progress(instance_id: str) -> ResponseReturnValue:
    _visible_deal(instance_id)
    return dict(_service().deal_progress(instance_id))


# --- the OpenAPI document's part -----------------------------------------------------------


def paths() -> dict[str, Any]:
    return {
        "/deals/{instance_id}/progress": {
            "get": operation(
                "getDealProgress",
                "deals",
                "The deal's stages: which are done, where it is, days spent in each",
                "The stages declared on the elements of the deal's process version, in their "
                "order (the sales stages first, `won` and `after_sales` last; a deal that "
                "was lost ends with `lost` after the stages before a win).  Each stage is "
                "`done` (passed through), `current` (where the deal is), `skipped` (passed "
                "over), `ahead` (not reached yet) or `lost`; the time spent in a stage adds up "
                "its stays, from entering it to entering another (the current one until now, "
                "a finished deal's last one until it finished).",
                {"200": answer("DealProgress", "The deal's progress."), **fails("404")},
                parameters=[{"$ref": "#/components/parameters/InstanceId"}],
            )
        }
    }


def schemas() -> dict[str, Any]:
    number = {"type": "number", "minimum": 0}
    return {
        "StageStep": record(
            "One stage of the deal's process.",
            {
                "stage": text("The stage's name, as the process declares it."),
                "state": {"type": "string", "enum": list(PROGRESS_STATES)},
                "entered_at": text(
                    "When the deal first entered it.", null=True, format="date-time"
                ),
                "seconds": {**number, "description": "Time spent in it, all stays together."},
                "days": {**number, "description": "The same in days, one decimal."},
            },
        ),
        "DealProgress": record(
            "A deal's way through its process's stages.",
            {
                "instance_id": text("The deal's id."),
                "process_id": text("Its process."),
                "version": {"type": "integer", "description": "The version it runs on."},
                "status": text("running, completed, cancelled or error."),
                "stage": text("The stage it is in.", null=True),
                "stages": {"type": "array", "items": ref("StageStep")},
            },
        ),
    }
