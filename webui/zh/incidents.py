# ruff: noqa: E501, RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for the incident pages (deals in error: retry, skip, cancel)."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    "Incident": "流程异常",
    "Incidents": "流程异常",
    "Failed step": "出错步骤",
    "Since": "发生时间",
    "What failed": "出错内容",
    "The data the step saw": "该步骤当时的数据",
    "Handle the incident": "处理异常",
    "Handle": "处理",
    "Action": "操作",
    "A sales manager can correct the data and retry the step, skip it, or cancel the deal.": "销售经理可以更正数据后重试该步骤、跳过该步骤，或取消此商机。",
    "Deals whose process stopped at a failing step. Open one to correct the data and retry the step, skip it, or cancel the deal.": "流程停在出错步骤上的商机。打开其中一个，即可更正数据后重试该步骤、跳过该步骤，或取消商机。",
    "No deal is in error. Every process runs as it should.": "没有出错的商机，所有流程运行正常。",
    "Back to the first page": "返回第一页",
    "Correct the data and retry": "更正数据并重试",
    "Values to set (JSON)": "要设置的值（JSON）",
    "The step runs again on the data it had, with these values set first. Names left out keep their values.": "该步骤将基于原有数据重新执行，并先写入这里填写的值；未列出的字段保持原值。",
    "Retry the step": "重试该步骤",
    "Skip the step": "跳过该步骤",
    "The step counts as done without running, and the deal goes on. What it would have set stays unset.": "该步骤不执行即视为完成，商机继续推进；它本应设置的数据保持未设置。",
    "This step is a gateway: it decides which way the deal goes, so it cannot be skipped. Correct the data and retry it.": "该步骤是网关：它决定商机的走向，因此不能跳过。请更正数据后重试。",
    "Cancel the deal": "取消商机",
    "Reason": "原因",
    "The deal stops for good; its open tasks and timers go. The reason is kept in its timeline.": "商机将永久停止，其待办任务和定时器随之取消；原因会记录在时间线中。",
    "This deal is not in error (any more).": "此商机当前不处于出错状态。",
    "The step failed again; nothing was changed: %(error)s": "该步骤再次出错，未做任何更改：%(error)s",
    "The deal went on and stopped again, at %(step)s.": "商机继续推进后再次停止，停在：%(step)s。",
    'Write the values as a JSON object, for example {"quantity": 2}: %(error)s': '请以 JSON 对象填写这些值，例如 {"quantity": 2}：%(error)s',
    "The step ran again and the deal went on.": "该步骤已重新执行，商机继续推进。",
    "The step was skipped and the deal went on.": "已跳过该步骤，商机继续推进。",
    "Give a reason of 1 to %(max)s characters.": "请填写 1 到 %(max)s 个字符的原因。",
    "The deal was cancelled.": "商机已取消。",
    "No task is open: the deal waits until its incident is handled.": "暂无待办任务：商机正在等待其异常被处理。",
}
