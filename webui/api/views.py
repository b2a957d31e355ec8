"""The JSON API at /api/v1: deals, tasks and definitions for other systems.

Views are thin callers of the engine's use cases with the pages' rules:
- a token names a user (`salesflow tokens create USER`), sent as `Authorization: Bearer ...`;
- a deal the user may not see (engine.usecases.access) is "not found", word for word like a deal
  that does not exist, so ids cannot be probed;
- claiming, releasing and completing follow the engine's lane rule (ForbiddenError -> 403),
  on a task of a deal the user may see; any other task is "not found" like a missing one.
Every answer is JSON, errors too: `{"error", "message"}`, plus `field` and `errors` for
invalid data.  document.py describes all of it; a test keeps the two in step.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, Unauthorized
from werkzeug.routing import Map, Rule

from diagrams import DiagramError, render_definition, render_instance
from diagrams.pages import PAPERS
from engine.core.graph import Graph
from engine.core.records import DefinitionRecord
from engine.errors import (
    EngineError,
    NotFoundError,
    ValidationError,
)
from engine.usecases.forms import check_data, load_json_object, make_validator
from engine.usecases.service import Service
from engine.usecases.unit import MAX_ID
from webui import service as service_of
from webui.api.docs_page import docs_page
from webui.api.document import document
from webui.api.schemas import DEAL_STATUSES, request_schema
from webui.chart_svg import MEDIA_TYPES
from webui.deals import PIPELINE, stage_names
from webui.errors import headers_of, status_of

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["bp"]

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

LAYOUTS = ("drawn", "auto")
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
MAX_INT = MAX_ID  # larger numbers would overflow the database's integers
# Documentation, and the JSON 404/405 for unknown paths: they show no data.
# The signed incoming message (webhooks.py) checks its own signature instead of a token.
PUBLIC = frozenset({"api.openapi_json", "api.docs", "api.unknown_path", "api.signed_message"})


def _service() -> Service:
    return service_of(current_app)


def _user() -> str:
    user: str = g.api_user
    return user


# --- authentication and errors -----------------------------------------------------------


class TokenRequired(Unauthorized):
    """401 with the bearer challenge of RFC 6750."""

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.challenge = 'Bearer realm="salesflow"' + (f', error="{error}"' if error else "")

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        return [*super().get_headers(environ, scope), ("WWW-Authenticate", self.challenge)]


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRequired(
            "send the header 'Authorization: Bearer <token>' with a token from "
            "`salesflow tokens create USER`"
        )
    user = _service().user_for_token(token)
    if user is None:
        raise TokenRequired(
            "the token is unknown or revoked, or its user is inactive", error="invalid_token"
        )
    g.api_user = user


def _error(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError) -> Response:
    status = status_of(exc, 400)
    return _error(exc.to_dict(), status, headers_of(exc, status))


@bp.errorhandler(DiagramError)
def _diagram_error(exc: DiagramError) -> Response:
    log.exception("drawing a chart failed")
    return _error({"error": type(exc).__name__, "message": str(exc)}, 500)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    body = {"error": "".join(exc.name.split()), "message": exc.description or exc.name}
    return _error(body, exc.code or 500, headers)


# --- reading the request -----------------------------------------------------------------


def _text_arg(name: str) -> str | None:
    return request.args.get(name) or None  # an empty filter is no filter


def _choice_arg(name: str, choices: tuple[str, ...]) -> str | None:
    value = _text_arg(name)
    if value is not None and value not in choices:
        raise ValidationError(f"must be one of {', '.join(choices)}", field=name)
    return value


def _paper(format: str) -> dict[str, Any]:
    """A PDF's pages: `paper` a4 (the default) or a3, their header and legend in the
    request's language.  Only a PDF has pages: `paper` with svg or png is 422."""
    paper = _choice_arg("paper", tuple(PAPERS))
    if paper is not None and format != "pdf":
        raise ValidationError("only a PDF has pages: ask for diagram.pdf", field="paper")
    return {"paper": paper or "a4", "lang": _lang()}


def _check_layout(graph: Graph, layout: str | None) -> None:
    """`layout=drawn` needs the designer's layout (BPMN DI), which a file may lack."""
    if layout == "drawn" and not graph.has_di:
        raise ValidationError(
            "this process has no drawn layout (no BPMN DI): use auto", field="layout"
        )


def _int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    value = _text_arg(name)
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]+", value) or not low <= int(value) <= high:
        raise ValidationError(f"must be a whole number from {low} to {high}", field=name)
    return int(value)


def _flag_arg(name: str) -> bool:
    value = _text_arg(name) or "0"
    if value not in ("0", "1"):
        raise ValidationError("must be 1 or 0", field=name)
    return value == "1"


@functools.cache
def _validator(schema_name: str) -> Any:
    return make_validator(request_schema(schema_name))


