"""engine/expressions.py: the restricted language, its bounds, and the script engine.

Every escape is refused when checked and never runs; bounds trip quickly with
ExpressionError; allowed code behaves like SpiffWorkflow's own TaskDataEnvironment; and
real workflows run with SafeScriptEngine.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.core.expressions import (
    BUILTIN_NAMES,
    SafeEnvironment,
    SafeScriptEngine,
    acting_user,
    check_expression,
    safe_compile,
)
from engine.errors import ExpressionError, UnsafeExpressionError

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def env() -> SafeEnvironment:
    return SafeEnvironment()


# --- Escapes: refused when checked, never executed ------------------------------------------

ESCAPES = [
    ("__import__('os').system('touch /tmp/x')", "name '__import__' is not allowed"),
    ("().__class__.__base__.__subclasses__()", "attribute '__class__' is not allowed"),
    ("[x for x in ()].__class__", "attribute '__class__' is not allowed"),
    ("(x for x in [1]).gi_frame.f_back.f_globals", "attribute 'gi_frame' is not allowed"),
    ("'{0.__class__}'.format(1)", "attribute 'format' is not allowed"),
    ("'{0}'.format_map(d)", "attribute 'format_map' is not allowed"),
    ("getattr(1, '__class__')", "calling 'getattr' is not allowed"),
    ("eval('1')", "calling 'eval' is not allowed"),
    ("exec('x = 1')", "calling 'exec' is not allowed"),
    ("open('/etc/passwd')", "calling 'open' is not allowed"),
    ("globals()", "calling 'globals' is not allowed"),
    ("vars()", "calling 'vars' is not allowed"),
    ("type(1)", "calling 'type' is not allowed"),
    ("lambda: 1", "'lambda' is not allowed"),
    ("(lambda: 1)()", "'lambda' is not allowed"),
    ("data[0]()", "only builtins and methods can be called"),
    ("_x", "name '_x' is not allowed"),
    ("__builtins__", "name '__builtins__' is not allowed"),
    ("[_ for _ in items]", "name '_' is not allowed"),
    ("items._private()", "attribute '_private' is not allowed"),
    ("2 ** 10", "'**' is not allowed"),
    ("1 << 40", "'<<' is not allowed"),
    ("~x", "'~' is not allowed"),
    ("x.real", "attribute 'real' is not allowed"),
    ("sorted(items, key=d.get)", "attribute 'get' may only be called"),
    ("[*items, *items]", "'*' unpacking is only allowed in call arguments"),
    ("{**d}", "'**' unpacking is not allowed"),
    ("dict(**d)", "'**' unpacking is not allowed"),
    ("(y := 1)", "':=' is not allowed"),
    ("f'{x:{width}}'", "a format spec must be constant"),
    ("f'{x:>100000000}'", "format width in '>100000000' is over 1000"),
]

SCRIPT_ESCAPES = [
    ("import os", "'import' is not allowed"),
    ("from os import system", "'import' is not allowed"),
    ("while True:\n    pass", "'while' is not allowed"),
    ("def f():\n    return 1", "'def' is not allowed"),
    ("class C:\n    pass", "'class' is not allowed"),
    ("try:\n    x = 1\nexcept Exception:\n    pass", "'try' is not allowed"),
    ("with open('f') as f:\n    pass", "'with' is not allowed"),
    ("global x", "'global' is not allowed"),
    ("raise ValueError()", "'raise' is not allowed"),
    ("assert x", "'assert' is not allowed"),
    ("x: int = 1", "an annotated assignment is not allowed"),
    ("x.y = 1", "attribute 'y' is not allowed"),
    ("del x.y", "attribute 'y' is not allowed"),
    ("len = 3", "assigning to 'len' is not allowed: it is a builtin"),
    ("for str in items:\n    pass", "assigning to 'str' is not allowed"),
    ("_hidden = 1", "name '_hidden' is not allowed"),
    ("items[0:1] = []", "slice assignment is not allowed"),
    ("first, *rest = items", "'*' unpacking is only allowed in call arguments"),
    ("x = 1\ny = x.__class__", "attribute '__class__' is not allowed (line 2, column 7)"),
]


@pytest.mark.parametrize(("text", "message"), ESCAPES)
def test_escape_is_refused_when_checked(text: str, message: str) -> None:
    with pytest.raises(UnsafeExpressionError, match="^" + re.escape(message)):
        check_expression(text)


@pytest.mark.parametrize(("text", "message"), SCRIPT_ESCAPES)
def test_script_escape_is_refused_when_checked(text: str, message: str) -> None:
    with pytest.raises(UnsafeExpressionError) as caught:
        check_expression(text, kind="script")
    assert message in str(caught.value)


@pytest.mark.parametrize(("text", "message"), ESCAPES)
def test_escape_never_runs(env: SafeEnvironment, text: str, message: str) -> None:
    data = {"items": [1], "d": {}, "x": 1, "data": [len]}
    with pytest.raises(UnsafeExpressionError):
        env.evaluate(text, data)
    with pytest.raises(UnsafeExpressionError):
        env.execute(f"result = {text}", data)
    assert "result" not in data


def test_shell_command_is_not_run(env: SafeEnvironment, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    for run in (env.evaluate, env.execute):
        with pytest.raises(UnsafeExpressionError):
            run("__import__('os').system('touch ' + marker)", {"marker": str(marker)})
    with pytest.raises(UnsafeExpressionError):
        env.execute("import os\nos.system('touch ' + marker)", {"marker": str(marker)})
    assert not marker.exists()


def test_statements_are_not_expressions() -> None:
    with pytest.raises(UnsafeExpressionError, match="syntax error at line 1"):
        check_expression("x = 1")


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(UnsafeExpressionError) as caught:
        check_expression("total = 1\nif total >:\n    x = 2", kind="script")
    assert str(caught.value).startswith("syntax error at line 2, column ")


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kind"):
        check_expression("1", kind="statement")  # type: ignore[arg-type]


def test_too_deep_nesting_is_refused_not_crashing() -> None:
    with pytest.raises(UnsafeExpressionError):
        check_expression("+".join(["1"] * 50_000))


# --- Task data cannot reach or replace builtins and helpers ----------------------------------


def test_data_cannot_shadow_a_builtin(env: SafeEnvironment) -> None:
    calls: list[object] = []

    def evil(*args: object) -> int:
        calls.append(args)
        return 99

    data: dict[str, Any] = {"items": [1, 2], "len": evil, "sorted": evil}
    assert env.evaluate("len(items)", data) == 2
    assert env.evaluate("sorted(items)", data) == [1, 2]
    env.execute("n = len(items)", data)
    assert data["n"] == 2
    assert calls == []
    assert data["len"] is evil  # the data keeps its key; expressions just cannot see it


def test_data_cannot_replace_helpers_or_builtins_dict(env: SafeEnvironment) -> None:
    data: dict[str, Any] = {
        "__builtins__": {"len": lambda x: 99},
        "_iter": lambda x: iter(range(10**9)),
        "_mul": lambda a, b: "x" * 10**8,
        "items": [1, 2, 3],
    }
    assert env.evaluate("len([x for x in items])", data) == 3
    with pytest.raises(ExpressionError):
        env.evaluate("'a' * 10000000", data)


def test_every_builtin_is_provided(env: SafeEnvironment) -> None:
    for name in BUILTIN_NAMES:
        assert env.evaluate(f"{name} is not None", {}) is True


def test_get_current_user_names_who_takes_the_step(env: SafeEnvironment) -> None:
    """spiff-arena's function: the person completing the task, nobody in the worker."""
    assert env.evaluate("get_current_user()", {}) == {"username": None}
    with acting_user("alice"):
        assert env.evaluate("get_current_user()['username']", {}) == "alice"
    data: dict[str, object] = {"get_current_user": "data cannot replace it"}
    with acting_user("bob"):
        env.execute("who = get_current_user()", data)
    assert data["who"] == {"username": "bob"}


