"""Checking submitted task data against the task's JSON-schema form.

Every string of a form's data has a maximum length: its field's `maxLength`, or, for a field
that declares none, DEFAULT_MAX_LENGTH characters (TEXTAREA_MAX_LENGTH for a field marked
`"x-widget": "textarea"`, the long free text of a form).  The same defaults hold for strings
the schema does not describe (keys it does not list).  `form_validator` checks both, the
schema and the defaults; `max_length` tells a page what to put in an input's maxlength.
"""

from __future__ import annotations

import operator
import re
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

from engine.errors import ValidationError

# The longest text a form field takes when its schema does not say (a page of notes is
# ~3,000 characters; 10,000 is three of them).  A text area ("x-widget": "textarea") takes
# five times as much: minutes of a meeting, an e-mail pasted in.
DEFAULT_MAX_LENGTH = 10_000
TEXTAREA_MAX_LENGTH = 50_000
# How much of a refused value a message quotes.
_QUOTED = 60


def make_validator(schema: dict[str, Any]) -> Any:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _declared_max(schema: Mapping[str, Any]) -> bool:
    """Whether the schema (or a branch it combines) limits the length itself."""
    if "maxLength" in schema or "enum" in schema or "const" in schema:
        return True
    return any(
        isinstance(branch, Mapping) and _declared_max(branch)
        for key in ("allOf", "anyOf", "oneOf")
        for branch in schema.get(key) or ()
    )


def _may_be_text(schema: Mapping[str, Any]) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True
    if isinstance(declared, str):
        return declared == "string"
    return "string" in declared


def max_length(schema: Any) -> int | None:
    """The most characters a field of `schema` takes: its `maxLength`, else the default
    (DEFAULT_MAX_LENGTH, TEXTAREA_MAX_LENGTH for "x-widget": "textarea"); None for a field
    that holds no text (a number, a list, a choice among values)."""
    if not isinstance(schema, Mapping):
        return DEFAULT_MAX_LENGTH
    given = schema.get("maxLength")
    if isinstance(given, int) and not isinstance(given, bool):
        return given
    if not _may_be_text(schema) or _declared_max(schema):
        return None
    return TEXTAREA_MAX_LENGTH if schema.get("x-widget") == "textarea" else DEFAULT_MAX_LENGTH


def _too_long(limit: int, value: str) -> str:
    return f"is too long: at most {limit} characters ({len(value)} given)"


def _item_schema(schema: Any, key: Any) -> Any:
    """The schema of one member of an object or array described by `schema` ({} if none)."""
    if not isinstance(schema, Mapping):
        return {}
    if isinstance(key, int):
        prefix = schema.get("prefixItems") or ()
        if key < len(prefix):
            return prefix[key]
        items = schema.get("items")
        return items if isinstance(items, Mapping) else {}
    properties = schema.get("properties") or {}
    if key in properties:
        return properties[key]
    for pattern, sub in (schema.get("patternProperties") or {}).items():
        if re.search(pattern, key):
            return sub
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else {}


