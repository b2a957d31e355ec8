"""Step 4 of engine.core.lint: SpiffWorkflow's own parse of the files, and on what it built
the safe-expression check of every condition, script, timer and DMN cell
(engine.core.script_check) and the SLA properties (engine.core.calendar).  The parser's
own error is worded by engine.core.lint.library.

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lxml import etree

from engine.core.calendar import ESCALATE_PROPERTY, sla_problems
from engine.core.definitions import ProcessBundle, element_lines, parse_sources
from engine.core.expressions import check_expression
from engine.core.lint.library import library_said
from engine.core.lint.problems import Problem, _quote
from engine.core.lint.wording import say
from engine.core.script_check import iter_expressions
from engine.errors import DefinitionError, UnsafeExpressionError

# --- 4. the engine's parse, expressions and SLAs --------------------------------------

# The parser's problem (its key) -> the rules' keys for the same problem found elsewhere: it
# names the first bare flow of a gateway, the rules the gateway with all of them.
_SAME = {"flow.no_condition": ("gateway.flows_no_condition",)}


def _deep_problems(
    texts: dict[str, str], found: list[Problem], docs: Mapping[str, etree._Element]
) -> tuple[list[Problem], list[ProcessBundle] | None]:
    """SpiffWorkflow's parse of the files and the checks on what it built; and what it
    built (None when it failed), for a deploy to store without parsing again.  `docs`: the
    files' XML as the rules read it, to word the parser's error."""
    try:
        bundles = parse_sources(texts, check=False)
    except DefinitionError as err:
        problem = Problem.of(library_said(err, docs), err.element_id, err.line, err.file)
        return ([] if _said_already(problem, err, found) else [problem]), None
    problems: list[Problem] = []
    for bundle in bundles:
        file = next((n for n in bundle.files if n.endswith(".bpmn")), None)
        lines = element_lines(etree.fromstring(texts[file].encode("utf-8"))) if file else {}
        problems.extend(_expression_problems(bundle, file, lines))
        problems.extend(
            p
            for p in _sla_problems(bundle, file, lines)
            # An escalation role the XML rules named already (engine.core.lint.rules).
            if not (
                ESCALATE_PROPERTY in p.message
                and any(
                    f.element_id == p.element_id and ESCALATE_PROPERTY in f.message for f in found
                )
            )
        )
    return problems, bundles


def _said_already(problem: Problem, err: DefinitionError, found: list[Problem]) -> bool:
    """Whether the parser's error (it stops at the first) is one the other checks report:
    on an element they name, of a kind they found, or for a whole file while they found
    errors (shown once the named ones are fixed)."""
    errors = [p for p in found if p.severity == "error"]
    if not errors:
        return False
    if problem.element_id is None:
        return True
    key = problem.said.key if problem.said else None
    keys = {key, *_SAME.get(key or "", ())}
    return any(
        (p.element_id and p.element_id == problem.element_id)
        or (p.said is not None and p.said.key in keys)
        or p.message in err.detail
        or err.detail in p.message
        for p in errors
    )


def _expression_problems(bundle: Any, file: str | None, lines: dict[str, int]) -> Iterator[Problem]:
    for found in iter_expressions(bundle.spec, bundle.subprocess_specs):
        if found.text.strip().startswith(("${", "#{")):
            continue  # JUEL: engine.core.camunda names the flow
        try:
            check_expression(found.text, kind=found.kind)
        except UnsafeExpressionError as err:
            yield Problem.of(
                say(
                    "expression.unsafe", what=found.what, text=_quote(found.text), detail=err.detail
                ),
                found.element_id,
                lines.get(found.element_id),
                file,
            )


def _sla_problems(bundle: Any, file: str | None, lines: dict[str, int]) -> Iterator[Problem]:
    """engine.core.calendar's SLA check, for every task instead of the first."""
    for element, message in sla_problems(bundle.spec, bundle.subprocess_specs):
        yield Problem(message, element, lines.get(element), file)
