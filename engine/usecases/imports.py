# ruff: noqa: RUF001 - full-width Chinese punctuation is meant here (column names, numbers)
"""Importing leads: a CSV or XLSX file, one lead a row, into deals started on a chosen process.

    preview = service.preview_import(content, "sales_pipeline", actor="alice", filename=...)
    result = service.import_leads(content, "sales_pipeline", actor="alice", mapping=...)

The file: a CSV in UTF-8 (with or without the BOM Excel writes), in GB18030/GBK (what a
Chinese Excel's "CSV (逗号分隔)" writes; the superset GB18030 is read), or UTF-16 with its
BOM, its columns separated by commas, semicolons or tabs; or an XLSX workbook (its first
sheet, read with openpyxl).  The first row holds the column names; a row is numbered as the
spreadsheet numbers it (the header is row 1), and empty rows are left out.  At most MAX_ROWS
rows and MAX_COLUMNS columns; the size of the file is the caller's limit (the request
body's, `max_bytes`).

The columns map to the fields of the process's start form (the new-deal form: its top-level
fields), to `amount` and `expected_close` (the deal's value and expected close date, checked
as a new deal's: deals.deal_basics; dates as 2027-03-31, 2027/3/31, 2027年3月31日 or an XLSX
date cell) and to `owner`, the deal's owner.  `guess_mapping` reads the column names: a field's
key, its title in English or any translation of the version (公司名称, 线索来源, ...), or a
common name (公司, 联系人, 来源/渠道, 年营收, 意向, 负责人).  A mapping given replaces the
guess column by column: a column given "" is left out, and a field given to a column is taken
from every other column.  A cell becomes the field's value as a person writes it: numbers
with thousands separators, ¥ and 元, 万 and 亿 ("800万" is 8000000), a choice by its code or its
label in either language ("展会", "Trade show", "trade_show"), yes/no and 是/否; an empty cell
leaves the field out.  Every row is then checked as the new-deal form checks it
(engine.core.forms, the messages in the reader's language), and its owner by the owner rule.

`preview_import` writes nothing: the columns, the mapping, the first rows as they would be
started, and every row's errors (row number, column, field, message). A file refused as a
whole (not a table, too large, a bad mapping) is told in the reader's language too.
`import_leads` does the same checks, skips the rows with errors (the result names them) and
starts every other row in ONE transaction: all of them or none. When a start fails
unexpectedly (a script of the process failing on a row's data), nothing is kept and the
ValidationError names the row: the file can be corrected and imported again without doubles.
Who may import: whoever may start the process (engine.usecases.deals.check_starter), each
row's owner by the owner rule (`check_owner`).
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from engine.core.definitions import form_name
from engine.core.forms import check_data
from engine.core.translations import CHINESE, localized_check
from engine.core.version import VersionRuntime
from engine.errors import ExpressionError, NotFoundError, ValidationError
from engine.store import deployments as versions
from engine.store import users
from engine.usecases.deals import (
    BASICS,
    OWNER_ROLES,
    DealCases,
    basic_as_json,
    check_starter,
    deal_basics,
)
from engine.usecases.initiatives import PROCESS as INITIATIVE
from engine.usecases.texts import is_english
from engine.usecases.unit import UnitOfWork, Workspace

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROWS",
    "OWNER",
    "PREVIEW_ROWS",
    "ImportCases",
    "Table",
    "guess_mapping",
    "read_table",
]

MAX_ROWS = 5000
MAX_COLUMNS = 100
PREVIEW_ROWS = 10  # the rows a preview shows as they would be started
OWNER = "owner"  # the mapping's target beside the start form's fields: the deal's owner
_CELL_NUMBER = 40  # a number is written in fewer characters
_XLSX_MAGIC = b"PK\x03\x04"

# Column names people give the sales pipeline's fields (besides the fields' keys and titles).
ALIASES: dict[str, tuple[str, ...]] = {
    "company": ("公司", "公司名称", "客户", "客户名称", "企业", "企业名称", "company name",
                "customer", "account"),
    "contact": ("联系人", "联系人姓名", "联系方式", "contact", "contact name", "contact person"),
    "source_channel": ("来源", "渠道", "来源渠道", "线索来源", "线索渠道", "source", "channel",
                       "lead source"),
    "annual_revenue": ("年营收", "年收入", "营收", "年营业额", "revenue", "annual revenue"),
    "intent": ("意向", "购买意向", "意向度", "intent", "buying intent"),
    OWNER: ("负责人", "销售", "销售负责人", "跟进人", "owner", "deal owner", "sales rep"),
    "amount": ("金额", "商机金额", "预计金额", "合同金额", "成交金额", "价值", "value",
               "deal value", "amount", "expected value"),
    "expected_close": ("预计成交", "预计成交日期", "预计签约日期", "成交日期", "预计关闭日期",
                       "close date", "expected close date", "expected close"),
}  # fmt: skip
# Beside the start form's fields: the deal's value, its expected close date and its owner.
_BASIC_TITLES = {
    "amount": {"en": "Deal value", CHINESE: "商机金额"},
    "expected_close": {"en": "Expected close", CHINESE: "预计成交日期"},
    OWNER: {"en": "Owner", CHINESE: "负责人"},
}


# --- reading the file ----------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A file's columns and rows: each row its number as the spreadsheet shows it and one
    cell a column (None for an empty one)."""

    kind: str  # "csv" or "xlsx"
    encoding: str | None  # a CSV's
    columns: list[str]
    rows: list[tuple[int, list[Any]]]


