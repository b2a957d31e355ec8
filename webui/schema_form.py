"""Forms from JSON schemas: the widgets a page renders, and submitted fields back to JSON.

HTML field names are paths: `company`, `budget_range.min`, `decision_makers.0.name`; a list
of plain values repeats its name (`pain_points` three times).  A form's text travels as
`Raw` (name -> the strings submitted, like a MultiDict), which is what a page re-shows: what
the user typed stays as typed, even when it is not a number.

    flatten(schema, data)        JSON data -> Raw (to fill a form from the deal or a draft)
    parse(schema, raw)           Raw -> JSON for the engine, plus what could not be read
    build(schema, raw, errors)   the widget tree, each error on its field

The engine validates again against the same schema (engine.core.forms); the browser gets the
schema's limits as HTML attributes (required, min, max, minlength, maxlength, pattern) first,
maxlength also for a text field that declares none (the engine's default maximum length).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ValidationError
from engine.usecases.forms import check_data, form_rules, form_validator, max_length, rule_message
from webui.i18n import CHINESE, _, language
from webui.labels import field_title

Raw = Mapping[str, list[str]]
INDEX = "__INDEX__"  # the row number in a new row's names, filled in by forms.js
CHECKED = frozenset({"on", "true", "1", "yes"})
MONEY_WORDS = ("price", "amount", "revenue", "budget", "cny")
# Free text that deserves a text area besides `maxLength` > 200 and "x-widget": "textarea".
LONG_TEXT_WORDS = ("notes", "summary", "comment", "reason", "action")
RADIO_MAX = 4  # up to this many choices show as radio buttons, more as a select
_INT = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass
class Widget:
    """One thing on a form: an input, a choice, a group of fields, or a repeated list."""

    kind: str  # text textarea date email url number money integer checkbox select radio
    #            checkboxes list rows group
    name: str
    label: str
    dom_id: str
    help: str = ""
    required: bool = False  # required by the schema (marked on the page)
    attrs: dict[str, str] = field(default_factory=dict)  # HTML validation attributes
    options: list[Option] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    children: list[Widget] = field(default_factory=list)  # group fields; list items
    rows: list[list[Widget]] = field(default_factory=list)  # rows: the fields of each row
    blank: list[Widget] = field(default_factory=list)  # list/rows: a new item, named with INDEX
    item_label: str = ""
    min_items: int = 0
    next_index: int = 0

    @property
    def value(self) -> str:
        return self.values[-1] if self.values else ""

    @property
    def checked(self) -> bool:
        return bool(self.values) and self.values[-1].lower() in CHECKED

    def walk(self) -> Iterator[Widget]:
        yield self
        if self.kind == "list":
            return  # the items share the list's name: errors go to the list
        for child in self.children:
            yield from child.walk()
        for row in self.rows:
            for child in row:
                yield from child.walk()


@dataclass
class FormView:
    """A whole form for a template: title, description, widgets, errors of no one field."""

    title: str
    description: str
    widgets: list[Widget]
    errors: list[str] = field(default_factory=list)
    # The form's cross-field rules for forms.js: {field, rule, other, message} (the message
    # in the page's language; engine.core.forms `form_rules`).
    rules: list[dict[str, str]] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(w.errors for top in self.widgets for w in top.walk())


@dataclass
class Parsed:
    data: dict[str, Any]
    errors: list[dict[str, str]]  # [{field, message}] like the engine's ValidationError
    # Rows left out because they were empty: html name of the list -> the row numbers kept,
    # so that the engine's "decision_makers.0.name" lands on the row the user filled.
    rows: dict[str, list[int]] = field(default_factory=dict)

    def html_name(self, path: str) -> str:
        parts = path.split(".")
        name = parts[0]
        for part in parts[1:]:
            kept = self.rows.get(name)
            if part.isdigit() and kept is not None and int(part) < len(kept):
                part = str(kept[int(part)])
            name = f"{name}.{part}"
        return name


# --- reading the schema ------------------------------------------------------------------


def _type(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    if isinstance(declared, str):
        return declared
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _options(schema: Mapping[str, Any]) -> list[Option]:
    """A field's choices with their labels: the titles of its `oneOf` consts, or its
    `enumNames` beside `enum` (how a translated form labels a bare enum)."""
    names = schema.get("enumNames")
    if isinstance(schema.get("enum"), list) and isinstance(names, list):
        return [
            Option(_text(v), str(names[n]) if n < len(names) else _text(v))
            for n, v in enumerate(schema["enum"])
        ]
    titles = {
        _choice(o["const"]): str(o.get("title") or _choice(o["const"]))
        for o in schema.get("oneOf", []) or []
        if isinstance(o, Mapping) and "const" in o
    }
    if "enum" in schema:
        return [Option(_text(v), titles.get(_text(v), _text(v))) for v in schema["enum"]]
    return [Option(v, label) for v, label in titles.items()]


def _words(*texts: str) -> str:
    return " ".join(texts).casefold()


def html_pattern(pattern: str) -> str:
    """A JSON-schema pattern (a search anywhere) as an HTML pattern (a whole-value match)."""
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[1:-1]
    return f".*(?:{pattern}).*"


def _choice(value: Any) -> str:
    """A choice's value in a form: a yes/no choice (`oneOf` of `const` true and false, a
    branch's decision) is "true" or "false"; other values as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value)


