"""Layer 2 of engine.core.expressions: the checked tree is rewritten so that every
unbounded operation calls a `_Guards` helper (engine.core.expressions.budget), then
compiled once (`safe_compile`, the only way to code that runs).

Pure: no I/O, no database, no clock.
"""

from __future__ import annotations

import ast
import functools
from types import CodeType

from engine.core.expressions.check import _parse
from engine.core.expressions.language import Kind
from engine.errors import UnsafeExpressionError

# --- 2. Guard -------------------------------------------------------------------------------


class _Guarder(ast.NodeTransformer):
    """Routes every unbounded operation of a checked tree through a `_Guards` helper."""

    def __init__(self) -> None:
        self.temporaries = 0

    @staticmethod
    def _call(helper: str, where: ast.AST, *args: ast.expr) -> ast.Call:
        call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=list(args), keywords=[])
        return ast.copy_location(call, where)

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._call("_iter", node.iter, node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._call("_iter", node.iter, node.iter)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        helper = {ast.Add: "_add", ast.Mult: "_mul", ast.Mod: "_mod"}.get(type(node.op))
        return self._call(helper, node, node.left, node.right) if helper else node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        helper = {ast.Add: "_iadd", ast.Mult: "_imul", ast.Mod: "_mod"}.get(type(node.op))
        if helper is None:
            return node
        target = node.target
        if isinstance(target, ast.Name):
            value = self._call(helper, node, ast.Name(id=target.id, ctx=ast.Load()), node.value)
            store = ast.Name(id=target.id, ctx=ast.Store())
            return ast.copy_location(ast.Assign(targets=[store], value=value), node)
        assert isinstance(target, ast.Subscript)  # the checker allows nothing else
        # d[k] += v: evaluate d and k once, as Python does.
        self.temporaries += 1
        obj, key = f"_aug{self.temporaries}_obj", f"_aug{self.temporaries}_key"

        def item(ctx: ast.expr_context) -> ast.Subscript:
            return ast.Subscript(
                value=ast.Name(id=obj, ctx=ast.Load()),
                slice=ast.Name(id=key, ctx=ast.Load()),
                ctx=ctx,
            )

        statements: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(id=obj, ctx=ast.Store())], value=target.value),
            ast.Assign(targets=[ast.Name(id=key, ctx=ast.Store())], value=target.slice),
            ast.Assign(
                targets=[item(ast.Store())],
                value=self._call(helper, node, item(ast.Load()), node.value),
            ),
        ]
        return [ast.copy_location(statement, node) for statement in statements]

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute):
            method = node.func
            node.args = [method.value, ast.Constant(value=method.attr), *node.args]
            node.func = ast.copy_location(ast.Name(id="_method", ctx=ast.Load()), method)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        node.comparators = [
            self._call("_scan", right, right) if isinstance(op, ast.In | ast.NotIn) else right
            for op, right in zip(node.ops, node.comparators, strict=True)
        ]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.slice, ast.Slice) and isinstance(node.ctx, ast.Load):
            return self._call("_copied", node, node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        node.value = self._call("_text", node.value, node.value)
        return node


@functools.lru_cache(maxsize=2048)
def safe_compile(text: str, kind: Kind = "expression") -> CodeType:
    """Check, guard and compile `text` once; raise UnsafeExpressionError if it is refused."""
    tree = _Guarder().visit(_parse(text, kind))
    ast.fix_missing_locations(tree)
    try:
        # "<string>" is the file name the library looks for to report a script's line.
        return compile(tree, "<string>", "eval" if kind == "expression" else "exec")
    except (RecursionError, MemoryError):
        raise UnsafeExpressionError(f"the {kind} is nested too deeply") from None