# What is wrong with a file as a whole, in English and Chinese (the reader's language is
# chosen where the file is checked: `_FileRefused.said`).
_FILE_MESSAGES = {
    "empty": ("the file is empty", "文件是空的"),
    "xls": (
        "an .xls file (Excel 97-2003) cannot be read: save it as .xlsx or CSV",
        "无法读取 .xls 文件（Excel 97-2003）：请另存为 .xlsx 或 CSV",
    ),
    "rows": (
        "the file has more than {0} rows: split it into smaller files",
        "文件超过 {0} 行：请拆分成几个较小的文件",
    ),
    "no_rows": (
        "the file has no rows: its first row names the columns",
        "文件没有数据行：第一行应为列名",
    ),
    "columns": ("the file has more than {0} columns", "文件超过 {0} 列"),
    "bom": ("the file starts as {0} but is not: {1}", "文件开头标明为 {0} 编码，但内容不是：{1}"),
    "encoding": (
        "the file is neither a CSV in UTF-8 or GBK nor an XLSX workbook: save it from Excel "
        "as 'CSV UTF-8' or as .xlsx",
        "文件既不是 UTF-8 或 GBK 编码的 CSV，也不是 XLSX 工作簿：请在 Excel 中另存为"
        "“CSV UTF-8”或 .xlsx",
    ),
    "nul": (
        "the file holds NUL characters: it is not a CSV text file",
        "文件含有 NUL 字符：不是 CSV 文本文件",
    ),
    "cells": ("row {0} has more than {1} cells", "第 {0} 行超过 {1} 个单元格"),
    "csv": ("row {0} cannot be read as CSV: {1}", "第 {0} 行无法按 CSV 读取：{1}"),
    "xlsx": (
        "the file is not an XLSX workbook that can be read ({0})",
        "文件不是可读取的 XLSX 工作簿（{0}）",
    ),
    "size": ("the file is larger than {0} bytes", "文件大于 {0} 字节"),
    "initiative": (
        "initiatives start from the initiatives page, not from a file",
        "改进项目从“改进项目”页面发起，不能从文件导入",
    ),
    "mapping_object": ("must be an object: column name -> field", "应为对象：列名 -> 字段"),
    "no_column": (
        "there is no column '{0}' in the file: the columns are {1}",
        "文件中没有“{0}”列：现有的列为 {1}",
    ),
    "no_field": (
        "column '{0}': there is no field '{1}': give one of {2} (or \"\" to leave the column out)",
        '“{0}”列：没有字段“{1}”：请填写 {2} 之一（或填 "" 跳过该列）',
    ),
    "twice": (
        "the columns '{0}' and '{1}' both give the field '{2}'",
        "“{0}”列和“{1}”列对应了同一个字段“{2}”",
    ),
}


class _FileRefused(ValidationError):
    """A file or mapping refused as a whole: the message in English, and `said(lang)` in the
    reader's language."""

    def __init__(self, key: str, *args: Any, field: str = "file") -> None:
        self.key, self.values = key, tuple(str(a) for a in args)
        super().__init__(_FILE_MESSAGES[key][0].format(*self.values), field=field)

    def said(self, lang: str | None) -> ValidationError:
        if is_english(lang):
            return self
        return ValidationError(_FILE_MESSAGES[self.key][1].format(*self.values), field=self.field)


