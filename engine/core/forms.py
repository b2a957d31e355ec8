"""Checking submitted task data against the task's JSON-schema form."""

from __future__ import annotations

from typing import Any

import jsonschema

from engine.errors import ValidationError


def make_validator(schema: dict[str, Any]) -> Any:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def field_of(error: jsonschema.ValidationError) -> str:
    """The dotted path of the field an error is about ("budget_range.min", "pain_points")."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        # One error per missing property; its message is the only place that names it.
        missing = [k for k in error.validator_value if k not in error.instance]
        named = [k for k in missing if error.message.startswith(f"{k!r} ")]
        if named or missing:
            path.append(str((named or missing)[0]))
    return ".".join(path) or "(form)"


def check_data(validator: Any, data: dict[str, Any]) -> None:
    """Raise ValidationError naming the first field that fails; every error is in `errors`."""
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    first = errors[0]
    raise ValidationError(
        first.message,
        field=field_of(first),
        errors=[{"field": field_of(e), "message": e.message} for e in errors],
    )