def _yes_no_choice(schema: Mapping[str, Any]) -> bool:
    """A boolean offered as labelled choices (Approve / Send back), not as a checkbox."""
    return _type(schema) == "boolean" and bool(_options(schema))


def _number(value: Any) -> str:
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _scalar_kind(schema: Mapping[str, Any], key: str, title: str, context: str) -> str:
    kind = _type(schema)
    if _options(schema):
        return "radio" if len(_options(schema)) <= RADIO_MAX else "select"
    if kind == "boolean":
        return "checkbox"
    if kind == "integer":
        return "integer"
    if kind == "number":
        return "money" if any(w in _words(key, title, context) for w in MONEY_WORDS) else "number"
    fmt = schema.get("format")
    if fmt == "date":
        return "date"
    if fmt == "email":
        return "email"
    if fmt in ("uri", "url"):
        return "url"
    if (
        schema.get("x-widget") == "textarea"
        or int(schema.get("maxLength", 0)) > 200
        or any(w in _words(key, title) for w in LONG_TEXT_WORDS)
    ):
        return "textarea"
    return "text"


def _attrs(schema: Mapping[str, Any], kind: str, enforce: bool) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if enforce and (kind != "checkbox" or schema.get("const") is True):
        attrs["required"] = "required"
    if kind in ("number", "money", "integer"):
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if key in schema:
                attrs[attr] = _number(schema[key])
        attrs["step"] = {"integer": "1", "money": "0.01"}.get(kind, "any")
        attrs["inputmode"] = "numeric" if kind == "integer" else "decimal"
    elif kind in ("text", "textarea", "email", "url"):
        if "minLength" in schema:
            attrs["minlength"] = str(schema["minLength"])
        limit = max_length(schema)
        if limit is not None:
            attrs["maxlength"] = str(limit)
        if "pattern" in schema and kind != "textarea":
            attrs["pattern"] = html_pattern(str(schema["pattern"]))
    return attrs


# --- widgets -----------------------------------------------------------------------------


def _dom_id(name: str, suffix: str = "") -> str:
    base = "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
    return f"{base}-{suffix}" if suffix else base


def _fields(
    schema: Mapping[str, Any], raw: Raw, prefix: str, enforce: bool, context: str
) -> list[Widget]:
    required = set(schema.get("required", []) or [])
    return [
        _widget(sub, key, prefix + key, raw, key in required, enforce and key in required, context)
        for key, sub in (schema.get("properties") or {}).items()
        if isinstance(sub, Mapping)
    ]


def _row_indexes(raw: Raw, name: str) -> list[int]:
    found = set()
    for key in raw:
        if key.startswith(name + "."):
            part = key[len(name) + 1 :].split(".", 1)[0]
            if part.isdigit():
                found.add(int(part))
    return sorted(found)


def _widget(
    schema: Mapping[str, Any],
    key: str,
    name: str,
    raw: Raw,
    required: bool,
    enforce: bool,
    context: str,
) -> Widget:
    label = str(schema.get("title") or field_title(key))
    common: dict[str, Any] = {
        "name": name,
        "label": label,
        "dom_id": _dom_id(name),
        "required": required,
        "help": str(schema.get("description") or ""),
    }
    kind = _type(schema)
    if kind == "object":
        children = _fields(schema, raw, name + ".", enforce, label)
        return Widget("group", children=children, **common)
    if kind != "array":
        return _scalar(schema, key, name, raw.get(name, []), enforce, context, common)
    items = schema.get("items") or {}
    least = int(schema.get("minItems", 0))
    item_label = str(items.get("title") or label)
    if _type(items) == "object":
        found = _row_indexes(raw, name)
        count = max(len(found), least, 1)
        after = (found[-1] + 1) if found else 0
        numbers = found + list(range(after, after + count - len(found)))
        rows = [
            _fields(items, raw, f"{name}.{n}.", enforce and pos < least, label)
            for pos, n in enumerate(numbers)
        ]
        blank = _fields(items, {}, f"{name}.{INDEX}.", False, label)
        return Widget(
            "rows",
            rows=rows,
            blank=blank,
            item_label=item_label,
            min_items=least,
            next_index=numbers[-1] + 1,
            **common,
        )
    if _options(items):
        return Widget(
            "checkboxes",
            options=_options(items),
            values=list(raw.get(name, [])),
            min_items=least,
            **common,
        )
    typed = list(raw.get(name, []))
    typed += [""] * (max(least, 1) - len(typed))
    item_common: dict[str, Any] = {"name": name, "label": item_label, "required": False, "help": ""}
    children = [
        _scalar(
            items,
            key,
            name,
            [text],
            enforce and pos < least,
            label,
            {**item_common, "dom_id": _dom_id(name, str(pos))},
        )
        for pos, text in enumerate(typed)
    ]
    blank = [_scalar(items, key, name, [], False, label, {**item_common, "dom_id": ""})]
    return Widget(
        "list",
        children=children,
        blank=blank,
        item_label=item_label,
        min_items=least,
        next_index=len(typed),
        **common,
    )