def _refused(key: str, *args: Any) -> _FileRefused:
    return _FileRefused(key, *args)


def read_table(content: bytes, filename: str | None = None) -> Table:
    """The columns and rows of a CSV or XLSX file (see the module's text); ValidationError on
    the field `file` for anything else, an empty file, more than MAX_ROWS rows or
    MAX_COLUMNS columns."""
    if not content:
        raise _refused("empty")
    name = (filename or "").lower()
    if content.startswith(_XLSX_MAGIC) or name.endswith((".xlsx", ".xlsm")):
        kind, encoding, records = "xlsx", None, _xlsx_records(content)
    elif name.endswith(".xls"):
        raise _refused("xls")
    else:
        text, encoding = _decode(content)
        kind, records = "csv", _csv_records(text)
    header: list[str] | None = None
    rows: list[tuple[int, list[Any]]] = []
    for number, cells in records:
        if all(_blank(c) for c in cells):
            continue
        if header is None:
            header = _columns(cells)
            continue
        if len(rows) == MAX_ROWS:
            raise _refused("rows", MAX_ROWS)
        cells = list(cells[: len(header)])
        rows.append((number, cells + [None] * (len(header) - len(cells))))
    if header is None:
        raise _refused("no_rows")
    return Table(kind, encoding, header, rows)


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _columns(cells: list[Any]) -> list[str]:
    """The header row's column names: stripped; a blank one named by its position, a repeated
    one numbered ("Company (2)")."""
    while cells and _blank(cells[-1]):
        cells = cells[:-1]
    if len(cells) > MAX_COLUMNS:
        raise _refused("columns", MAX_COLUMNS)
    names: list[str] = []
    for position, cell in enumerate(cells, start=1):
        base = " ".join(_cell_text(cell).split())[:100] or f"column {position}"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base} ({n})"
        names.append(name)
    return names


def _decode(content: bytes) -> tuple[str, str]:
    """A CSV's text and the encoding it was read in: a BOM's, else UTF-8, else GB18030."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if content.startswith(bom):
            try:
                return content.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise _refused("bom", encoding, exc.reason) from None
    for encoding in ("utf-8", "gb18030"):
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise _refused("encoding")


def _csv_records(text: str) -> Iterator[tuple[int, list[Any]]]:
    if "\x00" in text:
        raise _refused("nul")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if len(cells) > MAX_COLUMNS * 2:
                raise _refused("cells", number, MAX_COLUMNS * 2)
            yield number, list(cells)
    except csv.Error as exc:
        raise _refused("csv", number + 1, exc) from None


def _xlsx_records(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook  # only for XLSX files

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        for number, cells in enumerate(
            sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True), start=1
        ):
            yield number, list(cells)
    except ValidationError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, OSError) as exc:
        raise _refused("xlsx", exc) from None


def _cell_text(cell: Any) -> str:
    """A cell as text: a whole number without ".0", a date as YYYY-MM-DD."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == datetime.min.time() else cell.isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()


# --- the form's fields, and the mapping ----------------------------------------------------


@dataclass
class Target:
    """Where a column may go: a field of the start form, or the owner."""

    key: str
    title: str  # in the reader's language
    kind: str  # string, number, integer, boolean, choice, owner, other
    required: bool = False
    names: set[str] = field(default_factory=set)  # normalised column names that mean it
    choices: dict[str, Any] = field(default_factory=dict)  # normalised code or label -> code
    labels: dict[str, str] = field(default_factory=dict)  # code -> label, in the reader's words

    def record(self) -> dict[str, Any]:
        return {
            "field": self.key,
            "title": self.title,
            "required": self.required,
            "choices": self.labels,
        }


def _norm(name: str) -> str:
    """A column name or a label as compared: no case, brackets' content, spaces or dashes."""
    name = re.sub(r"[(（\[【].*?[)）\]】]", "", name.casefold())
    return re.sub(r"[\s_\-:：*]+", "", name)