def _body(schema_name: str) -> dict[str, Any]:
    """The JSON object sent, checked against its request schema in the OpenAPI document."""
    body = load_json_object(request.get_data(as_text=True), what="body")
    known = request_schema(schema_name)["properties"]
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ValidationError(f"unknown key; the body takes {', '.join(known)}", field=unknown[0])
    check_data(_validator(schema_name), body)
    return body


def _sees(instance_id: str) -> bool:
    try:
        return _service().may_see(_user(), instance_id)
    except NotFoundError:
        return False


def _visible_deal(instance_id: str) -> None:
    """404 for a deal the user may not see, with the words used for one that does not exist."""
    if not _sees(instance_id):
        raise NotFoundError(f"no deal with id '{instance_id}'")


def _visible_task(task_id: str) -> None:
    """404 for a task (open or done) of a deal the user may not see, worded like the engine's
    404 for a missing one: its 403 and 409 would name the lane, the assignee, who did it."""
    service = _service()
    found = service.task(task_id) or service.completed_task(task_id)
    if found is None or not _sees(found["instance_id"]):
        raise NotFoundError(f"no open task with id '{task_id}'")


def _chart(data: bytes, fmt: str, stem: str) -> Response:
    response = Response(data, mimetype=MEDIA_TYPES[fmt])
    name = re.sub(r"[^A-Za-z0-9._-]", "_", stem)
    response.headers["Content-Disposition"] = f'inline; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-cache"  # deals move, heatmaps change
    response.headers["X-Content-Type-Options"] = "nosniff"
    if fmt == "svg":  # opened on its own, an SVG must not run anything
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'"
        )
    return response


# --- deals -------------------------------------------------------------------------------


@bp.get("/deals")
def list_deals() -> ResponseReturnValue:
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_arg("offset", 0, 0, MAX_INT) or 0
    items = _service().instances(
        process=_text_arg("process"),
        status=_choice_arg("status", tuple(DEAL_STATUSES)),
        owner=_text_arg("owner"),
        stage=_text_arg("stage"),
        tier=_text_arg("tier"),
        lead_source=_text_arg("source"),
        search=_text_arg("q"),
        sort=_text_arg("sort"),
        visible_to=_user(),
        limit=limit,
        offset=offset,
    )
    return {"items": items, "limit": limit, "offset": offset}


@bp.post("/deals")
def start_deal() -> ResponseReturnValue:
    body = _body("NewDeal")
    user = _user()
    owner = body.get("owner", user)
    service = _service()
    # Ids in the body that point nowhere are invalid data (422), not a missing resource.
    try:
        service.roles(owner)
    except NotFoundError:
        raise ValidationError(f"no active user '{owner}'", field="owner") from None
    try:
        started = service.start(
            body["process_id"],
            deal=body.get("name"),
            owner=owner,
            data=body.get("data"),
            actor=user,
            version=body.get("version"),
            amount=body.get("amount"),
            expected_close=body.get("expected_close"),
            customer_id=body.get("customer_id"),
        )
    except NotFoundError as exc:
        raise ValidationError(str(exc), field="process_id") from None
    location = url_for(".get_deal", instance_id=started["instance_id"])
    return started, 201, {"Location": location}


@bp.get("/deals/<instance_id>")
def get_deal(instance_id: str) -> ResponseReturnValue:
    _visible_deal(instance_id)
    return _service().localize_deal(_service().show(instance_id), _lang())


@bp.get("/deals/<instance_id>/diagram.<any(svg, png, pdf):format>")
def get_deal_diagram(instance_id: str, format: str) -> ResponseReturnValue:
    _visible_deal(instance_id)
    layout = _choice_arg("layout", LAYOUTS)
    paper = _paper(format)
    graph, view, key = _service().instance_chart(instance_id, lang=_lang())
    _check_layout(graph, layout)
    data = render_instance(graph, view, format, layout=layout, cache_key=key, **paper)
    return _chart(data, format, f"deal-{instance_id}")


@bp.post("/deals/<instance_id>/lost")
def mark_deal_lost(instance_id: str) -> ResponseReturnValue:
    body = _body("LostDeal")  # checked before the deal is looked at: no leak
    _visible_deal(instance_id)
    return _service().mark_lost(instance_id, user=_user(), reason=body["reason"])


@bp.get("/board")
def get_board() -> ResponseReturnValue:
    unknown = sorted(set(request.args) - {"process"})
    if unknown:  # a misspelt `process` must not show another process's board
        raise ValidationError("not a parameter of the board: it takes `process`", field=unknown[0])
    process = _text_arg("process") or PIPELINE
    board = _service().board(process, visible_to=_user())
    label = stage_names(process)  # in the language of Accept-Language, as on the board page
    return {
        "stages": [
            {
                "stage": column["stage"],
                "label": label(column["stage"]),
                "count": column["count"],
                "value": column["value"],
                "weighted": column["weighted"],
            }
            for column in board["stages"]
        ]
    }


