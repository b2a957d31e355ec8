"""Deploy-time check of every expression a parsed BPMN definition will ever evaluate.

The script engine refuses unsafe code when it runs, but by then an instance is stuck in
ERROR.  This module finds the same problem while the designer is still deploying, and names
the element: it walks the specs that `SpiffBpmnParser.get_spec` / `get_subprocess_specs`
return and checks each text with `check_expression`.

What SpiffWorkflow 3.2 evaluates (grep `script_engine.evaluate|execute|environment.evaluate`):
gateway conditions (`cond_task_specs`), script tasks, spiff pre/post scripts, timer and
conditional event expressions, message/signal payload and correlation expressions, loop
conditions, multi-instance cardinality and completion conditions, service task parameters,
ad hoc subprocess completion conditions and DMN cells.  Conditions on flows leaving a plain
task are ignored by the parser, and multi-instance data inputs/outputs are data references,
not expressions, so neither is listed.  Pure: no I/O.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any, NamedTuple

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin

from engine.core.calendar import check_slas
from engine.core.connectors import connector_of, template_expressions
from engine.core.expressions import Kind, SafeScriptEngine, check_expression
from engine.errors import UnsafeExpressionError

__all__ = ["FoundExpression", "check_spec", "iter_expressions"]

_QUOTE_LENGTH = 80


class FoundExpression(NamedTuple):
    element_id: str
    what: str  # for the designer: "condition of the flow to 'task_x'", "post-script", ...
    text: str
    kind: Kind


def check_spec(
    spec: Any,
    subprocess_specs: Mapping[str, Any],
    *,
    file: str | None = None,
    element_lines: dict[str, int] | None = None,
) -> None:
    """Raise UnsafeExpressionError for the first expression outside the language, and
    DefinitionError for a task SLA that cannot work (engine.core.calendar.check_slas)."""
    lines = element_lines or {}
    for found in iter_expressions(spec, subprocess_specs):
        try:
            check_expression(found.text, kind=found.kind)
        except UnsafeExpressionError as err:
            raise UnsafeExpressionError(
                f"{found.what} {_quote(found.text)}: {err.detail}",
                file=file,
                line=lines.get(found.element_id),
                element_id=found.element_id,
            ) from err
    check_slas(spec, subprocess_specs, file=file, element_lines=lines)


def iter_expressions(spec: Any, subprocess_specs: Mapping[str, Any]) -> Iterator[FoundExpression]:
    """Every expression and script of the process and its subprocesses, in spec order."""
    for process in (spec, *subprocess_specs.values()):
        completion = getattr(process, "completion_condition", None)  # ad hoc subprocesses
        if completion is not None:
            yield FoundExpression(process.name, "completion condition", completion, "expression")
        for task_spec in process.task_specs.values():
            yield from _task_expressions(process, task_spec)


def _quote(text: str) -> str:
    """The offending text on one line, shortened: designers need to recognise it."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _QUOTE_LENGTH else flat[: _QUOTE_LENGTH - 3] + "...")


def _element_id(task_spec: Any) -> str:
    return getattr(task_spec, "bpmn_id", None) or task_spec.name


def _diagram_id(task_spec: Any) -> str | None:
    """The id on the diagram: a task with boundary events is reached through an internal
    split spec (bpmn_id None) whose first output is the task itself."""
    for _ in range(3):
        if task_spec is None or getattr(task_spec, "bpmn_id", None):
            break
        task_spec = task_spec.outputs[0] if task_spec.outputs else None
    return getattr(task_spec, "bpmn_id", None)