def test_scripts_do_not_pollute_the_builtins(env: SafeEnvironment) -> None:
    env.execute("items = [3, 1]\nitems.append(2)", {})
    assert env.evaluate("sorted([2, 1])", {}) == [1, 2]


# --- Bounds: CPU and memory ------------------------------------------------------------------

BOUNDED = [
    ("expression", "'a' * 100000000", "the result of '*' would have 100,000,000 characters"),
    ("expression", "[1] * 10_000_000", "the result of '*' would have 10,000,000 items"),
    ("expression", "100000000 * 'a'", "the result of '*' would have"),
    ("expression", "[x * y for x in range(10000) for y in range(10000)]", "too many loop steps"),
    ("expression", "sum(1 for x in range(10000) for y in range(10000))", "too many loop steps"),
    ("expression", "range(1000000)", "range() is limited to 10,000 numbers"),
    ("expression", "sum([[1], [2]], [])", "sum() only adds numbers"),
    ("expression", "'%s and %s' % (1, 2)", "'%' formatting of text is not allowed"),
    ("expression", "round(5, -10000000)", "round() takes at most 100 digits"),
    ("script", "x = 2\nfor i in range(100):\n    x = x * x", "would exceed 4096 bits"),
    ("script", "x = 2\nfor i in range(100):\n    x *= x", "would exceed 4096 bits"),
    ("script", "s = 'ab'\nfor i in range(100):\n    s = s + s", "the result of '+' would have"),
    ("script", "s = ['a']\nfor i in range(100):\n    s += s", "the result of '+=' would have"),
    ("script", "s = []\nfor i in range(100):\n    s += range(5000)", "the result of '+='"),
    ("script", "s = [1]\nfor i in range(100):\n    s.extend(s)", "the list after extend()"),
    ("script", "s = 'ab'\nfor i in range(100):\n    s = s.join([s, s])", "the result of join()"),
    ("script", "s = 'ab' * 1000\ns = s.replace('', s)", "the result of replace()"),
    ("script", "x = [1]\nfor i in range(40):\n    x = [x, x]\ny = str(x)", "the text of this"),
    ("script", "x = [1]\nfor i in range(40):\n    x = [x, x]\ny = f'{x}'", "the text of this"),
    ("script", "b = [0] * 99999\nkeep = []\nfor i in range(10000):\n    keep.append(b[:])", "work"),
    ("script", "b = [0] * 99999\nn = 0\nfor i in range(10000):\n    n += len(sorted(b))", "work"),
    ("script", "b = [0] * 99999\nfor i in range(10000):\n    found = 1 in b", "work"),
    (
        "script",
        "b = 'x' * 99999\nkeep = []\nfor i in range(10000):\n    keep.append(b.upper())",
        "work",
    ),
]