def default_limit_errors(schema: Any, data: Any) -> Iterator[jsonschema.ValidationError]:
    """An error for every string of `data` longer than its field's default maximum
    (`max_length`; fields with a `maxLength` of their own are the schema's to check)."""
    stack: list[tuple[Any, Any, tuple[Any, ...]]] = [(schema, data, ())]
    while stack:
        sub, value, path = stack.pop()
        if isinstance(value, str):
            declared = isinstance(sub, Mapping) and _declared_max(sub)
            limit = max_length(sub)
            if not declared and limit is not None and len(value) > limit:
                yield jsonschema.ValidationError(
                    _too_long(limit, value),
                    validator="maxLength",
                    validator_value=limit,
                    instance=value,
                    path=deque(path),
                )
        elif isinstance(value, dict):
            stack.extend((_item_schema(sub, k), v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((_item_schema(sub, n), v, (*path, n)) for n, v in enumerate(value))


# --- cross-field rules ---------------------------------------------------------------------
#
# JSON Schema (2020-12) compares a value with constants only: "the maximum is not below the
# minimum" needs the other field's value ($data is no part of the standard, and no validator
# of Python and the browser alike reads it).  So a form lists such rules itself, beside its
# properties, where the designer's form editor and the translations keep the form:
#
#     "x-rules": [{"field": "budget_range.max", "rule": ">=", "other": "budget_range.min",
#                  "message": {"en": "The maximum is below the minimum.", "zh": "..."}}]
#
# `field` and `other` are dotted paths of the data; the rule holds when either is missing
# (required is the schema's to say) and compares numbers with numbers, texts with texts
# (dates as YYYY-MM-DD compare as text).  The engine checks them with the schema
# (`FormValidator`), the page's script before sending (webui/static/forms.js), and the
# error is on `field`, in the reader's language (`rule_message`).

RULES = "x-rules"
OPERATORS: dict[str, Any] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_RULE_WORDS = {
    ">=": ("is at least", "不能小于"),
    ">": ("is more than", "必须大于"),
    "<=": ("is at most", "不能大于"),
    "<": ("is less than", "必须小于"),
    "==": ("equals", "必须等于"),
    "!=": ("differs from", "不能等于"),
}


def form_rules(schema: Any) -> list[dict[str, Any]]:
    """The well-formed cross-field rules of a form schema (its `x-rules`)."""
    rules = schema.get(RULES) if isinstance(schema, Mapping) else None
    return [
        dict(r)
        for r in rules or ()
        if isinstance(r, Mapping)
        and isinstance(r.get("field"), str)
        and isinstance(r.get("other"), str)
        and r.get("rule") in OPERATORS
    ]


def rule_problems(schema: Any) -> list[str]:
    """What is wrong with the `x-rules` of a form schema (for the designer's Check)."""
    rules = schema.get(RULES) if isinstance(schema, Mapping) else None
    if rules is None:
        return []
    if not isinstance(rules, list):
        return [f"{RULES} is a list of rules"]
    found = []
    for n, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            found.append(f"{RULES}[{n}] is not an object")
            continue
        if rule.get("rule") not in OPERATORS:
            found.append(f"{RULES}[{n}]: 'rule' is one of {' '.join(OPERATORS)}")
        for key in ("field", "other"):
            path = rule.get(key)
            if not isinstance(path, str) or _field_schema(schema, path) is None:
                found.append(f"{RULES}[{n}]: '{key}' names no field of the form ({path!r})")
        message = rule.get("message")
        if message is not None and not (
            isinstance(message, str)
            or (isinstance(message, Mapping) and all(isinstance(v, str) for v in message.values()))
        ):
            found.append(f'{RULES}[{n}]: \'message\' is a text or {{"en": ..., "zh": ...}}')
    return found


def _field_schema(schema: Any, path: str) -> Any:
    sub = schema
    for part in path.split("."):
        props = sub.get("properties") if isinstance(sub, Mapping) else None
        if not isinstance(props, Mapping) or part not in props:
            return None
        sub = props[part]
    return sub


def _value_at(data: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return False, None
        data = data[part]
    return data is not None, data


def _comparable(a: Any, b: Any) -> bool:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
    return numbers or all(isinstance(v, str) for v in (a, b))


def rule_message(rule: Mapping[str, Any], locale: str = "en") -> str:
    """A rule's message in `locale` ("en", "zh"): its own (`message`, a text or one per
    language), else one made of its fields' paths."""
    given = rule.get("message")
    if isinstance(given, str) and given:
        return given
    if isinstance(given, Mapping):
        text = given.get(locale) or given.get("en")
        if isinstance(text, str) and text:
            return text
    words = _RULE_WORDS.get(str(rule.get("rule")), ("", ""))
    if locale == "zh":
        return f"「{rule.get('field')}」{words[1]}「{rule.get('other')}」。"
    return f"must be such that {rule.get('field')} {words[0]} {rule.get('other')}"


def rule_errors(schema: Any, data: Any) -> Iterator[jsonschema.ValidationError]:
    """An error for every cross-field rule of `schema` that `data` breaks, on its field, its
    message in English (`rule_message`; the rule itself as the error's `validator_value`)."""
    for rule in form_rules(schema):
        has_field, value = _value_at(data, rule["field"])
        has_other, other = _value_at(data, rule["other"])
        if not (has_field and has_other and _comparable(value, other)):
            continue
        if not OPERATORS[rule["rule"]](value, other):
            yield jsonschema.ValidationError(
                rule_message(rule),
                validator=RULES,
                validator_value=rule,
                instance=value,
                path=deque(rule["field"].split(".")),
            )


class FormValidator:
    """A form's validator: its JSON schema (`schema`, as the designer wrote it), the
    default maximum length of its text fields and its cross-field rules (`x-rules`)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._checker = make_validator(schema)

    def iter_errors(self, data: Any) -> Iterator[jsonschema.ValidationError]:
        yield from self._checker.iter_errors(data)
        yield from default_limit_errors(self.schema, data)
        yield from rule_errors(self.schema, data)


def form_validator(schema: dict[str, Any]) -> FormValidator:
    """The validator of a task's or a start event's form (`check_data` takes it)."""
    return FormValidator(schema)


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


def message_of(error: jsonschema.ValidationError) -> str:
    """The error's message, quoting at most the start of a long value (jsonschema quotes it
    whole: a 10 MB text must not come back in the answer)."""
    if error.validator == "maxLength" and isinstance(error.instance, str):
        return _too_long(int(error.validator_value), error.instance)
    quoted = repr(error.instance)
    if len(quoted) > _QUOTED * 2 and quoted in error.message:
        return error.message.replace(quoted, f"{quoted[:_QUOTED]}… ({len(quoted)} characters)")
    return error.message


def check_data(validator: Any, data: dict[str, Any]) -> None:
    """Raise ValidationError naming the first field that fails; every error is in `errors`."""
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    first = errors[0]
    raise ValidationError(
        message_of(first),
        field=field_of(first),
        errors=[{"field": field_of(e), "message": message_of(e)} for e in errors],
    )


# --- a decision that sends the work back ---------------------------------------------------

SEND_BACK = "x-send-back"


def send_back_field(schema: Any) -> tuple[str, Any, str | None] | None:
    """The field of a form whose choice sends the work back (an approval refused), as
    (field, the value that sends back, the field of the comment that says why), from the
    field's `"x-send-back": {"value": false, "comment": "approval_comment"}`; None for a form
    without one.  The first such field counts."""
    if not isinstance(schema, Mapping):
        return None
    for key, sub in (schema.get("properties") or {}).items():
        marked = sub.get(SEND_BACK) if isinstance(sub, Mapping) else None
        if isinstance(marked, Mapping) and "value" in marked:
            comment = marked.get("comment")
            return str(key), marked["value"], str(comment) if comment else None
    return None


def sent_back(schema: Any, data: Any) -> tuple[str, str] | None:
    """Whether `data` submitted on the form `schema` sends the work back: (the decision's
    field, the comment, "" without one); None when it does not (or the form cannot)."""
    found = send_back_field(schema)
    if found is None or not isinstance(data, Mapping):
        return None
    key, value, comment = found
    if key not in data or data[key] != value or type(data[key]) is not type(value):
        return None
    text = data.get(comment) if comment else None
    return key, text.strip() if isinstance(text, str) else ""
