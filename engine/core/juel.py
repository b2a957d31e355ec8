"""JUEL conditions (`${...}`, the expression language of Camunda, Activiti and Flowable) that
only compare data fields, translated into our expression language (engine.core.expressions).

Most conditions of models drawn for Camunda are plain: `${approved}`, `${!clarified}`,
`${score > 5}`, `${amount >= 1000 && tier == 'A'}`.  Their meaning is a comparison of data
fields, which our language says as well, so refusing them would refuse most foreign models
for nothing.  Anything more (a method or bean call such as `${execution.getVariable('x')}`,
a property path `a.b`, arithmetic, `? :`, functions) runs Camunda or Java code and is not
translated: `translate_condition` raises `NotTranslatable` naming the part it stopped at.

Accepted, nothing else:
- data field names (ASCII letters, digits, `_`; not starting with `_`, not a Python keyword
  nor one of our builtins, which would mean something else in our language);
- numbers (a leading `-` only right before one), strings in single or double quotes (escapes
  `\\\\`, `\\'`, `\\"` only), `true`, `false`, `null`;
- `==` `!=` `<` `<=` `>` `>=` and their words `eq` `ne` `lt` `le` `gt` `ge`; `&&` `||` `!` and
  `and` `or` `not`; `empty x`; parentheses.

The translation is parsed by JUEL's own precedence and written with the parentheses Python
needs: JUEL reads `a == b == c` as `(a == b) == c` and `!a == b` as `(!a) == b`, where Python
would chain or negate the whole comparison.  Where the two languages still differ, the
deal stops in error instead of going a wrong way: JUEL coerces types (`null > 5` is false),
our language refuses to compare None with a number.  `empty x` is true for null, an empty
text, an empty list and an empty map, as in JUEL (and false for 0 or false).

Pure: no I/O.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable
from typing import NamedTuple

from engine.core.expressions import BUILTIN_NAMES

__all__ = ["MAX_LENGTH", "NotTranslatable", "is_juel", "translate_condition"]

# Conditions are short; these bound the work (and the parser's recursion) on hostile text.
MAX_LENGTH = 2_000
MAX_DEPTH = 32

_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w$]))
    |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<name>[A-Za-z_$][\w$]*)
    |(?P<op>&&|\|\||==|!=|<=|>=|<|>|!|\(|\)|-)
    |(?P<other>.)""",
    re.VERBOSE | re.ASCII | re.DOTALL,
)
_WORDS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "gt": ">"}
_WORDS |= {"le": "<=", "ge": ">="}
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_EQUALITY = frozenset({"==", "!="})
_RELATIONAL = frozenset({"<", "<=", ">", ">="})
# JUEL words that are operators we do not translate (arithmetic, type tests).
_OTHER_WORDS = frozenset({"div", "mod", "instanceof"})
_ESCAPES = {"\\\\": "\\", "\\'": "'", '\\"': '"'}
# A name with the property path, calls and indexes after it: `execution.getVariable('x')`,
# `dateTime().plusWeeks(1)`: what a designer recognises as "the code" in a refusal.
_CODE = re.compile(
    r"[A-Za-z_$][\w$]*(?:\s*(?:\.\s*[A-Za-z_$][\w$]*|\([^()]*\)|\[[^\[\]]*\]))*", re.ASCII
)
_MAX_PART = 60


class NotTranslatable(Exception):
    """The JUEL text is more than a comparison of data fields; `part` is where it stopped
    (a method call, an operator, a name our language reads otherwise)."""

    def __init__(self, part: str) -> None:
        super().__init__(part)
        self.part = part


class _Token(NamedTuple):
    kind: str  # "name", "number", "string", "literal", "op", "other" (refused), "end"
    text: str  # the operator in its symbol form; the literal's Python spelling
    at: int  # position in the body


class _Node(NamedTuple):
    """Python text and how loosely it binds: 0 or, 1 and, 2 not, 3 comparison, 4 atom."""

    python: str
    level: int


_OR, _AND, _NOT, _COMPARE, _ATOM = range(5)


def is_juel(text: str | None) -> bool:
    """Whether a text is a JUEL expression (`${...}` or `#{...}`)."""
    return (text or "").strip().startswith(("${", "#{"))


def translate_condition(text: str) -> str:
    """Our expression for a JUEL condition that only compares data fields, else
    NotTranslatable."""
    stripped = text.strip()
    if len(stripped) > MAX_LENGTH:
        raise NotTranslatable(stripped[:40] + "…")
    if not is_juel(stripped) or not stripped.endswith("}"):
        raise NotTranslatable(stripped)
    body = stripped[2:-1]
    tokens = _tokens(body)
    if tokens[0].kind == "end":
        raise NotTranslatable(stripped)
    parser = _Parser(tokens, body)
    node = parser.expression(_OR)
    if parser.peek().kind != "end":
        raise NotTranslatable(parser.part(parser.peek()))
    return node.python


def _tokens(body: str) -> list[_Token]:
    found: list[_Token] = []
    at = 0
    while at < len(body):
        match = _TOKEN.match(body, at)
        assert match is not None  # `other` matches any character
        kind, text = match.lastgroup or "", match.group()
        if kind == "name":
            found.append(_word(text, at))
        elif kind == "string":
            found.append(_Token("string", repr(_unquote(text)), at))
        elif kind != "space":
            found.append(_Token(kind, text, at))
        at = match.end()
    found.append(_Token("end", "", len(body)))
    return found


