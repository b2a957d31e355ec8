"""Importing leads over the API (engine.usecases.imports): a CSV or XLSX file, one lead a row.

    POST /imports/preview   what the import would do; nothing is written
    POST /imports           start a deal for every valid row, all in one transaction

Both take multipart/form-data: `file` (the CSV or XLSX), `process_id`, and optionally
`mapping` (a JSON object, column name -> field, "" to leave a column out, laid over the
mapping guessed from the column names) and `owner` (the owner of the rows that name none;
the caller by default).  Messages of rows' errors come in the language of Accept-Language.
The route joins the API's blueprint (token check, JSON errors); `paths()` and `schemas()`
are its part of the OpenAPI document, which document.py merges in.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationError
from engine.usecases.forms import load_json_object
from engine.usecases.imports import MAX_ROWS, PREVIEW_ROWS
from webui.api.schemas import answer, fails, integer, record, ref, text
from webui.api.views import _lang, _service, _user, bp

__all__ = ["import_leads", "paths", "preview_import", "schemas"]


def _arguments() -> tuple[bytes, str, dict[str, Any]]:
    if request.mimetype != "multipart/form-data":
        raise ValidationError(
            "send the file, process_id and mapping as multipart/form-data", field="Content-Type"
        )
    uploaded = request.files.get("file")
    if uploaded is None:
        raise ValidationError("send the CSV or XLSX file as the part `file`", field="file")
    process_id = request.form.get("process_id", "").strip()
    if not process_id:
        raise ValidationError("name the process the deals start on", field="process_id")
    mapping = load_json_object(request.form.get("mapping") or None, what="mapping")
    owner = request.form.get("owner", "").strip() or None
    given = {
        "actor": _user(),
        "mapping": mapping,
        "owner": owner,
        "filename": uploaded.filename,
        "lang": _lang(),
    }
    return uploaded.read(), process_id, given


@bp.post("/imports/preview")
def preview_import() -> ResponseReturnValue:
    content, process_id, given = _arguments()
    return _service().preview_import(content, process_id, **given)


@bp.post("/imports")
def import_leads() -> ResponseReturnValue:
    content, process_id, given = _arguments()
    return _service().import_leads(content, process_id, **given)


# --- the OpenAPI document's part -----------------------------------------------------------

_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {
                        "type": "string",
                        "contentMediaType": "application/octet-stream",
                        "description": "The CSV (UTF-8 with or without BOM, GB18030/GBK, or "
                        "UTF-16 with BOM; commas, semicolons or tabs) or XLSX file (its first "
                        f"sheet); the first row names the columns; at most {MAX_ROWS} rows.",
                    },
                    "process_id": {"type": "string", "description": "The process to start."},
                    "mapping": {
                        "type": "string",
                        "description": 'A JSON object, column name -> field ("" leaves the '
                        "column out), laid over the mapping guessed from the column names.",
                    },
                    "owner": {
                        "type": "string",
                        "description": "The owner of the deals whose row names none (the "
                        "caller by default).",
                    },
                },
                "required": ["file", "process_id"],
            },
        }
    },
}
_HOW = (
    "The columns map to the top-level fields of the process's start form and to `owner`: "
    "guessed from the column names (a field's key, its title in English or Chinese, or a "
    "common name such as 公司, 联系人, 来源, 年营收, 意向, 负责人), with `mapping` over the "
    "guess.  A cell is read as a person writes it: numbers with thousands separators, ¥, "
    "元, 万 and 亿; a choice by its code or its label in either language; an empty cell "
    "leaves the field out.  Every row is checked as the new-deal form checks it, and its "
    "owner by the owner rule; the rows with errors are named (row number as the "
    "spreadsheet shows it, the header being row 1; column; field; message in the language "
    "of Accept-Language).  The caller must be allowed to start the process (403).  422 "
    "for a file that is not a CSV or XLSX table, more than 5000 rows, a mapping naming a "
    "column or field that does not exist, an unknown process or owner."
)


def paths() -> dict[str, Any]:
    invalid = fails("403", "422")
    return {
        "/imports/preview": {
            "post": {
                **_operation(
                    "previewImport",
                    "What importing a file of leads would do; nothing is written",
                    f"{_HOW}  The answer holds the first {PREVIEW_ROWS} valid rows as they "
                    "would start.",
                    {"200": answer("ImportPreview", "The preview."), **invalid},
                ),
            }
        },
        "/imports": {
            "post": {
                **_operation(
                    "importLeads",
                    "Import leads from a CSV or XLSX file: a deal for every valid row",
                    f"{_HOW}  The rows with errors are skipped and named; every other row "
                    "starts a deal, all in one transaction: if one of them fails to start "
                    "(a script of the process failing on its data), none is kept and the "
                    "answer is 422 with `field` `row N`.",
                    {"200": answer("ImportResult", "The deals started."), **invalid},
                ),
            }
        },
    }


def _operation(
    operation_id: str, summary: str, description: str, responses: dict[str, Any]
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "tags": ["deals"],
        "summary": summary,
        "description": description,
        "requestBody": _BODY,
        "responses": dict(sorted({**responses, **fails("401")}.items())),
    }


def schemas() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    checked = {
        "process_id": text("The process the deals start on."),
        "version": integer("The version they start on (the latest)."),
        "file": record(
            "How the file was read.",
            {
                "kind": {"type": "string", "enum": ["csv", "xlsx"]},
                "encoding": text(
                    "A CSV's encoding (utf-8, utf-8-sig, gb18030, utf-16).", null=True
                ),
            },
        ),
        "columns": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The column names (a blank one as `column N`, a repeated one numbered).",
        },
        "fields": {"type": "array", "items": ref("ImportField")},
        "mapping": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": 'Column -> field used ("": left out).',
        },
        "rows": {**count, "description": "The file's rows (empty ones left out)."},
        "valid": {**count, "description": "The rows that start (or would start) a deal."},
        "invalid": {**count, "description": "The rows with errors, skipped."},
        "invalid_rows": {"type": "array", "items": {"type": "integer"}},
        "errors": {"type": "array", "items": ref("ImportRowError")},
    }
    return {
        "ImportField": record(
            "Where a column may go: a field of the start form, or `owner`.",
            {
                "field": text("The field's key."),
                "title": text("Its title, in the language of Accept-Language."),
                "required": {"type": "boolean"},
                "choices": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "A choice field's codes and their labels.",
                },
            },
        ),
        "ImportRowError": record(
            "One problem of one row.",
            {
                "row": integer("The row number as the spreadsheet shows it (header: row 1)."),
                "column": text("The column, when the field has one.", null=True),
                "field": text("The field (or `owner`)."),
                "message": text("What is wrong."),
            },
        ),
        "ImportPreview": record(
            "What importing the file would do.",
            {
                **checked,
                "sample": {
                    "type": "array",
                    "description": "The first valid rows as they would start.",
                    "items": record(
                        "A row as it would start.",
                        {
                            "row": integer("Its row number."),
                            "owner": text("The deal's owner."),
                            "data": {"type": "object", "description": "The start data."},
                        },
                    ),
                },
            },
        ),
        "ImportResult": record(
            "The deals started from the file.",
            {
                **checked,
                "started": {**count, "description": "The deals started."},
                "instance_ids": {"type": "array", "items": {"type": "string"}},
            },
        ),
    }
