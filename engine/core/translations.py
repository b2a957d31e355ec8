# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese error messages
"""Process content in the reader's language: the names of a process's elements, its forms'
titles, help and choices, its stages and the values its decisions write, translated by the
designer in a translations file beside the BPMN, falling back to the designer's own text.

Where the translations live.  One JSON file per BPMN file and language, named after the BPMN
file: `sales_pipeline.bpmn` -> `sales_pipeline.zh-Hans.json`.  It is one more source of the
definition (engine.core.definitions reads it with the BPMN, DMN and form files), so it is
deployed, hashed, versioned, exported and diffed with them: a running deal keeps the texts of
its version, and a designer translates in the same change as the element they add.  A file
rather than `spiffworkflow:property` per element: forms and decision outputs are not BPMN
elements, the BPMN stays as readable as another tool left it, and a translator edits one file.

    {
      "locale": "zh-Hans",
      "elements": {"task_qualify_lead": {"name": "线索资格审查",
                                         "documentation": "...", "instructions": "..."}},
      "stages": {"needs": "需求分析"},
      "forms": {"needs_analysis.schema.json": {
          "title": "需求分析", "description": "...",
          "fields": {"pain_points": {"title": "核心痛点", "description": "..."},
                     "pain_points[]": {"title": "痛点"},
                     "main_pain_area": {"title": "最突出的痛点",
                                        "choices": {"efficiency": "效率"}},
                     "budget_range.min": {"title": "最低"}}}},
      "values": {"follow_up_plan": {"weekly follow-up and a customised plan": "每周跟进..."}},
      "data": {"tier": "客户分级", "nurture_rounds": "培育轮次"}
    }

A field is named by its path: properties joined by ".", the items of a list as "[]".  Element
ids are those of the BPMN file (processes, participants, lanes, flow nodes, flows); a lane's
name is also its role's label.  `values` labels what scripts and decisions write into a
deal's data (field -> stored value -> label); `data` titles those fields (no form names them).

`Translations.load(files)` reads every translations file of a version; `.texts(locale)` gives
the `Texts` of one language ("en", "zh"), which answer every question with the designer's
text when the file has no answer.  `localized_check` checks form data and words its errors in
the reader's language, naming each field by its translated title.  `problems(files)` is what
the designer's Check says about the files (engine.core.lint).

Pure: no database, no clock.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import jsonschema
from lxml import etree

from engine.core.forms import RULES, check_data, field_of, message_of, rule_message
from engine.core.graph import Graph
from engine.errors import DefinitionError, ValidationError

ENGLISH = "en"
CHINESE = "zh"
LOCALES = (ENGLISH, CHINESE)
# Language tags a file name or a request may give, as the engine's locales.
_TAGS = {"en": ENGLISH, "zh": CHINESE, "zh-hans": CHINESE, "zh-cn": CHINESE, "zh-sg": CHINESE}
FILE_PATTERN = re.compile(r"^(?P<stem>.+)\.(?P<tag>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.json$")
TOP_KEYS = ("locale", "elements", "stages", "forms", "values", "data")
ELEMENT_KEYS = ("name", "documentation", "instructions")
FORM_KEYS = ("title", "description", "fields")
FIELD_KEYS = ("title", "description", "choices")
ITEMS = "[]"

_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_pis=True)
# BPMN elements whose names people read (on charts, in lists): those a translation may name.
_NAMED = frozenset(
    {
        "process",
        "participant",
        "lane",
        "sequenceFlow",
        "messageFlow",
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
        "textAnnotation",
        "dataObjectReference",
        "dataStoreReference",
        "group",
    }
)


def locale_of(tag: str | None) -> str:
    """The engine's locale for a language tag or an Accept-Language header ("zh-Hans",
    "zh-CN,zh;q=0.9", "zh", "en-GB"): "zh" for Simplified Chinese, "en" otherwise."""
    if not tag:
        return ENGLISH
    for part in tag.split(","):
        code = part.split(";")[0].strip().replace("_", "-").lower()
        if code in _TAGS:
            return _TAGS[code]
        if code.split("-")[0] in _TAGS:
            return _TAGS[code.split("-")[0]]
    return ENGLISH


def file_locale(name: str) -> tuple[str, str] | None:
    """(BPMN file name, locale) of a translations file's name, None for any other file:
    `sales_pipeline.zh-Hans.json` -> ("sales_pipeline.bpmn", "zh")."""
    found = FILE_PATTERN.match(name)
    if found is None or found["tag"].lower() not in _TAGS:
        return None
    return f"{found['stem']}.bpmn", _TAGS[found["tag"].lower()]


def translation_files(sources: Mapping[str, str], bpmn_files: set[str]) -> dict[str, str]:
    """The translations files of `sources` that belong to one of `bpmn_files`."""
    return {
        name: text
        for name, text in sources.items()
        if (found := file_locale(name)) is not None and found[0] in bpmn_files
    }


# --- reading a file ----------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """One translations file, read and checked for its shape."""

    locale: str
    elements: dict[str, dict[str, str]] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)  # a data field no form asks -> title


def _texts_of(name: str, where: str, value: Any, keys: tuple[str, ...] | None) -> dict[str, str]:
    """An object of texts (only `keys`, when given), or DefinitionError naming `where`."""
    if not isinstance(value, dict):
        raise DefinitionError(f"{where} must be a JSON object", file=name)
    for key, text in value.items():
        if keys is not None and key not in keys:
            raise DefinitionError(
                f"{where}.{key}: unknown key (one of {', '.join(keys)})", file=name
            )
        if not isinstance(text, str):
            raise DefinitionError(f"{where}.{key} must be a text", file=name)
    return dict(value)


def parse_catalog(name: str, text: str) -> Catalog:
    """A translations file, or DefinitionError naming the file and the key that is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"not valid JSON: {exc.msg}", file=name, line=exc.lineno) from exc
    if not isinstance(data, dict):
        raise DefinitionError("a translations file must be a JSON object", file=name)
    for key in data:
        if key not in TOP_KEYS:
            raise DefinitionError(f"{key}: unknown key (one of {', '.join(TOP_KEYS)})", file=name)
    found = file_locale(name)
    locale = found[1] if found else locale_of(str(data.get("locale") or ""))
    if "locale" in data and locale_of(str(data["locale"])) != locale:
        raise DefinitionError(
            f"locale: '{data['locale']}' is not the language of the file name", file=name
        )
    elements = {
        eid: _texts_of(name, f"elements.{eid}", texts, ELEMENT_KEYS)
        for eid, texts in _texts_of_objects(name, "elements", data.get("elements", {})).items()
    }
    stages = _texts_of(name, "stages", data.get("stages", {}), None)
    titles = _texts_of(name, "data", data.get("data", {}), None)
    values = {
        key: _texts_of(name, f"values.{key}", labels, None)
        for key, labels in _texts_of_objects(name, "values", data.get("values", {})).items()
    }
    forms: dict[str, dict[str, Any]] = {}
    for form, texts in _texts_of_objects(name, "forms", data.get("forms", {})).items():
        where = f"forms.{form}"
        for key in texts:
            if key not in FORM_KEYS:
                raise DefinitionError(
                    f"{where}.{key}: unknown key (one of {', '.join(FORM_KEYS)})", file=name
                )
        top = _texts_of(name, where, {k: v for k, v in texts.items() if k != "fields"}, None)
        fields = {}
        given = _texts_of_objects(name, f"{where}.fields", texts.get("fields", {}))
        for path, ftexts in given.items():
            fwhere = f"{where}.fields.{path}"
            plain = {k: v for k, v in ftexts.items() if k != "choices"}
            entry: dict[str, Any] = _texts_of(name, fwhere, plain, FIELD_KEYS)
            if "choices" in ftexts:
                entry["choices"] = _texts_of(name, f"{fwhere}.choices", ftexts["choices"], None)
            fields[path] = entry
        forms[form] = {**top, "fields": fields}
    return Catalog(
        locale=locale, elements=elements, stages=stages, forms=forms, values=values, data=titles
    )