def _targets(vr: VersionRuntime, lang: str | None) -> dict[str, Target]:
    """The start form's top-level fields and the owner, titled in `lang`."""
    outputs = vr.spec.start.outputs
    name = form_name(outputs[0]) if outputs else None
    schema = vr.form_schema(name) or {"properties": {}}
    locales = sorted(vr.translations.catalogs)
    shown = schema if is_english(lang) else vr.texts(lang).form(name, schema) or schema
    every = [schema, *(vr.texts(loc).form(name, schema) or schema for loc in locales)]
    required = set(schema.get("required") or [])
    found: dict[str, Target] = {}
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        title = str((shown.get("properties") or {}).get(key, {}).get("title") or key)
        target = Target(key, title, _kind(sub), key in required, {_norm(key)})
        target.names.update(_norm(a) for a in ALIASES.get(key, ()))
        for form in every:
            translated = (form.get("properties") or {}).get(key) or {}
            if translated.get("title"):
                target.names.add(_norm(str(translated["title"])))
            for code, label in _choices(translated):
                target.choices.setdefault(_norm(str(code)), code)
                target.choices.setdefault(_norm(label), code)
        shown_sub = (shown.get("properties") or {}).get(key) or sub
        target.labels = {str(code): label for code, label in _choices(shown_sub)}
        found[key] = target
    for key in (*BASICS, OWNER):
        if key in found:
            continue  # the start form asks for it itself
        titles = _BASIC_TITLES[key]
        kind = key if key in BASICS else "owner"
        title = titles.get("en" if is_english(lang) else CHINESE, titles["en"])
        found[key] = Target(key, title, kind, False, {_norm(a) for a in ALIASES[key]})
        found[key].names.update(_norm(t) for t in (key, *titles.values()))
    return found


def _kind(schema: Mapping[str, Any]) -> str:
    if isinstance(schema.get("enum"), list) or isinstance(schema.get("oneOf"), list):
        return "choice"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if kind in ("string", "number", "integer", "boolean") else "other"


def _choices(schema: Mapping[str, Any]) -> list[tuple[Any, str]]:
    """A choice field's (code, label) pairs: `oneOf` consts with titles, or `enum` values
    with their `enumNames`."""
    if isinstance(schema.get("oneOf"), list):
        return [
            (o["const"], str(o.get("title") or o["const"]))
            for o in schema["oneOf"]
            if isinstance(o, dict) and "const" in o
        ]
    values = schema.get("enum")
    if not isinstance(values, list):
        return []
    names = schema.get("enumNames")
    if not isinstance(names, list) or len(names) != len(values):
        names = [str(v) for v in values]
    return list(zip(values, (str(n) for n in names), strict=True))


def guess_mapping(columns: list[str], targets: Mapping[str, Target]) -> dict[str, str]:
    """Column -> field key ("" for none) from the column names; a field goes to the first
    column that names it."""
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for column in columns:
        name = _norm(column)
        found = next(
            (t.key for t in targets.values() if t.key not in taken and name in t.names), ""
        )
        if found:
            taken.add(found)
        mapping[column] = found
    return mapping


def _mapping(
    columns: list[str], targets: Mapping[str, Target], given: Mapping[str, Any] | None
) -> dict[str, str]:
    """The guess with `given` laid over it (see the module's text); ValidationError on the
    field `mapping` for a column not in the file, a field not in the form, or a field
    given to two columns."""
    mapping = guess_mapping(columns, targets)
    if not given:
        return mapping
    if not isinstance(given, Mapping):
        raise _FileRefused("mapping_object", field="mapping")
    chosen: dict[str, str] = {}
    for column, key in given.items():
        if column not in mapping:
            raise _FileRefused("no_column", str(column)[:100], ", ".join(columns), field="mapping")
        key = "" if key is None else key
        if not isinstance(key, str) or (key and key not in targets):
            raise _FileRefused(
                "no_field", column, str(key)[:100], ", ".join(targets), field="mapping"
            )
        if key and key in chosen.values():
            other = next(c for c, k in chosen.items() if k == key)
            raise _FileRefused("twice", other, column, key, field="mapping")
        chosen[column] = key
    for column, key in mapping.items():
        if column in chosen:
            mapping[column] = chosen[column]
        elif key in chosen.values():
            mapping[column] = ""
    return mapping


# --- a cell as a value ---------------------------------------------------------------------


