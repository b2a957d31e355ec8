"""Optimisation initiatives: the list, one initiative with its execution table edited in
place, its weekly reviews and its before/after effect, a CSV download and a printable view.

The engine (engine.usecases.initiatives: the `Service` methods of InitiativeCases) holds every
rule and says who may do what; these pages turn forms into its calls and show its refusals on
the form.  Every logged-in user reads; sales managers and admins start initiatives; the lead,
sales managers and admins change the plan and record reviews; the owner of a row updates its
progress (status, actual date, notes, contact).  Editing in place needs no script: each row of
the table is its own form (the inputs name it with the `form` attribute), so a phone or a
browser without JavaScript works the same.  Every POST carries the CSRF token.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from engine.core.graph import SUBPROCESS_KINDS, TASK_KINDS
from engine.core.roles import role_key
from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.usecases.initiatives import (
    PLAN_FIELDS,
    PROCESS,
    PROGRESS_FIELDS,
    ROW_STATUSES,
)
from webui.context import CurrentUser, engine, user
from webui.i18n import N_, _, language
from webui.labels import person

bp = Blueprint("initiatives", __name__, url_prefix="/initiatives")

STATUS_LABELS = {
    "not started": N_("Not started"),
    "in progress": N_("In progress"),
    "done": N_("Done"),
    "blocked": N_("Blocked"),
}
FORM_FIELDS = (*PLAN_FIELDS, *PROGRESS_FIELDS)
LINKABLE = TASK_KINDS | SUBPROCESS_KINDS | {"intermediateCatchEvent", "boundaryEvent"}
# Characters a spreadsheet reads as the start of a formula.
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def row_status(key: Any) -> str:
    text = STATUS_LABELS.get(str(key))
    return _(text) if text is not None else str(key or "—")


# --- reading ---------------------------------------------------------------------------------


@bp.get("")
def index() -> str:
    return _list_page()[0]


def _list_page(
    values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    me = user()
    creates = engine().may_start(me.username, PROCESS)
    page = render_template(
        "initiatives/list.html",
        items=engine().initiatives(),
        creates=creates,
        statuses=ROW_STATUSES,
        processes=_processes() if creates else [],
        leads=_people(role="Sales Manager") if creates else [],
        values=values or {},
        errors=errors or {},
    )
    return page, status


@bp.get("/<int:initiative_id>")
def show(initiative_id: int) -> str:
    return _page(initiative_id)[0]


def _page(
    initiative_id: int,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, Any]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The initiative page; `errors` and `values` by form ("new", "review" or a row id)."""
    me = user()
    service = engine()
    found = service.initiative(initiative_id)
    may = service.initiative_rights(initiative_id, me.username)
    page = render_template(
        "initiatives/show.html",
        ini=found,
        may=may,
        me=me,
        elements=_elements(found["process_id"]),
        choices=_elements(found["process_id"], linkable=True),
        people=_people(),
        statuses=ROW_STATUSES,
        errors=errors or {},
        values=values or {},
        flagged=[r for r in found["rows"] if r["flagged"]],
        blocked={r["id"]: r for r in found["rows"] if r["status"] == "blocked"},
        tasks={r["id"]: r["task"] for r in found["rows"]},
    )
    return page, status


@bp.get("/<int:initiative_id>/print")
def printable(initiative_id: int) -> str:
    found = engine().initiative(initiative_id)
    return render_template(
        "initiatives/print.html",
        ini=found,
        elements=_elements(found["process_id"]),
        tasks={r["id"]: r["task"] for r in found["rows"]},
    )


@bp.get("/<int:initiative_id>/export.csv")
def export(initiative_id: int) -> Response:
    found = engine().initiative(initiative_id, with_effect=False)
    names = _elements(found["process_id"])
    out = io.StringIO()
    out.write("\ufeff")  # so that spreadsheet programs read the file as UTF-8
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Stage"),
            _("Task"),
            _("Responsible person"),
            _("Planned date"),
            _("Actual date"),
            _("Status"),
            _("Notes"),
            _("Contact"),
            _("Process elements"),
            _("Flagged"),
        ]
    )
    for row in found["rows"]:
        writer.writerow(
            [
                _cell(row["stage"]),
                _cell(row["task"]),
                _cell(person(row["owner"])),
                row["planned_date"] or "",
                row["actual_date"] or "",
                row_status(row["status"]),
                _cell(row["notes"]),
                _cell(row["contact"]),
                _cell("; ".join(names.get(e, e) for e in row["elements"])),
                _("Yes") if row["flagged"] else "",
            ]
        )
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="initiative-{initiative_id}.csv"'
    )
    return response


def _cell(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA) else text


def _elements(process_id: str, *, linkable: bool = False) -> dict[str, str]:
    """Element id -> name of the process's current version; `linkable`: only the steps where
    deals spend time (tasks, sub-processes, waiting events), what the row forms offer."""
    try:
        found = engine().initiative_elements(process_id, lang=language())
    except NotFoundError:  # a process no longer deployed: ids stay as they are
        return {}
    return {e["id"]: e["name"] for e in found if not linkable or e["kind"] in LINKABLE}


