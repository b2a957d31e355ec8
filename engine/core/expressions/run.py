"""Layer 3 of engine.core.expressions: `SafeEnvironment` evaluates and executes compiled
code with fresh builtins and the guards, and `SafeScriptEngine` is the SpiffWorkflow script
engine over it.

Pure: no I/O, no database, no clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, MutableMapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.core.expressions.budget import _Guards, check_data
from engine.core.expressions.guard import safe_compile, stores_into
from engine.core.expressions.language import BUILTIN_NAMES
from engine.errors import ExpressionError, UnsafeExpressionError

# --- 3. Run ---------------------------------------------------------------------------------

_UNSET = object()


def _visible(name: object) -> bool:
    """Task data names an expression can see: not helpers, not builtins."""
    return isinstance(name, str) and not name.startswith("_") and name not in BUILTIN_NAMES


def _scope(guards: _Guards, *sources: Mapping[str, Any]) -> dict[str, Any]:
    scope = {name: value for source in sources for name, value in source.items() if _visible(name)}
    scope.update(guards.helpers())
    scope["__builtins__"] = guards.builtins()
    return scope


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Same observable behaviour as SpiffWorkflow's TaskDataEnvironment, restricted.

    evaluate: task data (and the external context, which data overrides) are variables.
    execute: assignments land in the task data (mutated in place); nothing else does.
    Task data named like a builtin stays in the data but is invisible to expressions:
    `len` always means len.
    """

    def __init__(self) -> None:
        super().__init__({})

    def evaluate(
        self,
        expression: str,
        context: Mapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        code = safe_compile(expression, "expression")
        guards = _Guards()
        try:
            result = eval(code, _scope(guards, external_context or {}, context))
        except Exception:
            if guards.mutated and isinstance(context, MutableMapping):
                with contextlib.suppress(ExpressionError):
                    check_data(context, [name for name in context if _visible(name)])
            raise
        if guards.mutated and isinstance(context, MutableMapping):
            # x.append(x) in a condition: what it left in the data must stay bounded.
            check_data(context, [name for name in context if _visible(name)])
        # What a decision or an expression returns lands in the task data.
        return guards.bounded(result)

    def execute(
        self,
        script: str,
        context: MutableMapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        code = safe_compile(script, "script")
        external = external_context or {}
        clash = sorted(set(external) & set(context))
        if clash:  # as the library does: data must not hide a predefined name
            raise ExpressionError(f"task data overwrites predefined names: {', '.join(clash)}")
        guards = _Guards()
        scope = _scope(guards, external, context)
        before = {name: value for name, value in context.items() if _visible(name)}
        seen = list(before)
        failed = True
        try:
            exec(code, scope)
            failed = False
        finally:
            # Like the library, keep what ran before a failure, and drop functions.
            for name in seen:
                if name not in scope:
                    del context[name]  # the script said `del name`
            # What may have changed: every value if something was changed in place, else
            # the names the script (re)bound.
            in_place = guards.mutated or stores_into(script)
            kept = []
            for name, value in scope.items():
                if not _visible(name) or name in external:
                    continue
                if callable(value):
                    context.pop(name, None)
                else:
                    context[name] = value
                    if in_place or before.get(name, _UNSET) is not value:
                        kept.append(name)
            # Nothing unbounded stays in the data to be copied, compared or saved later.
            try:
                check_data(context, kept)
            except ExpressionError:
                if not failed:
                    raise  # else the script's own error is the one to report
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        operation = kwargs.get("operation_name", "?")
        raise ExpressionError(f"service task operation '{operation}': no services are configured")


class SafeScriptEngine(PythonScriptEngine):
    """A PythonScriptEngine that runs only the restricted language.

    The base class keeps wrapping failures into WorkflowTaskException, so a failing
    expression puts its task in ERROR.
    """

    def __init__(self, environment: SafeEnvironment | None = None) -> None:
        if environment is not None and not isinstance(environment, SafeEnvironment):
            raise TypeError("SafeScriptEngine needs a SafeEnvironment")
        super().__init__(environment=environment or SafeEnvironment())

    def validate(self, expression: str) -> None:
        try:
            safe_compile(expression, "expression")
        except UnsafeExpressionError as err:
            # DMNEngine.needs_eq relies on SyntaxError to turn ">= 5" into "x >= 5".
            if isinstance(err.__cause__, SyntaxError):
                raise err.__cause__ from None
            raise

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        """A limit or a refusal of ours in plain words, with the line it stopped at:
        "line 11 (same = a == b): a value too large to compare, …"."""
        if not isinstance(err, ExpressionError):
            return super().create_task_exec_exception(task, script, err)
        line_number, error_line = self.get_error_line_number_and_content(script, err)
        where = f"line {line_number} ({error_line.strip()[:80]}): " if line_number else ""
        return WorkflowTaskException(
            where + str(err),
            task=task,
            exception=err,
            line_number=line_number,
            error_line=error_line,
        )

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        # The base class refers to an undefined name when wrapping this error.
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as err:
            raise WorkflowTaskException(str(err), task=task, exception=err) from err
