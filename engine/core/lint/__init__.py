"""Everything wrong with a definition before it is saved, every problem at once.

Interface (for the designer page, the API and the CLI):

    from engine.core.lint import Problem, check
    check(files: Mapping[str, str | bytes], *, held_roles=None, hosts=None) -> list[Problem]
    checked(files, *, held_roles=None, hosts=None) -> Checked(problems, bundles)
        the same problems, and SpiffWorkflow's parse of the files (engine.core.definitions
        ProcessBundles, None when it did not run or failed): what a deploy stores when
        there is no error, without parsing again
        files: file name -> content (".bpmn", ".dmn", form schemas ".json"; other names
        are ignored).  held_roles: the role keys (engine.core.roles.role_key) some active user
        holds; None skips the "nobody holds this lane's role" warning.
        An empty list, or warnings only: ready to publish.
    Problem(message, element_id=None, line=None, file=None, severity="error"|"warning")
        .to_dict() -> {"element_id", "message", "line", "file", "severity"}
        element_id is the BPMN id to mark in the modeler (a sequence flow's id for its
        condition); None for a problem of a whole file.
    localized(problems, lang) -> the problems worded in `lang` ("zh", "zh-CN", ...; English
        for None or "en": unchanged), engine.core.lint.wording

    Service (engine/service.py):
        check_definition(files, *, lang=None) -> list[dict]        Problem.to_dict()s
        publish(files, *, actor, lang=None) -> {"process_id", "version", "changed",
                                                "processes", "warnings"}
            raises DefinitionProblemsError (engine.errors; `.problems` = the dicts above)
            when any problem is an error: nothing is stored, the previous version stays.
            `lang`: the reader's language of every message (None: English).
            ForbiddenError unless actor holds "designer" or "admin" (actor None: the CLI).
        save_draft_definition(process_id, files, *, actor, base_version, lang=None) -> draft
            {"process_id", "base_version", "files", "saved_by", "saved_at", "problems"}
        definition_draft(process_id, actor) -> draft record (no "problems") | None
        discard_definition_draft(process_id, actor) -> bool
        definition_files(process_id, version=None) -> dict[str, str]   as stored
        export_definitions() -> dict[str, str]   every latest version's files, by name
            (`salesflow export-definitions DIR` writes them; deploying them changes nothing)

        deploy(paths) / deploy_sources(files): the same checks (the team's roles), then
            what their parse built is stored; DefinitionProblemsError on any error, the
            warnings logged (the command line prints them)
    engine.usecases.definitions.check_paths(paths, each=, held_roles=, lang=): the same
        checks of files on disk, no database (`salesflow check`)

    HTTP: POST /api/v1/definitions (webui/api/definitions_publish.py) calls `publish`.

What is checked, in this order (a file that is not well-formed XML stops its own checks):
1. XML syntax, then the BPMN 2.0 XSD (every schema error, with its line; one inside the
   diagram-drawing part, BPMN DI and the tools' extensions there, is a warning: the engine
   does not read it); a file that holds no process says so (a warning beside files that
   do);
2. Camunda extensions (engine.core.camunda: what is mapped, what is refused);
3. the rules below, on the XML, for every process of every file (so that a file from
   another tool says per element why it cannot run);
4. SpiffWorkflow's own parse (engine.core.definitions.parse_sources), its error worded by
   engine.core.lint.library (never Python's words), and on its result the safe-expression
   check of every condition, script, timer and DMN cell (engine.core.script_check) and the
   SLA properties (engine.core.calendar).  Not started when a rule found what the parser
   would never return from (engine.core.lint.structure.data_saids).

Rules (error unless said otherwise):
- a process with isExecutable="false" cannot run: an error saying how to mark it
  executable, or, when another process of the files can run and no call activity calls
  it, a warning (it is kept for the picture only, and its elements are not checked);
  elements the engine has no parser for (complex gateways, ...) are named;
- lanes: a human task (user, manual and plain tasks: the ones a person completes) goes to
  the people of its lane's role.  One in no lane, or in a lane without a name, goes to
  the deal's owner (engine.store.changes): a warning saying so.  A lane whose role no
  active user holds yet is a warning (the tasks wait in the role's queue until an admin
  gives someone the role), not an error: a new process may bring a new role.  So is a role
  of the process's `startRoles` (engine.core.starters) that no active user holds;
- exclusive and inclusive gateways with several outgoing flows: every flow has a condition
  or is the `default` (one problem on the gateway naming every flow without one; a single
  one is marked on the flow itself); without a default the conditions must provably cover
  every case, else the deal would stop in error when none holds.  Provable here
  (conservative): a condition and its negation (`x`, `not x`); comparisons of one data
  field with number constants whose ranges cover every number (`amount < 1000`,
  `amount >= 1000`); `==`/`in` against `!=`/`not in` of one field with constants
  (`tier == 'A'`, `tier != 'A'`), combined with `and`/`or`.  Anything else needs a
  default flow;
- timers: a text that is a constant must be a valid ISO 8601 duration (timeDuration),
  date-time (timeDate) or repeating interval (timeCycle); a bare ISO text is not an
  expression (write "P3D" with quotes); a text with data names must parse, and a name no
  form, script, decision or loop of the files sets is a warning;
- forms: every `formJsonSchemaFilename` names a file given with the process, and that file
  is a JSON schema;
- decisions: every business rule task names a decision (`calledDecisionId`) that is the
  first (only) decision of one of the DMN files;
- call activities call a process of the files;
- translations (engine.core.lint.translations): a translations file beside a BPMN file
  (`sales_pipeline.zh-Hans.json`) is well-formed; a key naming no element, form, field,
  choice or stage of the BPMN, and a text without a translation, are warnings naming the
  file and the key;
- names (warnings): a task (user, manual, script, service, business rule, plain task, call
  activity) has a name, the one a rep sees in lists and charts; a user task has a form
  (`formJsonSchemaFilename`) when the process's other user tasks have one;
- stages (a warning): a `stage` property is a stage of engine.core.stages.STAGE_ORDER or one
  the process's translations file declares ("stages"); the nearest known one is suggested;
- SLA escalation: an `escalateTo` role is a lane of the process or a role of the team
  (engine.core.roles.TEAM_ROLES), the nearest suggested (an error: the engine refuses it;
  step 4's own SLA check then does not say it twice);
- form rules (warnings): a form's `x-rules` (engine.core.forms.rule_problems) name fields
  the form has, with a known operator;
- reachability: every flow node is reached from a start event along sequence flows (a
  boundary event through its task, link events by name, event sub-processes and
  compensation handlers count as reached); the contents of a sub-process are checked from
  its own start events (an ad-hoc sub-process's tasks are picked as needed);
- the shape SpiffWorkflow can parse (engine.core.lint.structure): a task or an event with
  several outgoing flows (salesflow splits only at gateways: add one), a sub-process with
  no or several start events or no end event, a boundary event with a trigger the engine
  does not wait for, an event naming a message/signal/error/escalation no file declares,
  a timer without a time, a data association to neither a data object nor a data store.

Every problem on an element is worded with the element's name and its id after it,
"Prepare quote (task_prepare_quote): ..." (an element without a name: its id alone), once,
here, for every rule (problems.named); the rules word the rest without naming it again.
The messages are English; `localized(problems, lang)` words them in the reader's language
(engine.core.lint.wording: a table of English and Chinese templates, each message made with
`say(key, **args)`), keeping the element's name and id before them.  The use cases take the
reader's `lang` and answer through it (the web UI's own texts are Babel's).

Modules: `problems` (Problem, the files as text), `bpmn` (the XML model and its helpers),
`schema` (1), `rules` (3, with `timers`, `gateways` and `structure` for those rules, and
`translations`), `deep` (4, with `library` for the parser's errors), `wording` (the
messages in other languages); `checked` here runs them in this order.

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from lxml import etree

from engine.core import camunda, xml_repair
from engine.core.connectors import Reachable
from engine.core.definitions import ProcessBundle

# Every public name engine.core.lint had as a single module is still importable from here
# (`X as X`: re-exported, though not in __all__).
from engine.core.lint.bpmn import ACTIVITIES as ACTIVITIES
from engine.core.lint.bpmn import EVENTS as EVENTS
from engine.core.lint.bpmn import FLOW_NODES as FLOW_NODES
from engine.core.lint.bpmn import GATEWAYS as GATEWAYS
from engine.core.lint.bpmn import HUMAN_TASKS as HUMAN_TASKS
from engine.core.lint.bpmn import MODEL as MODEL
from engine.core.lint.bpmn import SCOPES as SCOPES
from engine.core.lint.bpmn import SPIFF as SPIFF
from engine.core.lint.bpmn import SUPPORTED as SUPPORTED
from engine.core.lint.bpmn import _executable, _Files, _processes
from engine.core.lint.deep import _deep_problems
from engine.core.lint.gateways import Interval as Interval
from engine.core.lint.gateways import covers_every_case as covers_every_case
from engine.core.lint.problems import Problem, Severity, _unique, named, source_texts
from engine.core.lint.rules import _Linter
from engine.core.lint.rules import camunda_juel as camunda_juel
from engine.core.lint.schema import _schema_problems
from engine.core.lint.timers import timer_problem as timer_problem
from engine.core.lint.translations import translation_problems
from engine.core.lint.wording import localized as localized
from engine.core.lint.wording import say
from engine.errors import DefinitionError

__all__ = ["Checked", "Problem", "Severity", "check", "checked", "localized", "source_texts"]

# Files come from anywhere: no entities expanded, nothing fetched.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_pis=True)


@dataclass(frozen=True)
class Checked:
    """Every problem of the files, and SpiffWorkflow's parse of them (None when it did not
    run or failed): with no error, the bundles a deploy stores."""

    problems: list[Problem]
    bundles: list[ProcessBundle] | None


def check(
    files: Mapping[str, str | bytes],
    *,
    held_roles: Collection[str] | None = None,
    hosts: Reachable | None = None,
) -> list[Problem]:
    """Every problem of the files, errors and warnings (none: ready to publish).  `hosts`:
    the hosts admins allowed connectors to call and the operators they mapped
    (engine.core.connectors.Reachable); None leaves them unchecked (no database)."""
    return checked(files, held_roles=held_roles, hosts=hosts).problems


def checked(
    files: Mapping[str, str | bytes],
    *,
    held_roles: Collection[str] | None = None,
    hosts: Reachable | None = None,
) -> Checked:
    """`check`'s problems, and the parse a deploy of the files can store."""
    files, repairs = _repaired(files)
    texts, problems = source_texts(files)
    problems.extend(repairs)
    bpmn = {n: t for n, t in sorted(texts.items()) if n.endswith(".bpmn")}
    dmn = {n: t for n, t in sorted(texts.items()) if n.endswith(".dmn")}
    if not any(name.endswith(".bpmn") for name in files):
        return Checked([*problems, Problem.of(say("file.no_bpmn"))], None)
    docs: dict[str, etree._Element] = {}
    for name, text in {**bpmn, **dmn}.items():
        try:
            docs[name] = etree.fromstring(text.encode("utf-8"), _PARSER)
        except etree.XMLSyntaxError as exc:
            not_xml = say("file.not_xml", library=exc.msg)
            problems.append(Problem.of(not_xml, file=name, line=exc.lineno))
    schema_ok = True
    files_of = _Files(texts=texts)
    for name in bpmn:
        root = docs.get(name)
        if root is None:
            schema_ok = False
            continue
        translated, findings = camunda.translate(root)
        problems.extend(
            Problem(
                f.message,
                f.element_id,
                f.line,
                name,
                "warning" if f.severity == "warning" else "error",
            )
            for f in findings
        )
        xsd = list(_schema_problems(name, translated))
        schema_ok = schema_ok and not any(p.severity == "error" for p in xsd)
        problems.extend(xsd)
        files_of.bpmn[name] = translated
    for name in dmn:
        if name in docs:
            files_of.dmn[name] = docs[name]
    problems.extend(_no_process(files_of.bpmn))
    linter = _Linter(files_of, held_roles, hosts)
    problems.extend(linter.run())
    problems.extend(translation_problems(texts))
    executable = any(_executable(p) for root in files_of.bpmn.values() for p in _processes(root))
    bundles = None
    if schema_ok and executable and len(files_of.bpmn) == len(bpmn) and not linter.parse_blocked:
        deep, bundles = _deep_problems(texts, problems, {**files_of.bpmn, **files_of.dmn})
        problems.extend(deep)
    problems = named(_unique(problems), *_element_names({**files_of.bpmn, **files_of.dmn}))
    return Checked(sorted(problems, key=lambda p: (p.file or "", p.line or 0)), bundles)


