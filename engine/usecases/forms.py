"""Forms and JSON from people and other systems: checking data against a form's JSON schema
(engine.core.forms), reading a JSON object typed on the command line or sent to the API, and
reading a form schema a designer writes (`load_form`, as a deploy reads it).  The pages, the
API and the CLI validate through here, so all three give the same errors."""

from __future__ import annotations

import json
from typing import Any

from engine.core.definitions import load_form
from engine.core.forms import check_data, make_validator
from engine.errors import ValidationError

__all__ = ["check_data", "load_form", "load_json_object", "make_validator"]


def load_json_object(text: str | None, what: str = "--data") -> dict[str, Any]:
    """Parse user-supplied JSON that must be an object; a clear error otherwise."""
    if text is None or text == "":
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", field=what
        ) from None
    if not isinstance(value, dict):
        raise ValidationError("must be a JSON object ({...})", field=what)
    return value