@pytest.mark.parametrize(("kind", "text", "message"), BOUNDED)
def test_bounds_stop_runaway_code_quickly(
    env: SafeEnvironment, kind: str, text: str, message: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        if kind == "expression":
            env.evaluate(text, {})
        else:
            env.execute(text, {})
    assert message in str(caught.value)


def test_ordinary_scripts_stay_well_inside_the_budget(env: SafeEnvironment) -> None:
    # A 2,000-line quote, each line appended, filtered and written into an e-mail body
    # the naive way (text += ...), is still nowhere near a limit.
    data: dict[str, Any] = {"lines": [{"sku": f"S{i}", "qty": i % 7} for i in range(2_000)]}
    script = (
        "rows = []\n"
        "for line in lines:\n"
        "    if line['qty']:\n"
        "        rows.append(line)\n"
        "        rows += [line]\n"
        "body = ''\n"
        "for row in rows[:1000]:\n"
        "    body += f\"{row['sku']}: {row['qty']}\\n\"\n"
        "skus = ', '.join(sorted(set(r['sku'] for r in rows)))\n"
    )
    env.execute(script, data)
    assert len(data["rows"]) == 2 * sum(1 for line in data["lines"] if line["qty"])
    assert data["body"].count("\n") == 1000


def test_budget_is_per_evaluation(env: SafeEnvironment) -> None:
    # 60,000 steps each: fine one at a time, though two would exceed one budget.
    for _ in range(3):
        assert env.evaluate("sum(1 for x in range(10000) for y in range(6))", {}) == 60_000


def test_bounded_failures_become_task_errors_through_the_engine() -> None:
    workflow = _workflow("expr_quote.bpmn", "expr_quote", {"lines": [{"price": 1}] * 3})
    task = workflow.get_tasks(state=TaskState.READY)[0]
    with pytest.raises(WorkflowTaskException):
        workflow.script_engine.evaluate(task, "[0] * 10_000_000")


# --- Allowed code works ------------------------------------------------------------------------

ALLOWED = [
    ("amount > 5000 and stage == 'won'", {"amount": 7000, "stage": "won"}, True),
    ("tier in ['A', 'B'] and not lost", {"tier": "B", "lost": False}, True),
    ("1000 <= amount < 5000", {"amount": 7000}, False),
    ("owner is None or owner.lower() == 'ann'", {"owner": "ANN"}, True),
    ("discount if discount is not None else 0", {"discount": None}, 0),
    ("[x * 2 for x in items if x > 1]", {"items": [1, 2, 3]}, [4, 6]),
    ("{k: v for k, v in d.items() if v}", {"d": {"a": 1, "b": 0}}, {"a": 1}),
    ("{x % 3 for x in items}", {"items": [1, 4, 5]}, {1, 2}),
    ("sum(line['qty'] for line in lines)", {"lines": [{"qty": 2}, {"qty": 3}]}, 5),
    ("any(x > 2 for x in items) and all(x > 0 for x in items)", {"items": [1, 3]}, True),
    ("d.get('missing', 'none')", {"d": {}}, "none"),
    ("name.strip().title()", {"name": "  acme corp "}, "Acme Corp"),
    ("', '.join(sorted(tags)).upper()", {"tags": ["b", "a"]}, "A, B"),
    ("email.split('@')[1].endswith('.com')", {"email": "a@b.com"}, True),
    ("code.replace('-', '').isdigit()", {"code": "12-34"}, True),
    ("f'{name}: {total:,.2f} ({count!r})'", {"name": "Q", "total": 1234.5, "count": 2}, None),
    ("items[1:] + items[:1]", {"items": [1, 2, 3]}, [2, 3, 1]),
    ("max(items, key=len)", {"items": ["a", "abc"]}, "abc"),
    ("list(zip(names, range(len(names))))", {"names": ["a"]}, [("a", 0)]),
    ("[i for i, x in enumerate(items, 1)]", {"items": "ab"}, [1, 2]),
    ("round(total * 0.1, 2) - -1 // 1", {"total": 123.456}, 13.35),
    ("int('42') + float('0.5') + abs(-1) + min(3, 4)", {}, 46.5),
    ("'P7D'", {}, "P7D"),
    ("str(amount) * 2", {"amount": 12}, "1212"),
    ("7 % 3", {}, 1),
]


@pytest.mark.parametrize(("text", "data", "expected"), ALLOWED)
def test_allowed_expressions_work(
    env: SafeEnvironment, text: str, data: dict[str, Any], expected: object
) -> None:
    result = env.evaluate(text, data)
    plain = TaskDataEnvironment().evaluate(text, dict(data))  # same answer as the library
    assert result == plain
    if expected is not None:
        assert result == expected


def test_evaluate_sees_external_context_and_data_wins(env: SafeEnvironment) -> None:
    assert env.evaluate("a + b", {"a": 1}, {"a": 100, "b": 2}) == 3


def test_evaluate_does_not_add_variables(env: SafeEnvironment) -> None:
    data = {"items": [1, 2]}
    env.evaluate("[x for x in items]", data)
    assert data == {"items": [1, 2]}


def test_script_assignments_land_in_task_data_and_nothing_else(env: SafeEnvironment) -> None:
    data: dict[str, Any] = {"lines": [{"price": 10, "qty": 2}, {"price": 5, "qty": 1}]}
    assert env.execute("total = sum(l['price'] * l['qty'] for l in lines)\nok = True", data) is True
    assert data == {"lines": data["lines"], "total": 25, "ok": True}
    assert not [key for key in data if key.startswith("_")]


def test_augmented_assignment_and_loops(env: SafeEnvironment) -> None:
    data: dict[str, Any] = {"items": [3, 0, 4, 9, 5], "counts": {"a": 1}, "keys": ["a"]}
    script = (
        "total = 0\n"
        "skipped = 0\n"
        "for x in items:\n"
        "    if x == 0:\n"
        "        skipped += 1\n"
        "        continue\n"
        "    if x > 8:\n"
        "        break\n"
        "    total += x\n"
        "else:\n"
        "    total = -1\n"
        "total *= 2\n"
        "total -= 1\n"
        "label = 'n='\n"
        "label += str(total)\n"
        "counts[keys.pop()] += 10\n"
        "a, (b, c) = 1, [2, 3]\n"
    )
    env.execute(script, data)
    assert data["total"] == 13
    assert data["skipped"] == 1
    assert data["label"] == "n=13"
    assert data["counts"] == {"a": 11}
    assert data["keys"] == []  # the subscript was evaluated once
    assert (data["a"], data["b"], data["c"]) == (1, 2, 3)
    assert "x" in data  # loop variables are data, as with the library
    assert not [key for key in data if key.startswith("_")]


def test_list_plus_equal_mutates_in_place_like_python(env: SafeEnvironment) -> None:
    shared = [1]
    data: dict[str, Any] = {"items": shared}
    env.execute("items += [2]\nitems.extend([3])\nitems.append(4)", data)
    assert shared == [1, 2, 3, 4]
    assert data["items"] is shared


def test_del_removes_task_data(env: SafeEnvironment) -> None:
    data: dict[str, Any] = {"tmp": 1, "d": {"a": 1, "b": 2}}
    env.execute("del tmp\ndel d['a']", data)
    assert data == {"d": {"b": 2}}


def test_execute_matches_the_library_on_external_context(env: SafeEnvironment) -> None:
    data: dict[str, Any] = {"a": 1}
    env.execute("b = a + offset", data, {"offset": 10})
    assert data == {"a": 1, "b": 11}  # the external name does not land in the data
    with pytest.raises(ExpressionError, match="overwrites predefined names: a"):
        env.execute("b = 1", data, {"a": 2})


def test_execute_keeps_assignments_made_before_a_failure(env: SafeEnvironment) -> None:
    # TaskDataEnvironment executes in the task data itself, so this is what it does too.
    data: dict[str, Any] = {}
    with pytest.raises(NameError):
        env.execute("first = 1\nsecond = missing", data)
    assert data == {"first": 1}


def test_execute_drops_functions_like_the_library(env: SafeEnvironment) -> None:
    data: dict[str, Any] = {}
    env.execute("f = len\nn = 1", data)
    assert data == {"n": 1}


def test_compiled_code_is_cached() -> None:
    assert safe_compile("a > 1", "expression") is safe_compile("a > 1", "expression")
    assert safe_compile("a > 1", "script") is not safe_compile("a > 1", "expression")


def test_leading_blanks_are_forgiven_as_by_eval(env: SafeEnvironment) -> None:
    assert env.evaluate("  amount > 1", {"amount": 2}) is True


# --- SafeScriptEngine ------------------------------------------------------------------------


def test_engine_validate_keeps_the_dmn_contract() -> None:
    engine = SafeScriptEngine()
    engine.validate("amount >= 5")
    with pytest.raises(SyntaxError):  # DMNEngine.needs_eq then tries "v >= 5"
        engine.validate(">= 5")
    with pytest.raises(UnsafeExpressionError):
        engine.validate("__import__('os')")


def test_engine_needs_a_safe_environment() -> None:
    with pytest.raises(TypeError):
        SafeScriptEngine(TaskDataEnvironment())


def test_service_calls_are_refused(env: SafeEnvironment) -> None:
    with pytest.raises(ExpressionError, match="no services are configured"):
        env.call_service({}, operation_name="http/GetRequest", operation_params={})


# --- Through SpiffWorkflow ---------------------------------------------------------------------


def _workflow(file: str, process_id: str, data: dict[str, Any], dmn: str | None = None) -> Any:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DATA / file))
    if dmn:
        parser.add_dmn_file(str(DATA / dmn))
    workflow = BpmnWorkflow(
        parser.get_spec(process_id),
        parser.get_subprocess_specs(process_id),
        script_engine=SafeScriptEngine(),
    )
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    return workflow


