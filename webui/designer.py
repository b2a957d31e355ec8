"""The process designer: the bpmn-js modeler, a side panel for what the engine reads, a form
schema editor with a live preview, a DMN table grid, and check / save as draft / publish.

For designers and admins only (a 403 for everyone else).  The page is a thin caller of the
engine's use cases (Service.check_definition, publish, save_draft_definition, ...): the files
of a definition travel as one JSON dict (file name -> text) and come back with the problems,
each on its element.  bpmn-js comes from the npm registry (webui/package.json, installed into
webui/node_modules by `make npm-assets`) and is served from there, never copied into the repo.
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
from lxml import etree
from werkzeug.wrappers import Response

import diagrams
from diagrams.layout import SCALE
from engine.core.definitions import load_form
from engine.core.graph import graph_from_xml
from engine.core.roles import role_key
from engine.core.stages import STAGE_ORDER
from engine.errors import DefinitionError, DefinitionProblemsError, NotFoundError
from webui.context import engine, require_any_role
from webui.i18n import N_, _
from webui.schema_form import build

bp = Blueprint("designer", __name__, url_prefix="/designer")

DESIGNER_ROLES = frozenset(role_key(r) for r in ("designer", "admin"))
NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
BPMN_JS_DIST = NODE_MODULES / "bpmn-js" / "dist"
MODELER_JS = "bpmn-modeler.production.min.js"
TEMPLATE = Path(__file__).resolve().parent / "templates" / "designer" / "new_process.bpmn"
TEMPLATE_ID = "new_process"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
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
        for d in engine().definitions()
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
    clash = _id_clash(files)
    return jsonify(problems=[clash] if clash else engine().check_definition(files)), 200


@bp.post("/publish")
def publish() -> tuple[Response, int]:
    me = require_any_role(DESIGNER_ROLES)
    files = _files()
    clash = _id_clash(files)
    if clash is not None:
        return jsonify(problems=[clash]), 409
    try:
        result = engine().publish(files, actor=me.username)
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
    body = _body()
    clash = _id_clash(files)
    if clash is not None:
        return jsonify(problems=[clash]), 409
    ids = _process_ids(files)
    if not ids:
        message = _("There is no process in the BPMN file to keep a draft of.")
        return jsonify(problems=[_plain_problem(message)]), 422
    base = body.get("base_version")
    if base is not None and (not isinstance(base, int) or body.get("opened") != ids[0]):
        base = None  # saved under another process id: the draft starts no version of it
    draft = engine().save_draft_definition(ids[0], files, actor=me.username, base_version=base)
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
    can show and edit it; a file with a diagram comes back as it is."""
    text = _body().get("xml")
    if not isinstance(text, str) or len(text) > MAX_TOTAL_CHARS:
        abort(400)
    try:
        return jsonify(xml=with_layout(text)), 200
    except (DefinitionError, diagrams.DiagramError) as exc:
        return jsonify(error=str(exc)), 422


# --- helpers -------------------------------------------------------------------------------


def with_layout(xml: str) -> str:
    """`xml` with a BPMN diagram from the automatic layout (graphviz `dot`) when it has none:
    every pool, lane, node and flow at the place `dot` gave it, in bpmn.io's pixels."""
    graph = graph_from_xml(xml)
    if graph.has_di:
        return xml
    auto = diagrams.auto_layout(graph)
    px = 1 / SCALE  # the automatic layout sizes nodes as bpmn.io does, in points
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False))
    owner = root.find(f"{{{BPMN_NS}}}collaboration")
    if owner is None:
        owner = root.find(f"{{{BPMN_NS}}}process")
    diagram = etree.SubElement(
        root,
        f"{{{BPMNDI_NS}}}BPMNDiagram",
        id="diagram_auto_layout",
        nsmap={"bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS},
    )
    plane = etree.SubElement(diagram, f"{{{BPMNDI_NS}}}BPMNPlane", id="plane_auto_layout")
    if owner is not None and owner.get("id"):
        plane.set("bpmnElement", owner.get("id") or "")

    def shape(element_id: str, box: diagrams.Box, **extra: str) -> None:
        found = etree.SubElement(
            plane, f"{{{BPMNDI_NS}}}BPMNShape", id=f"{element_id}_di", bpmnElement=element_id
        )
        for name, value in extra.items():
            found.set(name, value)
        etree.SubElement(
            found,
            f"{{{DC_NS}}}Bounds",
            x=_px(box.left * px),
            y=_px((auto.height - box.top) * px),
            width=_px(box.width * px),
            height=_px(box.height * px),
        )

    for area in auto.areas:
        shape(area.id, area.box, isHorizontal="true")
    for node_id, box in auto.nodes.items():
        shape(node_id, box, **({"isExpanded": "true"} if node_id in auto.containers else {}))
    for edge_id, path in auto.edges.items():
        edge = etree.SubElement(
            plane, f"{{{BPMNDI_NS}}}BPMNEdge", id=f"{edge_id}_di", bpmnElement=edge_id
        )
        # A curved path holds B-spline control points: every third one is on the curve.
        for point in path.points[::3] if path.curved else path.points:
            etree.SubElement(
                edge,
                f"{{{DI_NS}}}waypoint",
                x=_px(point.x * px),
                y=_px((auto.height - point.y) * px),
            )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def _px(value: float) -> str:
    return str(round(value))


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
        "stages": list(STAGE_ORDER),
        "urls": {
            "check": url_for("designer.check"),
            "publish": url_for("designer.publish"),
            "draft": url_for("designer.save_draft"),
            "preview": url_for("designer.preview"),
            "layout": url_for("designer.lay_out"),
            "moddle": url_for("static", filename="spiffworkflow-moddle.json"),
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


def _process_ids(files: dict[str, str]) -> list[str]:
    """The ids of the processes in the BPMN files, the executable ones first."""
    found: list[tuple[bool, str]] = []
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for name, text in sorted(files.items()):
        if not name.endswith(".bpmn"):
            continue
        try:
            root = etree.fromstring(text.encode("utf-8"), parser)
        except etree.XMLSyntaxError:
            continue
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            if process.get("id"):
                found.append((process.get("isExecutable") != "true", process.get("id")))
    return [pid for _, pid in sorted(found, key=lambda item: item[0])]


def _id_clash(files: dict[str, str]) -> dict[str, Any] | None:
    """A save under the id of another deployed process than the one opened (the "new process"
    page, or an id changed in the panel) would overwrite it: refused, on the process."""
    opened = _body().get("opened")
    deployed = {d["process_id"] for d in engine().definitions()}
    for pid in _process_ids(files):
        if pid != opened and pid in deployed:
            return {
                "element_id": pid,
                "message": _(CLASH, id=pid),
                "line": None,
                "file": None,
                "severity": "error",
            }
    return None


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
    "check_errors": N_("%(count)s errors: this definition cannot be published yet."),
    "check_warnings": N_("%(count)s warnings, no errors: it can be published."),
    "check_errors_one": N_("One error: this definition cannot be published yet."),
    "check_warnings_one": N_("One warning, no errors: it can be published."),
    "draft_problems_one": N_("Draft saved, with one problem to fix before publishing."),
    "version": N_("Version %(version)s"),
    "modeler_missing": N_("The modeler could not be loaded."),
}


def texts() -> dict[str, str]:
    """What designer.js shows, in the user's language (placeholders filled there)."""
    return {key: _(text) for key, text in TEXTS.items()}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
