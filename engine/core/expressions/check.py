"""Layer 1 of engine.core.expressions: the ``ast`` whitelist.  A text is parsed and walked;
the first construct outside the language is refused with its line and column
(`check_expression`, and `_parse` for the guard layer).

Pure: no I/O, no database, no clock.
"""

from __future__ import annotations

import ast
import re

from engine.core.expressions.language import (
    _NAMES,
    _NODES,
    ALLOWED_METHODS,
    BUILTIN_NAMES,
    MAX_FORMAT_WIDTH,
    MAX_TEXT_LENGTH,
    Kind,
)
from engine.errors import UnsafeExpressionError

# --- 1. Check -------------------------------------------------------------------------------


class _Refused(Exception):
    """Internal: carries the message and the node's position out of the visitor."""

    def __init__(self, message: str, node: ast.AST | None) -> None:
        super().__init__(message)
        self.node = node


class _Checker(ast.NodeVisitor):
    """Walks a parsed text and refuses the first construct outside the language."""

    def __init__(self, kind: Kind) -> None:
        self.allowed = _NODES[kind]
        self.where: ast.AST | None = None

    def visit(self, node: ast.AST) -> None:
        if hasattr(node, "lineno"):
            self.where = node  # operators have no position: report their expression's
        if type(node) not in self.allowed:
            name = _NAMES.get(type(node), f"'{type(node).__name__}'")
            raise _Refused(f"{name} is not allowed", node if node is self.where else self.where)
        super().visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id.startswith("_"):
            raise _Refused(f"name '{node.id}' is not allowed", node)
        if not isinstance(node.ctx, ast.Load) and node.id in BUILTIN_NAMES:
            raise _Refused(f"assigning to '{node.id}' is not allowed: it is a builtin", node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # Reached only for attributes that are not the callee of a call: a bare bound method
        # could be handed to sorted(key=...) and called outside the guards.
        self.visit(node.value)  # report problems in reading order
        self._check_method_name(node)
        raise _Refused(f"attribute '{node.attr}' may only be called, as in x.{node.attr}()", node)

    def visit_Starred(self, node: ast.Starred) -> None:
        raise _Refused("'*' unpacking is only allowed in call arguments", node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            self.visit_Name(func)
            if func.id not in BUILTIN_NAMES:
                raise _Refused(f"calling '{func.id}' is not allowed", func)
        elif isinstance(func, ast.Attribute):
            self.visit(func.value)
            self._check_method_name(func)
        else:
            self.visit(func)  # reports a lambda or a nested refusal first
            raise _Refused("only builtins and methods can be called", func)
        for arg in node.args:
            self.visit(arg.value if isinstance(arg, ast.Starred) else arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _Refused("'**' unpacking is not allowed", keyword)
            self.visit(keyword.value)

    def visit_Dict(self, node: ast.Dict) -> None:
        if any(key is None for key in node.keys):
            raise _Refused("'**' unpacking is not allowed", node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        # l[:0] = l doubles a list without going through any guard.
        if isinstance(node.slice, ast.Slice) and not isinstance(node.ctx, ast.Load):
            raise _Refused("slice assignment is not allowed", node)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            raise _Refused("'async for' is not allowed", node.target)
        self.generic_visit(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        self.visit(node.value)
        spec = node.format_spec
        if spec is None:
            return
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
            raise _Refused("a format spec must be constant, as in f'{x:.2f}'", spec)
        text = "".join(str(p.value) for p in parts if isinstance(p, ast.Constant))
        widths = [int(digits) for digits in re.findall(r"\d+", text)]
        if any(width > MAX_FORMAT_WIDTH for width in widths):
            raise _Refused(f"format width in '{text}' is over {MAX_FORMAT_WIDTH}", spec)

    @staticmethod
    def _check_method_name(node: ast.Attribute) -> None:
        if node.attr.startswith("_") or node.attr not in ALLOWED_METHODS:
            raise _Refused(f"attribute '{node.attr}' is not allowed", node)


def _position(node: ast.AST | None) -> str:
    line, col = getattr(node, "lineno", None), getattr(node, "col_offset", None)
    if isinstance(node, ast.Attribute) and node.end_col_offset is not None:
        # point at the attribute's name, not at the start of `a.b.c`
        line, col = node.end_lineno, node.end_col_offset - len(node.attr)
    return f" (line {line}, column {col + 1})" if line is not None and col is not None else ""


def _parse(text: str, kind: Kind) -> ast.AST:
    """Parse and check; raise UnsafeExpressionError (syntax errors keep theirs as __cause__)."""
    if kind not in _NODES:
        raise ValueError(f"kind must be 'expression' or 'script', not {kind!r}")
    if not isinstance(text, str):
        raise UnsafeExpressionError(f"expected text for the {kind}, got {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise UnsafeExpressionError(f"the {kind} is longer than {MAX_TEXT_LENGTH} characters")
    # eval() forgives leading blanks on the first line, and BPMN editors leave some.
    source = text.lstrip(" \t") if kind == "expression" else text
    try:
        tree = ast.parse(source, mode="eval" if kind == "expression" else "exec")
        _Checker(kind).visit(tree)
    except ValueError as err:  # null bytes in the source
        raise UnsafeExpressionError(f"cannot parse the {kind}: {err}") from None
    except SyntaxError as err:
        raise UnsafeExpressionError(
            f"syntax error at line {err.lineno}, column {err.offset}: {err.msg}"
        ) from err
    except _Refused as refused:
        raise UnsafeExpressionError(f"{refused}{_position(refused.node)}") from None
    except (RecursionError, MemoryError):
        raise UnsafeExpressionError(f"the {kind} is nested too deeply") from None
    return tree


def check_expression(text: str, *, kind: Kind = "expression") -> None:
    """Raise UnsafeExpressionError unless `text` is in the restricted language.

    kind "expression": one Python expression (conditions, timer texts, DMN cells, loops);
    kind "script": statements (script tasks, pre- and post-scripts).
    """
    _parse(text, kind)
