"""POST /api/v1/definitions: publish a process from a team's own tooling.

The body is the BPMN XML itself (`Content-Type: application/xml` or `text/xml`; the file is
named `?filename=` or, by default, after its first process: `<process id>.bpmn`), a
multipart upload of the BPMN with its DMN tables and JSON form schemas (each part's file
name is the name the BPMN refers to), or JSON `{"files": {file name: text}}`.

The engine's `Service.publish` does the work: every check the designer page runs
(engine.core.lint), then a new version unless the same content is deployed already.  Answers:
201 `{"process_id", "version", "changed": true, ...}`, 200 with `"changed": false` for
identical content, 422 `{"errors": [{"element_id", "message", "line", "file"}], "warnings"}`
for a definition the save would refuse (nothing is stored, the previous version stays),
403 for a caller who is neither a designer nor an admin.  The problems are worded in the
request's Accept-Language (Simplified Chinese for zh, zh-CN, zh-Hans; English otherwise).
"""

from __future__ import annotations

import functools
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from lxml import etree

from engine.errors import DefinitionError, DefinitionProblemsError, ValidationError
from engine.usecases import definitions
from engine.usecases.forms import check_data, load_json_object, make_validator
from webui.api.schemas import ref
from webui.api.views import _error, _lang, _service, _user, bp

__all__ = ["operation", "publish_definition", "schemas"]

XML_TYPES = ("application/xml", "text/xml", "application/bpmn+xml")
MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SUFFIXES = (".bpmn", ".dmn", ".json")
MAX_FILES = 50
# What _file_name takes: after any folders, a name not starting with a dot, with a suffix.
FILE_NAME = r"^(?:.*[/\\])?[^./\\][^/\\]*\.(?:bpmn|dmn|json)$"


@bp.post("/definitions")
def publish_definition() -> ResponseReturnValue:
    files = _uploaded_files()
    try:
        result = _service().publish(files, actor=_user(), lang=_lang())
    except DefinitionProblemsError as err:
        return _refused(err.problems)
    except DefinitionError as err:  # raised outside the checks (cannot be parsed at all)
        return _refused([{**_problem(err), "severity": "error"}])
    return result, 201 if result["changed"] else 200


def _uploaded_files() -> dict[str, str | bytes]:
    if request.mimetype in XML_TYPES:
        data = request.get_data()
        if not data:
            raise ValidationError("the body is empty: send the BPMN XML", field="body")
        name = request.args.get("filename") or _default_name(data)
        return {_file_name(name): data}
    if request.mimetype == "application/json":
        body = load_json_object(request.get_data(as_text=True), what="body")
        check_data(_json_validator(), body)
        return {_file_name(name): text for name, text in body["files"].items()}
    if request.mimetype == "multipart/form-data":
        files: dict[str, str | bytes] = {}
        for storage in request.files.values():
            name = _file_name(storage.filename or "")
            if name in files:
                raise ValidationError(f"two files are named '{name}'", field="files")
            files[name] = storage.read()
        if not any(n.endswith(".bpmn") for n in files):
            raise ValidationError("the upload holds no .bpmn file", field="files")
        if len(files) > MAX_FILES:
            raise ValidationError(f"at most {MAX_FILES} files at once", field="files")
        return files
    raise ValidationError(
        "send the BPMN as application/xml, or the files as multipart/form-data or JSON",
        field="Content-Type",
    )


@functools.cache
def _json_validator() -> Any:
    return make_validator(schemas()["DefinitionFiles"])


