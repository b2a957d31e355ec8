# ruff: noqa: E501, RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for importing leads from a CSV or XLSX file (webui/imports.py)."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    "Import leads": "导入线索",
    "Import leads: preview": "导入线索：预览",
    "One lead a row, the first row naming the columns: a CSV file (UTF-8 or GBK, as Excel saves it) or an XLSX workbook, at most 5,000 rows. You see a preview before anything is imported.": "每行一条线索，第一行为列名：CSV 文件（UTF-8 或 GBK，即 Excel 保存的格式）或 XLSX 工作簿，最多 5,000 行。导入前会先显示预览。",
    "The owner of the deals whose row names none.": "行中未填写负责人的商机，由此人负责。",
    "Choose a CSV or XLSX file.": "请选择 CSV 或 XLSX 文件。",
    "Choose another file": "选择其他文件",
    "%(rows)s rows: %(valid)s ready to import, %(invalid)s with errors (skipped).": "共 %(rows)s 行：%(valid)s 行可以导入，%(invalid)s 行有错误（将跳过）。",
    "Nothing has been imported yet.": "目前尚未导入任何内容。",
    "Columns": "列",
    "Column": "列",
    "Which field of the new-deal form each column fills. Change a choice and preview again.": "每一列填入新建商机表单的哪个字段。修改选择后请重新预览。",
    "— leave out —": "— 不导入 —",
    "Preview again": "重新预览",
    "The first rows as they will start": "前几行将以如下内容创建商机",
    "Row": "行",
    "Problem": "问题",
    "Rows with errors": "有错误的行",
    "These rows are skipped. Correct them in the file and import them later.": "这些行将被跳过。请在文件中改正后再导入。",
    "And %(count)s more.": "另有 %(count)s 条。",
    "Import %(count)s deals": "导入 %(count)s 个商机",
    "No row can be imported.": "没有可以导入的行。",
    "Leads imported": "线索已导入",
    "Import another file": "导入其他文件",
    "%(started)s deals imported, %(skipped)s rows skipped.": "已导入 %(started)s 个商机，跳过 %(skipped)s 行。",
    "Rows skipped": "跳过的行",
}
