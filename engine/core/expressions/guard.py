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

    def _bounded(self, node: ast.expr) -> ast.expr:
        # Constants are small; anything else may be a value C code would walk for long.
        return node if isinstance(node, ast.Constant) else self._call("_bounded", node, node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if all(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
            return node  # identity: no walk
        node.left = self._bounded(node.left)
        node.comparators = [self._bounded(right) for right in node.comparators]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.slice, ast.Slice):
            return self._call("_copied", node, node) if isinstance(node.ctx, ast.Load) else node
        node.slice = self._bounded(node.slice)  # a key is hashed: a tuple key walked whole
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        node.keys = [None if key is None else self._bounded(key) for key in node.keys]
        return node

    def visit_Set(self, node: ast.Set) -> ast.AST:
        self.generic_visit(node)
        node.elts = [self._bounded(element) for element in node.elts]
        return node

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        self.generic_visit(node)
        node.elt = self._bounded(node.elt)
        return node

    def visit_DictComp(self, node: ast.DictComp) -> ast.AST:
        self.generic_visit(node)
        node.key = self._bounded(node.key)
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


@functools.lru_cache(maxsize=2048)
def stores_into(text: str) -> bool:
    """Whether a (checked) script assigns to or deletes an item (`d[k] = v`, `del x[0]`):
    then values it did not rebind may have changed in place."""
    return any(
        isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load)
        for node in ast.walk(_parse(text, "script"))
    )
