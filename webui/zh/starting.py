# ruff: noqa: E501, RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for who may start which process (the new-deal page, the designer's
start roles) and for the default length limit of form fields."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    "You may not start this process": "你无权启动此流程",
    "You may not start this process.": "你无权启动此流程。",
    "Each process says which roles start it. Ask your sales manager or an administrator.": "每个流程都规定了由哪些角色启动。请联系你的销售经理或管理员。",
    "You may start:": "你可以启动：",
    "Choose": "选择",
    "Start a deal of the process %(name)s.": "按流程“%(name)s”创建商机。",
    "Started by (roles)": "发起角色",
    "Roles that may start its deals, comma-separated (none: Sales Rep, Sales Manager).": "可以创建此流程商机的角色，用逗号分隔（留空：销售代表、销售经理）。",
    "Enter at most %(limit)s characters.": "最多输入 %(limit)s 个字符。",
}