_MESSAGES = {
    "number": ("'%s' is not a number", "「%s」不是数字"),
    "integer": ("'%s' is not a whole number", "「%s」不是整数"),
    "boolean": ("'%s' is not yes or no", "「%s」不是“是”或“否”"),
    "choice": ("'%s' is not one of: %s", "「%s」不在可选项中：%s"),
    "nul": ("'%s' holds a NUL character", "「%s」含有 NUL 字符"),
    "other": ("'%s' cannot be given in a file", "「%s」不能从文件导入"),
    "amount": ("'%s' is not a value of 0 or more", "「%s」不是大于或等于 0 的金额"),
    "date": ("'%s' is not a date such as 2027-03-31", "「%s」不是日期（例如 2027-03-31）"),
    "no_user": ("there is no active user '%s'", "没有名为「%s」的在职用户"),
    "not_owner": (
        "%s may not own a deal: owners hold the role Sales Rep or Sales Manager",
        "%s 不能负责商机：负责人须为销售代表或销售经理",
    ),
}
_YES = {"yes", "y", "true", "1", "是", "对", "有", "√", "✓"}
_NO = {"no", "n", "false", "0", "否", "不", "无", "没有", "×", "✗"}
_UNITS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}


class _CellError(ValueError):
    pass


def _say(lang: str | None, key: str, *args: str) -> str:
    english, chinese = _MESSAGES[key]
    return (english if is_english(lang) else chinese) % args


def _shorten(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:40]}…"


def _number(cell: Any) -> Decimal:
    if isinstance(cell, bool):
        raise _CellError
    if isinstance(cell, int | float):
        return Decimal(str(cell))
    text = re.sub(r"[\s,，_']", "", _cell_text(cell)).lstrip("¥￥").removesuffix("元")
    factor = _UNITS.get(text[-1:], Decimal(1))
    text = text[:-1] if factor != 1 else text
    if not text or len(text) > _CELL_NUMBER:
        raise _CellError
    try:
        number = Decimal(text) * factor
    except InvalidOperation:
        raise _CellError from None
    if not number.is_finite():
        raise _CellError
    return number


def _value(target: Target, cell: Any, lang: str | None) -> Any:
    """A cell as the field's value (`_CellError` with the message otherwise)."""
    text = _cell_text(cell)
    if "\x00" in text:
        raise _CellError(_say(lang, "nul", _shorten(text.replace("\x00", ""))))
    if target.kind in ("number", "integer"):
        try:
            number = _number(cell)
        except _CellError:
            raise _CellError(_say(lang, "number", _shorten(text))) from None
        if number == number.to_integral_value():
            return int(number)
        if target.kind == "integer":
            raise _CellError(_say(lang, "integer", _shorten(text)))
        return float(number)
    if target.kind == "boolean":
        if isinstance(cell, bool):
            return cell
        if text.casefold() in _YES:
            return True
        if text.casefold() in _NO:
            return False
        raise _CellError(_say(lang, "boolean", _shorten(text)))
    if target.kind == "choice":
        code = target.choices.get(_norm(text)) or _abridged(target, _norm(text))
        if code is None:
            sep = ", " if is_english(lang) else "、"
            raise _CellError(_say(lang, "choice", _shorten(text), sep.join(target.labels.values())))
        return code
    if target.kind == "other":
        raise _CellError(_say(lang, "other", _shorten(text)))
    return text


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def _basic(target: Target, cell: Any, lang: str | None) -> Any:
    """A cell as the deal's value or expected close date, checked as a new deal's
    (deals.deal_basics); `_CellError` with the message otherwise."""
    text = _cell_text(cell)
    try:
        if target.kind == "amount":
            try:
                value: Any = _number(cell)
            except _CellError:
                raise _CellError(_say(lang, "amount", _shorten(text))) from None
        elif isinstance(cell, datetime):
            value = cell.date()
        elif isinstance(cell, date):
            value = cell
        else:
            found = _DATE.fullmatch(text)
            if found is None:
                raise _CellError(_say(lang, "date", _shorten(text)))
            value = "{}-{:0>2}-{:0>2}".format(*found.groups())
        return deal_basics({target.kind: value})[target.kind]
    except ValidationError:
        message = "amount" if target.kind == "amount" else "date"
        raise _CellError(_say(lang, message, _shorten(text))) from None


