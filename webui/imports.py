"""Import leads: a CSV or XLSX file into deals of a chosen process (engine.usecases.imports).

    GET  /imports           the upload form: the file, the process, the owner of rows without one
    POST /imports/preview   the preview: the columns with their fields (select boxes), the
                            first rows as they would start, every row's errors; nothing written
    POST /imports/run       the import: the valid rows start in one transaction (all or none),
                            the result names the rows skipped

The preview page carries the file itself on to the next step (base64 in a hidden field), so
nothing is kept on the server between the steps and every step checks the file again.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Flask, render_template, request

from engine.errors import ValidationError
from engine.usecases.imports import OWNER
from engine.usecases.initiatives import PROCESS as INITIATIVE
from webui.context import engine, user
from webui.i18n import _, language

__all__ = ["bp", "init_app"]

bp = Blueprint("imports", __name__, url_prefix="/imports")

PIPELINE = "sales_pipeline"
SHOWN_ERRORS = 500  # a page lists at most these; the counts cover them all


def _choices() -> dict[str, Any]:
    """The processes the user may start (not initiatives) and the owners they may choose."""
    me = user()
    service = engine()
    names = {d["process_id"]: d["name"] for d in service.localized_definitions(language())}
    processes = [
        {**p, "name": names.get(p["process_id"], p["name"])}
        for p in service.startable(me.username)
        if p["process_id"] != INITIATIVE
    ]
    owners = [(u["username"], u["display_name"]) for u in service.deal_owners(me.username)]
    return {"processes": processes, "owners": owners}


@bp.get("")
def upload() -> str | tuple[str, int]:
    choices = _choices()
    if not choices["processes"]:
        return render_template("imports/upload.html", forbidden=True, **choices), 403
    names = [p["process_id"] for p in choices["processes"]]
    return render_template(
        "imports/upload.html",
        process=PIPELINE if PIPELINE in names else names[0],
        owner=user().username,
        **choices,
    )


def _file() -> tuple[bytes, str]:
    """The file of the request: uploaded now, or carried on by the preview page."""
    uploaded = request.files.get("file")
    if uploaded is not None and uploaded.filename:
        return uploaded.read(), uploaded.filename
    carried = request.form.get("file_data", "")
    try:
        content = base64.b64decode(carried, validate=True)
    except (binascii.Error, ValueError):
        content = b""
    if not content:
        raise ValidationError(_("Choose a CSV or XLSX file."), field="file")
    return content, request.form.get("file_name", "")


def _mapping(columns: int) -> dict[str, str] | None:
    """The select boxes of the preview page: column -> field ("" leaves it out)."""
    names = request.form.getlist("column")
    if not names:
        return None
    return {name: request.form.get(f"map_{i}", "") for i, name in enumerate(names[:columns])}


def _form_state() -> dict[str, str]:
    return {
        "process": request.form.get("process", PIPELINE).strip(),
        "owner": request.form.get("owner", "").strip() or user().username,
    }


def _refused(message: str, state: dict[str, str], status: int = 422) -> tuple[str, int]:
    choices = _choices()
    page = render_template("imports/upload.html", problem=message, **state, **choices)
    return page, status


@bp.post("/preview")
def preview() -> str | tuple[str, int]:
    state = _form_state()
    try:
        content, name = _file()
        found = engine().preview_import(
            content,
            state["process"],
            actor=user().username,
            mapping=_mapping(1000),
            owner=state["owner"],
            filename=name,
            lang=language(),
        )
    except ValidationError as exc:
        return _refused(_message(exc), state)
    return _preview_page(found, content, name, state)


def _message(exc: ValidationError) -> str:
    """What the page says of a refused file: the use case's own words (the file's or the
    mapping's problem, the field named)."""
    return str(exc)


def _preview_page(
    found: dict[str, Any],
    content: bytes,
    name: str,
    state: dict[str, str],
    problem: str | None = None,
) -> str | tuple[str, int]:
    titles = {f["field"]: f["title"] for f in found["fields"]}
    page = render_template(
        "imports/preview.html",
        found=found,
        titles=titles,
        labels={f["field"]: f["choices"] for f in found["fields"]},
        owner_field=OWNER,
        file_data=base64.b64encode(content).decode("ascii"),
        file_name=name,
        errors=found["errors"][:SHOWN_ERRORS],
        problem=problem,
        **state,
        **_choices(),
    )
    return (page, 422) if problem else page


@bp.post("/run")
def run() -> str | tuple[str, int]:
    state = _form_state()
    me = user().username
    try:
        content, name = _file()
        mapping = _mapping(1000)
        kwargs: dict[str, Any] = {
            "actor": me,
            "mapping": mapping,
            "owner": state["owner"],
            "filename": name,
            "lang": language(),
        }
        try:
            result = engine().import_leads(content, state["process"], **kwargs)
        except ValidationError as exc:
            if not str(exc.field or "").startswith("row "):
                raise
            # A start failed: nothing was imported; the preview again, with what failed.
            found = engine().preview_import(content, state["process"], **kwargs)
            return _preview_page(found, content, name, state, problem=str(exc))
    except ValidationError as exc:
        return _refused(_message(exc), state)
    skipped: dict[int, list[dict[str, Any]]] = {}
    for error in result["errors"]:
        skipped.setdefault(error["row"], []).append(error)
    return render_template(
        "imports/result.html",
        result=result,
        skipped=sorted(skipped.items())[:SHOWN_ERRORS],
        titles={f["field"]: f["title"] for f in result["fields"]},
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
