"""The process designer: the bpmn-js modeler, a side panel for what the engine reads, a form
schema editor with a live preview, a DMN table grid, and check / save as draft / publish.

For designers and admins only (a 403 for everyone else).  The page is a thin caller of the
engine's use cases (Service.check_definition, publish, save_designer_draft, ...,
engine.usecases.definitions): the files of a definition travel as one JSON dict (file name ->
text) and come back with the problems, each on its element; an edit that would overwrite
another process is refused by the engine, named here in the user's language.  bpmn-js comes
from the npm registry (webui/package.json, installed into webui/node_modules by
`make npm-assets`) and is served from there, never copied into the repo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.wrappers import Response

import diagrams
from diagrams.layout import SCALE
from engine.core.graph import Bounds, Graph, Point, diagram_list
from engine.core.roles import DESIGNERS, TEAM_ROLES
from engine.core.stages import STAGE_ORDER
from engine.errors import (
    DefinitionError,
    DefinitionProblemsError,
    NotFoundError,
    ProcessIdTakenError,
    ValidationError,
)
from engine.usecases import definitions
from engine.usecases.definitions import DiLayout, DiShape
from engine.usecases.forms import load_form
from webui.context import engine, require_any_role, user
from webui.i18n import N_, _, language
from webui.schema_form import build

bp = Blueprint("designer", __name__, url_prefix="/designer")

DESIGNER_ROLES = DESIGNERS
NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
BPMN_JS_DIST = NODE_MODULES / "bpmn-js" / "dist"
MODELER_JS = "bpmn-modeler.production.min.js"
TEMPLATE = Path(__file__).resolve().parent / "templates" / "designer" / "new_process.bpmn"
TEMPLATE_ID = "new_process"
# A definition is a handful of files of a few hundred KB at most; this stops abuse only.
MAX_FILES = 200
MAX_TOTAL_CHARS = 10_000_000
SUFFIXES = (".bpmn", ".dmn", ".json")
CLASH = N_(
    "A process with the id '%(id)s' is deployed already: give this one another id, or open that process in the designer to change it."  # noqa: E501
)


@bp.before_request
def _only_designers() -> None:
    require_any_role(DESIGNER_ROLES)


# --- pages ---------------------------------------------------------------------------------


@bp.get("")
def index() -> str:
    me = require_any_role(DESIGNER_ROLES)
    items = [
        {**d, "draft": engine().definition_draft(d["process_id"], me.username)}
        for d in engine().localized_definitions(language())
    ]
    return render_template("designer/index.html", definitions=items)


@bp.get("/new")
def new() -> str:
    """The modeler with a minimal valid process (one lane), under an id not yet taken."""
    taken = {d["process_id"] for d in engine().definitions()}
    process_id = TEMPLATE_ID
    n = 1
    while process_id in taken:
        n += 1
        process_id = f"{TEMPLATE_ID}_{n}"
    xml = TEMPLATE.read_text(encoding="utf-8").replace(TEMPLATE_ID, process_id)
    return _modeler(files={f"{process_id}.bpmn": xml}, opened=None, base_version=None)


@bp.get("/<process_id>")
def edit(process_id: str) -> str:
    """A version of a definition (its latest without ?version=N), or the designer's draft of
    it when there is one and no version was asked for."""
    me = require_any_role(DESIGNER_ROLES)
    version = _version_arg()
    draft = engine().definition_draft(process_id, me.username)
    latest = _latest_version(process_id)
    if draft is not None and version is None:
        return _modeler(
            files=draft["files"],
            opened=process_id,
            base_version=draft["base_version"],
            draft=draft,
            latest=latest,
        )
    if latest is None:
        abort(404)
    try:
        files = engine().definition_files(process_id, version)
    except NotFoundError:
        abort(404)
    return _modeler(
        files=files,
        opened=process_id,
        base_version=version or latest,
        draft=draft,
        latest=latest,
    )


@bp.post("/<process_id>/discard")
def discard(process_id: str) -> Response:
    me = require_any_role(DESIGNER_ROLES)
    if engine().discard_definition_draft(process_id, me.username):
        flash(_("Your draft was discarded."), "success")
    if _latest_version(process_id) is None:
        return redirect(url_for("designer.index"))
    return redirect(url_for("designer.edit", process_id=process_id))


@bp.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    """bpmn-js's distribution files (script, CSS, font) from webui/node_modules."""
    return send_from_directory(BPMN_JS_DIST, filename, max_age=3600)


