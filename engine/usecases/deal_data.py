"""A deal's data as people read it, grouped by the form that asked for it (the deal page's
"Deal data" panel, `GET /api/v1/deals/{id}/data`).

One section per form the deal went through: the new-deal form first, then each task's form
in the order the deal reached it (its history); forms not reached yet are not shown.  Within a
section the fields keep the order of the form's `properties`, each with its title in the
reader's language and its value as people read it: a choice's label (`trade_show` -> "Trade
show" / "展会"), a yes/no choice's label ("Approve" / "Send back") or Yes / No, a nested
object's and a list's parts with their titles.  A field two forms ask for (the qualification
asks again for the revenue the lead form gave) is shown once, in the later form: the value
kept is the one that form entered.

What scripts and decisions wrote (no form asks for it) comes last, under "Other", labelled by
the translations file's `values` where it has them; the keys the page shows elsewhere (the
deal's value, close date, outcome and lost reason) and the engine's own (`_...`) are left out.

Each field says its `kind`, so that a page or another system formats it for its reader:
money (a number whose key speaks of money: price, amount, revenue, budget; the forms carry no
currency marker), number, date (`"format": "date"` holding a real YYYY-MM-DD), text, choice,
bool, list, object.  The rule for who may read it is `show`'s (engine.usecases.access).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import load_only

from engine.core.definitions import form_name
from engine.core.translations import CHINESE, Texts, choice_text, locale_of
from engine.core.version import VersionRuntime
from engine.errors import NotFoundError
from engine.store import users
from engine.store.models import History, Instance
from engine.usecases import access
from engine.usecases.base import UseCases
from engine.usecases.texts import texts_of
from engine.usecases.unit import parse_id

__all__ = ["KINDS", "DataField", "DataSection", "DealDataCases", "FieldKind"]

FieldKind = Literal["money", "number", "date", "text", "choice", "bool", "list", "object"]
KINDS: tuple[FieldKind, ...] = (
    "money",
    "number",
    "date",
    "text",
    "choice",
    "bool",
    "list",
    "object",
)
# Words of a number's key that make it an amount of money (a nested key's parent counts:
# budget_range.min).  The same words the task forms use to offer a money field.
MONEY_WORDS = ("price", "amount", "revenue", "budget")
# Keys "Other" leaves out: the page shows them in its head (value, close date, outcome, the
# lost reason); keys starting with "_" are the engine's own.
SHOWN_ELSEWHERE = frozenset({"amount", "expected_close", "outcome", "lost_reason"})
# The few words the engine says itself, in the reader's language.
_WORDS = {
    "yes": {CHINESE: "是"},
    "no": {CHINESE: "否"},
    "other": {CHINESE: "其他"},
}
_ENGLISH_WORDS = {"yes": "Yes", "no": "No", "other": "Other"}


class DataField(TypedDict):
    """One value of a deal's data as people read it."""

    key: str  # the data key (a list item's index as text)
    title: str  # its title in the reader's language
    value: Any  # the stored value, as it is
    display: str | None  # the label of a choice or yes/no; None: format `value` by `kind`
    kind: FieldKind
    parts: list[DataField]  # an object's fields, a list's items, in order; [] for others


class DataSection(TypedDict):
    """The fields one form asked for (`form` None: what no form asked for, "Other")."""

    form: str | None  # the form's file name
    title: str
    fields: list[DataField]


def _word(key: str, lang: str | None) -> str:
    return _WORDS[key].get(locale_of(lang), _ENGLISH_WORDS[key])