def _people(role: str | None = None) -> list[tuple[str, str]]:
    found = []
    for u in engine().users():
        if not u["active"]:
            continue
        if role is not None and role_key(role) not in {role_key(r) for r in u["roles"]}:
            continue
        found.append((u["username"], u["display_name"] or u["username"]))
    return found


def _processes() -> list[str]:
    return sorted(d["process_id"] for d in engine().definitions() if d["process_id"] != PROCESS)


# --- changing ----------------------------------------------------------------------------------


@bp.post("")
def create() -> BaseResponse | tuple[str, int]:
    me = _creator()
    values = {
        k: request.form.get(k, "").strip() for k in ("name", "process_id", "lead", "effective_at")
    }
    try:
        made = engine().create_initiative(
            name=values["name"],
            process_id=values["process_id"],
            lead=values["lead"],
            effective_at=values["effective_at"] or None,
            actor=me.username,
        )
    except ValidationError as exc:
        return _list_page(values, {exc.field or "name": str(exc)}, 422)
    except ConflictError as exc:
        return _list_page(values, {"name": str(exc)}, 409)
    flash(_("The initiative was started."), "success")
    return redirect(url_for(".show", initiative_id=made["id"]))


def _creator() -> CurrentUser:
    me = user()
    if not engine().may_start(me.username, PROCESS):
        abort(403)
    return me


def _fields(prefix: str = "") -> dict[str, Any]:
    """The row fields the form sent (each named `prefix` + field): a multiple select sends
    nothing when nothing is chosen, so the form says with `elements_sent` that it had the
    field."""
    fields: dict[str, Any] = {}
    for name in FORM_FIELDS:
        if name == "elements":
            if request.form.get(f"{prefix}elements_sent"):
                fields["elements"] = request.form.getlist(f"{prefix}elements")
        elif prefix + name in request.form:
            fields[name] = request.form.get(prefix + name, "")
    for name in ("planned_date", "actual_date"):
        if fields.get(name) == "":
            fields[name] = None
    return fields


@bp.post("/<int:initiative_id>/rows")
def add_row(initiative_id: int) -> BaseResponse | tuple[str, int]:
    me = user()
    fields = _fields()
    try:
        engine().add_initiative_row(initiative_id, fields, actor=me.username)
    except ValidationError as exc:
        return _page(
            initiative_id,
            errors={"new": {exc.field or "task": str(exc)}},
            values={"new": fields},
            status=422,
        )
    except ForbiddenError:
        abort(403)
    flash(_("The row was added."), "success")
    return redirect(url_for(".show", initiative_id=initiative_id, _anchor="table"))


@bp.post("/<int:initiative_id>/rows/<int:row_id>")
def update_row(initiative_id: int, row_id: int) -> BaseResponse | tuple[str, int]:
    me = user()
    fields = _fields()
    try:
        engine().update_initiative_row(initiative_id, row_id, fields, actor=me.username)
    except ValidationError as exc:
        return _page(
            initiative_id,
            errors={str(row_id): {exc.field or "task": str(exc)}},
            values={str(row_id): fields},
            status=422,
        )
    except ForbiddenError:
        abort(403)
    flash(_("The row was saved."), "success")
    return redirect(url_for(".show", initiative_id=initiative_id, _anchor=f"row-{row_id}"))


@bp.post("/<int:initiative_id>/table")
def save_table(initiative_id: int) -> BaseResponse | tuple[str, int]:
    """The execution table saved at once: its fields are named "<row id>.<field>"."""
    me = user()
    ids = {name.split(".", 1)[0] for name in request.form if "." in name}
    rows = {rid: _fields(f"{rid}.") for rid in sorted(ids) if rid.isdigit()}
    try:
        changed = engine().update_initiative_rows(initiative_id, rows, actor=me.username)
    except ValidationError as exc:
        errors: dict[str, dict[str, str]] = {}
        for e in exc.errors:
            rid, _dot, name = str(e["field"]).partition(".")
            errors.setdefault(rid, {})[name] = e["message"]
        return _page(initiative_id, errors=errors, values=rows, status=422)
    except ForbiddenError:
        abort(403)
    except NotFoundError:
        abort(404)
    if changed:
        flash(_("%(count)s row(s) saved.", count=len(changed)), "success")
    else:
        flash(_("Nothing had changed: the table is as it was."), "info")
    return redirect(url_for(".show", initiative_id=initiative_id, _anchor="table"))


@bp.post("/<int:initiative_id>/reviews")
def review(initiative_id: int) -> BaseResponse | tuple[str, int]:
    me = user()
    notes = request.form.get("notes", "")
    try:
        done = engine().record_review(initiative_id, actor=me.username, notes=notes)
    except ValidationError as exc:
        return _page(
            initiative_id,
            errors={"review": {"notes": str(exc)}},
            values={"review": {"notes": notes}},
            status=422,
        )
    except ForbiddenError:
        abort(403)
    if done["process"].get("re_evaluation_task"):
        flash(_("A row was blocked at three reviews in a row: re-evaluate the direction."), "error")
    flash(_("The weekly review was recorded."), "success")
    return redirect(url_for(".show", initiative_id=initiative_id, _anchor="reviews"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters.update(row_status=row_status)