def _task_expressions(process: Any, task_spec: Any) -> Iterator[FoundExpression]:
    element = _element_id(task_spec)

    def found(what: str, text: object, kind: Kind = "expression") -> Iterator[FoundExpression]:
        if text is not None:
            yield FoundExpression(element, what, str(text), kind)

    # Exclusive and inclusive gateways: (condition, target name); None is the default flow.
    for condition, target in getattr(task_spec, "cond_task_specs", []):
        if condition is not None:
            target_id = _diagram_id(process.task_specs.get(target)) or target
            yield from found(f"condition of the flow to '{target_id}'", condition.args[0])

    if isinstance(task_spec, ScriptTask):
        yield from found("script", task_spec.script, "script")
    yield from found("pre-script", getattr(task_spec, "prescript", None), "script")
    yield from found("post-script", getattr(task_spec, "postscript", None), "script")

    if isinstance(task_spec, StandardLoopTask):
        yield from found("loop condition", task_spec.condition)
    if isinstance(task_spec, MultiInstanceTask):
        yield from found("loop cardinality", task_spec.cardinality)
        yield from found("completion condition", task_spec.condition)

    event_definition = getattr(task_spec, "event_definition", None)
    if event_definition is not None:
        for what, text in _event_expressions(event_definition):
            yield from found(what, text)

    # Service tasks: each expression of their connector (engine.core.connectors).
    # (the library's own service tasks: each parameter value is an expression).
    connector = connector_of(task_spec)
    if connector is not None:
        for where, text in template_expressions(connector):
            yield from found(f"service parameter '{where}'", text)
    else:
        for name, param in (getattr(task_spec, "operation_params", None) or {}).items():
            yield from found(f"service parameter '{name}'", param.get("value"))

    if isinstance(task_spec, BusinessRuleTaskMixin):
        for what, text in _decision_expressions(task_spec.dmnEngine):
            yield from found(what, text)


_EVENT_LABELS = {
    "TimeDateEventDefinition": "timer date",
    "DurationTimerEventDefinition": "timer duration",
    "CycleTimerEventDefinition": "timer cycle",
    "ConditionalEventDefinition": "event condition",
    "MessageEventDefinition": "message payload",
    "SignalEventDefinition": "signal payload",
    "ErrorEventDefinition": "error payload",
    "EscalationEventDefinition": "escalation payload",
}


def _event_expressions(definition: Any) -> Iterator[tuple[str, str]]:
    """Timer, conditional and payload expressions, correlation keys, nested definitions."""
    expression = getattr(definition, "expression", None)
    if isinstance(expression, str):
        yield _EVENT_LABELS.get(type(definition).__name__, "event payload"), expression
    for attribute in ("correlation_properties", "process_correlations"):
        for prop in getattr(definition, attribute, None) or []:
            yield f"correlation '{prop.name}'", prop.retrieval_expression
    for nested in getattr(definition, "event_definitions", None) or []:
        yield from _event_expressions(nested)


class _RecordingEngine:
    """Stands in for the script engine while DMNEngine builds what it would evaluate.

    DMNEngine rewrites input entries before evaluating them ("'A'" becomes
    "(input) == ('A')", ">= 5" becomes "input>= 5", "?" becomes a variable), so the check
    follows the library's own rewriting and records the result instead of running it.
    """

    def __init__(self) -> None:
        self.recorded: list[str] = []
        self._engine = SafeScriptEngine()

    def validate(self, text: str) -> None:
        # SyntaxError passes through as in the real engine; an unsafe text parses, and the
        # combined form that embeds it is recorded and refused later.
        with contextlib.suppress(UnsafeExpressionError):
            self._engine.validate(text)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> bool:
        self.recorded.append(expression)
        return True


def _decision_expressions(dmn_engine: Any) -> Iterator[tuple[str, str]]:
    table = dmn_engine.decision_table
    for rule in table.rules:
        for entry in rule.inputEntries:
            column = entry.input.label or entry.input.name or entry.input.id
            what = f"decision table '{table.id}' rule {rule.row_number}, input '{column}'"
            # With no input expression the library puts repr(data[label]) in: a literal.
            input_expr = entry.input.expression or "None"
            for cell in entry.lhs:
                if cell is None:  # '-' matches anything
                    continue
                yield from (
                    (what, text) for text in _input_cell_texts(dmn_engine, input_expr, cell)
                )
        for entry in rule.outputEntries:
            if entry.text:
                column = entry.output.label or entry.output.name or entry.output.id
                yield (
                    f"decision table '{table.id}' rule {rule.row_number}, output '{column}'",
                    entry.text,
                )


def _input_cell_texts(dmn_engine: Any, input_expr: str, cell: str) -> list[str]:
    try:  # a broken input expression is reported as written, not blamed on the cell
        ast.parse(input_expr.lstrip(" \t"), mode="eval")
    except SyntaxError:
        return [input_expr]
    recorder = _RecordingEngine()
    task = SimpleNamespace(workflow=SimpleNamespace(script_engine=recorder))
    try:
        dmn_engine.evaluate(input_expr, cell, task)
    except SyntaxError:
        return [cell]  # not even "input <cell>" parses: report the cell as written
    return recorder.recorded