@pytest.mark.parametrize(
    ("lines", "tier"),
    [
        (
            [{"name": " widget ", "price": 60.0, "qty": 2}, {"name": "bolt", "price": 1, "qty": 3}],
            "big",
        ),
        ([{"name": "bolt", "price": 1.5, "qty": 4}], "small"),
    ],
)
def test_gateway_and_script_run_with_the_safe_engine(lines: list[Any], tier: str) -> None:
    workflow = _workflow("expr_quote.bpmn", "expr_quote", {"lines": lines})
    workflow.do_engine_steps()
    assert workflow.is_completed()
    data = workflow.data
    assert data["tier"] == tier
    assert data["total"] == sum(line["price"] * line["qty"] for line in lines)
    assert data["products"] == sorted(line["name"].strip().title() for line in lines)
    assert data["summary"].startswith(f"{len(lines)} lines, total ")
    assert not [key for key in data if key.startswith("_")]


def test_missing_name_at_run_time_puts_the_task_in_error() -> None:
    workflow = _workflow("expr_quote.bpmn", "expr_quote", {})
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "lines" in str(caught.value)
    [failed] = workflow.get_tasks(state=TaskState.ERROR)
    assert failed.task_spec.bpmn_id == "task_total"


def test_unchecked_unsafe_definition_still_never_runs(tmp_path: Path) -> None:
    # Even if a definition skipped check_spec, the engine refuses the script when it runs.
    marker = tmp_path / "marker"
    workflow = _workflow("expr_unsafe_script.bpmn", "expr_unsafe_script", {"marker": str(marker)})
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "name '__import__' is not allowed" in str(caught.value)
    [failed] = workflow.get_tasks(state=TaskState.ERROR)
    assert failed.task_spec.bpmn_id == "task_shell"
    assert "note" not in failed.data
    assert not marker.exists()