def _abridged(target: Target, text: str) -> Any:
    """The choice a cell names by the start of its label ("广告" for 广告投放, "trade" for Trade
    show), when exactly one label starts so; None otherwise."""
    if len(text) < 2:
        return None
    codes = {code for label, code in target.choices.items() if label.startswith(text)}
    return codes.pop() if len(codes) == 1 else None


# --- the use cases -------------------------------------------------------------------------


@dataclass
class _Checked:
    """A file read and checked against a version: what preview and import share."""

    vr: VersionRuntime
    table: Table
    targets: dict[str, Target]
    mapping: dict[str, str]
    valid: list[tuple[int, str, dict[str, Any], dict[str, Any]]]  # row, owner, data, basics
    errors: list[dict[str, Any]]

    def answer(self) -> dict[str, Any]:
        bad_rows = sorted({e["row"] for e in self.errors})
        return {
            "process_id": self.vr.process_id,
            "version": self.vr.version,
            "file": {"kind": self.table.kind, "encoding": self.table.encoding},
            "columns": self.table.columns,
            "fields": [t.record() for t in self.targets.values()],
            "mapping": self.mapping,
            "rows": len(self.table.rows),
            "valid": len(self.valid),
            "invalid": len(bad_rows),
            "invalid_rows": bad_rows,
            "errors": self.errors,
        }


class _JoinedWorkspace(Workspace):
    """The workspace of a unit of work already open: `write()` joins that unit instead of
    opening a transaction of its own, so that every deal `DealCases.start` starts through it
    is written (or rolled back) with the others."""

    def __init__(self, unit: UnitOfWork) -> None:
        self.__dict__.update(unit.space.__dict__)  # the same database, versions, workflows
        self._unit = unit

    @contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        yield self._unit


class ImportCases(DealCases):
    """Import leads from a CSV or XLSX file (preview first), one deal a valid row."""

    def preview_import(
        self,
        content: bytes,
        process_id: str,
        *,
        actor: str,
        mapping: Mapping[str, Any] | None = None,
        owner: str | None = None,
        filename: str | None = None,
        lang: str | None = None,
        max_bytes: int | None = None,
    ) -> dict[str, Any]:
        """What `import_leads` would do, writing nothing: the columns, the mapping (the guess
        with `mapping` over it), every row's errors, and the first PREVIEW_ROWS valid rows as
        they would be started (`sample`: row, owner, data)."""
        checked = self._checked(
            content, process_id, actor, mapping, owner, filename, lang, max_bytes
        )
        sample = [
            {"row": row, "owner": who, "data": data}
            | {key: basic_as_json(value) for key, value in basics.items()}
            for row, who, data, basics in checked.valid[:PREVIEW_ROWS]
        ]
        return {**checked.answer(), "sample": sample}

    def import_leads(
        self,
        content: bytes,
        process_id: str,
        *,
        actor: str,
        mapping: Mapping[str, Any] | None = None,
        owner: str | None = None,
        filename: str | None = None,
        lang: str | None = None,
        max_bytes: int | None = None,
    ) -> dict[str, Any]:
        """Start a deal for every valid row, all in one transaction (all or none, see the
        module's text); the rows with errors are skipped and named (`invalid_rows`,
        `errors`).  `owner`: the deal's owner when the row gives none (default: `actor`)."""
        checked = self._checked(
            content, process_id, actor, mapping, owner, filename, lang, max_bytes
        )
        started: list[str] = []
        with self.space.write() as unit:
            joined = copy.copy(self)
            joined.space = _JoinedWorkspace(unit)
            for row, who, data, basics in checked.valid:
                try:
                    done = joined.start(
                        process_id,
                        owner=who,
                        data=data,
                        actor=actor,
                        version=checked.vr.version,
                        **basics,
                    )
                except (ValidationError, ExpressionError, NotFoundError) as exc:
                    raise ValidationError(
                        f"row {row} could not be started, so nothing was imported: {exc}",
                        field=f"row {row}",
                    ) from exc
                started.append(done["instance_id"])
        return {**checked.answer(), "started": len(started), "instance_ids": started}

    def _checked(
        self,
        content: bytes,
        process_id: str,
        actor: str,
        given: Mapping[str, Any] | None,
        owner: str | None,
        filename: str | None,
        lang: str | None,
        max_bytes: int | None,
    ) -> _Checked:
        if max_bytes is not None and len(content) > max_bytes:
            raise _refused("size", max_bytes).said(lang)
        if process_id == INITIATIVE:
            raise _FileRefused("initiative", field="process_id").said(lang)
        with self.db.read() as s:
            try:
                row = versions.version_row(s, process_id, None)
            except NotFoundError as exc:
                raise ValidationError(str(exc), field="process_id") from None
            vr = self.version(s, row.id)
            check_starter(vr, actor, users.roles_of(s, actor))
            default_owner = owner or actor
            owners = _Owners(s, actor, lang)
            problem = owners.problem(default_owner)
            if problem is not None:
                raise ValidationError(problem, field="owner")
            targets = _targets(vr, lang)
            try:
                table = read_table(content, filename)
                mapping = _mapping(table.columns, targets, given)
            except _FileRefused as exc:
                raise exc.said(lang) from None
            valid: list[tuple[int, str, dict[str, Any], dict[str, Any]]] = []
            errors: list[dict[str, Any]] = []
            for number, cells in table.rows:
                data, basics, given_owner, problems = _row(
                    vr, targets, table.columns, mapping, cells, lang
                )
                who = given_owner or default_owner
                if (trouble := owners.problem(who)) is not None:
                    problems.append((_column_of(mapping, OWNER), OWNER, trouble))
                errors.extend(
                    {"row": number, "column": column, "field": key, "message": message}
                    for column, key, message in problems
                )
                if not problems:
                    valid.append((number, who, data, basics))
        return _Checked(vr, table, targets, mapping, valid, errors)