# --- JSON endpoints of the page (CSRF token in the X-CSRFToken header) ---------------------


@bp.post("/check")
def check() -> tuple[Response, int]:
    files = _files()
    try:
        problems = engine().check_definition(files, replaces=_replaces(), lang=language())
    except ProcessIdTakenError as exc:
        problems = [_clash(exc)]
    return jsonify(problems=problems), 200


@bp.post("/publish")
def publish() -> tuple[Response, int]:
    me = require_any_role(DESIGNER_ROLES)
    files = _files()
    try:
        result = engine().publish(files, actor=me.username, replaces=_replaces(), lang=language())
    except ProcessIdTakenError as exc:
        return jsonify(problems=[_clash(exc)]), 409
    except DefinitionProblemsError as exc:
        return jsonify(problems=exc.problems), 422
    except DefinitionError as exc:
        return jsonify(problems=[_problem(exc)]), 422
    return jsonify(
        process_id=result["process_id"],
        version=result["version"],
        changed=result["changed"],
        problems=result.get("warnings", []),
        url=url_for("designer.edit", process_id=result["process_id"]),
    ), 200


@bp.post("/draft")
def save_draft() -> tuple[Response, int]:
    me = require_any_role(DESIGNER_ROLES)
    files = _files()
    base = _body().get("base_version")
    opened = _body().get("opened")
    try:
        draft = engine().save_designer_draft(
            files,
            actor=me.username,
            opened=opened if isinstance(opened, str) else None,
            base_version=base if isinstance(base, int) else None,
            lang=language(),
        )
    except ProcessIdTakenError as exc:
        return jsonify(problems=[_clash(exc)]), 409
    except ValidationError:
        message = _("There is no process in the BPMN file to keep a draft of.")
        return jsonify(problems=[_plain_problem(message)]), 422
    return jsonify(
        process_id=draft["process_id"],
        saved_at=draft["saved_at"],
        problems=draft.get("problems", []),
        url=url_for("designer.edit", process_id=draft["process_id"]),
    ), 200


@bp.post("/preview")
def preview() -> tuple[Response, int]:
    """The form a rep will see for a JSON schema (the same renderer as the task pages)."""
    body = _body()
    text = body.get("schema")
    name = body.get("name") or "form.schema.json"
    if not isinstance(text, str) or not isinstance(name, str):
        abort(400)
    try:
        schema = load_form(name, text)
        view = build(schema, {})
    except DefinitionError as exc:
        return jsonify(error=exc.detail, line=exc.line), 422
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # A schema valid against its meta-schema that the form renderer cannot read.
        return jsonify(error=_("The form cannot show this schema: %(why)s", why=exc)), 422
    return jsonify(html=render_template("designer/_preview.html", form=view)), 200


@bp.post("/layout")
def lay_out() -> tuple[Response, int]:
    """A BPMN file without a diagram (no BPMN DI), laid out by graphviz so that the modeler
    can show and edit it; a file with a diagram comes back as it is.  With the file's
    diagrams (engine.core.graph.diagram_list), for opening the main one of several."""
    text = _body().get("xml")
    if not isinstance(text, str) or len(text) > MAX_TOTAL_CHARS:
        abort(400)
    try:
        laid_out = with_layout(text)
        # Every diagram a designer can open (one without an id cannot be chosen).
        choices = [d for d in diagram_list(laid_out) if d["id"]]
        return jsonify(xml=laid_out, diagrams=choices), 200
    except (DefinitionError, diagrams.DiagramError) as exc:
        return jsonify(error=str(exc)), 422


