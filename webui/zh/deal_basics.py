# ruff: noqa: E501, RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for a deal's basics: its value and expected close date, won and lost
deals, marking a deal lost, and the board's value totals, weighted pipeline, rotting cards and
SLA countdowns."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    # --- value and expected close date (new deal, list, deal page)
    "Expected close": "预计成交日期",
    "Deal value (CNY)": "商机金额（元）",
    "What the deal is worth as far as you know now; the quote replaces it once prepared.": "按目前掌握的情况估算的商机金额；报价完成后以报价为准。",
    "The day you expect the customer to decide.": "预计客户做出决定的日期。",
    "Enter the deal's value as a number of 0 or more, such as 240000.": "请输入不小于 0 的商机金额，例如 240000。",
    "Enter a date such as 2026-06-30.": "请输入日期，例如 2026-06-30。",
    "Edit value and close date": "修改金额和预计成交日期",
    "The deal's value and close date are saved.": "商机金额和预计成交日期已保存。",
    "Someone changed this deal at the same time; nothing was saved.": "有人同时修改了这个商机，本次未保存任何内容。",
    "Value or close date changed": "修改了金额或预计成交日期",
    # --- won and lost
    "This deal is won.": "这个商机已成交。",
    "Lost: %(reason)s": "丢单：%(reason)s",
    "Mark lost": "标记为丢单",
    "Marked lost": "标记为丢单",
    "Marked lost by %(name)s: %(reason)s": "%(name)s 标记为丢单：%(reason)s",
    "Why was it lost?": "丢单原因",
    "Its open tasks are cancelled and the deal ends as lost; the reports count it with this reason.": "未完成的任务将被取消，商机以丢单结束；报表会按这个原因统计。",
    "Choose the reason the deal was lost.": "请选择丢单原因。",
    "The deal is marked lost.": "商机已标记为丢单。",
    "This deal is finished already: it cannot be marked lost.": "这个商机已经结束，不能再标记为丢单。",
    # --- the board
    "Open deals": "进行中的商机",
    "Open pipeline": "在途金额",
    "Weighted pipeline": "加权在途金额",
    "Each deal's value times the probability of its stage": "每个商机的金额乘以其所在阶段的成交概率",
    "Value of the deals in this stage": "此阶段商机的总金额",
    "Weighted at %(p)s%%": "按 %(p)s%% 加权",
    "weighted %(value)s": "加权 %(value)s",
    "%(n)s d quiet": "已 %(n)s 天无跟进",
    "Stage probabilities": "各阶段成交概率",
    "The chance that a deal in each stage is won, in percent: the weighted pipeline counts each deal's value at its stage's probability. Leave a stage empty for its default.": "每个阶段的商机最终成交的可能性（百分比）：加权在途金额按商机所在阶段的概率计算金额。留空则使用默认值。",
    "Probability (%)": "概率（%）",
    "Save probabilities": "保存概率",
    "Stage probabilities saved.": "各阶段成交概率已保存。",
    "Enter a whole percentage from 0 to 100 for each stage.": "请为每个阶段输入 0 到 100 之间的整数百分比。",
}
