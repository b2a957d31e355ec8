"""Query parameters are checked against the OpenAPI document before any view runs.

Bodies are checked against their documented schemas (schemas.py); this does the same for the
query string, so that the document and the server cannot disagree on what a parameter takes:
an enum value, an integer within its bounds, a date as YYYY-MM-DD, a deal id of digits.  An
empty value is checked like any other (`?status=` is not a status: 422), and a parameter the
document describes is sent once.  Free-text filters (`owner`, `q`, ...) are plain strings in
the document, where an empty one is allowed and means no filter, as the views read it.

A parameter that fails is invalid data, 422 with `field` naming it, after the token check
(401 comes first) and before the view looks at anything else.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from flask import request

from engine.errors import ValidationError
from engine.usecases.forms import check_data, make_validator
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


@bp.before_request
def _check_query() -> None:
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