@pytest.mark.parametrize(
    ("revenue", "intent", "tier"),
    [(6_000_000, "HIGH", "A"), (2_000_000, "low", "B"), (6_000_000, "low", "C"), (10, "high", "C")],
)
def test_decision_table_runs_with_the_safe_engine(revenue: int, intent: str, tier: str) -> None:
    data = {"annual_revenue": revenue, "intent": intent}
    workflow = _workflow("expr_grade.bpmn", "expr_grade", data, dmn="expr_grade.dmn")
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["tier"] == tier


def test_public_api_is_pinned() -> None:
    import engine.core.expressions
    import engine.core.script_check

    assert sorted(engine.core.expressions.__all__) == [
        "ALLOWED_METHODS",
        "BUILTIN_NAMES",
        "Kind",
        "MAX_DATA_SIZE",
        "MAX_RANGE",
        "MAX_SECONDS",
        "MAX_SIZE",
        "MAX_STEPS",
        "MAX_STEP_SECONDS",
        "MAX_VALUE_SIZE",
        "MAX_WORK",
        "SafeEnvironment",
        "SafeScriptEngine",
        "acting_user",
        "check_expression",
        "safe_compile",
        "time_is_up",
        "time_limit",
    ]
    assert sorted(engine.core.script_check.__all__) == [
        "FoundExpression",
        "check_spec",
        "iter_expressions",
    ]
