"""Query parameters are checked against the OpenAPI document before any view runs.

Bodies are checked against their documented schemas (schemas.py); this does the same for the
query string, so that the document and the server cannot disagree on what a parameter takes:
an enum value, an integer within its bounds, a date as YYYY-MM-DD, a deal id of digits.  An
empty value is checked like any other (`?status=` is not a status: 422), and a parameter the
document describes is sent once.  Free-text filters (`owner`, `q`, ...) are plain strings in
the document, where an empty one is allowed and means no filter, as the views read it.

A parameter that fails is invalid data, 422 with `field` naming it, after the token check
(401 comes first) and before the view looks at anything else.

No text may hold a NUL character (U+0000): PostgreSQL cannot store or even compare one (a
500 there), so a path holding one names nothing (404) and a query value or a JSON body
holding one is invalid data (422), on every database alike.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from flask import request

from engine.errors import NotFoundError, ValidationError
from engine.usecases.forms import check_data, holds_nul, load_json, make_validator
from webui.api.document import document
from webui.api.views import bp

__all__ = ["openapi_path"]

_INTEGER = re.compile(r"-?[0-9]{1,40}")  # ASCII digits only: int() reads "٣" too


def openapi_path(rule: str) -> str:
    """A route of the blueprint as the document's path (/deals/<instance_id> ->
    /deals/{instance_id})."""
    path = rule.removeprefix(bp.url_prefix or "")
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path)


@functools.cache
def _checks() -> dict[tuple[str, str], tuple[Any, frozenset[str]]]:
    """(path, method) -> a validator of the query as an object, and its integer parameters."""
    doc = document()
    shared = doc["components"]["parameters"]
    found: dict[tuple[str, str], tuple[Any, frozenset[str]]] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            params = [
                shared[p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
                for p in op.get("parameters", [])
            ]
            query = {p["name"]: p["schema"] for p in params if p["in"] == "query"}
            if not query:
                continue
            schema = {"type": "object", "properties": query}
            integers = frozenset(n for n, s in query.items() if s.get("type") == "integer")
            found[(path, method)] = (make_validator(schema), integers)
    return found


def _refuse_nul() -> None:
    if "\x00" in request.path:
        raise NotFoundError("no API endpoint has a NUL character in its path")
    for name, value in request.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            raise ValidationError("must not hold a NUL character", field=name)
    if request.mimetype == "application/json" and request.content_length:
        text = request.get_data(as_text=True)
        # JSON spells a NUL \u0000 (a raw one is not JSON): parse only a body that may hold one.
        if "\\u0000" in text and holds_nul(load_json(text, "body")):
            raise ValidationError("must not hold a NUL character (\\u0000)", field="body")


@bp.before_request
def _check_query() -> None:
    _refuse_nul()
    rule = request.url_rule
    if rule is None:
        return
    check = _checks().get((openapi_path(rule.rule), request.method.lower()))
    if check is None:
        return
    validator, integers = check
    values: dict[str, Any] = {}
    for name in validator.schema["properties"]:
        sent = request.args.getlist(name)
        if not sent:
            continue
        if len(sent) > 1:
            raise ValidationError("give this parameter once", field=name)
        value = sent[0]
        values[name] = int(value) if name in integers and _INTEGER.fullmatch(value) else value
    check_data(validator, values)