# --- tasks -------------------------------------------------------------------------------


def _lang() -> str | None:
    """The request's Accept-Language: process content in that language (engine.usecases.texts)."""
    return request.headers.get("Accept-Language")


@bp.get("/tasks")
def list_tasks() -> ResponseReturnValue:
    unknown = sorted(set(request.args) - {"instance", "role"})
    if unknown:  # a misspelt filter must not list every task as if none was given
        raise ValidationError("not a parameter: it takes instance or role", field=unknown[0])
    instance = _text_arg("instance")
    if instance is not None and not re.fullmatch(r"[0-9]+", instance):
        raise ValidationError("must be a deal id (digits)", field="instance")
    items = _service().tasks(user=_user(), role=_text_arg("role"), instance=instance, lang=_lang())
    return {"items": items}


@bp.get("/tasks/<task_id>")
def get_task(task_id: str) -> ResponseReturnValue:
    _visible_task(task_id)
    service, lang = _service(), _lang()
    form = service.task_form(task_id, lang=lang)  # a task done meanwhile: 409, who and when
    task = service.task(task_id, lang=lang)
    if task is None:  # completed between the two reads
        raise NotFoundError(f"no open task with id '{task_id}'")
    return {
        **task,
        "form_schema": form["schema"],
        "instructions": form["instructions"],
        "sent_back": service.sent_back_note(task_id, lang=lang),
    }


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id: str) -> ResponseReturnValue:
    _visible_task(task_id)
    return _service().claim(task_id, user=_user())


@bp.post("/tasks/<task_id>/release")
def release_task(task_id: str) -> ResponseReturnValue:
    _visible_task(task_id)
    return _service().release(task_id, user=_user())


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str) -> ResponseReturnValue:
    body = _body("TaskCompletion")  # checked without a look at the task: no leak
    _visible_task(task_id)
    return _service().complete(task_id, user=_user(), data=body.get("data"), lang=_lang())


# --- definitions -------------------------------------------------------------------------


def _definition(process_id: str) -> DefinitionRecord:
    for found in _service().localized_definitions(_lang()):
        if found["process_id"] == process_id:
            return found
    raise NotFoundError(f"no deployed process '{process_id}'")


@bp.get("/definitions")
def list_definitions() -> ResponseReturnValue:
    return {"items": _service().localized_definitions(_lang())}


@bp.get("/definitions/<process_id>")
def get_definition(process_id: str) -> ResponseReturnValue:
    found = _definition(process_id)
    # Deploying changed files adds version N+1 (store.deployments): the numbers are 1..latest.
    return {**found, "version_numbers": list(range(1, found["version"] + 1))}


@bp.get("/definitions/<process_id>/diagram.<any(svg, png, pdf):format>")
def get_definition_diagram(process_id: str, format: str) -> ResponseReturnValue:
    version = _int_arg("version", None, 1, MAX_INT)
    heatmap = _flag_arg("heatmap")
    layout = _choice_arg("layout", LAYOUTS)
    paper = _paper(format)
    service = _service()
    graph, key = service.definition_chart(process_id, version)
    _check_layout(graph, layout)
    heat = service.heat(process_id, version) if heatmap else None
    data = render_definition(graph, format, layout=layout, heat=heat, cache_key=key, **paper)
    suffix = f"-v{version}" if version is not None else ""
    return _chart(data, format, f"{process_id}{suffix}{'-heatmap' if heatmap else ''}")


# --- documentation and unknown paths -----------------------------------------------------


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    text = json.dumps(document(), indent=2, ensure_ascii=False)
    return Response(text, mimetype="application/json")


@bp.get("/docs")
def docs() -> ResponseReturnValue:
    response = Response(docs_page(url_for(".openapi_json")), mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.route("/<path:rest>", methods=ANY_METHOD)
def unknown_path(rest: str) -> ResponseReturnValue:
    """JSON for what has no route here.  Routing errors never reach a blueprint's error
    handlers, and the app's belong to the pages; so this route (and the rule for any method
    and any rest of the path that `init_app` adds) catches the rest of /api/v1 and tells 404
    from 405 by matching the path, as sent, against the API's own routes."""
    own = [
        Rule(rule.rule, methods=rule.methods, endpoint=rule.endpoint)
        for rule in current_app.url_map.iter_rules()
        if rule.endpoint.startswith(f"{bp.name}.") and rule.endpoint != f"{bp.name}.unknown_path"
    ]
    allowed = Map(own, merge_slashes=False).bind("localhost").allowed_methods(request.path)
    if allowed:
        raise MethodNotAllowed(valid_methods=sorted(allowed))
    raise NotFound(f"no API endpoint {request.method} {request.path}; see {url_for('.docs')}")