def _texts_of_objects(name: str, where: str, value: Any) -> dict[str, dict[str, Any]]:
    """An object of objects, or DefinitionError naming `where`."""
    if not isinstance(value, dict):
        raise DefinitionError(f"{where} must be a JSON object", file=name)
    for key, inner in value.items():
        if not isinstance(inner, dict):
            raise DefinitionError(f"{where}.{key} must be a JSON object", file=name)
    return value


# --- what a BPMN file names ---------------------------------------------------------------


@dataclass(frozen=True)
class Designed:
    """The texts of a BPMN file as the designer wrote them: element id -> (kind, name),
    documentation, instructions; the lanes' names; the stages its elements use."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    documentation: dict[str, str] = field(default_factory=dict)
    instructions: dict[str, str] = field(default_factory=dict)
    stages: set[str] = field(default_factory=set)
    forms: set[str] = field(default_factory=set)


def designed(text: str | bytes) -> Designed:
    """What a BPMN file names (nothing for text that is not XML: the checks say why)."""
    found = Designed()
    try:
        root = etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text, _PARSER)
    except etree.XMLSyntaxError:
        return found
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        qname = etree.QName(el)
        if qname.namespace == _MODEL and qname.localname in _NAMED and el.get("id"):
            found.names[el.get("id")] = (qname.localname, el.get("name") or "")
            for doc in el.findall(f"{{{_MODEL}}}documentation"):
                if doc.text and doc.text.strip():
                    found.documentation[el.get("id")] = doc.text.strip()
            for ins in el.iterfind(
                f"{{{_MODEL}}}extensionElements/{{{_SPIFF}}}instructionsForEndUser"
            ):
                if ins.text and ins.text.strip():
                    found.instructions[el.get("id")] = ins.text.strip()
        if qname.namespace == _SPIFF and qname.localname == "property":
            if el.get("name") == "stage" and el.get("value"):
                found.stages.add(el.get("value"))
            if el.get("name") == "formJsonSchemaFilename" and el.get("value"):
                found.forms.add(el.get("value"))
    return found


# --- forms ---------------------------------------------------------------------------------


def form_fields(schema: Any, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, schema) of every field of a form schema: properties joined by ".", list items
    as "[]" (`pain_points[]`, `decision_makers[].name`)."""
    if not isinstance(schema, Mapping):
        return
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        path = f"{prefix}{key}"
        yield path, sub
        yield from form_fields(sub, path + ".")
        items = sub.get("items")
        if isinstance(items, dict):
            yield path + ITEMS, items
            yield from form_fields(items, path + ITEMS + ".")


