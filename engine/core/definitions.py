"""Reading and checking definitions: BPMN + DMN + form files -> specs ready to deploy.

Pure: takes file contents, returns parsed bundles or raises `DefinitionError` naming the file,
the line and the element.  Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.core import camunda
from engine.core.connectors import ConnectorParser
from engine.core.graph_xml import bpmn_processes
from engine.core.script_check import check_spec
from engine.core.translations import parse_catalog, translation_files
from engine.errors import DefinitionError

SOURCE_SUFFIXES = (".bpmn", ".dmn", ".json")
FORM_PROPERTY = "formJsonSchemaFilename"
# What one definition may weigh, checked before any XML is parsed: SpiffWorkflow's parser is
# quadratic in some element counts (a 50 MB file of 350,000 annotations kept a core busy for
# minutes).  The shipped sales pipeline is 50 kB with 600 elements; the largest model of the
# BPMN conformance suite 240 kB.
MAX_FILE_BYTES = 2_000_000
MAX_TOTAL_BYTES = 8_000_000
MAX_FILE_ELEMENTS = 10_000


@dataclass(frozen=True)
class ProcessBundle:
    """One executable process and every file its version consists of."""

    process_id: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    files: dict[str, str]
    content_hash: str


def source_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The given files and the definition files inside given folders, path by path (a path
    that is neither: DefinitionError naming it, when the walk reaches it)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SOURCE_SUFFIXES)
        elif path.is_file():
            found = [path]
        else:
            raise DefinitionError("no such file or folder", file=str(path))
        yield from (file for file in found if file.is_file())


def read_paths(paths: Iterable[str | Path]) -> dict[str, str]:
    """File name -> text for the given files and the definition files inside given folders."""
    sources: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for file in source_files(paths):
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionError(f"not UTF-8 text ({exc.reason})", file=str(file)) from exc
        if file.name in sources and sources[file.name] != text:
            raise DefinitionError(
                f"two different files share this name ({origin[file.name]} and {file})",
                file=file.name,
            )
        sources[file.name] = text
        origin[file.name] = file
    return sources


def check_limits(files: Mapping[str, str | bytes]) -> None:
    """DefinitionError naming the file for a definition too large to parse: a file over
    MAX_FILE_BYTES or with more than MAX_FILE_ELEMENTS elements, or files over
    MAX_TOTAL_BYTES together.  Counts tags in the text, so it costs one pass, no parsing."""
    total = 0
    for name, content in files.items():
        size = len(content.encode("utf-8") if isinstance(content, str) else content)
        total += size
        if size > MAX_FILE_BYTES:
            raise DefinitionError(
                f"too large: {size:,} bytes, at most {MAX_FILE_BYTES:,} per file", file=name
            )
        text = content if isinstance(content, str) else content.decode("utf-8", "replace")
        # Opening tags (and comments, instructions): "<" not followed by "/".
        elements = text.count("<") - text.count("</")
        if elements > MAX_FILE_ELEMENTS:
            raise DefinitionError(
                f"too many elements: about {elements:,}, at most {MAX_FILE_ELEMENTS:,} per file",
                file=name,
            )
    if total > MAX_TOTAL_BYTES:
        raise DefinitionError(
            f"the files weigh {total:,} bytes together, at most {MAX_TOTAL_BYTES:,}",
            file=", ".join(sorted(files)),
        )


def element_lines(xml: Any) -> dict[str, int]:
    """Element id -> source line, for error messages."""
    return {
        el.get("id"): el.sourceline
        for el in xml.iter()
        if isinstance(el.tag, str) and el.get("id") and el.sourceline
    }


def _parse_xml(name: str, text: str) -> Any:
    try:
        return etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise DefinitionError(
            f"not well-formed XML: {exc.msg}", file=name, line=exc.lineno
        ) from exc


def parse_sources(sources: dict[str, str], *, check: bool = True) -> list[ProcessBundle]:
    """Parse, validate (XSD) and check every executable process in `sources`.  Camunda
    extensions are mapped first (engine.core.camunda).  `check` False skips the XSD and the
    expression, SLA and form-schema checks, for engine.core.lint, which runs them itself and
    reports every problem, not the first (and lets an XSD error of the drawing pass)."""
    check_limits(sources)
    bpmn = {n: t for n, t in sources.items() if n.endswith(".bpmn")}
    dmn = {n: t for n, t in sources.items() if n.endswith(".dmn")}
    if not bpmn:
        raise DefinitionError("no .bpmn file given")
    parser = ConnectorParser(validator=VALIDATOR if check else None)
    lines: dict[str, dict[str, int]] = {}
    for name, text in {**dmn, **bpmn}.items():
        xml = _parse_xml(name, text)
        lines[name] = element_lines(xml)
        with _definition_errors(name, lines):
            if name.endswith(".dmn"):
                parser.add_dmn_xml(xml, filename=name)
            else:
                xml = camunda.translate(xml)[0]
                parser.add_bpmn_xml(etree.ElementTree(xml), filename=name)

    process_ids = parser.get_process_ids()
    if not process_ids:
        raise DefinitionError(
            'no executable process: set isExecutable="true" on the process to run it',
            file=", ".join(sorted(bpmn)),
        )
    bundles = []
    for pid in process_ids:
        file = parser.get_process_parser(pid).filename
        with _definition_errors(file, lines), warnings.catch_warnings():
            # Files from older spiff-arena versions keep a message's payload on the event;
            # SpiffWorkflow still reads it there and says so with a DeprecationWarning about
            # the file, not about our use of the library: nothing for the designer to see.
            warnings.filterwarnings(
                "ignore", "spiffworkflow:messagePayload", category=DeprecationWarning
            )
            spec = parser.get_spec(pid)
            subs = parser.get_subprocess_specs(pid)
        if check:
            check_spec(spec, subs, file=file, element_lines=lines.get(file, {}))
        files = {file: sources[file]}
        for sub in subs.values():
            if sub.file in sources:
                files[sub.file] = sources[sub.file]
        files.update(_decision_files(parser, [spec, *subs.values()], sources))
        files.update(_form_files([spec, *subs.values()], sources, lines, check=check))
        files.update(_translations(sources, files, check=check))
        bundles.append(
            ProcessBundle(
                process_id=pid,
                name=spec.description or pid,
                spec=spec,
                subprocess_specs=subs,
                files=files,
                content_hash=content_hash(files),
            )
        )
    return bundles


def content_hash(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + files[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


@contextmanager
def _definition_errors(name: str, lines: dict[str, dict[str, int]]) -> Iterator[None]:
    """Turns the library's parse errors into DefinitionError with file, line and element,
    the library's exception kept as its `__cause__` (engine.core.lint.library words it for
    the designer).  The library trips over some files itself (a TypeError, a
    NotImplementedError): those are refusals of the file too, never a crash."""
    try:
        yield
    except DefinitionError:
        raise
    except ValidationException as exc:
        file = exc.file_name or name
        element_id = exc.id or None
        line = exc.line_number if isinstance(exc.line_number, int) else None
        if line is None and element_id:
            line = lines.get(file, {}).get(element_id)
        raise DefinitionError(
            _library_text(exc), file=file, line=line, element_id=element_id
        ) from exc
    except Exception as exc:  # whatever the library raises refuses the file
        raise DefinitionError(f"cannot be parsed: {_library_text(exc)}", file=name) from exc


_ELEMENT_REPR = re.compile(r"<Element (?:\{[^}]*\})?([\w.-]+) at 0x[0-9a-fA-F]+>")


def _library_text(exc: BaseException) -> str:
    """The library's message as written: without the ". " and notes SpiffWorkflowException
    adds to it ("...found 0.. "), a repr of an XML element as the element's kind."""
    first = exc.args[0] if exc.args else ""
    text = _ELEMENT_REPR.sub(r"\1", first if isinstance(first, str) else "")
    return text.replace("%r", "").strip().rstrip(".:").strip() or "the parser gave no reason"