def key_title(key: str) -> str:
    """A data key as a heading when no form names it: "follow_up_plan" -> "Follow up plan"."""
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _is_money(path: Iterable[str]) -> bool:
    return any(word in part.casefold() for part in path for word in MONEY_WORDS)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_day(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _choice_label(schema: Mapping[str, Any], value: Any) -> str | None:
    """The label a field's schema gives a stored value: the title of its `oneOf` option, or
    its `enumNames` entry (a translated bare `enum`); None when it gives none."""
    wanted = choice_text(value)
    for option in schema.get("oneOf") or ():
        if not isinstance(option, Mapping) or "const" not in option:
            continue
        if choice_text(option["const"]) == wanted and option.get("title"):
            return str(option["title"])
    enum, names = schema.get("enum"), schema.get("enumNames")
    if isinstance(enum, list) and isinstance(names, list):
        for code, name in zip(enum, names, strict=False):
            if choice_text(code) == wanted:
                return str(name)
    return None


def _has_choices(schema: Mapping[str, Any]) -> bool:
    return isinstance(schema.get("enum"), list) or any(
        isinstance(o, Mapping) and "const" in o for o in schema.get("oneOf") or ()
    )


class _Reader:
    """Builds the fields of one deal in one language."""

    def __init__(self, texts: Texts, lang: str | None) -> None:
        self.texts = texts
        self.lang = lang

    def field(
        self, key: str, title: str, value: Any, schema: Mapping[str, Any], path: tuple[str, ...]
    ) -> DataField:
        """A value as its (translated) field schema describes it; what the schema does not
        describe (a value of another type than it says) as the value itself shows it."""
        made = DataField(key=key, title=title, value=value, display=None, kind="text", parts=[])
        if isinstance(value, bool):
            label = _choice_label(schema, value)
            made["kind"] = "bool"
            made["display"] = label or _word("yes" if value else "no", self.lang)
        elif isinstance(value, Mapping):
            made["kind"] = "object"
            made["parts"] = self.object_parts(value, schema, path)
        elif isinstance(value, list):
            made["kind"] = "list"
            made["parts"] = self.list_parts(value, schema, path)
        elif _has_choices(schema) and (label := _choice_label(schema, value)) is not None:
            made["kind"], made["display"] = "choice", label
        elif _is_number(value):
            made["kind"] = "money" if _is_money(path) else "number"
        elif schema.get("format") == "date" and _is_day(value):
            made["kind"] = "date"
        return made

    def object_parts(
        self, value: Mapping[str, Any], schema: Mapping[str, Any], path: tuple[str, ...]
    ) -> list[DataField]:
        """An object's fields: those its schema names, in its order, then any others."""
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        keys = [k for k in props if k in value] + [str(k) for k in value if k not in props]
        parts = []
        for key in keys:
            sub = props.get(key)
            sub = sub if isinstance(sub, Mapping) else {}
            title = str(sub.get("title") or key_title(key))
            parts.append(self.field(key, title, value[key], sub, (*path, key)))
        return parts

    def list_parts(
        self, value: list[Any], schema: Mapping[str, Any], path: tuple[str, ...]
    ) -> list[DataField]:
        """A list's items, each titled by its item schema (the list's own title without)."""
        items = schema.get("items")
        items = items if isinstance(items, Mapping) else {}
        title = str(items.get("title") or schema.get("title") or "")
        return [self.field(str(i), title, item, items, path) for i, item in enumerate(value)]

    def other(self, key: str, value: Any) -> DataField:
        """A value no form asked for (a script's, a decision's): labelled by the
        translations file's `values`, titled by its `data` (else by its key)."""
        made = self.field(key, self.texts.data_title(key, key_title(key)), value, {}, (key,))
        if made["kind"] == "text" and isinstance(value, str):
            label = self.texts.value(key, value)
            if label != value:
                made["kind"], made["display"] = "choice", str(label)
        return made


def _forms_by_element(vr: VersionRuntime) -> dict[str, str]:
    """Element id -> the name of its form, for the elements of a version that have one."""
    found: dict[str, str] = {}
    for spec in (vr.spec, *vr.subprocess_specs.values()):
        for ts in spec.task_specs.values():
            name = form_name(ts)
            if name and getattr(ts, "bpmn_id", None):
                found[ts.bpmn_id] = name
    return found


def _start_form_name(vr: VersionRuntime) -> str | None:
    outputs = vr.spec.start.outputs
    return form_name(outputs[0]) if outputs else None


def data_sections(
    data: Mapping[str, Any],
    forms: Iterable[str],
    vr: VersionRuntime,
    texts: Texts,
    lang: str | None,
) -> list[DataSection]:
    """The sections of a deal's `data` for the `forms` it went through, in that order (each
    named once), then "Other"; sections with nothing to show are left out."""
    order = list(dict.fromkeys(f for f in forms if vr.form_schema(f) is not None))
    owner: dict[str, str] = {}  # data key -> the last form asking for it
    for name in order:
        for key in (vr.form_schema(name) or {}).get("properties") or {}:
            owner[key] = name
    reader = _Reader(texts, lang)
    sections: list[DataSection] = []
    for name in order:
        schema = texts.form(name, vr.form_schema(name)) or {}
        props = schema.get("properties") or {}
        fields = [
            reader.field(key, str(sub.get("title") or key_title(key)), data[key], sub, (key,))
            for key, sub in props.items()
            if key in data and owner.get(key) == name and isinstance(sub, Mapping)
        ]
        if fields:
            title = str(schema.get("title") or name)
            sections.append(DataSection(form=name, title=title, fields=fields))
    rest = [
        reader.other(str(key), value)
        for key, value in data.items()
        if key not in owner and key not in SHOWN_ELSEWHERE and not str(key).startswith("_")
    ]
    if rest:
        sections.append(DataSection(form=None, title=_word("other", lang), fields=rest))
    return sections


class DealDataCases(UseCases):
    """A deal's data, grouped by form, in the reader's language."""

    def deal_data_sections(
        self, instance_id: str | int, viewer: str, lang: str | None
    ) -> list[DataSection]:
        """The data of a deal `viewer` may see (the rule of its page, `may_see`), one section
        per form it went through and "Other" (`data_sections`).  NotFoundError, worded as
        for a missing deal, for one they may not see."""
        iid = parse_id(instance_id)
        missing = NotFoundError(f"no deal with id '{instance_id}'")
        with self.db.read() as s:
            roles = users.roles_of(s, viewer)
            shared = access.team_deals_shared(s)
            if not access.may_see(s, viewer, roles, iid, team=shared):
                raise missing
            inst = s.scalars(
                select(Instance)
                .options(load_only(Instance.id, Instance.version_id, Instance.data))
                .where(Instance.id == iid)
            ).first()
            if inst is None:
                raise missing
            elements = s.scalars(
                select(History.element_id)
                .where(History.instance_id == iid, History.kind == "completed")
                .order_by(History.id)
            )
            vr = self.version(s, inst.version_id)
            by_element = _forms_by_element(vr)
            start = _start_form_name(vr)
            forms = [
                *([start] if start else []),
                *(by_element[e] for e in elements if e in by_element),
            ]
            texts = texts_of(self, s, inst.version_id, lang)
            return data_sections(inst.data or {}, forms, vr, texts, lang)
