"""JUEL conditions that compare data fields, translated into our expression language
(engine.core.juel), and refused when they do more.

The semantics are checked against JUEL's own rules written out here (precedence, left
associativity), by evaluating each translation with our restricted engine; hostile text never
yields anything but a refusal or an expression our checker accepts.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.expressions import BUILTIN_NAMES, SafeEnvironment, check_expression
from engine.core.juel import MAX_DEPTH, MAX_LENGTH, NotTranslatable, is_juel, translate_condition

TRANSLATED = {
    "${score > 5}": "score > 5",
    "${score <= 5}": "score <= 5",
    "${!approved}": "not approved",
    "${clarified}": "clarified",
    "#{clarified}": "clarified",
    "${approved == true}": "approved == True",
    "${amount >= 1000 && tier == 'A'}": "amount >= 1000 and tier == 'A'",
    '${tier != "B" || vip}': "tier != 'B' or vip",
    "${invoiceId != null}": "invoiceId != None",
    "${a eq 1 and b ne 2 or not c}": "a == 1 and b != 2 or not c",
    "${a lt 1 && b gt 2 && c le 3 && d ge 4}": "a < 1 and b > 2 and c <= 3 and d >= 4",
    "${score > -5}": "score > -5",
    "${rate >= 0.25}": "rate >= 0.25",
    "${total < 1e3}": "total < 1000.0",
    "${count == 007}": "count == 7",
    "${empty notes}": "notes in (None, '', [], {})",
    "${!empty notes}": "not (notes in (None, '', [], {}))",
    "${ (a || b) && c }": "(a or b) and c",
    "${a || b && c}": "a or b and c",
    "${!(a > 1)}": "not (a > 1)",
    "${!!a}": "not not a",
    # JUEL reads these as (a == b) == c and (!a) == b; Python would chain or negate all.
    "${a == b == c}": "(a == b) == c",
    "${a < b == c}": "(a < b) == c",
    "${!a == b}": "(not a) == b",
    "${x == 'it\\'s'}": 'x == "it\'s"',
    '${x == "a}b"}': "x == 'a}b'",
    "${x == '\\\\'}": "x == '\\\\'",
    "${\n  a\n  &&\tb }": "a and b",
}


@pytest.mark.parametrize(("juel", "python"), sorted(TRANSLATED.items()))
def test_a_comparison_of_data_fields_is_translated(juel: str, python: str) -> None:
    assert is_juel(juel)
    assert translate_condition(juel) == python
    check_expression(python)  # our language, as the deploy check will see it


REFUSED = {
    # code: Camunda's variables, beans, functions, property paths and indexes
    "${execution.getVariable('approved')}": "execution.getVariable('approved')",
    "${someBean.method()}": "someBean.method()",
    "${genderBean.getGenderString(gender) == 'x'}": "genderBean.getGenderString(gender)",
    "${dateTime().plusWeeks(1).toDate()}": "dateTime().plusWeeks(1).toDate()",
    "${customer.tier == 'A'}": "customer.tier",
    "${items[0] > 1}": "items[0]",
    # operators our translation leaves out
    "${a + 1 > 2}": "+",
    "${a - 1 > 2}": "-",
    "${-a > 2}": "-",
    "${a ? b : c}": "?",
    "${a div 2 > 1}": "div",
    "${a mod 2 == 0}": "mod",
    "${a instanceof b}": "instanceof",
    # names our language reads otherwise, or refuses
    "${len > 2}": "len",
    "${in}": "in",
    "${True}": "True",
    "${_hidden}": "_hidden",
    "${__import__('os').system('id')}": "__import__",
    "${a$b}": "a$b",
    "${größe > 1}": "öße",
    # not one expression
    "${}": "${}",
    "${a ==}": "a ==",
    "${(a}": "(a",
    "${a)}": ")",
    "${a b}": "b",
    "${a} and ${b}": "$",
    "approved": "approved",
    "${approved": "${approved",
    "${x == 'unterminated}": "'unterminated",
    "${x == '\\n'}": "\\n",
    "${1e999 > a}": "1e999",
    "${5abc}": "5abc",
}


@pytest.mark.parametrize(("juel", "part"), sorted(REFUSED.items()))
def test_more_than_a_comparison_is_refused_naming_the_part(juel: str, part: str) -> None:
    with pytest.raises(NotTranslatable) as refused:
        translate_condition(juel)
    assert refused.value.part.startswith(part), refused.value.part


def test_hostile_sizes_are_refused_before_any_recursion() -> None:
    deep = "${" + "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1) + "}"
    with pytest.raises(NotTranslatable):
        translate_condition(deep)
    with pytest.raises(NotTranslatable):
        translate_condition("${" + "!" * (MAX_DEPTH + 1) + "a}")
    with pytest.raises(NotTranslatable):
        translate_condition("${" + " && ".join(["a"] * MAX_LENGTH) + "}")
    # within the bounds, deep nesting translates and stays in our language
    nested = "${" + "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH + "}"
    check_expression(translate_condition(nested))


def test_a_string_stays_a_string_whatever_it_holds() -> None:
    for hostile in ("'); __import__('os').system('id'); ('", '\\"', "{{}}", "\x00", "中文"):
        quoted = "'" + hostile.replace("\\", "\\\\").replace("'", "\\'") + "'"
        python = translate_condition(f"${{x == {quoted}}}")
        tree = ast.parse(python, mode="eval").body
        assert isinstance(tree, ast.Compare) and isinstance(tree.comparators[0], ast.Constant)
        assert tree.comparators[0].value == hostile


def run(python: str, data: dict[str, Any]) -> Any:
    return SafeEnvironment().evaluate(python, dict(data))


def test_empty_means_what_juel_means() -> None:
    python = translate_condition("${empty x}")
    for value, empty in (
        (None, True),
        ("", True),
        ([], True),
        ({}, True),
        ("a", False),
        ([0], False),
        ({"k": 1}, False),
        (0, False),
        (False, False),
    ):
        assert run(python, {"x": value}) is empty, value


def test_precedence_differences_from_python_are_kept() -> None:
    # JUEL: (1 == 2) == false is true; Python's chain 1 == 2 == False is false.
    assert run(translate_condition("${a == b == c}"), {"a": 1, "b": 2, "c": False}) is True
    # JUEL: (1 < 2) == true; Python's chain 1 < 2 == True is false (2 != True).
    assert run(translate_condition("${a < b == c}"), {"a": 1, "b": 2, "c": True}) is True
    # JUEL: (!0) == 5 is false (true != 5); Python's not (0 == 5) is true.
    assert run(translate_condition("${!a == b}"), {"a": 0, "b": 5}) is False


# --- Differential: random JUEL built with its meaning, against our engine's answer ---------


@dataclass(frozen=True)
class Juel:
    """A JUEL text, how loosely it binds (0 ||, 1 &&, 2 equality, 3 relational, 4 unary,
    5 atom) and what JUEL says it is for DATA."""

    text: str
    level: int
    value: Any


DATA = {"b0": True, "b1": False, "b2": True, "n0": 3, "n1": -2, "s0": "", "s1": "x"}
_SPELLING = {
    "||": ("||", "or"),
    "&&": ("&&", "and"),
    "==": ("==", "eq"),
    "!=": ("!=", "ne"),
    "<": ("<", "lt"),
    "<=": ("<=", "le"),
    ">": (">", "gt"),
    ">=": (">=", "ge"),
    "!": ("!", "not "),
}
_LEVEL = {"||": 0, "&&": 1, "==": 2, "!=": 2, "<": 3, "<=": 3, ">": 3, ">=": 3}
_MEANING = {
    "||": lambda a, b: a or b,
    "&&": lambda a, b: a and b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _operand(node: Juel, bare_from: int, extra: bool) -> str:
    return node.text if node.level >= bare_from and not extra else f"({node.text})"


@st.composite
def binary(draw: st.DrawFn, operands: st.SearchStrategy[Juel], ops: tuple[str, ...]) -> Juel:
    op = draw(st.sampled_from(ops))
    left, right = draw(operands), draw(operands)
    level = _LEVEL[op]
    # left-associative: a left operand of the same level stands bare, a right one does not
    text = " ".join(
        (
            _operand(left, level, draw(st.booleans())),
            draw(st.sampled_from(_SPELLING[op])),
            _operand(right, level + 1, draw(st.booleans())),
        )
    )
    return Juel(text, level, _MEANING[op](left.value, right.value))


@st.composite
def negated(draw: st.DrawFn, operands: st.SearchStrategy[Juel]) -> Juel:
    node = draw(operands)
    return Juel(draw(st.sampled_from(_SPELLING["!"])) + _operand(node, 4, False), 4, not node.value)


NUMBERS = st.one_of(
    st.sampled_from(["n0", "n1"]).map(lambda n: Juel(n, 5, DATA[n])),
    st.integers(-5, 5).map(lambda i: Juel(str(i), 5, i)),
)
BOOL_LEAVES = st.one_of(
    st.sampled_from(["b0", "b1", "b2"]).map(lambda n: Juel(n, 5, DATA[n])),
    st.sampled_from([("true", True), ("false", False)]).map(lambda t: Juel(t[0], 5, t[1])),
    st.sampled_from(["s0", "s1"]).map(lambda n: Juel(f"empty {n}", 4, DATA[n] == "")),
    binary(NUMBERS, ("<", "<=", ">", ">=", "==", "!=")),
)
BOOLEANS = st.recursive(
    BOOL_LEAVES,
    lambda inner: st.one_of(negated(inner), binary(inner, ("||", "&&", "==", "!="))),
    max_leaves=12,
)


@settings(deadline=None, derandomize=True, max_examples=400)
@given(BOOLEANS)
def test_every_translation_means_what_the_juel_means(juel: Juel) -> None:
    python = translate_condition("${" + juel.text + "}")
    assert run(python, DATA) == juel.value, (juel.text, python)


# Pieces of JUEL, Python and attacks, in any order: the answer is a refusal or our language.
PIECES = st.sampled_from(
    [
        "a", "b", "x1", "len", "in", "__class__", "_x", "true", "null", "empty", "not", "!",
        "&&", "||", "and", "==", "<", ">=", "eq", "(", ")", "[", "]", ".", ",", "?", ":",
        "+", "-", "*", "/", "%", "**", "1", "0.5", "1e5", "'s'", '"t"', "'", '"', "\\",
        "${", "}", "#{", "lambda", "import", "__import__('os')", "().__class__", "\x00",
        "\n", ";", "=", ":=", "f'{a}'", "$", "#",
    ]
)  # fmt: skip


PLAIN = {
    ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Compare, ast.BoolOp, ast.And,
    ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt,
    ast.GtE, ast.In, ast.Tuple, ast.List, ast.Dict,
}  # fmt: skip


@settings(deadline=None, derandomize=True, max_examples=600)
@given(st.lists(PIECES, max_size=14), st.sampled_from(["", " "]))
def test_any_text_is_refused_or_becomes_our_language(pieces: list[str], sep: str) -> None:
    try:
        python = translate_condition("${" + sep.join(pieces) + "}")
    except NotTranslatable:
        return
    check_expression(python)
    nodes = list(ast.walk(ast.parse(python, mode="eval")))
    # only data fields, constants, comparisons and logic: no call, no attribute, no builtin
    assert {type(n) for n in nodes} <= PLAIN, python
    assert not {n.id for n in nodes if isinstance(n, ast.Name)} & BUILTIN_NAMES, python
