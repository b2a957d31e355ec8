# ruff: noqa: E501, RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for SLAs, stale deals, the daily digest ("Today") and the settings page."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    # --- navigation
    "Today": "今日",
    "Settings": "设置",
    # --- deal list, board and deal page
    "Stale only": "仅显示停滞商机",
    "stale": "停滞",
    "No activity in this stage for too long": "在当前阶段太久没有任何跟进",
    "escalated": "已升级",
    "escalated %(when)s": "升级于 %(when)s",
    "escalated to %(role)s": "已升级至%(role)s",
    # --- today (the daily digest)
    "What is due, what has gone quiet and what happens next on your deals.": "今天到期的任务、停滞的商机，以及你的商机接下来会发生什么。",
    "My tasks due today or overdue": "今天到期或已逾期的任务",
    "Nothing is due today.": "今天没有到期的任务。",
    "My stale deals": "我的停滞商机",
    "no activity for %(days)s days": "已 %(days)s 天没有跟进",
    "None of your deals has gone quiet.": "你的商机都在正常推进。",
    "Timers in the next 24 hours": "未来 24 小时内的定时器",
    "No timer of your deals fires in the next 24 hours.": "未来 24 小时内你的商机没有定时器触发。",
    # --- settings
    "Settings saved.": "设置已保存。",
    "Nothing was saved: please correct the marked fields.": "未保存任何内容：请修改标出的字段。",
    "SLA clock": "SLA 计时",
    "Task SLAs (for example P3D, three days) are counted on this clock. Without business hours every hour counts, day and night.": "任务的 SLA（例如 P3D，即三天）按此计时。不设工作时间时，昼夜每个小时都计入。",
    "Time zone": "时区",
    "Working time": "工作时间",
    "Round the clock (24/7)": "全天候（7×24 小时）",
    "Business hours only": "仅工作时间",
    "Monday": "星期一",
    "Tuesday": "星期二",
    "Wednesday": "星期三",
    "Thursday": "星期四",
    "Friday": "星期五",
    "Saturday": "星期六",
    "Sunday": "星期日",
    "Opens": "上班时间",
    "Closes": "下班时间",
    "Holidays": "节假日",
    "Days off: one date or range per line. SLA clocks stop on them.": "休息日：每行一个日期或日期范围。这些日子 SLA 暂停计时。",
    "Make-up working days": "调休上班日",
    "Weekend days that are worked, for example before a long holiday.": "需要上班的周末，例如长假前的调休。",
    "Stale deals": "停滞商机",
    "A running deal nobody has worked on for this many days in its stage is marked stale. Leave a stage empty to never mark deals there.": "进行中的商机在当前阶段连续这么多天无人跟进，即标记为停滞。留空表示该阶段从不标记。",
    "Days": "天数",
    "Daily digest": "每日摘要",
    "Send at": "发送时间",
    "Every working day at this time, each rep is told what is due, what is stale and which timers fire soon.": "每个工作日的这个时间，每位销售都会收到到期任务、停滞商机和即将触发的定时器的摘要。",
    "Enter a time zone such as Asia/Shanghai.": "请输入时区，例如 Asia/Shanghai。",
    "Choose a weekday and an opening time before the closing time.": "请至少选择一个工作日，且上班时间早于下班时间。",
    "Enter one date or range per line, such as 2026-10-01..2026-10-07.": "每行输入一个日期或日期范围，例如 2026-10-01..2026-10-07。",
    "Enter 1 to 3650 days, or nothing for never.": "请输入 1 到 3650 天，留空表示从不。",
    "Enter a time of day such as 08:00.": "请输入时间，例如 08:00。",
}