# --- helpers -------------------------------------------------------------------------------


def with_layout(xml: str) -> str:
    """`xml` with a BPMN diagram from the automatic layout (graphviz `dot`) when it has none:
    every pool, lane, node and flow at the place `dot` gave it, in bpmn.io's pixels (the
    diagram is written by the use case engine.usecases.definitions `with_layout`)."""
    return definitions.with_layout(xml, _auto_layout)


def _auto_layout(graph: Graph) -> DiLayout:
    """`dot`'s layout of the graph (points, y up) in bpmn.io's pixels (y down)."""
    auto = diagrams.auto_layout(graph)
    px = 1 / SCALE  # the automatic layout sizes nodes as bpmn.io does, in points

    def bounds(box: diagrams.Box) -> Bounds:
        return Bounds(box.left * px, (auto.height - box.top) * px, box.width * px, box.height * px)

    shapes = [DiShape(area.id, bounds(area.box), horizontal=True) for area in auto.areas]
    shapes += [
        DiShape(node_id, bounds(box), expanded=node_id in auto.containers)
        for node_id, box in auto.nodes.items()
    ]
    edges = [
        (
            edge_id,
            # A curved path holds B-spline control points: every third one is on the curve.
            [
                Point(point.x * px, (auto.height - point.y) * px)
                for point in (path.points[::3] if path.curved else path.points)
            ],
        )
        for edge_id, path in auto.edges.items()
    ]
    return DiLayout(shapes, edges)


def _modeler(
    *,
    files: dict[str, str],
    opened: str | None,
    base_version: int | None,
    draft: dict[str, Any] | None = None,
    latest: int | None = None,
) -> str:
    roles = sorted({r for u in engine().users() for r in u["roles"]}, key=str.casefold)
    data = {
        "files": files,
        "opened": opened,
        "base_version": base_version,
        "latest": latest,
        "roles": roles,
        # The side panel's choices: an SLA escalates to a lane of the process or one of these
        # roles; a task's stage is one of these or one the translations file declares.
        "known_roles": list(TEAM_ROLES),
        "stages": list(STAGE_ORDER),
        # What a service task's connector may call and put in its headers (names only).
        "connector_hosts": [h["host"] for h in engine().connector_hosts(user=user().username)],
        "connector_secrets": [c["name"] for c in engine().connector_secrets(user=user().username)],
        "urls": {
            "check": url_for("designer.check"),
            "publish": url_for("designer.publish"),
            "draft": url_for("designer.save_draft"),
            "preview": url_for("designer.preview"),
            "layout": url_for("designer.lay_out"),
            "moddle": url_for("static", filename="spiffworkflow-moddle.json"),
            "connector_moddle": url_for("static", filename="salesflow-moddle.json"),
        },
        "texts": texts(),
    }
    return render_template(
        "designer/edit.html",
        data=data,
        opened=opened,
        base_version=base_version,
        latest=latest,
        draft=draft,
        assets_missing=not (BPMN_JS_DIST / MODELER_JS).is_file(),
    )


def _version_arg() -> int | None:
    value = request.args.get("version", "")
    if not value:
        return None
    if not value.isdigit():
        abort(404)
    return int(value)


def _latest_version(process_id: str) -> int | None:
    for d in engine().definitions():
        if d["process_id"] == process_id:
            return int(d["version"])
    return None


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return body


def _files() -> dict[str, str]:
    """The files of the request: a dict of file name -> text, within limits."""
    files = _body().get("files")
    if not isinstance(files, dict) or not files or len(files) > MAX_FILES:
        abort(400)
    total = 0
    for name, text in files.items():
        if not isinstance(text, str) or not name.endswith(SUFFIXES) or "/" in name:
            abort(400)
        total += len(text)
    if total > MAX_TOTAL_CHARS:
        abort(413)
    return files