def _scalar(
    schema: Mapping[str, Any],
    key: str,
    name: str,
    values: list[str],
    enforce: bool,
    context: str,
    common: dict[str, Any],
) -> Widget:
    kind = _scalar_kind(schema, key, str(common["label"]), context)
    return Widget(
        kind,
        attrs=_attrs(schema, kind, enforce),
        options=_options(schema),
        values=list(values),
        **common,
    )


def build(
    schema: Mapping[str, Any],
    raw: Raw,
    errors: Iterable[dict[str, str]] = (),
    parsed: Parsed | None = None,
) -> FormView:
    """The widgets of `schema` showing `raw`, with each error (engine or parse) on its field."""
    widgets = _fields(schema, raw, "", True, "")
    by_name: dict[str, Widget] = {}
    for top in widgets:
        for w in top.walk():
            by_name.setdefault(w.name, w)
    locale = "zh" if language() == CHINESE else "en"
    rules = form_rules(schema)
    view = FormView(
        title=str(schema.get("title") or ""),
        description=str(schema.get("description") or ""),
        widgets=widgets,
        rules=[
            {
                "field": r["field"],
                "rule": r["rule"],
                "other": r["other"],
                "message": rule_message(r, locale),
            }
            for r in rules
        ],
    )
    # The engine words a broken rule in English: the page shows the rule's own words.
    worded = {(r["field"], rule_message(r)): rule_message(r, locale) for r in rules}
    for error in errors:
        path = str(error.get("field") or "")
        name = parsed.html_name(path) if parsed is not None else path
        target = _nearest(by_name, name)
        message = str(error.get("message", ""))
        text = worded.get((path, message)) or friendly(message, target)
        bucket = target.errors if target is not None else view.errors
        if text not in bucket:
            bucket.append(text)
    return view


def _nearest(by_name: Mapping[str, Widget], name: str) -> Widget | None:
    parts = name.split(".")
    while parts:
        found = by_name.get(".".join(parts))
        if found is not None:
            return found
        parts.pop()
    return None


# The engine's messages come from jsonschema, in English and about values; a person wants to
# know what to do.  Unknown messages are shown as they are.
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"is a required property$"), "required"),
    (re.compile(r"(is too short|should be non-empty)$"), "short"),
    (re.compile(r"is less than or equal to the minimum of (\S+)$"), "above"),
    (re.compile(r"is less than the minimum of (\S+)$"), "min"),
    (re.compile(r"is greater than or equal to the maximum of (\S+)$"), "below"),
    (re.compile(r"is greater than the maximum of (\S+)$"), "max"),
    (re.compile(r"(is not one of|is not valid under any of the given schemas)"), "choice"),
    (re.compile(r"^True was expected$"), "tick"),
    (re.compile(r"is not a '(date)'$"), "date"),
    (re.compile(r"is too long: at most (\d+) characters"), "long"),
    (re.compile(r"does not match "), "pattern"),
    (re.compile(r"is not of type "), "type"),
)


def friendly(message: str, widget: Widget | None) -> str:
    for pattern, what in _MESSAGES:
        found = pattern.search(message)
        if found is None:
            continue
        limit = found.group(1) if found.groups() else ""
        count = widget.min_items if widget is not None else 0
        many = widget is not None and widget.kind in ("list", "rows", "checkboxes") and count > 0
        needed = _("Enter at least %(count)s.", count=count) if many else ""
        texts = {
            "required": needed or _("This field is required."),
            "short": needed or _("This field is required."),
            "above": _("Enter more than %(limit)s.", limit=limit),
            "min": _("Enter %(limit)s or more.", limit=limit),
            "below": _("Enter less than %(limit)s.", limit=limit),
            "max": _("Enter %(limit)s or less.", limit=limit),
            "choice": _("Choose one of the options."),
            "tick": _("This must be ticked."),
            "date": _("Enter a date (YYYY-MM-DD)."),
            "long": _("Enter at most %(limit)s characters.", limit=limit),
            "pattern": _("This value does not have the expected form."),
            "type": _("This value has the wrong type."),
        }
        return texts[what]
    return message