def _file_name(name: str) -> str:
    """A plain file name: no folders, one of the definition suffixes."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base.startswith(".") or not base.endswith(SUFFIXES):
        raise ValidationError(f"'{name}' is not a .bpmn, .dmn or .json file name", field="filename")
    return base


def _default_name(data: bytes) -> str:
    """`<first process id>.bpmn`, or definition.bpmn when the XML names none."""
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError:
        return "definition.bpmn"
    process = root.find(f"{{{MODEL}}}process")
    ident = process.get("id") if process is not None else None
    return f"{ident}.bpmn" if ident else "definition.bpmn"


def _problem(err: DefinitionError) -> dict[str, Any]:
    return {
        "element_id": err.element_id,
        "message": err.detail,
        "line": err.line,
        "file": err.file,
    }


def _refused(problems: list[dict[str, Any]]) -> ResponseReturnValue:
    def shown(p: dict[str, Any]) -> dict[str, Any]:
        return {k: p.get(k) for k in ("element_id", "message", "line", "file", "severity")}

    errors = [shown(p) for p in problems if p.get("severity") == "error"]
    warnings = [shown(p) for p in problems if p.get("severity") != "error"]
    first = errors[0]["message"] if errors else "the definition has problems"
    if len(errors) > 1:  # worded like the problems: in the request's Accept-Language
        first = definitions.with_more(first, len(errors) - 1, _lang())
    body = {
        "error": "DefinitionProblemsError",
        "message": first,
        "errors": errors,
        "warnings": warnings,
    }
    return _error(body, 422)


# --- documentation (merged into webui/api/document.py) -----------------------------------


def schemas() -> dict[str, Any]:
    nullable_text: dict[str, Any] = {"type": ["string", "null"]}
    problem = {
        "type": "object",
        "description": "One problem, on the element to fix.",
        "properties": {
            "element_id": {**nullable_text, "description": "The BPMN element's id."},
            "message": {
                "type": "string",
                "description": "What is wrong and how to fix it, in the language of "
                "Accept-Language.",
            },
            "line": {"type": ["integer", "null"], "description": "The line in the file."},
            "file": {**nullable_text, "description": "The file."},
            "severity": {"type": "string", "enum": ["error", "warning"]},
        },
        "required": ["element_id", "message", "line", "file", "severity"],
    }
    result = {
        "process_id": {"type": "string", "description": "The published process."},
        "version": {"type": "integer", "description": "Its version now."},
        "changed": {
            "type": "boolean",
            "description": "false: this content was deployed already, nothing changed.",
        },
    }
    return {
        "DefinitionFiles": {
            "type": "object",
            "description": "A definition's files by name: the BPMN, its DMN tables and forms.",
            "properties": {
                "files": {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": MAX_FILES,
                    "additionalProperties": {"type": "string"},
                    "description": "File name (.bpmn, .dmn, .json) -> its text.",
                }
            },
            "required": ["files"],
            "additionalProperties": False,
        },
        "DefinitionProblem": problem,
        "PublishedDefinition": {
            "type": "object",
            "description": "A published definition (the first process of the files).",
            "properties": {
                **result,
                "processes": {
                    "type": "array",
                    "description": "Every process of the files, the first one first.",
                    "items": {
                        "type": "object",
                        "properties": result,
                        "required": list(result),
                        "additionalProperties": False,
                    },
                },
                "warnings": {
                    "type": "array",
                    "description": "Problems that did not stop the publish.",
                    "items": ref("DefinitionProblem"),
                },
            },
            "required": [*result, "processes", "warnings"],
        },
        "DefinitionRefused": {
            "type": "object",
            "description": "Why a definition was refused; nothing was stored.",
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string", "description": "The first error."},
                "errors": {"type": "array", "items": ref("DefinitionProblem")},
                "warnings": {"type": "array", "items": ref("DefinitionProblem")},
            },
            "required": ["error", "message", "errors", "warnings"],
        },
    }


def operation() -> dict[str, Any]:
    def answer(schema: str, description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": ref(schema)}},
        }

    files_part = {"type": "string", "contentMediaType": "application/octet-stream"}
    return {
        "operationId": "publishDefinition",
        "tags": ["definitions"],
        "summary": "Publish a process: BPMN (and its DMN tables and forms)",
        "description": "Runs every check of the designer page (XSD, parse, safe expressions, "
        "lanes, gateway defaults, timers, forms and decisions present, reachability); a "
        "definition with errors is refused with every error on its element and nothing "
        "changes.  Otherwise the content becomes the next version, or nothing changes when "
        "it is deployed already.  The body is the BPMN XML (its file name from `filename`, "
        "else `<process id>.bpmn`), a multipart upload of the files, or JSON with the files "
        "by name.  Designers and admins only.  The problems' messages come in the language "
        "of Accept-Language (`zh`, `zh-CN`: Simplified Chinese; English otherwise).",
        "parameters": [
            {
                "name": "filename",
                "in": "query",
                "required": False,
                "description": "The BPMN file's name when the body is the XML (folders in it "
                "are dropped).",
                "schema": {
                    "type": "string",
                    "pattern": FILE_NAME,
                    "examples": ["sales_pipeline.bpmn"],
                },
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": ref("DefinitionFiles"),
                    "example": {
                        "files": {
                            "call_back.bpmn": '<?xml version="1.0" encoding="UTF-8"?>...',
                            "call_back.schema.json": '{"type": "object"}',
                        }
                    },
                },
                "application/xml": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "description": "Any part names; each part's file name is used.",
                        "additionalProperties": files_part,
                    }
                },
            },
        },
        "responses": {
            "200": answer("PublishedDefinition", "Identical content: nothing changed."),
            "201": answer("PublishedDefinition", "Published as a new version."),
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "422": {
                "description": "Refused: the errors, each on its element (nothing was "
                "stored); or a body that is not a definition.",
                "content": {
                    "application/json": {
                        "schema": {"anyOf": [ref("DefinitionRefused"), ref("Error")]}
                    }
                },
            },
        },
    }