def _word(text: str, at: int) -> _Token:
    if text in _LITERALS:
        return _Token("literal", _LITERALS[text], at)
    if text in _WORDS or text == "empty":
        return _Token("op", _WORDS.get(text, text), at)
    if text in _OTHER_WORDS or text.startswith("_") or "$" in text:
        raise NotTranslatable(text)
    # `len` or `in` would mean our builtin or a Python keyword, not the data field.
    if keyword.iskeyword(text) or text in BUILTIN_NAMES:
        raise NotTranslatable(text)
    return _Token("name", text, at)


def _unquote(quoted: str) -> str:
    inner = quoted[1:-1]
    for escape in re.findall(r"\\.", inner, re.DOTALL):
        if escape not in _ESCAPES:
            raise NotTranslatable(escape)
    return re.sub(r"\\.", lambda m: _ESCAPES[m.group()], inner, flags=re.DOTALL)


class _Parser:
    """Recursive descent by JUEL's precedence, loosest first: `||`, `&&`, `==` `!=`,
    `<` `<=` `>` `>=`, then the unary `!` `empty` `-`."""

    def __init__(self, tokens: list[_Token], body: str) -> None:
        self.tokens = tokens
        self.body = body
        self.index = 0
        self.depth = 0  # open parentheses and unary operators: bounds the recursion

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def part(self, token: _Token) -> str:
        if token.kind == "end":
            return self.body.strip()  # it stops too early: the whole text is the part
        return self.body[token.at :].split()[0][:_MAX_PART]

    def expression(self, level: int) -> _Node:
        if level == _OR:
            return self._joined(_OR, "||", " or ")
        if level == _AND:
            return self._joined(_AND, "&&", " and ")
        return self._comparison(_EQUALITY, self._relational)

    def _joined(self, level: int, symbol: str, python: str) -> _Node:
        nodes = [self.expression(level + 1)]
        while self._at(symbol):
            self.take()
            nodes.append(self.expression(level + 1))
        if len(nodes) == 1:
            return nodes[0]
        return _Node(python.join(_bare_above(n, level) for n in nodes), level)

    def _relational(self) -> _Node:
        return self._comparison(_RELATIONAL, self._unary)

    def _comparison(self, operators: frozenset[str], operand: Callable[[], _Node]) -> _Node:
        node = operand()
        while self.peek().kind == "op" and self.peek().text in operators:
            symbol = self.take().text
            right = operand()
            # JUEL is left-associative here; Python would chain `a == b == c`.
            left_text, right_text = _bare_above(node, _COMPARE), _bare_above(right, _COMPARE)
            node = _Node(f"{left_text} {symbol} {right_text}", _COMPARE)
        return node

    def _unary(self) -> _Node:
        token = self.peek()
        if self._at("!") or self._at("empty"):
            self.take()
            self._deeper(token)
            operand = self._unary()
            self.depth -= 1
            if token.text == "!":
                # `not (a == b)`: the same to Python as without, clearer to a reader.
                bare = operand.level in (_ATOM, _NOT)
                return _Node(f"not {operand.python if bare else f'({operand.python})'}", _NOT)
            # JUEL's empty: null, "", an empty list or map; not 0 nor false.
            return _Node(f"{_bare_above(operand, _COMPARE)} in (None, '', [], {{}})", _COMPARE)
        if self._at("-"):
            self.take()
            number = self.take()
            if number.kind != "number":
                raise NotTranslatable("-")
            return _Node(f"-{_number(number.text)}", _ATOM)
        return self._primary()

    def _primary(self) -> _Node:
        token = self.take()
        if token.kind == "name":
            if self._at("(") or self._at(".") or self._at("["):
                # a function or method call, a property path, an index: code, not a field
                code = _CODE.match(self.body, token.at)
                raise NotTranslatable(code.group()[:_MAX_PART] if code else token.text)
            return _Node(token.text, _ATOM)
        if token.kind in ("string", "literal"):
            return _Node(token.text, _ATOM)
        if token.kind == "number":
            return _Node(_number(token.text), _ATOM)
        if token.kind == "op" and token.text == "(":
            self._deeper(token)
            inner = self.expression(_OR)
            self.depth -= 1
            if not self._at(")"):
                raise NotTranslatable(self.part(self.peek()))
            self.take()
            return inner
        raise NotTranslatable(self.part(token))

    def _at(self, symbol: str) -> bool:
        token = self.peek()
        return token.kind in ("op", "other") and token.text == symbol

    def _deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise NotTranslatable(self.part(token))


def _bare_above(node: _Node, level: int) -> str:
    """The node's text as an operand of an operator of `level`: bare when it binds more
    tightly than that operator, else in parentheses."""
    return node.python if node.level > level else f"({node.python})"


def _number(text: str) -> str:
    if re.fullmatch(r"\d+", text):
        return str(int(text))  # `007` is a syntax error in Python
    value = float(text)
    if not math.isfinite(value):
        raise NotTranslatable(text)
    return repr(value)
