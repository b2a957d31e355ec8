# ruff: noqa: E501, RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for the user administration pages (one user's page, deactivation)."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    "E-mail": "电子邮箱",
    "Deactivated": "已停用",
    "To change someone who is already here, open their page from the list.": "要修改已有用户，请在列表中打开其页面。",
    "%(name)s exists already: change them on their page.": "%(name)s 已存在：请在其用户页面中修改。",
    "Enter an e-mail address such as name@example.com.": "请输入电子邮箱地址，例如 name@example.com。",
    "Change the user": "修改用户",
    "You keep your own admin role: only another admin can take it away.": "你不能取消自己的管理员角色：只有其他管理员可以取消。",
    "New password": "新密码",
    "Leave empty to keep the password.": "留空则保留原密码。",
    "Account": "账号",
    "Active: this user can log in and use API tokens.": "已启用：此用户可以登录并使用 API 令牌。",
    "A deactivated user cannot log in; their sessions end and their API tokens are revoked. Their open tasks stay with them until someone takes them over.": "停用后，此用户无法登录，其会话立即结束，API 令牌被吊销。其待办任务仍归其所有，直到有人接手。",
    "Deactivate": "停用",
    "Deactivated: this user cannot log in.": "已停用：此用户无法登录。",
    "Reactivated, the user logs in with the old password; revoked API tokens stay revoked.": "重新启用后，用户使用原密码登录；已吊销的 API 令牌不会恢复。",
    "Reactivate": "重新启用",
    "Open tasks held by %(name)s": "%(name)s 负责的待办任务",
    "No open task is assigned to this user.": "没有分配给此用户的待办任务。",
    "You cannot take away your own admin role: another admin has to.": "你不能取消自己的管理员角色：需由其他管理员操作。",
    "You cannot deactivate yourself: another admin has to.": "你不能停用自己：需由其他管理员操作。",
    "%(name)s is deactivated: no more log-ins, and their API tokens are revoked.": "%(name)s 已停用：无法再登录，其 API 令牌已被吊销。",
    "One open task stays assigned to %(name)s; it is listed below.": "有 1 个待办任务仍分配给 %(name)s，见下方列表。",
    "%(count)s open tasks stay assigned to %(name)s; they are listed below.": "有 %(count)s 个待办任务仍分配给 %(name)s，见下方列表。",
    "%(name)s is active again and can log in.": "%(name)s 已重新启用，可以登录。",
}
