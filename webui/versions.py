"""Versions of a process: what changed between two, and moving running deals to another one.

    /processes/<id>/diff?from=1&to=2     both charts, marked (the newer one: added and changed;
                                         the older one: removed and changed), a legend and a
                                         table of every change
    /processes/<id>/migrate?to=N         the deals not on version N (filters: the version they
                                         are on, their stage), each with whether it can move
                                         and where it would land, and the landing drawn on
                                         version N's chart for the deals picked (`deal=`); the
                                         form moves the chosen deals, or all that match the
                                         filters, in one audited action (engine.usecases.moves)

The version list itself is on the process page (templates/versions/_list.html).  Who: the
process pages' roles see all of it (sales managers, designers, admins); only designers and
admins move deals (engine.usecases.moves.MIGRATE_ROLES: the engine checks, the page hides the form).
Moving is a right over the process: the deals named are looked at only after the process, the
versions asked for and the role have passed, and then every deal of the process counts, the
ones a designer may not otherwise see included (shown by number, without name or owner); an id
that is no deal of this process reads the same whether it is another process's deal or none
(engine.usecases.moves).  Deal names link to the deal page only for those who see every deal.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, render_template, request
from markupsafe import Markup

import diagrams
from diagrams.diff import render_diff
from engine.core.diff import VersionDiff
from engine.core.graph import Graph, InstanceView
from engine.core.records import DefinitionRecord
from engine.core.stages import STAGE_ORDER
from engine.errors import NotFoundError
from engine.usecases.access import sees_all
from engine.usecases.moves import may_migrate
from webui.chart_svg import inline_svg
from webui.context import PROCESS_ROLES, engine, require_any_role, user
from webui.i18n import N_, _, language

bp = Blueprint("versions", __name__, url_prefix="/processes")

MAX_CHARTS = 6  # landing charts drawn at once on the migration page
STATUS_TEXT = {"added": N_("Added"), "removed": N_("Removed"), "changed": N_("Changed")}
ASPECTS = {
    "name": N_("Name"),
    "type": N_("Type"),
    "lane": N_("Lane (role)"),
    "stage": N_("Stage"),
    "form": N_("Form"),
    "form_schema": N_("Form fields"),
    "sla": N_("SLA"),
    "escalate_to": N_("Escalates to"),
    "script": N_("Script"),
    "prescript": N_("Script before"),
    "postscript": N_("Script after"),
    "timer": N_("Timer"),
    "event": N_("Event"),
    "message": N_("Message"),
    "decision": N_("Decision table"),
    "decision_table": N_("Decision rules"),
    "instructions": N_("Instructions"),
    "attached_to": N_("Attached to"),
    "interrupting": N_("Interrupting"),
    "loop": N_("Repeats"),
    "conditions": N_("Conditions"),
    "incoming": N_("Comes from"),
    "outgoing": N_("Goes to"),
    "text": N_("Text"),
    "source": N_("From"),
    "target": N_("To"),
    "condition": N_("Condition"),
    "default": N_("Default flow"),
}
# Aspects whose values are file fingerprints: the page says the content changed instead.
FINGERPRINTS = frozenset({"form_schema", "decision_table"})
REASONS = {
    "element_removed": N_("It is at %(element)s, which the new version does not have."),
    "next_removed": N_("It is about to enter %(element)s, which the new version does not have."),
    "in_error": N_("It is in error at %(element)s: handle the incident first."),
    "not_running": N_("It is not running any more."),
    "same_version": N_("It is on this version already."),
    "subprocess_removed": N_("A sub-process it runs is not in the new version."),
    "fails": N_("Going on in the new version fails at %(element)s."),
    "unsupported": N_("Its state cannot be carried over to the new version."),
    "not_found": N_("No such deal of this process."),
}


@bp.before_request
def _only_process_roles() -> None:
    require_any_role(PROCESS_ROLES)


def _definition(process_id: str) -> DefinitionRecord:
    for definition in engine().localized_definitions(language()):
        if definition["process_id"] == process_id:
            return definition
    abort(404)


def _version(name: str, default: int, latest: int) -> int:
    """A version number from the query string (a 404 for one that does not exist)."""
    value = request.args.get(name, "")
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= latest:
        abort(404)
    return int(value)


def aspect_label(aspect: str) -> str:
    if aspect.startswith("property:"):
        return _("Property %(name)s", name=aspect.removeprefix("property:"))
    text = ASPECTS.get(aspect)
    return _(text) if text is not None else aspect


def reason_text(deal: dict[str, Any]) -> str:
    """Why a deal cannot move, in the user's language."""
    text = REASONS.get(deal.get("code") or "")
    if text is None:
        return str(deal.get("reason") or "")
    element = deal.get("element_name") or deal.get("element_id") or "?"
    return _(text, element=element) if "%(element)s" in text else _(text)


# --- the diff ---------------------------------------------------------------------------------


def _diff_chart(
    graph: Graph, key: str, found: VersionDiff, side: str, label: str
) -> tuple[Markup | None, str]:
    notes = {
        c.element_id: _(
            "changed: %(what)s", what=", ".join(aspect_label(d.aspect) for d in c.differences)
        )
        for c in found.changes
        if c.status == "changed"
    }
    try:
        svg = render_diff(
            graph,
            found.marks(),
            "svg",
            side=side,
            old=found.old_version,
            new=found.new_version,
            notes=notes,
            cache_key=key,
            lang=language(),
        )
    except diagrams.DiagramError as exc:
        return None, str(exc)
    return inline_svg(svg, label=label), ""


