"""Forms and JSON from people and other systems: checking data against a form's JSON schema
and the default maximum length of its text fields (engine.core.forms), reading a JSON object
typed on the command line or sent to the API, and reading a form schema a designer writes
(`load_form`, as a deploy reads it).  The pages, the API and the CLI validate through here,
so all three give the same errors."""

from __future__ import annotations

import json
from typing import Any

from engine.core.definitions import load_form
from engine.core.forms import (
    DEFAULT_MAX_LENGTH,
    TEXTAREA_MAX_LENGTH,
    check_data,
    form_rules,
    form_validator,
    make_validator,
    max_length,
    rule_message,
)
from engine.errors import ValidationError

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_JSON_INT",
    "TEXTAREA_MAX_LENGTH",
    "check_data",
    "form_rules",
    "form_validator",
    "load_form",
    "load_json",
    "load_json_object",
    "make_validator",
    "max_length",
    "rule_message",
]


# What JSON from outside may hold (the API's bodies, the CLI's --data): numbers that every
# layer below can store and compute with, and a nesting a person's data never needs.  Beyond
# these, Python's parser fails with errors that are not JSONDecodeError (a 500), or the data
# is stored and later cannot be written back as JSON (NaN) or saved at all (PostgreSQL).
MAX_JSON_DEPTH = 32
MAX_JSON_INT = 2**63 - 1
_NUMBER_DIGITS = 40  # no int()/float() of 5,000 digits (Python refuses beyond 4,300: a 500)


class _Refused(ValueError):
    """A JSON value read but not accepted (its message names it)."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON allows")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _NUMBER_DIGITS or abs(value := int(text)) > MAX_JSON_INT:
        raise _Refused(f"the number {text[:24]}... is too large (at most {MAX_JSON_INT})")
    return value


def _parse_float(text: str) -> float:
    value = float(text) if len(text) <= _NUMBER_DIGITS * 2 else float("inf")
    if value != value or value in (float("inf"), float("-inf")):
        raise _Refused(f"the number {text[:24]} is too large")
    return value


def _depth(value: Any) -> int:
    """How deep arrays and objects nest in `value` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def load_json(text: str, what: str = "--data") -> Any:
    """Parse user-supplied JSON: ValidationError for text that is not JSON, for NaN and
    Infinity, numbers beyond 64 bits (or not finite as floats), and nesting deeper than
    MAX_JSON_DEPTH."""
    try:
        value = json.loads(
            text, parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=_parse_float
        )
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", field=what
        ) from None
    except _Refused as exc:
        raise ValidationError(f"not accepted: {exc}", field=what) from None
    except RecursionError:
        value = None  # nested far too deep for the parser: refused below
    else:
        if _depth(value) <= MAX_JSON_DEPTH:
            return value
    raise ValidationError(
        f"nested too deep (at most {MAX_JSON_DEPTH} levels of arrays and objects)", field=what
    )


def load_json_object(text: str | None, what: str = "--data") -> dict[str, Any]:
    """Parse user-supplied JSON that must be an object; a clear error otherwise."""
    if text is None or text == "":
        return {}
    value = load_json(text, what)
    if not isinstance(value, dict):
        raise ValidationError("must be a JSON object ({...})", field=what)
    return value


def holds_nul(value: Any) -> bool:
    """Whether a JSON value holds a NUL in a string or a key, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