# --- JSON <-> form text ------------------------------------------------------------------


def flatten(
    schema: Mapping[str, Any], data: Mapping[str, Any], prefix: str = ""
) -> dict[str, list[str]]:
    """The form text that shows `data` (keys the schema does not have are left out)."""
    out: dict[str, list[str]] = {}
    for key, sub in (schema.get("properties") or {}).items():
        if key not in data or data[key] is None or not isinstance(sub, Mapping):
            continue
        value, name, kind = data[key], prefix + key, _type(sub)
        if kind == "object" and isinstance(value, Mapping):
            out.update(flatten(sub, value, name + "."))
        elif kind == "array" and isinstance(value, list):
            items = sub.get("items") or {}
            if _type(items) == "object":
                for n, row in enumerate(value):
                    if isinstance(row, Mapping):
                        out.update(flatten(items, row, f"{name}.{n}."))
            else:
                out[name] = [_text(v) for v in value if v is not None]
        elif kind == "boolean" and _yes_no_choice(sub):
            if isinstance(value, bool):
                out[name] = [_choice(value)]
        elif kind == "boolean":
            if value is True:
                out[name] = ["on"]
        elif not isinstance(value, Mapping | list):
            out[name] = [_text(value)]
    return out


def parse(schema: Mapping[str, Any], raw: Raw) -> Parsed:
    """The JSON the form stands for: empty fields are left out (so "required" is the
    schema's to say), unticked boxes are false, numbers are numbers.

    When some text cannot be read (a number that is not one), the data does not go to the
    engine; the rest is checked against the schema here (with the engine's own checker) so
    that the page shows every error at once, not one round trip each."""
    parsed = Parsed(data={}, errors=[])
    parsed.data = _parse_object(schema, raw, "", parsed)
    if parsed.errors:
        unreadable = {e["field"] for e in parsed.errors}
        try:
            check_data(form_validator(dict(schema)), parsed.data)
        except ValidationError as exc:
            parsed.errors += [
                e for e in exc.errors if parsed.html_name(e["field"]) not in unreadable
            ]
    return parsed


def _filled(raw: Raw, prefix: str) -> bool:
    return any(v.strip() for key, values in raw.items() if key.startswith(prefix) for v in values)


def _parse_object(schema: Mapping[str, Any], raw: Raw, prefix: str, out: Parsed) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, Mapping):
            continue
        present, value = _parse_value(sub, prefix + key, raw, out)
        if present:
            result[key] = value
    return result


def _parse_value(schema: Mapping[str, Any], name: str, raw: Raw, out: Parsed) -> tuple[bool, Any]:
    kind = _type(schema)
    if kind == "object":
        if not _filled(raw, name + "."):
            return False, None
        return True, _parse_object(schema, raw, name + ".", out)
    if kind == "array":
        items = schema.get("items") or {}
        if _type(items) == "object":
            kept, rows = [], []
            for n in _row_indexes(raw, name):
                if _filled(raw, f"{name}.{n}."):
                    kept.append(n)
                    rows.append(_parse_object(items, raw, f"{name}.{n}.", out))
            out.rows[name] = kept
            return bool(rows), rows
        texts = [t.strip() for t in raw.get(name, []) if t.strip()]
        return bool(texts), [_convert(items, t, name, out) for t in texts]
    if kind == "boolean" and _yes_no_choice(schema):
        # A choice: none chosen is no answer (the schema says whether one is required).
        given = raw.get(name, [])
        chosen = given[-1].strip().lower() if given else ""
        if not chosen:
            return False, None
        if chosen not in ("true", "false"):
            out.errors.append({"field": name, "message": _("Choose one of the options.")})
            return True, chosen
        return True, chosen == "true"
    if kind == "boolean":
        given = raw.get(name, [])
        return True, bool(given) and given[-1].strip().lower() in CHECKED
    given = raw.get(name, [])
    text = given[-1].strip() if given else ""
    if not text:
        return False, None
    return True, _convert(schema, text, name, out)


def _convert(schema: Mapping[str, Any], text: str, name: str, out: Parsed) -> Any:
    kind = _type(schema)
    if kind == "integer":
        if _INT.match(text.replace(",", "")):
            return int(text.replace(",", ""))
        out.errors.append({"field": name, "message": _("Enter a whole number.")})
        return text
    if kind == "number":
        plain = text.replace(",", "").replace(" ", "")
        if _INT.match(plain):
            return int(plain)
        try:
            number = float(plain)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
        out.errors.append({"field": name, "message": _("Enter a number.")})
        return text
    if kind == "boolean":
        return text.lower() in CHECKED
    return text