def _replaces() -> tuple[str, ...]:
    """The deployed process this edit may give a new version: the one opened (none on the
    "new process" page); the engine refuses any other's id."""
    opened = _body().get("opened")
    return (opened,) if isinstance(opened, str) else ()


def _clash(exc: ProcessIdTakenError) -> dict[str, Any]:
    """The engine's refusal as a problem on the process, in the user's language."""
    return {
        "element_id": exc.process_id,
        "message": _(CLASH, id=exc.process_id),
        "line": None,
        "file": None,
        "severity": "error",
    }


def _problem(exc: DefinitionError) -> dict[str, Any]:
    return {
        "element_id": exc.element_id,
        "message": exc.detail,
        "line": exc.line,
        "file": exc.file,
        "severity": "error",
    }


def _plain_problem(message: str) -> dict[str, Any]:
    return {"element_id": None, "message": message, "line": None, "file": None, "severity": "error"}


TEXTS: dict[str, str] = {
    "process": N_("Process"),
    "process_id": N_("Process id"),
    "process_name": N_("Process name"),
    "id": N_("Id"),
    "name": N_("Name (shown on the diagram)"),
    "lane": N_("Lane (role)"),
    "no_lane": N_("— no lane —"),
    "role": N_("Role (the lane's name)"),
    "condition": N_("Condition"),
    "condition_help": N_(
        'A Python expression over the deal\'s data, for example: discount_percent > 5 or tier in ["A", "B"]'  # noqa: E501
    ),
    "default_flow": N_("Default flow of the gateway (taken when no condition holds)"),
    "default": N_("Default flow"),
    "none": N_("— none —"),
    "script": N_("Script (Python)"),
    "timer": N_("Timer"),
    "timer_kind": N_("Kind"),
    "timeDuration": N_("Duration"),
    "timeDate": N_("Date"),
    "timeCycle": N_("Cycle"),
    "timer_help": N_(
        'An expression: a duration is written with quotes, for example "P3D" (three days).'
    ),
    "stage": N_("Stage"),
    "form": N_("Form schema file"),
    "edit_form": N_("Edit form"),
    "new_form": N_("New form"),
    "sla": N_("SLA (for example P3D)"),
    "escalate_to": N_("Escalate to (role)"),
    "other": N_("other…"),
    "instructions": N_("Instructions for the person doing the task"),
    "decision": N_("Decision table (DMN)"),
    "edit_table": N_("Edit table"),
    "new_table": N_("New table"),
    "type": N_("Type"),
    "nothing_selected": N_("Select an element of the diagram to edit what the engine reads."),
    "id_taken": N_("This id is used by another element."),
    "id_invalid": N_("An id starts with a letter or _ and holds letters, digits, _ . or -."),
    "checking": N_("Checking…"),
    "saving": N_("Saving…"),
    "publishing": N_("Publishing…"),
    "no_problems": N_("No problems: ready to publish."),
    "problems": N_("Problems"),
    "not_published": N_("Nothing was published: fix the errors marked on the diagram."),
    "published": N_("Version %(version)s published."),
    "unchanged": N_("Nothing changed: version %(version)s already holds these files."),
    "draft_saved": N_("Draft saved. It is not deployed; publish it when it is ready."),
    "draft_problems": N_("Draft saved, with %(count)s problems to fix before publishing."),
    "request_failed": N_("The server did not accept the request (%(status)s)."),
    "import_failed": N_("This file cannot be shown: %(why)s"),
    "imported": N_("%(name)s imported. Check it to see whether it can be deployed."),
    "imported_laid_out": N_(
        "%(name)s imported. It had no diagram, so it was laid out automatically."
    ),
    "import_warnings": N_("%(name)s imported with %(count)s warnings."),
    "diagram_shapes": N_("%(count)s shapes"),
    "diagram_main": N_("main diagram"),
    "form_file_missing": N_("This form file is not part of the definition yet."),
    "create_it": N_("Create it"),
    "invalid_json": N_("Not valid JSON: %(why)s"),
    "preview_of": N_("Preview: the form a rep will see"),
    "no_form": N_("No form file yet: pick one in the side panel or create one here."),
    "file_name_invalid": N_("A file name holds letters, digits, _ . or - and ends in %(suffix)s."),
    "file_exists": N_("A file with this name exists already."),
    "no_tables": N_("This definition has no DMN table yet."),
    "table_invalid": N_("This DMN file holds no decision table the grid can show."),
    "add_row": N_("Add row"),
    "rule": N_("Rule %(number)s"),
    "remove_row": N_("Remove row"),
    "description": N_("Description"),
    "input": N_("Input"),
    "output": N_("Output"),
    "warning": N_("warning"),
    "error": N_("error"),
    "line": N_("line %(line)s"),
    "executable": N_("Executable (the engine runs it)"),
    "start_roles": N_("Started by (roles)"),
    "start_roles_help": N_(
        "Roles that may start its deals, comma-separated (none: Sales Rep, Sales Manager)."
    ),
    "check_errors": N_("%(count)s errors: this definition cannot be published yet."),
    "check_warnings": N_("%(count)s warnings, no errors: it can be published."),
    "check_errors_one": N_("One error: this definition cannot be published yet."),
    "check_warnings_one": N_("One warning, no errors: it can be published."),
    "draft_problems_one": N_("Draft saved, with one problem to fix before publishing."),
    "version": N_("Version %(version)s"),
    "modeler_missing": N_("The modeler could not be loaded."),
    # The Chinese texts of the process (<bpmn>.zh-Hans.json, engine.core.translations).
    "name_zh": N_("Chinese name (中文名称)"),
    "instructions_zh": N_("Chinese instructions (中文说明)"),
    "zh_invalid": N_("%(file)s is not a valid translations file: fix it in a text editor."),
    "form_zh": N_("Chinese texts of this form (中文)"),
    "form_zh_help": N_(
        "Kept in %(file)s beside the BPMN; a rep reading Chinese sees these, the designer's text where one is empty."  # noqa: E501
    ),
    "form_title": N_("Form title"),
    "form_help": N_("Form help"),
    "help": N_("help"),
    "field": N_("Field"),
    "designer_text": N_("Designer's text"),
    "chinese": N_("Chinese"),
    # A service task's HTTP connector (engine.core.connectors).
    "connector": N_("HTTP connector"),
    "connector_operator": N_(
        "This task calls spiff-arena's operator %(name)s: salesflow runs its HTTP operators "
        "as they are written."
    ),
    "connector_method": N_("Method"),
    "connector_url": N_("URL"),
    "connector_url_help": N_(
        "{{name}} puts a value of the deal in the URL. Allowed hosts: %(hosts)s."
    ),
    "connector_no_hosts": N_("none yet (an admin adds them under Connectors)"),
    "connector_headers": N_("Headers (one per line, Name: value)"),
    "connector_headers_help": N_("Stored secrets: %(secrets)s."),
    "connector_no_secrets": N_("none yet"),
    "connector_fields": N_("JSON body (one field per line, name = expression)"),
    "connector_fields_help": N_("Each expression is worked out on the deal's data."),
    "connector_results": N_("Into the deal's data (one per line, name = path)"),
    "connector_results_help": N_(
        "A path into the answer: status, body, body.id, body.items.0.name."
    ),
    "connector_timeout": N_("Timeout (seconds)"),
    "connector_retries": N_("Retries before an incident"),
    "connector_retry_delay": N_("First retry after (doubles each time)"),
}


def texts() -> dict[str, str]:
    """What designer.js shows, in the user's language (placeholders filled there)."""
    return {key: _(text) for key, text in TEXTS.items()}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
