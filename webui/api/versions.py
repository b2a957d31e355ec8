"""A process's versions and moving running deals between them, over the API.

    GET  /definitions/{process_id}/versions     every version: who published it, when, and
                                                how many deals run on it
    POST /definitions/{process_id}/migrations   {"to_version", "instance_ids"? | "stage"?,
                                                "from_version"?, "dry_run"?}: move deals (or
                                                preview) -> what happens to each deal

The version list is open to every token, like /definitions.  A migration is for designers and
admins, its dry run also for sales managers (engine.usecases.moves).  In this order: an unknown
process is 404; a body that is not valid, or names a version that does not exist, is invalid
data (422); then the role (403).  Deals that cannot move are not an error: each deal's answer
says whether it moved and why not.  Moving is a right over the process (engine.usecases.moves): a
designer's answer covers every deal of the process named, without the name and owner of those
they may not see, and an id that is no deal of this process (another process's or none at all)
is answered alike, `not_found`.  The routes join the API's blueprint; `paths()` and
`schemas()` are their part of the OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.errors import NotFoundError, ValidationError
from engine.usecases.forms import check_data, load_json_object, make_validator
from engine.usecases.moves import MAX_IDS
from webui.api.schemas import answer, fails, integer, record, ref, text
from webui.api.views import MAX_INT, _definition, _service, _user, bp

__all__ = ["list_versions", "migrate_deals", "paths", "schemas"]

TAG = "definitions"


@bp.get("/definitions/<process_id>/versions")
def list_versions(process_id: str) -> ResponseReturnValue:
    return {"process_id": process_id, "items": _service().definition_versions(process_id)}


@bp.post("/definitions/<process_id>/migrations")
def migrate_deals(process_id: str) -> ResponseReturnValue:
    _definition(process_id)  # 404 before anything else
    body = load_json_object(request.get_data(as_text=True), what="body")
    check_data(_validator(), body)
    if "instance_ids" in body and "stage" in body:
        raise ValidationError("give instance_ids or stage, not both", field="stage")
    try:
        # JSON Schema's integers include 2.0: the engine is given 2.
        return _service().migrate(
            process_id,
            int(body["to_version"]),
            user=_user(),
            instance_ids=body.get("instance_ids"),
            stage=body.get("stage"),
            from_version=None if body.get("from_version") is None else int(body["from_version"]),
            dry_run=body.get("dry_run", False),
        )
    except NotFoundError as exc:  # the version named in the body
        raise ValidationError(str(exc), field="to_version") from None


@functools.cache
def _validator() -> Any:
    return make_validator(schemas()["MigrationRequest"])


# --- the OpenAPI document's part -----------------------------------------------------------


def paths() -> dict[str, Any]:
    """The version operations, keyed by path."""
    process = [{"$ref": "#/components/parameters/ProcessId"}]
    return {
        "/definitions/{process_id}/versions": {
            "get": {
                "operationId": "listDefinitionVersions",
                "tags": [TAG],
                "summary": "A process's versions and the deals on each",
                "description": "Newest first: who published each version and when, and how "
                "many deals run on it (running, in error, all it ever ran).",
                "parameters": process,
                "responses": {
                    "200": answer("VersionList", "The versions."),
                    **fails("401", "404"),
                },
            }
        },
        "/definitions/{process_id}/migrations": {
            "post": {
                "operationId": "migrateDeals",
                "tags": [TAG],
                "summary": "Move running deals to another version (or preview it)",
                "description": "Moves the deals named in `instance_ids`, or every running deal "
                "of the process (at `stage`, on `from_version` when given) not on `to_version` "
                "yet, in one audited action.  Each deal keeps its history and gets a `migrated` "
                "history entry; open tasks stay open where the new version still has their "
                "step; a waiting timer keeps its due time unless its timer changed.  A deal "
                "that cannot move (in error, at a step the new version removed, ...) stays "
                "untouched and its answer says why.  With `dry_run` nothing changes: the answer "
                "is the preview, with where each deal would land.  Designers and admins; the "
                "dry run also for sales managers.",
                "parameters": process,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": ref("MigrationRequest"),
                            "example": {"to_version": 2, "stage": "needs", "dry_run": True},
                        }
                    },
                },
                "responses": {
                    "200": answer("MigrationResult", "What happened to each deal."),
                    **fails("401", "403", "404", "422"),
                },
            }
        },
    }


def schemas() -> dict[str, Any]:
    """The schemas the version operations use, built afresh on each call."""
    count = functools.partial(integer, minimum=0)
    return {
        "Version": record(
            "One version of a process.",
            {
                "version": integer("The version number (1, 2, ...).", minimum=1),
                "latest": {"type": "boolean", "description": "Whether new deals start on it."},
                "deployed_by": text("Who published it.", null=True),
                "deployed_at": text("When it was published.", format="date-time"),
                "running": count("Deals running on it now."),
                "error": count("Deals on it that are in error."),
                "total": count("Every deal that ever ran on it."),
            },
        ),
        "VersionList": record(
            "A process's versions, newest first.",
            {
                "process_id": text("The process."),
                "items": {"type": "array", "items": ref("Version")},
            },
        ),
        "MigrationRequest": {
            "type": "object",
            "description": "Which deals to move where.",
            "properties": {
                "to_version": integer("The version to move to.", minimum=1, maximum=MAX_INT),
                "instance_ids": {
                    "type": "array",
                    "description": "Only these deals (else every running one not on it yet).",
                    "items": {"type": "string", "pattern": "^[0-9]+$"},
                    "minItems": 1,
                    "maxItems": MAX_IDS,
                },
                "stage": text("Only the deals at this stage.", minLength=1, maxLength=40),
                "from_version": integer(
                    "Only the deals on this version.", minimum=1, maximum=MAX_INT
                ),
                "dry_run": {"type": "boolean", "description": "Preview only; nothing changes."},
            },
            "required": ["to_version"],
            "additionalProperties": False,
        },
        "MigrationOpenTask": record(
            "A task open after the move (or now, for a deal that stays).",
            {
                "element_id": text("The BPMN element."),
                "name": text("Its name."),
                "lane": text("Its lane (the role that does it).", null=True),
            },
        ),
        "MigrationTimer": record(
            "A timer the deal waits for after the move.",
            {
                "element_id": text("The BPMN element."),
                "name": text("Its name.", null=True),
                "due_at": text("When it fires.", null=True, format="date-time"),
                "restarted": {
                    "type": "boolean",
                    "description": "True when the move restarts it (the new version changed "
                    "the timer): it then runs from the moment of the move.",
                },
            },
        ),
        "MigrationDeal": record(
            "What happens (or happened) to one deal.",
            {
                "instance_id": text("The deal's id.", null=True),
                "name": text("The deal's name (null for a deal you may not see).", null=True),
                "owner": text("Who owns it (null for a deal you may not see).", null=True),
                "stage": text("Its stage now.", null=True),
                "status": text("Its status now.", null=True),
                "from_version": integer("The version it is (or was) on.", null=True),
                "to_version": integer("The version asked for."),
                "can_move": {"type": "boolean", "description": "Whether it can move."},
                "migrated": {"type": "boolean", "description": "Whether it was moved now."},
                "code": text(
                    "Why it cannot move: element_removed, next_removed, in_error, not_running, "
                    "same_version, subprocess_removed, fails, unsupported, not_found (no "
                    "deal of this process: another process's deal reads the same as none).",
                    null=True,
                ),
                "reason": text("The same in words.", null=True),
                "element_id": text("The element the reason is about.", null=True),
                "element_name": text("Its name.", null=True),
                "position": {
                    "type": "object",
                    "description": "Where its tokens land on the new version (or where it "
                    "stays): element id -> completed, ready, waiting, error or cancelled.",
                    "additionalProperties": {"type": "string"},
                },
                "open": {"type": "array", "items": ref("MigrationOpenTask")},
                "timers": {"type": "array", "items": ref("MigrationTimer")},
                "stage_after": text("Its stage after the move.", null=True),
                "status_after": text("Its status after the move.", null=True),
            },
        ),
        "MigrationResult": record(
            "A migration or its preview, deal by deal.",
            {
                "process_id": text("The process."),
                "to_version": integer("The version asked for."),
                "dry_run": {"type": "boolean", "description": "True for a preview."},
                "batch": text(
                    "The id shared by the `migrated` history entries of this move.", null=True
                ),
                "movable": count("Deals that can move (in a migration: that moved)."),
                "migrated": count("Deals moved now (0 in a preview)."),
                "refused": count("Deals that cannot move."),
                "deals": {"type": "array", "items": ref("MigrationDeal")},
            },
        ),
    }