def choice_text(value: Any) -> str:
    """A choice's value as text, the key of its label: JSON's `true`/`false` for a yes/no
    choice (as the designer's form editor writes them), the value itself otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def choices(schema: Mapping[str, Any]) -> list[str]:
    """The values a field offers (its `enum`, or the `const`s of its `oneOf`), as text."""
    if isinstance(schema.get("enum"), list):
        return [choice_text(v) for v in schema["enum"]]
    return [
        choice_text(o["const"])
        for o in schema.get("oneOf") or ()
        if isinstance(o, Mapping) and "const" in o
    ]


def translate_form(schema: Mapping[str, Any], texts: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema` with the titles, descriptions and choice labels of `texts` (a
    form's entry of a catalog): `oneOf` titles, and `enumNames` for a bare `enum`.  Only
    annotations change: the copy validates exactly as the original."""
    out: dict[str, Any] = copy.deepcopy(dict(schema))
    for key in ("title", "description"):
        if texts.get(key):
            out[key] = texts[key]
    fields = texts.get("fields") or {}
    for path, sub in form_fields(out):
        given = fields.get(path)
        if not given:
            continue
        for key in ("title", "description"):
            if given.get(key):
                sub[key] = given[key]
        labels = given.get("choices") or {}
        if not labels:
            continue
        if isinstance(sub.get("oneOf"), list):
            for option in sub["oneOf"]:
                if isinstance(option, dict) and choice_text(option.get("const")) in labels:
                    option["title"] = labels[choice_text(option["const"])]
        if isinstance(sub.get("enum"), list):
            sub["enumNames"] = [labels.get(choice_text(v), str(v)) for v in sub["enum"]]
    return out