def _repaired(
    files: Mapping[str, str | bytes],
) -> tuple[dict[str, str | bytes], list[Problem]]:
    """The files with the XML other tools write and a strict parser refuses (namespace URIs
    with spaces, Latin-1 bytes under a UTF-8 declaration, ...) repaired as the drawing reads
    them (engine.core.xml_repair), every check and the engine's parse then reading the same
    text; each repair a warning.  What no repair makes XML is left as it is: the XML check
    names its line."""
    fixed: dict[str, str | bytes] = dict(files)
    problems: list[Problem] = []
    for name, content in files.items():
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            repaired, repairs = xml_repair.repaired(content, name)
        except DefinitionError:
            continue
        if repairs:
            fixed[name] = repaired
        problems.extend(
            Problem.of(say("file.repaired", repair=r), file=name, severity="warning")
            for r in repairs
        )
    return fixed, problems


def _no_process(bpmn: Mapping[str, etree._Element]) -> list[Problem]:
    """A BPMN file without a process (a collaboration whose pools hold none, a drawing):
    nothing to run, an error unless another file of the definition holds one."""
    empty = [name for name, root in bpmn.items() if not _processes(root)]
    if not empty:
        return []
    beside = len(empty) < len(bpmn)
    said = say("file.no_process_beside" if beside else "file.no_process")
    return [
        Problem.of(said, file=name, severity="warning" if beside else "error") for name in empty
    ]


def _element_names(
    docs: Mapping[str, etree._Element],
) -> tuple[dict[tuple[str, str], str], dict[str, str | None]]:
    """(file, id) -> name of every named element of the files, and id -> name where only one
    file has the id (a translations file's problem names an element of its BPMN file)."""
    names: dict[tuple[str, str], str] = {}
    ids: dict[str, str | None] = {}
    for file, root in docs.items():
        for element in root.iter(etree.Element):
            ident = element.get("id")
            if not ident:
                continue
            name = (element.get("name") or "").strip()
            if name:
                names[(file, ident)] = name
            ids[ident] = name if ident not in ids or ids[ident] == name else None
    return names, ids