@bp.get("/<process_id>/diff")
def diff(process_id: str) -> str:
    definition = _definition(process_id)
    latest = definition["version"]
    new = _version("to", latest, latest)
    old = _version("from", max(1, new - 1), latest)
    found = engine().version_diff(process_id, old, new)
    lang = language()  # charts and element names in the reader's language
    texts = {n: engine().process_texts(process_id, lang, n) for n in (old, new)}

    def element_name(change: Any) -> str:
        named = texts[old if change.status == "removed" else new]
        return named.name(change.element_id, change.name) or str(change.element_id)

    charts = {}
    for side, number in (("new", new), ("old", old)):
        graph, key = engine().definition_chart(process_id, number, lang=lang)
        label = _("Version %(version)s of %(process)s", version=number, process=graph.name)
        charts[side] = _diff_chart(graph, key, found, side, label)
    return render_template(
        "versions/diff.html",
        definition=definition,
        old=old,
        new=new,
        diff=found,
        charts=charts,
        status_text=STATUS_TEXT,
        aspect_label=aspect_label,
        fingerprints=FINGERPRINTS,
        versions=range(1, latest + 1),
        element_name=element_name,
    )


# --- migration ----------------------------------------------------------------------------


def _landing_chart(
    graph: Graph, key: str, deal: dict[str, Any], version: int
) -> tuple[Markup | None, str]:
    """A deal drawn on the new version where the migration would put it."""
    view = InstanceView(
        deal=str(deal["name"] or f"#{deal['instance_id']}"),
        owner=deal["owner"],
        status=str(deal["status_after"] or deal["status"]),
        stage=deal["stage_after"],
        states={k: v for k, v in deal["position"].items() if isinstance(v, str)},
        due={t["element_id"]: str(t["due_at"] or "") for t in deal["timers"]},
    )
    try:
        svg = diagrams.render_instance(graph, view, "svg", cache_key=key, lang=language())
    except diagrams.DiagramError as exc:
        return None, str(exc)
    label = _("Where %(deal)s would be on version %(version)s", deal=view.deal, version=version)
    return inline_svg(svg, label=label), ""


def _filters(latest: int) -> dict[str, Any]:
    source = request.form if request.method == "POST" else request.args
    to_text = source.get("to", "")
    if to_text and (not to_text.isdigit() or not 1 <= int(to_text) <= latest):
        abort(404)
    from_text = source.get("from", "")
    if from_text and (not from_text.isdigit() or not 1 <= int(from_text) <= latest):
        abort(404)
    return {
        "to": int(to_text) if to_text else latest,
        "from": int(from_text) if from_text else None,
        "stage": source.get("stage", "").strip() or None,
    }


@bp.get("/<process_id>/migrate")
def migrate(process_id: str) -> str:
    definition = _definition(process_id)
    chosen = _filters(definition["version"])
    picked = [d for d in request.args.getlist("deal") if d.isdigit()][:MAX_CHARTS]
    return _migrate_page(definition, chosen, picked=picked)


@bp.post("/<process_id>/migrate")
def migrate_deals(process_id: str) -> tuple[str, int]:
    me = user()
    # What the page would show first (a 404 for an unknown process or version), then the
    # role: a sales manager gets here what the preview page gives them, and a 403 to move.
    definition = _definition(process_id)
    chosen = _filters(definition["version"])
    if not may_migrate(me.roles):
        abort(403)
    scope = request.form.get("scope", "selected")
    ids = [i for i in request.form.getlist("instance_id") if i.strip()]
    if scope == "selected" and not ids:
        error = _("Pick at least one deal to move, or move all the deals shown.")
        return _migrate_page(definition, chosen, error=error), 422
    result = engine().migrate(
        process_id,
        chosen["to"],
        user=me.username,
        instance_ids=ids if scope == "selected" else None,
        stage=chosen["stage"],
        from_version=chosen["from"],
    )
    return _migrate_page(definition, chosen, result=result), 200


def _migrate_page(
    definition: DefinitionRecord,
    chosen: dict[str, Any],
    *,
    picked: list[str] | None = None,
    result: dict[str, Any] | None = None,
    error: str = "",
) -> str:
    me = user()
    service = engine()
    process_id = definition["process_id"]
    preview = service.migrate(
        process_id,
        chosen["to"],
        user=me.username,
        stage=chosen["stage"],
        from_version=chosen["from"],
        dry_run=True,
    )
    graph, key = service.definition_chart(process_id, chosen["to"], lang=language())
    charts = []
    for deal in preview["deals"]:
        if deal["instance_id"] in (picked or []) and deal["can_move"]:
            charts.append((deal, *_landing_chart(graph, key, deal, chosen["to"])))
    versions = service.definition_versions(process_id)
    return render_template(
        "versions/migrate.html",
        definition=definition,
        chosen=chosen,
        preview=preview,
        result=result,
        error=error,
        charts=charts,
        picked=picked or [],
        versions=versions,
        stages=STAGE_ORDER,
        may_migrate=may_migrate(me.roles),
        links=sees_all(set(me.roles)),
        reason_text=reason_text,
    )


def versions_of(process_id: str) -> list[dict[str, Any]]:
    """The version list of the process page (processes.show)."""
    try:
        return engine().definition_versions(process_id)
    except NotFoundError:
        return []


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(lambda: {"process_versions": versions_of})