def _column_of(mapping: Mapping[str, str], key: str) -> str | None:
    return next((c for c, k in mapping.items() if k == key), None)


def _row(
    vr: VersionRuntime,
    targets: Mapping[str, Target],
    columns: list[str],
    mapping: Mapping[str, str],
    cells: list[Any],
    lang: str | None,
) -> tuple[dict[str, Any], dict[str, Any], str | None, list[tuple[str | None, str, str]]]:
    """One row as start data, its value and expected close date (`BASICS` given), its owner
    (None: not given), and its problems (column, field, message)."""
    data: dict[str, Any] = {}
    basics: dict[str, Any] = {}
    owner: str | None = None
    problems: list[tuple[str | None, str, str]] = []
    for column, cell in zip(columns, cells, strict=True):
        key = mapping.get(column)
        if not key or _blank(cell):
            continue
        target = targets[key]
        if key == OWNER:
            owner = _cell_text(cell)
            continue
        try:
            if target.kind in BASICS:
                basics[key] = _basic(target, cell, lang)
                continue
            data[key] = _value(target, cell, lang)
        except _CellError as exc:
            problems.append((column, key, f"{target.title}: {exc}"))
    outputs = vr.spec.start.outputs
    name = form_name(outputs[0]) if outputs else None
    if name in vr.validators:
        try:
            if is_english(lang):
                check_data(vr.validators[name], data)
            else:
                texts = vr.texts(lang)
                localized_check(
                    vr.validators[name], data, texts.form(name, vr.form_schema(name)), texts.locale
                )
        except ValidationError as exc:
            bad = {key for _c, key, _m in problems}
            for error in exc.errors:
                key = str(error["field"]).split(".")[0]
                if key in bad:
                    continue  # said already: the cell could not be read
                shown = error["message"]
                if is_english(lang) and key in targets:
                    shown = f"{targets[key].title}: {shown}"
                problems.append((_column_of(mapping, key), key, shown))
    return data, basics, owner, problems


class _Owners:
    """The owner rule (engine.usecases.deals.check_owner) for the owners of a file's rows,
    each user read once."""

    def __init__(self, s: Session, actor: str, lang: str | None) -> None:
        self.s, self.actor, self.lang = s, actor, lang
        self.known: dict[str, str | None] = {}

    def problem(self, owner: str) -> str | None:
        if owner not in self.known:
            self.known[owner] = self._check(owner)
        return self.known[owner]

    def _check(self, owner: str) -> str | None:
        try:
            roles = users.roles_of(self.s, owner)
        except NotFoundError:
            return _say(self.lang, "no_user", _shorten(owner))
        if owner != self.actor and not roles & OWNER_ROLES:
            return _say(self.lang, "not_owner", owner)
        return None