def title_at(schema: Any, path: list[str | int]) -> str:
    """The title of the field at a data path (`["decision_makers", 0, "name"]`), the key
    itself when it has none."""
    sub, title = schema, ""
    for part in path:
        if not isinstance(sub, Mapping):
            break
        if isinstance(part, int):
            sub = sub.get("items") if isinstance(sub.get("items"), Mapping) else {}
            continue
        sub = (sub.get("properties") or {}).get(part, {})
        title = str(sub.get("title") or part) if isinstance(sub, Mapping) else part
    return title


# --- a version's translations ------------------------------------------------------------


class Texts:
    """The texts of one version in one language; every answer falls back to the designer's
    text (`default`) when the translations do not give one."""

    def __init__(self, locale: str, catalogs: list[Catalog], lanes: dict[str, str]) -> None:
        self.locale = locale
        self.elements: dict[str, dict[str, str]] = {}
        self.stages: dict[str, str] = {}
        self.forms: dict[str, dict[str, Any]] = {}
        self.values: dict[str, dict[str, str]] = {}
        self.data: dict[str, str] = {}
        for c in catalogs:
            self.elements.update(c.elements)
            self.stages.update(c.stages)
            self.data.update(c.data)
            self.forms.update(c.forms)
            for key, labels in c.values.items():
                self.values.setdefault(key, {}).update(labels)
        # A lane's name is its role: the label of each lane name the files translate.
        self.lanes = {
            name: self.elements[lid]["name"]
            for lid, name in lanes.items()
            if name and self.elements.get(lid, {}).get("name")
        }
        self._forms: dict[str, dict[str, Any]] = {}
        self._graphs: dict[int, tuple[Graph, Graph]] = {}

    @property
    def translated(self) -> bool:
        """Whether anything is translated (English readers see the designer's texts)."""
        return bool(self.elements or self.stages or self.forms or self.values or self.data)

    def name(self, element_id: str | None, default: str | None) -> str:
        text = self.elements.get(element_id or "", {}).get("name")
        return text or (default or "")

    def instructions(self, element_id: str | None, default: str) -> str:
        return self.elements.get(element_id or "", {}).get("instructions") or default

    def documentation(self, element_id: str | None, default: str) -> str:
        return self.elements.get(element_id or "", {}).get("documentation") or default

    def lane(self, lane: str | None) -> str | None:
        """A lane's (a role's) label; None stays None."""
        return self.lanes.get(lane, lane) if lane else lane

    def stage(self, stage: str | None, default: str | None = None) -> str | None:
        if not stage:
            return default
        return self.stages.get(stage) or default or stage

    def data_title(self, key: str, default: str) -> str:
        """The title of a data field that scripts or decisions write (no form asks for it)."""
        return self.data.get(key) or default

    def value(self, key: str, value: Any) -> Any:
        """A stored value of a data field as people read it (a decision's output, ...)."""
        if isinstance(value, str):
            return self.values.get(key, {}).get(value, value)
        return value

    def form(self, name: str | None, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        """A form's schema with its translated titles, help and choices (kept once made)."""
        if schema is None or name is None or name not in self.forms:
            return schema
        done = self._forms.get(name)
        if done is None:
            done = self._forms.setdefault(name, translate_form(schema, self.forms[name]))
        return done

    def graph(self, graph: Graph) -> Graph:
        """A chart's graph with its labels translated (kept once made, per graph)."""
        if not self.translated:
            return graph
        done = self._graphs.get(id(graph))
        if done is not None and done[0] is graph:
            return done[1]
        made = replace(
            graph,
            name=self.name(graph.process_ids[0] if graph.process_ids else None, graph.name),
            pools=tuple(replace(p, name=self.name(p.id, p.name)) for p in graph.pools),
            lanes=tuple(replace(ln, name=self.name(ln.id, ln.name)) for ln in graph.lanes),
            nodes=tuple(
                replace(
                    n,
                    name=self.name(n.id, n.name),
                    text=self.name(n.id, n.text) if n.text else n.text,
                )
                for n in graph.nodes
            ),
            edges=tuple(replace(e, name=self.name(e.id, e.name)) for e in graph.edges),
        )
        self._graphs[id(graph)] = (graph, made)
        return made


ENGLISH_TEXTS = Texts(ENGLISH, [], {})


@dataclass
class Translations:
    """Every translations file of a version, by locale, and the lanes of its BPMN files."""

    catalogs: dict[str, list[Catalog]] = field(default_factory=dict)
    lanes: dict[str, str] = field(default_factory=dict)  # lane id -> name
    _texts: dict[str, Texts] = field(default_factory=dict)

    @classmethod
    def load(cls, files: Mapping[str, str]) -> Translations:
        """The translations of a version's files (DefinitionError for a malformed file)."""
        found = cls()
        for name, text in sorted(files.items()):
            if name.endswith(".bpmn"):
                for eid, (kind, ename) in designed(text).names.items():
                    if kind == "lane":
                        found.lanes[eid] = ename
            elif (where := file_locale(name)) is not None and where[0] in files:
                found.catalogs.setdefault(where[1], []).append(parse_catalog(name, text))
        return found

    def texts(self, locale: str | None) -> Texts:
        """The texts in `locale` ("en", "zh", or a language tag), falling back to the
        designer's; a language without a translations file reads the designer's texts."""
        key = locale_of(locale) if locale not in LOCALES else str(locale)
        if key not in self.catalogs:
            return ENGLISH_TEXTS
        made = self._texts.get(key)
        if made is None:
            made = self._texts.setdefault(key, Texts(key, self.catalogs[key], self.lanes))
        return made


# --- errors in the reader's language ---------------------------------------------------------


def _zh_message(error: jsonschema.ValidationError, title: str) -> str:
    kind, limit = error.validator, error.validator_value
    if kind == RULES and isinstance(limit, Mapping):
        return rule_message(limit, CHINESE)
    if kind == "required":
        return f"请填写「{title}」。"
    if kind == "minItems":
        return f"「{title}」至少需要 {limit} 项。"
    if kind == "maxItems":
        return f"「{title}」最多 {limit} 项。"
    if kind in ("minLength", "pattern") and (kind == "pattern" or limit == 1):
        if kind == "minLength" or not str(error.instance).strip():
            return f"请填写「{title}」。"
        return f"「{title}」的格式不正确。"
    if kind == "minLength":
        return f"「{title}」至少 {limit} 个字符。"
    if kind == "maxLength":
        return f"「{title}」最多 {limit} 个字符（已输入 {len(str(error.instance))} 个）。"
    if kind == "minimum":
        return f"「{title}」不能小于 {limit}。"
    if kind == "exclusiveMinimum":
        return f"「{title}」必须大于 {limit}。"
    if kind == "maximum":
        return f"「{title}」不能大于 {limit}。"
    if kind == "exclusiveMaximum":
        return f"「{title}」必须小于 {limit}。"
    if kind in ("enum", "oneOf", "anyOf", "const"):
        return f"「{title}」请从选项中选择。"
    if kind == "type":
        return f"「{title}」的类型不正确。"
    if kind == "format":
        return f"「{title}」请输入有效的{'日期（YYYY-MM-DD）' if limit == 'date' else '值'}。"
    if kind == "additionalProperties":
        return f"表单中没有这个字段：{message_of(error)}"
    return f"「{title}」无效：{message_of(error)}"


def error_title(schema: Mapping[str, Any], error: jsonschema.ValidationError) -> str:
    """The (translated) title of the field an error is about; "表单" for the whole form."""
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "required":
        path.append(field_of(error).split(".")[-1])
    return title_at(schema, path) if path else str(schema.get("title") or "")


def localized_check(
    validator: Any, data: dict[str, Any], schema: Mapping[str, Any] | None, locale: str
) -> None:
    """`check_data` (engine.core.forms) with its messages in `locale`: in Chinese each names
    its field by the translated title of `schema` (the form as the reader sees it)."""
    if locale != CHINESE or schema is None:
        check_data(validator, data)
        return
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    worded = [
        {"field": field_of(e), "message": _zh_message(e, error_title(schema, e))} for e in errors
    ]
    raise ValidationError(worded[0]["message"], field=worded[0]["field"], errors=worded)


# --- the designer's Check ------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A problem of a translations file: the file, the key (dotted), what is wrong."""

    file: str
    key: str
    message: str
    severity: str = "warning"


def findings(files: Mapping[str, str]) -> list[Finding]:
    """What is wrong or missing in the translations files of `files`: a malformed file (an
    error: it cannot be used), keys that name nothing of the BPMN or its forms, and texts the
    designer wrote that have no translation (warnings: the designer's text is shown)."""
    out: list[Finding] = []
    for name, text in sorted(files.items()):
        where = file_locale(name)
        if where is None:
            continue
        bpmn = where[0]
        if bpmn not in files:
            out.append(Finding(name, "", f"there is no {bpmn} for these translations"))
            continue
        try:
            catalog = parse_catalog(name, text)
        except DefinitionError as exc:
            out.append(Finding(name, "", exc.detail, "error"))
            continue
        out.extend(_catalog_findings(name, catalog, designed(files[bpmn]), files))
    return out


def _catalog_findings(
    name: str, catalog: Catalog, bpmn: Designed, files: Mapping[str, str]
) -> Iterator[Finding]:
    for eid, texts in catalog.elements.items():
        if eid not in bpmn.names:
            yield Finding(name, f"elements.{eid}", f"no element '{eid}' in the BPMN file")
            continue
        for key in texts:
            if key == "instructions" and eid not in bpmn.instructions:
                yield Finding(name, f"elements.{eid}.{key}", "the element has no instructions")
    for eid, (kind, designed_name) in bpmn.names.items():
        if designed_name.strip() and not catalog.elements.get(eid, {}).get("name"):
            yield Finding(
                name, f"elements.{eid}.name", f"no translation of the {kind} '{designed_name}'"
            )
        if eid in bpmn.instructions and not catalog.elements.get(eid, {}).get("instructions"):
            yield Finding(
                name, f"elements.{eid}.instructions", "no translation of the instructions"
            )
    for stage in sorted(set(catalog.stages) - bpmn.stages):
        yield Finding(name, f"stages.{stage}", f"no element of the BPMN file is in stage '{stage}'")
    for stage in sorted(bpmn.stages - set(catalog.stages)):
        yield Finding(name, f"stages.{stage}", f"no translation of the stage '{stage}'")
    for form in catalog.forms:
        if form not in bpmn.forms or form not in files:
            yield Finding(name, f"forms.{form}", f"no form '{form}' is used by the BPMN file")
    for form in sorted(bpmn.forms):
        if form not in files:
            continue
        try:
            schema = json.loads(files[form])
        except json.JSONDecodeError:
            continue  # the form's own check says why
        yield from _form_findings(name, form, schema, catalog.forms.get(form))


def _form_findings(
    name: str, form: str, schema: Any, texts: dict[str, Any] | None
) -> Iterator[Finding]:
    where = f"forms.{form}"
    if texts is None:
        yield Finding(name, where, f"no translation of the form '{form}'")
        return
    if not isinstance(schema, dict):
        return
    for key in ("title", "description"):
        if schema.get(key) and not texts.get(key):
            yield Finding(name, f"{where}.{key}", f"no translation of the form's {key}")
    fields = dict(form_fields(schema))
    given = texts.get("fields") or {}
    for path in given:
        if path not in fields:
            yield Finding(name, f"{where}.fields.{path}", f"the form has no field '{path}'")
    for path, sub in fields.items():
        entry = given.get(path) or {}
        for key in ("title", "description"):
            if sub.get(key) and not entry.get(key):
                yield Finding(name, f"{where}.fields.{path}.{key}", f"no translation of the {key}")
        offered = choices(sub)
        labels = entry.get("choices") or {}
        for value in labels:
            if value not in offered:
                yield Finding(
                    name, f"{where}.fields.{path}.choices.{value}", f"no choice '{value}'"
                )
        for value in offered:
            if value not in labels:
                yield Finding(
                    name,
                    f"{where}.fields.{path}.choices.{value}",
                    f"no translation of the choice '{value}'",
                )