def _decision_files(parser: Any, specs: list[Any], sources: dict[str, str]) -> dict[str, str]:
    tables = {
        t.dmnEngine.decision_table.id
        for s in specs
        for t in s.task_specs.values()
        if hasattr(t, "dmnEngine")
    }
    files = {}
    for dmn_parser in parser.dmn_parsers.values():
        if dmn_parser.decision is None:
            continue  # never parsed: no business rule task refers to it
        if dmn_parser.decision.decisionTables[0].id in tables and dmn_parser.filename in sources:
            files[dmn_parser.filename] = sources[dmn_parser.filename]
    return files


def _translations(sources: dict[str, str], files: dict[str, str], *, check: bool) -> dict[str, str]:
    """The translations files of the bundle's BPMN files (engine.core.translations), part of
    its version like its forms; checked for their shape (engine.core.lint says the rest)."""
    found = translation_files(sources, {name for name in files if name.endswith(".bpmn")})
    if check:
        for name, text in found.items():
            parse_catalog(name, text)
    return found


def form_name(task_spec: Any) -> str | None:
    ext = getattr(task_spec, "extensions", None) or {}
    value = (ext.get("properties") or {}).get(FORM_PROPERTY)
    return value or None


def _form_files(
    specs: list[Any],
    sources: dict[str, str],
    lines: dict[str, dict[str, int]],
    *,
    check: bool = True,
) -> dict[str, str]:
    files = {}
    for spec in specs:
        for task_spec in spec.task_specs.values():
            name = form_name(task_spec)
            if name is None:
                continue
            if name not in sources:
                raise DefinitionError(
                    f"form file '{name}' ({FORM_PROPERTY}) was not deployed with the process",
                    file=spec.file,
                    line=lines.get(spec.file, {}).get(task_spec.bpmn_id),
                    element_id=task_spec.bpmn_id,
                )
            if check:  # engine.core.lint checks the schemas itself
                load_form(name, sources[name])
            files[name] = sources[name]
    return files


def load_form(name: str, text: str) -> dict[str, Any]:
    """A form's JSON schema, checked against its meta-schema."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"not valid JSON: {exc.msg}", file=name, line=exc.lineno) from exc
    if not isinstance(schema, dict):
        raise DefinitionError("a form schema must be a JSON object", file=name)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    # Every error of the schema, the first by place in the file: check_schema's pick among
    # several varies with the hash seed, and the designer should see the same one each time.
    errors = cls(cls.META_SCHEMA).iter_errors(schema)
    first = min(errors, key=lambda e: ([str(p) for p in e.absolute_path], e.message), default=None)
    if first is not None:
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise DefinitionError(f"not a valid JSON schema at {where}: {first.message}", file=name)
    return schema


def process_ids(files: Mapping[str, str | bytes]) -> list[str]:
    """The ids of the processes in the BPMN files, the executable ones first (a file that
    is not well-formed XML holds none: the checks say what is wrong with it)."""
    found: list[tuple[bool, str]] = []
    for process in bpmn_processes(files):
        if process.get("id"):
            found.append((process.get("isExecutable") != "true", process.get("id")))
    return [pid for _, pid in sorted(found, key=lambda item: item[0])]
