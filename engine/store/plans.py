"""How a query should be planned, where the planner left alone chooses badly.

SQLite plans without statistics (salesflow never runs ANALYZE): given `column = ?` on an
indexed column it takes that index, and then fetches each row it names from the table, where
a deal's row carries its serialized workflow and its JSON (a few KiB).  A query that must
read most deals, or that a covering index answers in the order it wants, is faster told not
to use that index: SQLite's own way is a `+` before the column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["Unindexed"]


class Unindexed(FunctionElement[Any]):
    """A column SQLite must not look up through an index (`+column`); the plain column on
    every other database."""

    name = "unindexed"
    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(Unindexed)
def _plain(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(Unindexed, "sqlite")
def _plus(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)
